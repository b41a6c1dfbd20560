"""TensorBoard scalar summaries of `fit`'s logs, without the tensorboard package."""

import os

import keras

from kerabert.callbacks.training_logs import _EveryNSteps
from kerabert.callbacks.training_logs import optimizer_step


class TensorBoardScalars(keras.callbacks.Callback):
    """Writes the numbers in `fit`'s logs as TensorBoard scalars.

    The layout is `keras.callbacks.TensorBoard`'s: `<log_dir>/train` and
    `<log_dir>/validation` (for `val_*` logs, the prefix dropped), tags
    `epoch_<name>` with the epoch as step, and with `update_freq=N` also
    `batch_<name>` every N optimizer steps. Two differences:

    - batch summaries are keyed by the optimizer step (`optimizer.iterations`),
      so a run resumed from a backup continues the same curves (Keras counts
      the batches of each `fit` call from 0);
    - it needs only TensorFlow: Keras' callback writes through
      `tf.summary.scalar`, which the tensorboard package provides, and
      TensorFlow does not install it. The events are what
      `tf.summary.scalar` writes (a float32 tensor with the scalars plugin's
      metadata), so any TensorBoard shows them.

    Put it after the callbacks that add logs (`LearningRateLogger`,
    `ThroughputLogger`, `SquadEvaluator`), with the same `every_n_steps` as
    its `update_freq` for their step values.

    Args:
      log_dir: str, the run's folder.
      update_freq: "epoch", or an int N: also write the batch logs every N
        optimizer steps.
    """

    def __init__(self, log_dir, update_freq="epoch"):
        super().__init__()
        if update_freq != "epoch" and (isinstance(update_freq, bool)
                                       or not isinstance(update_freq, int) or update_freq < 1):
            raise ValueError(f"update_freq must be 'epoch' or an int >= 1 (optimizer steps), "
                             f"got {update_freq!r}.")
        self.log_dir = os.fspath(log_dir)
        self.update_freq = update_freq
        self._clock = _EveryNSteps(None if update_freq == "epoch" else update_freq)
        self._writers = {}

    def _writer(self, split):
        import tensorflow as tf

        if split not in self._writers:
            self._writers[split] = tf.summary.create_file_writer(
                os.path.join(self.log_dir, split))
        return self._writers[split]

    def _write(self, split, tags_and_values, step):
        import tensorflow as tf
        from tensorflow.core.framework import summary_pb2

        # What tf.summary.scalar (tensorboard's) attaches: the scalars plugin,
        # the scalar data class, and the value as a float32 tensor.
        metadata = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"),
            data_class=summary_pb2.DATA_CLASS_SCALAR)
        with self._writer(split).as_default():
            for tag, value in tags_and_values:
                tf.summary.write(tag, tf.constant(value, tf.float32), step=step,
                                 metadata=metadata)

    def _write_logs(self, logs, prefix, step):
        numbers = {k: float(v) for k, v in (logs or {}).items() if _is_number(v)}
        train = [(f"{prefix}{k}", v) for k, v in numbers.items() if not k.startswith("val_")]
        validation = [(f"{prefix}{k[4:]}", v) for k, v in numbers.items()
                      if k.startswith("val_")]
        if train:
            self._write("train", train, step)
        if validation:
            self._write("validation", validation, step)

    def on_train_begin(self, logs=None):
        self._clock.reset(optimizer_step(self.model))

    def on_train_batch_end(self, batch, logs=None):
        if self.update_freq == "epoch":
            return
        step = optimizer_step(self.model)
        if self._clock.due(step):
            self._write_logs(logs, "batch_", step)

    def on_epoch_end(self, epoch, logs=None):
        self._write_logs(logs, "epoch_", epoch)
        for writer in self._writers.values():
            writer.flush()  # readable while the next epoch trains

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}


def _is_number(value):
    """A log a scalar summary can hold (NaN included: a diverged loss is worth
    seeing)."""
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True
