"""XLNet's sinusoidal encoding of relative distances (Transformer-XL)."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="kerabert")
class XLNetRelativePositionEncoding(keras.layers.Layer):
    """Sinusoid embeddings of the distances `klen, klen-1, ..., -qlen+1`.

    For attention type "bi" the distances run from `klen` down to `-qlen + 1`
    (`klen + qlen` of them); for "uni" from `klen` down to `0` (`klen + 1`).
    `klen = mlen + qlen`, with `mlen` the memory length. Row `r` holds
    `[sin(d_r * inv_freq), cos(d_r * inv_freq)]`, `inv_freq = 10000^(-2i/D)`.

    With `bi_data` the first half of the batch reads left to right and the
    second half right to left (the reference's bidirectional data pipeline), so
    a second block encodes the negated distances. `clamp_len > 0` clips the
    distances to [-clamp_len, clamp_len]. (The reference's non-bi_data branch
    reads `self.lamp_len`, a typo that crashes whenever clamping is on; here
    both branches clamp.)

    Call arguments:
      token_ids: (B, Q), only its shape is used.
      memory: optional (B, M, H) memory of the first layer (for `mlen`).
    Returns:
      float32 (P, R, H): P = 1, or 2 with `bi_data` (forward, backward). The
      attention layers pair block p with batch rows [p*B/P, (p+1)*B/P), which
      is cheaper than tiling the encoding over the batch as the reference does.
    """

    def __init__(self, hidden_dim, attn_type="bi", bi_data=False, clamp_len=-1, **kwargs):
        super().__init__(**kwargs)
        if attn_type not in ("bi", "uni"):
            raise ValueError(f"attn_type must be 'bi' or 'uni', got {attn_type!r}.")
        self.hidden_dim = hidden_dim
        self.attn_type = attn_type
        self.bi_data = bool(bi_data)
        self.clamp_len = clamp_len
        self.built = True

    def _embed(self, distances):
        freq = tf.range(0, self.hidden_dim, 2.0, dtype=tf.float32)
        inv_freq = 1.0 / tf.pow(10000.0, freq / self.hidden_dim)
        angles = distances[:, None] * inv_freq[None, :]
        return tf.concat([tf.sin(angles), tf.cos(angles)], axis=-1)

    def _clamp(self, distances):
        if self.clamp_len is not None and self.clamp_len > 0:
            limit = float(self.clamp_len)
            distances = tf.clip_by_value(distances, -limit, limit)
        return distances

    def call(self, token_ids, memory=None):
        qlen = tf.shape(token_ids)[1]
        mlen = tf.shape(memory)[1] if memory is not None else 0
        klen = tf.cast(mlen + qlen, tf.float32)
        end = -tf.cast(qlen, tf.float32) if self.attn_type == "bi" else -1.0
        forward = tf.range(klen, end, -1.0)
        blocks = [self._embed(self._clamp(forward))]
        if self.bi_data:
            check = tf.debugging.assert_equal(
                tf.shape(token_ids)[0] % 2, 0,
                message="bi_data=True pairs each example with its reversed copy, so "
                        "the batch size must be even.")
            with tf.control_dependencies([check]):
                backward = tf.range(-klen, -end, 1.0)
            blocks.append(self._embed(self._clamp(backward)))
        return tf.stack(blocks)

    def get_config(self):
        config = super().get_config()
        config.update({"hidden_dim": self.hidden_dim, "attn_type": self.attn_type,
                       "bi_data": self.bi_data, "clamp_len": self.clamp_len})
        return config
