"""Callbacks that add the learning rate and the throughput to `fit`'s logs,
where `History`, `TensorBoard` and progress bars read them."""

import time

import keras


def optimizer_step(model):
    """The optimizer's step counter (`optimizer.iterations`) as an int; 0
    without an optimizer. A `LossScaleOptimizer` reports its inner one's."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "iterations"):
        return 0
    return int(keras.ops.convert_to_numpy(optimizer.iterations))


class _EveryNSteps:
    """Whether `every_n_steps` optimizer steps have passed since the last
    report: true whenever the step crosses a multiple of N, so a run resumed
    from a backup reports at the same steps, and with `steps_per_execution`
    > 1 (steps jump by several) no multiple is missed."""

    def __init__(self, every_n_steps):
        if every_n_steps is not None and (isinstance(every_n_steps, bool) or not isinstance(
                every_n_steps, int) or every_n_steps < 1):
            raise ValueError(f"every_n_steps must be None or an int >= 1, got "
                             f"{every_n_steps!r}.")
        self.every_n_steps = every_n_steps
        self.last = 0

    def reset(self, step):
        self.last = step

    def due(self, step):
        if self.every_n_steps is None:
            return False
        due = step // self.every_n_steps > self.last // self.every_n_steps
        if due:
            self.last = step
        return due


class LearningRateLogger(keras.callbacks.Callback):
    """Adds the optimizer's learning rate to the logs as `learning_rate`: at
    every epoch end, and with `every_n_steps=N` also to the batch logs every N
    optimizer steps.

    The rate is the optimizer's `learning_rate` at the current
    `optimizer.iterations`, i.e. the rate of the next update (as Keras'
    `LearningRateScheduler` and `TensorBoard` report it): a schedule
    (kerabert's `LinearWarmupDecay`, `WarmupPolynomialDecay` or any Keras
    schedule) is evaluated there, and a `LossScaleOptimizer` reports its inner
    optimizer's. With `layer_decay_rate` < 1 it is the top layer's rate.

    Put it before the callbacks that should see the value (`TensorBoard`
    writes batch logs as `batch_learning_rate` when its `update_freq` matches;
    `History`, which `fit` adds last, always sees it).

    Args:
      every_n_steps: None (epoch logs only) or an int N.
      name: the log key.
    """

    def __init__(self, every_n_steps=None, name="learning_rate"):
        super().__init__()
        self._clock = _EveryNSteps(every_n_steps)
        self.every_n_steps = every_n_steps
        self.name = name

    def learning_rate(self):
        """The current rate, a Python float."""
        optimizer = self.model.optimizer
        if optimizer is None or not hasattr(optimizer, "learning_rate"):
            raise ValueError("LearningRateLogger needs a compiled model whose optimizer has a "
                             "learning_rate: compile the model before fit().")
        return float(keras.ops.convert_to_numpy(optimizer.learning_rate))

    def on_train_begin(self, logs=None):
        self._clock.reset(optimizer_step(self.model))

    def on_train_batch_end(self, batch, logs=None):
        if self.every_n_steps is None or logs is None:
            return
        if self._clock.due(optimizer_step(self.model)):
            logs[self.name] = self.learning_rate()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs[self.name] = self.learning_rate()


class ThroughputLogger(keras.callbacks.Callback):
    """Adds `examples_per_second` to the logs: the training throughput of
    each epoch (optimizer steps times `batch_size`, over the time from the
    epoch's start to its last training batch, so validation is not counted),
    and with `every_n_steps=N` that of the last N steps to the batch logs.

    Steps are counted on `optimizer.iterations`, so batches skipped while
    resuming from a backup do not count. An epoch without a step logs 0.

    Args:
      batch_size: int, examples per optimizer step (the global batch under a
        distribution strategy).
      every_n_steps: None (epoch logs only) or an int N.
      name: the log key.
    """

    def __init__(self, batch_size, every_n_steps=None, name="examples_per_second"):
        super().__init__()
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1 (examples per step), "
                             f"got {batch_size!r}.")
        self.batch_size = batch_size
        self._clock = _EveryNSteps(every_n_steps)
        self.every_n_steps = every_n_steps
        self.name = name

    def _rate(self, steps, seconds):
        return steps * self.batch_size / seconds if steps and seconds > 0 else 0.0

    def on_train_begin(self, logs=None):
        self._clock.reset(optimizer_step(self.model))

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = self._window_start = self._last_time = time.perf_counter()
        self._epoch_step = self._window_step = optimizer_step(self.model)

    def on_train_batch_end(self, batch, logs=None):
        self._last_time = time.perf_counter()
        if self.every_n_steps is None or logs is None:
            return  # the step is read at the epoch's end: no per-batch read
        step = optimizer_step(self.model)
        if self._clock.due(step):
            logs[self.name] = self._rate(step - self._window_step,
                                         self._last_time - self._window_start)
            self._window_start, self._window_step = self._last_time, step

    def on_epoch_end(self, epoch, logs=None):
        # Validation, which ran since the last batch, makes no optimizer step.
        if logs is not None:
            logs[self.name] = self._rate(optimizer_step(self.model) - self._epoch_step,
                                         self._last_time - self._epoch_start)
