"""XLNet's relative segment encoding: is key j in the same segment as query i?"""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="kerabert")
class XLNetRelativeSegments(keras.layers.Layer):
    """XLNet attends with a learned vector for "same segment" and one for
    "different segment" instead of absolute segment embeddings.

    Call arguments:
      segment_ids: (B, Q) int.
      memory: optional (B, M, H); memory positions count as segment 0, as in the
        reference.
    Returns:
      float32 (B, Q, M + Q): 1.0 where query i and key j are in different
      segments (the reference's one-hot `seg_mat` keeps only this bit).
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.built = True

    def call(self, segment_ids, memory=None):
        segment_ids = tf.cast(segment_ids, tf.int32)
        keys = segment_ids
        if memory is not None:
            keys = tf.concat([tf.zeros(tf.shape(memory)[:2], tf.int32), segment_ids], axis=1)
        return tf.cast(segment_ids[:, :, None] != keys[:, None, :], tf.float32)
