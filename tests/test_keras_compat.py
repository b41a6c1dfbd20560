"""The private Keras members kerabert uses exist in the installed Keras, and
that Keras is one kerabert supports (`kerabert/keras_compat.py` lists why
each member is used)."""

import importlib

import keras
import pytest

from kerabert import keras_compat


def _version(text):
    return tuple(int(part) for part in text.split(".")[:2])


def test_installed_keras_is_supported():
    low, high = (_version(v) for v in keras_compat.SUPPORTED_KERAS)
    assert low <= _version(keras.__version__) < high, (
        f"kerabert is tested with Keras {keras_compat.SUPPORTED_KERAS[0]} to below "
        f"{keras_compat.SUPPORTED_KERAS[1]}; check kerabert/keras_compat.py against "
        f"Keras {keras.__version__} and widen the range.")


def _owner(path):
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _instance(cls):
    """An object of `cls` with its instance attributes set."""
    if issubclass(cls, keras.Model):
        inputs = keras.Input((2,))
        model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
        model.compile(optimizer="adam", loss="mse")
        return model
    if issubclass(cls, keras.optimizers.Optimizer):
        optimizer = keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(1e-3, 10, 0.9))
        optimizer.build([keras.Variable(1.0)])
        return optimizer
    if issubclass(cls, keras.callbacks.BackupAndRestore):
        callback = cls("/tmp/unused-backup-dir")
        callback.on_epoch_begin(0)
        return callback
    return keras.layers.Dense(1)


@pytest.mark.parametrize("owner, member, why", keras_compat.PRIVATE_MEMBERS,
                         ids=[f"{o}.{m}" for o, m, _ in keras_compat.PRIVATE_MEMBERS])
def test_private_member_exists(owner, member, why):
    cls = _owner(owner)
    assert why
    assert hasattr(cls, member) or hasattr(_instance(cls), member), (
        f"Keras {keras.__version__} has no {owner}.{member}, which kerabert uses: {why}")
