"""XLNet's SQuAD head: start logits, start-conditioned end logits, answer class."""

import keras
import tensorflow as tf

# Blocked positions get -1e30 (as in the reference XLNet `QALossLayer`), in float32.
MASK_PENALTY = 1e30


@keras.saving.register_keras_serializable(package="kerabert")
class XLNetSpanHead(keras.layers.Layer):
    """The reference `QALossLayer` / HF `XLNetForQuestionAnswering` head.

    - start: `start_logits` (H -> 1) per position, `p_mask`ed, log-softmax.
    - end, given a start state s: `end_logits_dense_1(LayerNorm(tanh(
      end_logits_dense_0([h_l ; s]))))` per position l, `p_mask`ed,
      log-softmax. Training conditions on the gold start (teacher forcing);
      inference runs a beam over the `start_n_top` best starts and keeps the
      `end_n_top` best ends of each.
    - answer class: `answer_class_dense_1(dropout(tanh(answer_class_dense_0(
      [sum_l softmax(start)_l h_l ; h_cls]))))`, one logit that the question
      has no answer in this window.

    `end_logits_dense_0` sees `[h_l ; s]`, (2H) -> H; it is evaluated as
    `h_l @ W[:H] + s @ W[H:]` so the (B, k, L, 2H) concatenation the reference
    builds is never materialised. Logits, masks and log-softmaxes are float32.

    Args:
      hidden_dim: H.
      start_n_top, end_n_top: beam sizes (reference: 5 and 5).
      dropout: dropout inside the answer-class branch.
      layer_norm_epsilon: 1e-12.
      kernel_initializer: for all dense layers.

    Call arguments (inference):
      hidden: (B, L, H). p_mask: (B, L), 1 = cannot be part of an answer
        (question, separators, padding). cls_index: (B,) position of `<cls>`.
    Returns (dict):
      `start_top_log_probs` (B, k1) float32, `start_top_index` (B, k1) int32,
      `end_top_log_probs` (B, k1 * k2), `end_top_index` (B, k1 * k2): entry
      `i * k2 + j` is the j-th best end for the i-th best start, `cls_logits`
      (B,) float32.
    """

    def __init__(self, hidden_dim, start_n_top=5, end_n_top=5, dropout=0.1,
                 layer_norm_epsilon=1e-12, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.hidden_dim = hidden_dim
        self.start_n_top = int(start_n_top)
        self.end_n_top = int(end_n_top)
        self.dropout_rate = dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

        def init():
            return keras.initializers.get(keras.initializers.serialize(self.kernel_initializer))

        policy = self.dtype_policy
        self.start_logits = keras.layers.Dense(
            1, kernel_initializer=init(), dtype="float32", name="start_logits")
        self.end_logits_dense_0 = keras.layers.Dense(
            hidden_dim, kernel_initializer=init(), dtype=policy, name="end_logits_dense_0")
        self.end_logits_layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype=policy, name="end_logits_layer_norm")
        self.end_logits_dense_1 = keras.layers.Dense(
            1, kernel_initializer=init(), dtype="float32", name="end_logits_dense_1")
        self.answer_class_dense_0 = keras.layers.Dense(
            hidden_dim, activation="tanh", kernel_initializer=init(), dtype=policy,
            name="answer_class_dense_0")
        self.answer_class_dropout = keras.layers.Dropout(
            dropout, dtype=policy, name="answer_class_dropout")
        self.answer_class_dense_1 = keras.layers.Dense(
            1, use_bias=False, kernel_initializer=init(), dtype="float32",
            name="answer_class_dense_1")

    def build(self, hidden_shape=None, *args, **kwargs):
        h = self.hidden_dim
        self.start_logits.build((None, None, h))
        self.end_logits_dense_0.build((None, None, 2 * h))
        self.end_logits_layer_norm.build((None, None, h))
        self.end_logits_dense_1.build((None, None, h))
        self.answer_class_dense_0.build((None, 2 * h))
        self.answer_class_dense_1.build((None, h))
        self.built = True

    @staticmethod
    def _masked(logits, p_mask):
        p_mask = tf.cast(p_mask, tf.float32)
        return logits * (1.0 - p_mask) - MASK_PENALTY * p_mask

    def start(self, hidden, p_mask):
        """Masked start logits (B, L), float32."""
        return self._masked(tf.squeeze(self.start_logits(hidden), -1), p_mask)

    def end(self, hidden, start_states, p_mask):
        """Masked end logits (B, K, L) for K start states (B, K, H), float32."""
        dense = self.end_logits_dense_0
        kernel = tf.cast(dense.kernel, hidden.dtype)
        h = self.hidden_dim
        x = (tf.einsum("blh,hd->bld", hidden, kernel[:h])[:, None]
             + tf.einsum("bkh,hd->bkd", tf.cast(start_states, hidden.dtype), kernel[h:])[:, :, None]
             + tf.cast(dense.bias, hidden.dtype))
        x = self.end_logits_layer_norm(tf.tanh(x))
        logits = tf.squeeze(self.end_logits_dense_1(x), -1)
        return self._masked(logits, tf.cast(p_mask, tf.float32)[:, None, :])

    def answer_class(self, hidden, start_logits, cls_index, training=None):
        """The no-answer logit (B,), float32, from masked start logits (B, L)."""
        weights = tf.cast(tf.nn.softmax(start_logits, axis=-1), hidden.dtype)
        start_state = tf.einsum("bl,blh->bh", weights, hidden)
        cls_state = tf.gather(hidden, tf.cast(cls_index, tf.int32), axis=1, batch_dims=1)
        x = self.answer_class_dense_0(tf.concat([start_state, cls_state], axis=-1))
        x = self.answer_class_dropout(x, training=training)
        return tf.squeeze(self.answer_class_dense_1(x), -1)

    def call(self, hidden, p_mask, cls_index, training=None):
        start_logits = self.start(hidden, p_mask)
        start_log_probs = tf.nn.log_softmax(start_logits, axis=-1)
        start_top_log_probs, start_top_index = tf.math.top_k(start_log_probs, self.start_n_top)
        start_states = tf.gather(hidden, start_top_index, axis=1, batch_dims=1)
        end_log_probs = tf.nn.log_softmax(self.end(hidden, start_states, p_mask), axis=-1)
        end_top_log_probs, end_top_index = tf.math.top_k(end_log_probs, self.end_n_top)
        beam = self.start_n_top * self.end_n_top
        return {
            "start_top_log_probs": start_top_log_probs,
            "start_top_index": start_top_index,
            "end_top_log_probs": tf.reshape(end_top_log_probs, [-1, beam]),
            "end_top_index": tf.reshape(end_top_index, [-1, beam]),
            "cls_logits": self.answer_class(hidden, start_logits, cls_index, training),
        }

    def compute_output_spec(self, hidden, p_mask, cls_index, training=None):
        k1, beam = self.start_n_top, self.start_n_top * self.end_n_top
        batch = hidden.shape[0]
        return {
            "start_top_log_probs": keras.KerasTensor((batch, k1), "float32"),
            "start_top_index": keras.KerasTensor((batch, k1), "int32"),
            "end_top_log_probs": keras.KerasTensor((batch, beam), "float32"),
            "end_top_index": keras.KerasTensor((batch, beam), "int32"),
            "cls_logits": keras.KerasTensor((batch,), "float32"),
        }

    def loss(self, hidden, p_mask, cls_index, start_positions, end_positions, is_impossible,
             training=None):
        """The reference SQuAD loss, averaged over the batch:
        `0.5 * (start_ce + end_ce) + 0.5 * sigmoid_ce(is_impossible, cls_logit)`."""
        terms = self.loss_terms(hidden, p_mask, cls_index, start_positions, end_positions,
                                is_impossible, training)
        return 0.5 * (terms["start"] + terms["end"]) + 0.5 * terms["answer_class"]

    def loss_terms(self, hidden, p_mask, cls_index, start_positions, end_positions,
                   is_impossible, training=None):
        """Batch-mean `start`, `end` cross-entropies and `answer_class` sigmoid
        cross-entropy. The end logits are conditioned on the gold start (teacher
        forcing). The answer-class branch reads the softmax-weighted start state
        as in the reference; HF's XLNetForQuestionAnswering reads the gold
        start's state in training instead (and the weighted one at inference)."""
        start_logits = self.start(hidden, p_mask)
        start_positions = tf.cast(tf.reshape(start_positions, [-1]), tf.int32)
        end_positions = tf.cast(tf.reshape(end_positions, [-1]), tf.int32)
        gold_start = tf.gather(hidden, start_positions[:, None], axis=1, batch_dims=1)
        end_logits = self.end(hidden, gold_start, p_mask)[:, 0]
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits
        cls_logits = self.answer_class(hidden, start_logits, cls_index, training)
        is_impossible = tf.cast(tf.reshape(is_impossible, [-1]), tf.float32)
        return {
            "start": tf.reduce_mean(ce(start_positions, start_logits)),
            "end": tf.reduce_mean(ce(end_positions, end_logits)),
            "answer_class": tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
                labels=is_impossible, logits=cls_logits)),
        }

    def get_config(self):
        config = super().get_config()
        config.update({
            "hidden_dim": self.hidden_dim, "start_n_top": self.start_n_top,
            "end_n_top": self.end_n_top, "dropout": self.dropout_rate,
            "layer_norm_epsilon": self.layer_norm_epsilon,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        })
        return config
