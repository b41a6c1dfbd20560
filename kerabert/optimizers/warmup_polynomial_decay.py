"""Linear warmup then polynomial decay, in the BERT and the XLNet reference forms."""

import keras
from keras import ops

_DECAY_FROM = ("warmup_end", "absolute")


@keras.saving.register_keras_serializable(package="kerabert")
class WarmupPolynomialDecay(keras.optimizers.schedules.LearningRateSchedule):
    """`lr(step)`: `peak * step / warmup_steps` during warmup, then polynomial decay.

    The decay is `(peak - end) * (1 - s / d) ** power + end` with `s` clamped to
    `d` (TF's `PolynomialDecay`, `cycle=False`). What `s` and `d` are is the
    one place the two references differ:

    - `decay_from="warmup_end"` (XLNet's `optimization.py`): `s = step - warmup`,
      `d = total - warmup`, so the decay starts at `peak` and the curve is
      continuous. The XLNet `min_lr_ratio` is `end_learning_rate = peak * ratio`.
    - `decay_from="absolute"` (BERT's `WarmUp` + `PolynomialDecay`):
      `s = step`, `d = total`, so the rate falls from `peak` to
      `peak * (1 - warmup / total)` (power 1) on the first step after warmup.
      Kept for reproducing reference runs; not the kerabert default.

    With `warmup_steps=0` both modes are the plain polynomial decay.

    Args:
      peak_learning_rate: float, the rate at the end of warmup.
      total_steps: int, steps of the whole run, warmup included.
      warmup_steps: int.
      end_learning_rate: float, the rate from `total_steps` on.
      power: float, the decay's exponent (1.0 = linear).
      decay_from: "warmup_end" or "absolute".
    """

    def __init__(self, peak_learning_rate, total_steps, warmup_steps,
                 end_learning_rate=0.0, power=1.0, decay_from="warmup_end"):
        if decay_from not in _DECAY_FROM:
            raise ValueError(f"decay_from must be one of {_DECAY_FROM}, got {decay_from!r}.")
        if warmup_steps < 0 or (total_steps is not None and warmup_steps > total_steps):
            raise ValueError(f"warmup_steps={warmup_steps} must lie in [0, total_steps="
                             f"{total_steps}].")
        self.peak_learning_rate = peak_learning_rate
        self.total_steps = total_steps
        self.warmup_steps = warmup_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.decay_from = decay_from

    def __call__(self, step):
        if self.total_steps is None:
            raise ValueError("WarmupPolynomialDecay needs total_steps (the run's length).")
        step = ops.cast(step, "float32")
        peak, end = float(self.peak_learning_rate), float(self.end_learning_rate)
        warmup = float(self.warmup_steps)
        if self.decay_from == "absolute":
            decay_step, decay_steps = step, float(self.total_steps)
        else:
            decay_step, decay_steps = step - warmup, float(self.total_steps - warmup)
        if decay_steps > 0:
            fraction = ops.minimum(ops.maximum(decay_step, 0.0), decay_steps) / decay_steps
            decayed = (peak - end) * ops.power(1.0 - fraction, float(self.power)) + end
        else:  # a run that is all warmup: nothing left to decay over
            decayed = ops.full_like(step, end)
        if not self.warmup_steps:
            return decayed
        return ops.where(step < warmup, peak * step / warmup, decayed)

    def get_config(self):
        return {"peak_learning_rate": self.peak_learning_rate,
                "total_steps": self.total_steps, "warmup_steps": self.warmup_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power,
                "decay_from": self.decay_from}
