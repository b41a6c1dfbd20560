"""XLNet's relative multi-head attention, one- or two-stream (Yang et al., 2019)."""

import math

import keras
import tensorflow as tf

# The reference subtracts 1e30 from blocked scores. The scores are float32 here
# under every dtype policy, so the constant cannot overflow float16/bfloat16.
MASK_PENALTY = 1e30


@keras.saving.register_keras_serializable(package="kerabert")
class XLNetRelativeAttention(keras.layers.Layer):
    """Attention with content, position and segment terms, then residual + LayerNorm.

    For query i and key j (batch b, head n, all vectors of size D):

        score = (q_i + r_w_bias) . k_j                  content
              + (q_i + r_r_bias) . r_(i - j)            position (via `rel_shift`)
              + (q_i + r_s_bias) . s_[seg_i != seg_j]   segment
        prob  = softmax_j(score / sqrt(D) - 1e30 * mask_ij)
        out_i = LayerNorm(h_i + dropout(sum_j prob_ij v_j @ o))

    q, k, v, r and o are bias-free (H, N, D) kernels as in the reference; keys
    and values cover `concat(memory, h)`. Under mixed precision the three terms,
    the mask and the softmax are float32.

    Two-stream (pretraining): the query stream g uses the same q, o and
    LayerNorm on the content stream's keys and values, with `mask_g` (a
    position never sees its own token). With `target_mapping` (B, M, Q) the g
    stream holds M predicted positions, scattered onto the Q positions for
    attention and gathered back afterwards.

    Call arguments:
      h: (B, Q, H) content stream. g: optional (B, M, H) query stream.
      pos_emb: (P, R, H) from `XLNetRelativePositionEncoding` (P = 1, or 2 with
        bi_data: forward rows first, backward rows second).
      biases: `(r_w_bias, r_r_bias, r_s_bias)`, each (N, D).
      seg_mat: optional (B, Q, K) float, 1 = different segment.
      mask_h, mask_g: optional, broadcastable to (B, Q, K), 1 = blocked.
      memory: optional (B, M', H). target_mapping: optional (B, M, Q).
    Returns:
      h' (B, Q, H), or `(h', g')` when g is given.
    """

    def __init__(self, num_heads, head_dim, dropout=0.1, attention_dropout=0.1,
                 layer_norm_epsilon=1e-12, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.head_dim = head_dim
        self.dropout_rate = dropout
        self.attention_dropout = attention_dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.scale = 1.0 / math.sqrt(head_dim)
        self.attention_probs_dropout = keras.layers.Dropout(
            attention_dropout, dtype=self.dtype_policy, name="attention_probs_dropout")
        self.output_dropout = keras.layers.Dropout(
            dropout, dtype=self.dtype_policy, name="output_dropout")
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=self.dtype_policy, name="layer_norm")

    def build(self, h_shape):
        hidden = h_shape[-1]
        self.hidden_dim = hidden
        shape = (hidden, self.num_heads, self.head_dim)
        for name in ("q", "k", "v", "o", "r"):
            setattr(self, name, self.add_weight(
                shape=shape, initializer=self.kernel_initializer, name=name))
        self.seg_embed = self.add_weight(
            shape=(2, self.num_heads, self.head_dim), initializer=self.kernel_initializer,
            name="seg_embed")
        self.layer_norm.build(h_shape)
        self.built = True

    @staticmethod
    def _rel_shift(x, klen):
        """(B, N, Q, R) scores against distances klen..-qlen+1 -> (B, N, Q, klen)
        scores against keys: row i is shifted left by qlen - i (Transformer-XL)."""
        shape = tf.shape(x)
        x = tf.reshape(x, [shape[0], shape[1], shape[3], shape[2]])[:, :, 1:, :]
        x = tf.reshape(x, [shape[0], shape[1], shape[2], shape[3] - 1])
        return x[:, :, :, :klen]

    def _attend(self, q, k, v, k_r, biases, seg_mat, mask, training):
        r_w_bias, r_r_bias, r_s_bias = biases
        klen = tf.shape(k)[1]
        # float32 under mixed precision, else the compute dtype (float64 works).
        f32 = tf.float32 if self.compute_dtype in ("float16", "bfloat16") else self.compute_dtype
        content = tf.cast(tf.einsum("bind,bjnd->bnij", q + r_w_bias, k), f32)
        # Position term: batch rows are grouped by position block (bi_data).
        blocks = tf.shape(k_r)[0]
        qr = q + r_r_bias
        qs = tf.shape(qr)
        qr = tf.reshape(qr, [blocks, qs[0] // blocks, qs[1], qs[2], qs[3]])
        position = tf.einsum("pbind,pjnd->pbnij", qr, k_r)
        ps = tf.shape(position)
        position = tf.reshape(position, [qs[0], ps[2], ps[3], ps[4]])
        position = tf.cast(self._rel_shift(position, klen), f32)
        score = content + position
        if seg_mat is not None:
            # The reference's one-hot einsum, with the two classes spelled out.
            seg = tf.cast(tf.einsum("bind,snd->bnis", q + r_s_bias, self.seg_embed), f32)
            different = tf.cast(seg_mat, f32)[:, None]
            score += seg[..., 0:1] * (1.0 - different) + seg[..., 1:2] * different
        score = score * self.scale
        if mask is not None:
            score -= MASK_PENALTY * tf.cast(mask, f32)[:, None]
        probs = tf.nn.softmax(score, axis=-1)
        probs = self.attention_probs_dropout(probs, training=training)
        return tf.einsum("bnij,bjnd->bind", tf.cast(probs, v.dtype), v)

    def _output(self, residual, context, training):
        out = tf.einsum("bind,hnd->bih", context, self.o)
        out = self.output_dropout(out, training=training)
        return self.layer_norm(out + residual)

    def call(self, h, g=None, pos_emb=None, biases=None, seg_mat=None, mask_h=None,
             mask_g=None, memory=None, target_mapping=None, training=None):
        keys = h if memory is None else tf.concat([tf.cast(memory, h.dtype), h], axis=1)
        k = tf.einsum("bjh,hnd->bjnd", keys, self.k)
        v = tf.einsum("bjh,hnd->bjnd", keys, self.v)
        k_r = tf.einsum("pjh,hnd->pjnd", tf.cast(pos_emb, h.dtype), self.r)
        q = tf.einsum("bih,hnd->bind", h, self.q)
        out_h = self._output(h, self._attend(q, k, v, k_r, biases, seg_mat, mask_h, training),
                             training)
        if g is None:
            return out_h
        q_g = tf.einsum("bmh,hnd->bmnd", g, self.q)
        if target_mapping is not None:
            target_mapping = tf.cast(target_mapping, q_g.dtype)
            q_g = tf.einsum("bmnd,bml->blnd", q_g, target_mapping)
        context_g = self._attend(q_g, k, v, k_r, biases, seg_mat, mask_g, training)
        if target_mapping is not None:
            context_g = tf.einsum("blnd,bml->bmnd", context_g, target_mapping)
        return out_h, self._output(g, context_g, training)

    def get_config(self):
        config = super().get_config()
        config.update({
            "num_heads": self.num_heads, "head_dim": self.head_dim,
            "dropout": self.dropout_rate, "attention_dropout": self.attention_dropout,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        })
        return config
