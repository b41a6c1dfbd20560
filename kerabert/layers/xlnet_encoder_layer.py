"""One XLNet block: relative attention, then a position-wise feed-forward network."""

import keras

from kerabert.layers.activations import get_activation
from kerabert.layers.xlnet_relative_attention import XLNetRelativeAttention


@keras.saving.register_keras_serializable(package="kerabert")
class XLNetEncoderLayer(keras.layers.Layer):
    """`XLNetRelativeAttention` followed by
    `LayerNorm(x + dropout(dense_2(dropout(act(dense_1(x))))))`.

    With two streams, both go through the *same* feed-forward weights, as in
    the original XLNet. (The Model Garden seed builds separate feed-forward and
    attention objects for its pretraining and fine-tuning paths under one
    name, so one of them silently misses checkpoint weights; kerabert has one
    set, used by both paths.)

    Args:
      num_heads, head_dim: attention size (head_dim need not be H / num_heads).
      hidden_dim: model width H (`d_model`).
      intermediate_dim: feed-forward width (`d_inner`).
      activation: kerabert activation name ("gelu" exact, "gelu_approximate",
        "relu").
      dropout, attention_dropout, layer_norm_epsilon (1e-12), kernel_initializer.

    Call arguments: as `XLNetRelativeAttention`.
    Returns: h' (B, Q, H), or `(h', g')` when g is given.
    """

    def __init__(self, num_heads, head_dim, hidden_dim, intermediate_dim, activation="gelu",
                 dropout=0.1,
                 attention_dropout=0.1, layer_norm_epsilon=1e-12,
                 kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.head_dim = head_dim
        self.hidden_dim = hidden_dim
        self.intermediate_dim = intermediate_dim
        self.activation = activation
        self.dropout_rate = dropout
        self.attention_dropout = attention_dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

        def init():
            return keras.initializers.get(keras.initializers.serialize(self.kernel_initializer))

        policy = self.dtype_policy
        self.rel_attn = XLNetRelativeAttention(
            num_heads, head_dim, dropout=dropout, attention_dropout=attention_dropout,
            layer_norm_epsilon=layer_norm_epsilon, kernel_initializer=init(), dtype=policy,
            name="rel_attn")
        self.ff_layer_1 = keras.layers.Dense(
            intermediate_dim, activation=get_activation(activation),
            kernel_initializer=init(), dtype=policy, name="ff_layer_1")
        self.ff_dropout_1 = keras.layers.Dropout(dropout, dtype=policy, name="ff_dropout_1")
        self.ff_layer_2 = keras.layers.Dense(
            hidden_dim, kernel_initializer=init(), dtype=policy, name="ff_layer_2")
        self.ff_dropout_2 = keras.layers.Dropout(dropout, dtype=policy, name="ff_dropout_2")
        self.ff_layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=policy, name="ff_layer_norm")

    def build(self, h_shape):
        self.rel_attn.build(h_shape)
        self.ff_layer_1.build(h_shape)
        self.ff_layer_2.build(tuple(h_shape[:-1]) + (self.intermediate_dim,))
        self.ff_layer_norm.build(h_shape)
        self.built = True

    def _feed_forward(self, x, training):
        y = self.ff_dropout_1(self.ff_layer_1(x), training=training)
        y = self.ff_dropout_2(self.ff_layer_2(y), training=training)
        return self.ff_layer_norm(x + y)

    def call(self, h, g=None, pos_emb=None, biases=None, seg_mat=None, mask_h=None,
             mask_g=None, memory=None, target_mapping=None, training=None):
        out = self.rel_attn(h, g, pos_emb=pos_emb, biases=biases, seg_mat=seg_mat,
                            mask_h=mask_h, mask_g=mask_g, memory=memory,
                            target_mapping=target_mapping, training=training)
        if g is None:
            return self._feed_forward(out, training)
        out_h, out_g = out
        return self._feed_forward(out_h, training), self._feed_forward(out_g, training)

    def compute_output_shape(self, h_shape):
        return h_shape

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_heads": self.num_heads, "head_dim": self.head_dim,
            "hidden_dim": self.hidden_dim, "intermediate_dim": self.intermediate_dim,
            "activation": self.activation,
            "dropout": self.dropout_rate, "attention_dropout": self.attention_dropout,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        })
        return config
