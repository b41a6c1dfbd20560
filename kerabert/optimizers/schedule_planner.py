"""When the default learning-rate schedule warms up and decays, fit by fit."""

import logging

import keras

from kerabert.callbacks.resumable_callback import ResumableCallback

logger = logging.getLogger("kerabert")

# The plan's fields, which a backup and a `.keras` file store.
PLAN_KEYS = ("start_step", "total_steps", "warmup_ratio")


class SchedulePlanner:
    """Plans a `LinearWarmupDecay` over the optimizer steps of each `fit`.

    The plan is three numbers kept on the schedule (they are traced into the
    train function as constants): `start_step` (int, the optimizer step it
    starts at), `total_steps` (int, or None while unplanned) and
    `warmup_ratio` (float). It is made once, from `num_train_steps` at
    compile time or from the data of the first `fit`; a later `fit` within
    it continues it; one that would run past its end plans again from the
    current step, without a second warmup (the optimizer's moment estimates
    are already warm), so every `fit` trains.

    Every method that changes the plan returns whether it did: the caller
    must then retrace its train function.

    Args:
      schedule: the `kerabert.optimizers.LinearWarmupDecay` planned.
    """

    def __init__(self, schedule):
        self.schedule = schedule

    @property
    def planned(self):
        """Whether the schedule knows its number of steps."""
        return self.schedule.total_steps is not None

    def state(self):
        """The plan, as a JSON-able dict `{start_step, total_steps, warmup_ratio}`."""
        return {key: getattr(self.schedule, key) for key in PLAN_KEYS}

    def restore(self, state):
        """Sets the plan from `state()` (missing keys keep their value).
        Returns whether it changed."""
        changed = any(key in state and getattr(self.schedule, key) != state[key]
                      for key in PLAN_KEYS)
        for key in PLAN_KEYS:
            if key in state:
                setattr(self.schedule, key, state[key])
        return changed

    def replan(self, start_step, total_steps, warmup_ratio):
        """Plans `total_steps` steps from optimizer step `start_step`, warming
        up for `warmup_ratio` of them. Returns whether the plan changed."""
        return self.restore({"start_step": start_step, "total_steps": total_steps,
                             "warmup_ratio": warmup_ratio})

    @staticmethod
    def resuming(callbacks):
        """Whether one of `callbacks` (a list, a `CallbackList` or None) is a
        `ResumableCallback` that will restore a backup in this `fit`."""
        if isinstance(callbacks, keras.callbacks.CallbackList):
            callbacks = callbacks.callbacks
        return any(isinstance(c, ResumableCallback) and c.has_backup()
                   for c in callbacks or ())

    def plan_for_fit(self, current_step, steps_per_epoch, epochs, initial_epoch=0,
                     resuming=False):
        """Plans the schedule for a `fit` about to run.

        Args:
          current_step: int, the optimizer's `iterations` before the fit.
          steps_per_epoch: int, the fit's batches per epoch, or None when
            unknown (a dataset of unknown length without `steps_per_epoch=`).
          epochs, initial_epoch: the fit's; it runs `epochs - initial_epoch`
            epochs.
          resuming: a callback restores a backup, whose plan it puts back.

        Returns whether the plan changed. Raises `ValueError` when the plan
        needs a number of steps that nothing gives.
        """
        schedule = self.schedule
        if self.planned and resuming:
            return False
        if steps_per_epoch is None:
            if self.planned:
                return False  # planned by compile(num_train_steps=...)
            raise ValueError(
                "The default optimizer's warmup/decay schedule needs the number "
                "of steps, but the dataset's length is unknown. Pass "
                "steps_per_epoch= to fit, or compile(num_train_steps=...).")
        steps = steps_per_epoch * max(epochs - initial_epoch, 0)
        if not self.planned:
            # The first plan. A fresh optimizer warms up; one that has already
            # stepped (a model loaded from a file saved without a plan) has warm
            # moment estimates and only decays.
            return self.replan(current_step, steps,
                               schedule.warmup_ratio if current_step == 0 else 0.0)
        end = schedule.start_step + schedule.total_steps
        if current_step + steps <= end:
            return False
        logger.warning(
            "kerabert: this fit runs optimizer steps %d to %d, past the learning-rate "
            "schedule planned for steps %d to %d (where the rate is 0). Planning it "
            "again: linear decay from %g to 0 over this fit's %d steps.",
            current_step, current_step + steps, schedule.start_step, end,
            schedule.peak_learning_rate, steps)
        self.replan(current_step, steps, 0.0)
        return True
