"""A read-once view of a checkpoint's tensors that reports what was not used."""

import contextlib

import numpy as np

from kerabert.presets.errors import CheckpointMismatchError

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


class TensorReader:
    """Name -> array access over a checkpoint, with bookkeeping.

    Loading code calls `get(name)` / `assign(variable, name, transform)` for
    the tensors it uses, and `mark_unused(names)` for tensors it knows and
    deliberately leaves (a head the caller did not ask for, a tied copy, a
    buffer). `check_consumed()` then raises if any other tensor was left, so a
    half-converted model never passes silently.

    Args:
      loaders: `{name: zero-argument function returning a numpy array}`.
      source: the file or folder, for error messages.
      skipped: names the format left out because they are not model weights
        (optimizer slots, step counters), kept for reporting.

    Attributes:
      used: names of the tensors that were read into the model.
      unused: `{name: reason}` of the tensors marked unused.
    """

    def __init__(self, loaders, source, skipped=()):
        self._loaders = dict(loaders)
        self.source = source
        self.used = set()
        self.unused = {}
        self.skipped = sorted(skipped)

    def __contains__(self, name):
        return name in self._loaders

    def __len__(self):
        return len(self._loaders)

    def keys(self):
        return list(self._loaders)

    def get(self, name):
        """The tensor `name` as a numpy array; counts it as used."""
        if name not in self._loaders:
            raise CheckpointMismatchError(
                f"Tensor {name!r} is missing from {self.source}. The checkpoint does "
                "not match the model its config describes.")
        self.used.add(name)
        value = self._loaders[name]()
        for callback in _READ_OBSERVERS:
            callback(self, name)
        return value

    def mark_unused(self, names, reason):
        """Marks tensors that `check_consumed` should not report, with why
        (e.g. "classifier head", "tied to the word embeddings")."""
        for name in names:
            if name in self._loaders and name not in self.used:
                self.unused[name] = reason

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

    def assign_dense(self, layer, kernel, bias=None, transpose=False):
        """A Dense layer from its kernel (transposed from torch's (out, in) when
        `transpose`) and, when given, its bias."""
        self.assign(layer.kernel, kernel, np.transpose if transpose else None)
        if bias is not None:
            self.assign(layer.bias, bias)

    def assign_layer_norm(self, layer, gamma, beta):
        """A LayerNormalization layer from its scale and offset."""
        self.assign(layer.gamma, gamma)
        self.assign(layer.beta, beta)

    def left_over(self):
        """Tensors neither used nor marked unused."""
        return sorted(n for n in self._loaders if n not in self.used and n not in self.unused)

    def check_consumed(self, ignore_unused=False):
        """Raises unless every tensor was used or marked unused; returns the
        names left over (with `ignore_unused=True`, where they do not raise)."""
        left = self.left_over()
        if left and not ignore_unused:
            shown = ", ".join(left[:8]) + (" ..." if len(left) > 8 else "")
            raise CheckpointMismatchError(
                f"{len(left)} tensors in {self.source} were not used: {shown}. The "
                "checkpoint holds weights this model has no place for; pass "
                "ignore_unused_weights=True to load anyway.")
        return left
