"""The interface between a callback that resumes a run and the task's planning."""


class ResumableCallback:
    """A callback that, at `fit` start, may put back a run saved earlier
    (weights, optimizer state, the learning-rate plan).

    A kerabert task asks the `fit`'s callbacks through this interface before
    it plans its default learning-rate schedule: when one of them will
    restore a backup, the plan comes from that backup, not from the data
    (see `kerabert.optimizers.schedule_planner.SchedulePlanner`).
    `kerabert.callbacks.BackupAndRestore` implements it.
    """

    def has_backup(self):
        """Whether the coming `fit` restores from a saved backup (bool)."""
        raise NotImplementedError(f"{type(self).__name__} must implement has_backup().")
