"""The errors every checkpoint format raises, and where warnings point."""

import os
import sys


class CorruptCheckpointError(ValueError):
    """A checkpoint file that cannot be read as what it claims to be (truncated,
    damaged, or another format under a known name)."""


class CheckpointMismatchError(ValueError):
    """The checkpoint does not fit the model built from its config: a tensor is
    missing, has another shape, or has no place in the model."""


def caller_stacklevel():
    """The `warnings.warn` stacklevel that points at the first caller outside
    kerabert, so a warning names the user's line."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    level, frame = 2, sys._getframe(2)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        level, frame = level + 1, frame.f_back
    return level
