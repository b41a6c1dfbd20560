"""Model Garden's weighted sparse categorical cross-entropy (official/nlp/modeling/losses).

Unlike `keras.losses.SparseCategoricalCrossentropy`, the predictions are
already LOG-probabilities (the output of a log-softmax), and a weighted loss is
normalised by the sum of the weights plus 1e-5, so that a batch whose weights
are all zero has loss 0 instead of NaN. BERT's masked-LM loss is this loss with
the `masked_weights` (1 = real prediction, 0 = padding slot).
"""

import tensorflow as tf

# Keeps an all-zero weight batch at 0 / 1e-5 = 0 (the reference's constant).
EPSILON = 1e-5


def _prepare(labels, log_probs, weights):
    log_probs = tf.cast(tf.convert_to_tensor(log_probs), tf.float32)
    labels = tf.cast(tf.convert_to_tensor(labels), tf.int32)
    # Keras passes labels with a trailing axis of size 1.
    if labels.shape.rank == log_probs.shape.rank:
        labels = tf.squeeze(labels, axis=-1)
    if labels.shape.rank != log_probs.shape.rank - 1:
        raise ValueError(
            "weighted_sparse_categorical_crossentropy expects labels of rank "
            f"rank(log_probs) - 1; got labels {labels.shape} and log_probs {log_probs.shape}.")
    if weights is not None:
        weights = tf.cast(tf.convert_to_tensor(weights), tf.float32)
        if weights.shape.rank != labels.shape.rank:
            raise ValueError(
                "Weight and label tensors were not of the same rank: weights "
                f"{weights.shape}, labels {labels.shape}.")
    return labels, log_probs, weights


def per_example_loss(labels, log_probs, weights=None):
    """`-log_probs[..., label]`, times `weights` when given.

    Args:
      labels: int (...,) class ids (a trailing axis of size 1 is squeezed).
      log_probs: float (..., C) log-probabilities (not logits).
      weights: optional float (...,), the shape of `labels`.
    Returns:
      float32 (...,). Computed by gathering, not with a one-hot product, so a
      `-inf` log-probability of another class cannot turn the loss into NaN.
    """
    labels, log_probs, weights = _prepare(labels, log_probs, weights)
    rank = labels.shape.rank
    loss = -tf.gather(log_probs, labels, axis=rank, batch_dims=rank)
    return loss if weights is None else loss * weights


def weighted_sparse_categorical_crossentropy(labels, log_probs, weights=None):
    """Mean negative log-likelihood of `labels` under `log_probs`.

    With weights: `sum(w * -log_p[label]) / (sum(w) + 1e-5)`; without: the plain
    mean over all positions. Arguments as `per_example_loss`.

    Returns:
      A float32 scalar.
    """
    labels, log_probs, weights = _prepare(labels, log_probs, weights)
    loss = per_example_loss(labels, log_probs, weights)
    if weights is None:
        return tf.reduce_mean(loss)
    return tf.reduce_sum(loss) / (tf.reduce_sum(weights) + EPSILON)
