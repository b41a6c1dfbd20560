"""Multi-head self-attention as in BERT, with the softmax kept in float32."""

import math

import keras
from keras import ops

# The reference (Model Garden MaskedSoftmax) adds -10000 to masked scores; any
# value that underflows exp() in float32 gives the same probabilities.
MASK_ADDER = -10000.0


@keras.saving.register_keras_serializable(package="kerabert")
class BertSelfAttention(keras.layers.Layer):
    """Scaled dot-product self-attention with separate q/k/v/output projections.

    Args:
      num_heads: int.
      hidden_dim: int, divisible by `num_heads`.
      attention_dropout: float, dropout on the attention probabilities.
      kernel_initializer: initializer for the four projections.

    Call arguments:
      inputs: (B, L, H) float.
      padding_mask: (B, L), 1 = real token, 0 = padding (attention *to* padding is
        blocked; padded positions still attend, as in the reference).
    Returns:
      (B, L, H) in the layer's compute dtype.

    Under mixed precision the scores are cast to float32 before masking and the
    softmax, so -10000 never overflows float16.
    """

    def __init__(self, num_heads, hidden_dim, attention_dropout=0.0,
                 kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if hidden_dim % num_heads:
            raise ValueError(
                f"hidden_dim ({hidden_dim}) is not a multiple of num_heads ({num_heads})."
            )
        self.num_heads = num_heads
        self.hidden_dim = hidden_dim
        self.head_dim = hidden_dim // num_heads
        self.attention_dropout = attention_dropout
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

        def dense(name):
            return keras.layers.Dense(
                hidden_dim,
                kernel_initializer=keras.initializers.get(
                    keras.initializers.serialize(self.kernel_initializer)
                ),
                dtype=self.dtype_policy,
                name=name,
            )

        self.query = dense("query")
        self.key = dense("key")
        self.value = dense("value")
        self.attention_output = dense("attention_output")
        self.dropout = keras.layers.Dropout(attention_dropout, dtype=self.dtype_policy,
                                            name="attention_probs_dropout")

    def build(self, input_shape):
        for layer in (self.query, self.key, self.value):
            layer.build(input_shape)
        self.attention_output.build(input_shape[:-1] + (self.hidden_dim,))
        self.built = True

    def _split_heads(self, x):
        batch, length = ops.shape(x)[0], ops.shape(x)[1]
        x = ops.reshape(x, (batch, length, self.num_heads, self.head_dim))
        return ops.transpose(x, (0, 2, 1, 3))  # (B, N, L, D)

    def call(self, inputs, padding_mask=None, training=None):
        q = self._split_heads(self.query(inputs))
        k = self._split_heads(self.key(inputs))
        v = self._split_heads(self.value(inputs))
        scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2)))
        scores = ops.cast(scores, "float32") / math.sqrt(self.head_dim)
        if padding_mask is not None:
            keep = ops.cast(padding_mask, "float32")[:, None, None, :]
            scores = scores + (1.0 - keep) * MASK_ADDER
        probs = ops.softmax(scores, axis=-1)
        probs = self.dropout(probs, training=training)
        context = ops.matmul(ops.cast(probs, self.compute_dtype), v)  # (B, N, L, D)
        context = ops.transpose(context, (0, 2, 1, 3))
        batch, length = ops.shape(context)[0], ops.shape(context)[1]
        context = ops.reshape(context, (batch, length, self.hidden_dim))
        return self.attention_output(context)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_heads": self.num_heads,
            "hidden_dim": self.hidden_dim,
            "attention_dropout": self.attention_dropout,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        })
        return config
