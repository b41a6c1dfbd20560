"""One post-LayerNorm Transformer block, as in BERT."""

import keras

from kerabert.layers.activations import get_activation
from kerabert.layers.bert_self_attention import BertSelfAttention


@keras.saving.register_keras_serializable(package="kerabert")
class BertEncoderLayer(keras.layers.Layer):
    """Self-attention and a feed-forward network, each followed by residual + LayerNorm.

        x = LayerNorm(x + Dropout(SelfAttention(x)))
        x = LayerNorm(x + Dropout(Dense(act(Dense(x)))))

    keras-hub's `TransformerEncoder` has one dropout rate for both the hidden and
    attention dropouts and no float32 softmax island; BERT configs set them
    separately, hence this layer.

    Args:
      num_heads, hidden_dim, intermediate_dim: ints.
      activation: a kerabert activation name (`kerabert.layers.activations`).
      dropout: hidden dropout rate. attention_dropout: attention-probability dropout.
      layer_norm_epsilon: float, 1e-12 in every BERT checkpoint.
      kernel_initializer: initializer of every dense kernel.

    Call arguments: inputs (B, L, H); padding_mask (B, L), 1 = real token.
    """

    def __init__(self, num_heads, hidden_dim, intermediate_dim, activation="gelu",
                 dropout=0.1, attention_dropout=0.1, layer_norm_epsilon=1e-12,
                 kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.num_heads = num_heads
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
        self.self_attention = BertSelfAttention(
            num_heads, hidden_dim, attention_dropout=attention_dropout,
            kernel_initializer=init(), dtype=policy, name="self_attention")
        self.self_attention_dropout = keras.layers.Dropout(
            dropout, dtype=policy, name="self_attention_dropout")
        self.self_attention_layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=policy, name="self_attention_layer_norm")
        self.intermediate_dense = keras.layers.Dense(
            intermediate_dim, activation=get_activation(activation),
            kernel_initializer=init(), dtype=policy, name="intermediate_dense")
        self.output_dense = keras.layers.Dense(
            hidden_dim, kernel_initializer=init(), dtype=policy, name="output_dense")
        self.output_dropout = keras.layers.Dropout(dropout, dtype=policy, name="output_dropout")
        self.output_layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=policy, name="output_layer_norm")

    def build(self, input_shape):
        self.self_attention.build(input_shape)
        self.self_attention_layer_norm.build(input_shape)
        self.intermediate_dense.build(input_shape)
        self.output_dense.build(input_shape[:-1] + (self.intermediate_dim,))
        self.output_layer_norm.build(input_shape)
        self.built = True

    def call(self, inputs, padding_mask=None, training=None):
        attention = self.self_attention(inputs, padding_mask=padding_mask, training=training)
        attention = self.self_attention_dropout(attention, training=training)
        x = self.self_attention_layer_norm(inputs + attention)
        h = self.output_dense(self.intermediate_dense(x))
        h = self.output_dropout(h, training=training)
        return self.output_layer_norm(x + h)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_heads": self.num_heads,
            "hidden_dim": self.hidden_dim,
            "intermediate_dim": self.intermediate_dim,
            "activation": self.activation,
            "dropout": self.dropout_rate,
            "attention_dropout": self.attention_dropout,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        })
        return config
