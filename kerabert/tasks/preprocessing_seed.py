"""The seed of the random choices a task's preprocessing makes in `fit`."""

import keras
import tensorflow as tf


class PreprocessingSeed:
    """The seed of a preprocessor's random choices in `fit` (BERT's dynamic
    masking): two int64 scalar variables on the CPU, `base` (drawn once per
    task from Python's `random`, which `keras.utils.set_random_seed` seeds)
    and `epoch` (set when each epoch begins).

    Batch i of epoch e is preprocessed with the stateless seed
    `fold_in(fold_in([base, 0], e), i)`: a function of its position, not of
    how many batches were drawn before it, which thread of the parallel map
    ran it or how far `prefetch` had read ahead. So the batches that a resumed
    `BackupAndRestore` run draws and discards, and those it trains on, get the
    masks of the uninterrupted run (the backup saves `base`). With
    `steps_per_epoch` Keras reads one stream across the epochs of a `fit`: i
    then counts along the stream and e is the fit's first epoch.

    A plain object, so the variables are neither task weights nor part of a
    saved model or an export.
    """

    def __init__(self, base):
        with tf.init_scope(), tf.device("/CPU:0"):
            self.base = tf.Variable(base, dtype=tf.int64, trainable=False,
                                    name="preprocessing_seed")
            self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False,
                                     name="preprocessing_epoch")

    def batch_seed(self, index):
        """(2,) int64 stateless seed of the batch at `index` (int64 scalar)."""
        seed = tf.stack([self.base.read_value(), tf.constant(0, tf.int64)])
        seed = tf.random.experimental.stateless_fold_in(seed, self.epoch.read_value())
        return tf.random.experimental.stateless_fold_in(seed, index)


class _SetPreprocessingEpoch(keras.callbacks.Callback):
    """Gives the training pipeline the epoch before Keras makes the epoch's
    iterator (which it does after `on_epoch_begin`)."""

    def __init__(self, seed, every_epoch):
        super().__init__()
        self.seed, self.every_epoch, self._set = seed, every_epoch, False

    def on_train_begin(self, logs=None):
        self._set = False

    def on_epoch_begin(self, epoch, logs=None):
        if self.every_epoch or not self._set:
            self.seed.epoch.assign(epoch)
            self._set = True

