"""The errors every checkpoint format raises."""


class CorruptCheckpointError(ValueError):
    """A checkpoint file that cannot be read as what it claims to be (truncated,
    damaged, or another format under a known name)."""


class CheckpointMismatchError(ValueError):
    """The checkpoint does not fit the model built from its config: a tensor is
    missing, has another shape, or has no place in the model."""
