"""A read-once view of a checkpoint's tensors that reports what was not used."""

import contextlib

import numpy as np

# Callbacks `(reader, name)` run after every tensor a reader hands out; see
# `observe_reads` (the `kerabert convert` progress bar uses it).
_READ_OBSERVERS = []


@contextlib.contextmanager
def observe_reads(callback):
    """Calls `callback(reader, name)` after each tensor read inside the block."""
    _READ_OBSERVERS.append(callback)
    try:
        yield
    finally:
        _READ_OBSERVERS.remove(callback)


class CheckpointMismatchError(ValueError):
    """The checkpoint does not fit the model built from its config."""


class TensorReader:
    """Name -> array access over a checkpoint, with bookkeeping.

    Converters call `get(name)` / `assign(variable, name, transform)`; afterwards
    `check_consumed()` raises if tensors were left over (unless they belong to a
    known head the caller did not ask for), so a half-converted model never passes
    silently.

    Args:
      loaders: `{name: zero-argument function returning a numpy array}`.
      source: the file or folder, for error messages.
      skipped: names the format left out because they are not model weights
        (optimizer slots, step counters), kept for reporting.
    """

    def __init__(self, loaders, source, skipped=()):
        self._loaders = dict(loaders)
        self.source = source
        self.used = set()
        self.skipped = sorted(skipped)
        # Tensors a converter recognised as belonging to something other than the
        # model being built (e.g. the heads beside a Model Garden encoder).
        self.allowed_unused = set()

    def __contains__(self, name):
        return name in self._loaders

    def __len__(self):
        return len(self._loaders)

    def keys(self):
        return list(self._loaders)

    def get(self, name):
        if name not in self._loaders:
            raise CheckpointMismatchError(
                f"Tensor {name!r} is missing from {self.source}. The checkpoint does "
                "not match the model its config describes.")
        self.used.add(name)
        value = self._loaders[name]()
        for callback in _READ_OBSERVERS:
            callback(self, name)
        return value

    def allow_unused(self, names):
        """Marks tensors that `check_consumed` should not report (known heads)."""
        self.allowed_unused.update(names)

    def assign(self, variable, name, transform=None):
        """Copies tensor `name` (after `transform`) into a Keras variable."""
        value = self.get(name)
        if transform is not None:
            value = transform(value)
        self.assign_value(variable, name, value)

    def assign_value(self, variable, name, value):
        """`assign` for a value the caller already read (and reshaped); `name`
        only labels errors."""
        if tuple(value.shape) != tuple(variable.shape):
            raise CheckpointMismatchError(
                f"Shape mismatch for {name!r} in {self.source}: the checkpoint has "
                f"{tuple(value.shape)}, the model built from the config expects "
                f"{tuple(variable.shape)} (variable {variable.path}). Check that the "
                "config file belongs to these weights.")
        variable.assign(np.asarray(value).astype(variable.dtype))

    def check_consumed(self, ignore_prefixes=(), ignore_unused=False):
        """Raises unless every tensor was used or matches `ignore_prefixes`."""
        left = sorted(
            n for n in self._loaders
            if n not in self.used and n not in self.allowed_unused
            and not n.startswith(tuple(ignore_prefixes))
        )
        if left and not ignore_unused:
            shown = ", ".join(left[:8]) + (" ..." if len(left) > 8 else "")
            raise CheckpointMismatchError(
                f"{len(left)} tensors in {self.source} were not used: {shown}. The "
                "checkpoint holds weights this model has no place for; pass "
                "ignore_unused_weights=True to load anyway.")
        return left
