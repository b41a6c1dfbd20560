"""TensorBoardScalars: event files that hold fit's logs, read back with
TensorFlow's event reader."""

import collections
import glob
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerabert.callbacks import LearningRateLogger
from kerabert.callbacks import TensorBoardScalars


def read_scalars(folder):
    """`{tag: [(step, value), ...]}` from the TensorBoard event files in
    `folder`; checks that each is a scalar summary as tensorboard writes it."""
    scalars = collections.defaultdict(list)
    for path in sorted(glob.glob(os.path.join(folder, "events.out.tfevents.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                assert value.metadata.plugin_data.plugin_name == "scalars", value.tag
                array = tf.make_ndarray(value.tensor)
                assert array.dtype == np.float32 and array.shape == ()
                scalars[value.tag].append((event.step, float(array)))
    return dict(scalars)


def test_epoch_and_step_summaries(tmp_path):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    schedule = keras.optimizers.schedules.PolynomialDecay(0.1, decay_steps=10, end_learning_rate=0)
    model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse", metrics=["mae"])
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(10, 4)).astype("float32"), rng.normal(size=(10, 1)).astype("float32")
    history = model.fit(x, y, batch_size=2, epochs=2, verbose=0, validation_data=(x, y),
                        callbacks=[LearningRateLogger(every_n_steps=4),
                                   TensorBoardScalars(tmp_path, update_freq=4)])
    train, validation = (read_scalars(str(tmp_path / split)) for split in ("train", "validation"))
    for name in ("loss", "mae", "learning_rate"):
        assert [s for s, _ in train[f"epoch_{name}"]] == [0, 1]
        np.testing.assert_allclose([v for _, v in train[f"epoch_{name}"]],
                                   history.history[name], rtol=1e-6)
    for name in ("loss", "mae"):
        np.testing.assert_allclose([v for _, v in validation[f"epoch_{name}"]],
                                   history.history[f"val_{name}"], rtol=1e-6)
    # Every 4 optimizer steps (5 an epoch): 4 and 8, keyed by the step.
    assert [s for s, _ in train["batch_loss"]] == [4, 8]
    np.testing.assert_allclose([v for _, v in train["batch_learning_rate"]],
                               [0.1 * (1 - 4 / 10), 0.1 * (1 - 8 / 10)], rtol=1e-6)
    assert "batch_loss" not in validation


def test_rejects_bad_update_freq(tmp_path):
    with pytest.raises(ValueError, match="update_freq"):
        TensorBoardScalars(tmp_path, update_freq="batch")
