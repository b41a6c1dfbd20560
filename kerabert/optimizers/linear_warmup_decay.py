"""Linear warmup then linear decay to zero (the BERT fine-tuning schedule)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerabert")
class LinearWarmupDecay(keras.optimizers.schedules.LearningRateSchedule):
    """`lr(step)`: linear from 0 to `peak` over the warmup, then linear to 0.

    Deliberate difference from the reference (Model Garden's `optimization.py`): its BERT
    `WarmUp` hands over to `PolynomialDecay(step)` evaluated at the *absolute*
    step, so the rate drops from `peak` to `peak * (1 - warmup/total)` the step
    after warmup. Here decay starts from `peak` at the end of warmup (as the
    reference's own XLNet schedule does), so the curve is continuous.

    The plan covers the optimizer steps `[start_step, start_step + total_steps)`.
    `Task.fit` plans it once, from the data of the first `fit`, and plans it
    again from the current step when a later `fit` runs past its end (see
    `kerabert.optimizers.schedule_planner.SchedulePlanner`); before
    `start_step` the rate is 0.

    Args:
      peak_learning_rate: float.
      total_steps: int, steps of the whole run (may be set later by
        `Task.fit`, which knows the dataset length).
      warmup_ratio: fraction of `total_steps` spent warming up.
      start_step: int, the optimizer step (`optimizer.iterations`) the plan
        starts at.
    """

    def __init__(self, peak_learning_rate=2e-5, total_steps=None, warmup_ratio=0.1,
                 start_step=0):
        self.peak_learning_rate = peak_learning_rate
        self.total_steps = total_steps
        self.warmup_ratio = warmup_ratio
        self.start_step = start_step

    @property
    def warmup_steps(self):
        return int(round(self.total_steps * self.warmup_ratio))

    def __call__(self, step):
        if self.total_steps is None:
            raise ValueError(
                "The warmup/decay schedule does not know the number of training "
                "steps. Task.fit sets it from the dataset length; for a dataset of "
                "unknown length pass steps_per_epoch= to fit, or compile with "
                "num_train_steps=.")
        step = ops.cast(step, "float32") - float(self.start_step)
        total = float(max(self.total_steps, 1))
        warmup = float(self.warmup_steps)
        peak = self.peak_learning_rate
        warm = peak * step / max(warmup, 1.0)
        decay = peak * ops.maximum(0.0, (total - step) / max(total - warmup, 1.0))
        return ops.where(step < 0.0, 0.0, ops.where(step < warmup, warm, decay))

    def get_config(self):
        return {"peak_learning_rate": self.peak_learning_rate,
                "total_steps": self.total_steps, "warmup_ratio": self.warmup_ratio,
                "start_step": self.start_step}
