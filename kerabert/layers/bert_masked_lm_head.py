"""BERT's masked-language-model head, tied to the input word embeddings."""

import keras
import tensorflow as tf

from kerabert.layers.activations import get_activation


@keras.saving.register_keras_serializable(package="kerabert")
class BertMaskedLMHead(keras.layers.Layer):
    """Predicts the original tokens at the masked positions (as BERT's `BertPretrainLayer`).

    `gather(sequence_output, masked_positions)` -> `mlm_dense` (H -> H,
    `activation`) -> `mlm_layer_norm` -> `x @ token_embedding^T +
    mlm_output_bias` -> log-softmax. The output projection is the backbone's
    word-embedding matrix (weights tied, as in the reference and HF
    `BertForPreTraining`); only the bias (V,) is the head's own.

    The transform's activation is the backbone's `activation` (gelu), as in the
    legacy reference head and Google's / HF's checkpoints; Model Garden's Keras
    `BertPretrainer` defaults to no activation, which is a bug.

    Args:
      vocabulary_size: V.
      hidden_dim: H.
      activation: a kerabert activation name ("gelu", "gelu_approximate", ...).
      layer_norm_epsilon: 1e-12 in BERT.
      kernel_initializer: initializer of `mlm_dense`.
      token_embedding: the backbone's `token_embedding` layer (an `Embedding`
        with `embeddings` (V, H)). Not serialised: the owning task passes it.

    Call arguments:
      sequence_output: (B, L, H), the backbone's compute dtype.
      masked_positions: (B, P) int, positions in [0, L) (padding slots may
        point anywhere valid, e.g. 0).
    Returns:
      (B, P, V) float32 log-probabilities. The dense, LayerNorm and the
      (B*P, H) x (H, V) product run in the compute dtype; the bias and the
      log-softmax in float32.
    """

    def __init__(self, vocabulary_size, hidden_dim, activation="gelu", layer_norm_epsilon=1e-12,
                 kernel_initializer="glorot_uniform", token_embedding=None, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = int(vocabulary_size)
        self.hidden_dim = int(hidden_dim)
        self.activation = activation
        self.layer_norm_epsilon = layer_norm_epsilon
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        # Not tracked: the embeddings are the backbone's weights, and a tracked
        # reference would make them this head's too (saved twice in presets).
        object.__setattr__(self, "_token_embedding", token_embedding)

        self.dense = keras.layers.Dense(
            hidden_dim, activation=get_activation(activation),
            kernel_initializer=self.kernel_initializer, dtype=self.dtype_policy,
            name="mlm_dense")
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=self.dtype_policy, name="mlm_layer_norm")

    @property
    def token_embedding(self):
        return self._token_embedding

    def build(self, sequence_output_shape=None, masked_positions_shape=None):
        self.dense.build((None, self.hidden_dim))
        self.layer_norm.build((None, self.hidden_dim))
        # float32 inside the call too (autocast=False): it is added to float32 logits.
        self.output_bias = self.add_weight(
            shape=(self.vocabulary_size,), initializer="zeros", name="mlm_output_bias",
            autocast=False)
        self.built = True

    def call(self, sequence_output, masked_positions):
        if self._token_embedding is None:
            raise ValueError(
                "BertMaskedLMHead needs the backbone's token_embedding layer (tied output "
                "weights); build it with token_embedding=backbone.token_embedding.")
        positions = tf.cast(masked_positions, tf.int32)
        x = tf.gather(sequence_output, positions, axis=1, batch_dims=1)
        x = self.layer_norm(self.dense(x))
        embeddings = tf.cast(self._token_embedding.embeddings, x.dtype)
        logits = tf.einsum("bph,vh->bpv", x, embeddings)
        logits = tf.cast(logits, tf.float32) + tf.cast(self.output_bias, tf.float32)
        return tf.nn.log_softmax(logits, axis=-1)

    def compute_output_spec(self, sequence_output, masked_positions):
        return keras.KerasTensor(
            (sequence_output.shape[0], masked_positions.shape[1], self.vocabulary_size),
            "float32")

    def get_config(self):
        config = super().get_config()
        config.update({
            "vocabulary_size": self.vocabulary_size,
            "hidden_dim": self.hidden_dim,
            "activation": self.activation,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        })
        return config
