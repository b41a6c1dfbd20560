"""Which keys each query may attend to in XLNet's two attention streams."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="kerabert")
class XLNetAttentionMasks(keras.layers.Layer):
    """Builds the content-stream and query-stream masks (1.0 = blocked).

    The reference combines (time-major) `input_mask` (1 = padding), `perm_mask`
    and, for "uni", a causal mask; memory columns are always visible. The query
    stream ("g") uses that mask as is, so a position never sees its own token;
    the content stream ("h") additionally lets every position see itself
    (`non_tgt_mask`).

    Call arguments:
      token_ids: (B, Q) int, only its shape is used.
      padding_mask: optional (B, Q), kerabert's convention: 1 = real token,
        0 = padding. Converted here, once, to the reference's 1 = padding.
      perm_mask: optional (B, Q, Q) float, 1 = query i may not attend to j.
      memory: optional (B, M, H) (for the memory length).
    Returns:
      `(mask_h, mask_g)`: float32, broadcastable to (B, Q, M + Q), or
      `(None, None)` when nothing is masked ("bi" without padding or
      permutation).
    """

    def __init__(self, attn_type="bi", same_length=False, **kwargs):
        super().__init__(**kwargs)
        if attn_type not in ("bi", "uni"):
            raise ValueError(f"attn_type must be 'bi' or 'uni', got {attn_type!r}.")
        self.attn_type = attn_type
        self.same_length = bool(same_length)
        self.built = True

    def _causal(self, qlen, mlen):
        # Query i sits at key position mlen + i and may not see later keys. With
        # `same_length` it also loses the first i keys, so every query sees
        # exactly mlen + 1 keys (Transformer-XL's evaluation setting).
        ones = tf.ones([qlen, qlen])
        strict_upper = tf.linalg.band_part(ones, 0, -1) - tf.linalg.band_part(ones, 0, 0)
        mask = tf.concat([tf.zeros([qlen, mlen]), strict_upper], axis=1)
        if self.same_length:
            strict_lower = tf.linalg.band_part(ones, -1, 0) - tf.linalg.band_part(ones, 0, 0)
            mask = tf.concat([mask[:, :qlen] + strict_lower, mask[:, qlen:]], axis=1)
        return mask[None]

    def call(self, token_ids, padding_mask=None, perm_mask=None, memory=None):
        qlen = tf.shape(token_ids)[1]
        mlen = tf.shape(memory)[1] if memory is not None else 0
        data = None
        if padding_mask is not None:
            data = (1.0 - tf.cast(padding_mask, tf.float32))[:, None, :]
        if perm_mask is not None:
            perm_mask = tf.cast(perm_mask, tf.float32)
            data = perm_mask if data is None else data + perm_mask
        if data is not None and memory is not None:
            rows = tf.shape(data)[1]
            data = tf.concat([tf.zeros([tf.shape(data)[0], rows, mlen]), data], axis=2)
        mask = self._causal(qlen, mlen) if self.attn_type == "uni" else None
        if data is not None:
            mask = data if mask is None else mask + data
        if mask is None:
            return None, None
        mask_g = tf.cast(mask > 0, tf.float32)
        self_visible = tf.concat([tf.zeros([qlen, mlen]), -tf.eye(qlen)], axis=1)
        mask_h = tf.cast(mask_g + self_visible[None] > 0, tf.float32)
        return mask_h, mask_g

    def get_config(self):
        config = super().get_config()
        config.update({"attn_type": self.attn_type, "same_length": self.same_length})
        return config
