"""LearningRateLogger and ThroughputLogger, and `compile(steps_per_execution=N)`
with kerabert's default recipe: the same training, the schedule still
advancing per optimizer step."""

import keras
import numpy as np
import pytest

import kerabert
from kerabert.callbacks import LearningRateLogger
from kerabert.callbacks import ThroughputLogger
from kerabert.callbacks import training_logs
from tests.callbacks.test_backup_and_restore import BATCH_SIZE
from tests.callbacks.test_backup_and_restore import BATCHES
from tests.callbacks.test_backup_and_restore import EPOCHS
from tests.callbacks.test_backup_and_restore import LEARNING_RATE
from tests.callbacks.test_backup_and_restore import _data
from tests.harness import tiny_bert_classifier

TOTAL = EPOCHS * BATCHES  # 18 optimizer steps


def recipe_rate(step):
    """kerabert's default schedule by hand: 10 % warmup of 18 steps is
    round(1.8) = 2 steps, then linear decay to 0 at step 18."""
    if step < 2:
        return LEARNING_RATE * step / 2
    return LEARNING_RATE * max(0.0, (TOTAL - step) / (TOTAL - 2))


class BatchLogs(keras.callbacks.Callback):
    """Records `(optimizer step, value)` whenever the batch logs hold `key`."""

    def __init__(self, key):
        super().__init__()
        self.key = key
        self.seen = []

    def on_train_batch_end(self, batch, logs=None):
        if self.key in logs:
            step = int(self.model.optimizer.iterations.numpy())
            self.seen.append((step, logs[self.key]))


def _train(steps_per_execution):
    model = tiny_bert_classifier(LEARNING_RATE)
    if steps_per_execution != 1:
        model.compile(learning_rate=LEARNING_RATE, steps_per_execution=steps_per_execution)
    batch_logs = BatchLogs("learning_rate")
    x, y = _data()
    history = model.fit(x, y, batch_size=BATCH_SIZE, epochs=EPOCHS, shuffle=False, verbose=0,
                        callbacks=[LearningRateLogger(every_n_steps=4), batch_logs])
    return model, history.history, batch_logs.seen


@pytest.fixture(scope="module")
def one_step_per_execution():
    return _train(1)


def test_learning_rate_logged_each_epoch_and_every_n_steps(one_step_per_execution):
    model, history, seen = one_step_per_execution
    # Epoch e ends at step 6 (e + 1): the rate there is that of the next update.
    np.testing.assert_allclose(history["learning_rate"],
                               [recipe_rate(6 * (e + 1)) for e in range(EPOCHS)], rtol=1e-6)
    assert [step for step, _ in seen] == [4, 8, 12, 16]
    np.testing.assert_allclose([rate for _, rate in seen],
                               [recipe_rate(s) for s in (4, 8, 12, 16)], rtol=1e-6)


# 4 does not divide the 6 batches of an epoch: the last execution of each
# epoch is a short one.
@pytest.mark.parametrize("steps_per_execution", [4])
def test_steps_per_execution_trains_as_one_step_at_a_time(one_step_per_execution,
                                                          steps_per_execution):
    reference, reference_history, _ = one_step_per_execution
    model, history, seen = _train(steps_per_execution)
    assert int(model.optimizer.iterations.numpy()) == TOTAL
    # Same weights: every step inside an execution used its own scheduled rate.
    for expected, actual in zip(reference.get_weights(), model.get_weights()):
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(history["learning_rate"], reference_history["learning_rate"],
                               rtol=1e-6)
    np.testing.assert_allclose(history["loss"], reference_history["loss"], rtol=1e-5)
    # Batch logs come once per execution, at the first one past each multiple of 4.
    ends = sorted({min(start + steps_per_execution, BATCHES) + 6 * e
                   for e in range(EPOCHS) for start in range(0, BATCHES, steps_per_execution)})
    expected = [next(end for end in ends if end >= m) for m in (4, 8, 12, 16)]
    assert [step for step, _ in seen] == sorted(set(expected))
    np.testing.assert_allclose([rate for _, rate in seen],
                               [recipe_rate(s) for s, _ in seen], rtol=1e-6)


def _dense_model(optimizer):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer=optimizer, loss="mse")
    return model


def test_keras_schedule_behind_a_loss_scale_optimizer():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(schedule))
    model = _dense_model(optimizer)
    x, y = np.ones((6, 4), "float32"), np.zeros((6, 1), "float32")
    history = model.fit(x, y, batch_size=2, epochs=2, verbose=0,
                        callbacks=[LearningRateLogger()])
    # 3 steps an epoch; ExponentialDecay: 0.1 * 0.5 ** (step / 2).
    np.testing.assert_allclose(history.history["learning_rate"],
                               [0.1 * 0.5 ** 1.5, 0.1 * 0.5 ** 3], rtol=1e-6)


def test_kerabert_schedule_on_a_plain_optimizer():
    schedule = kerabert.WarmupPolynomialDecay(0.01, total_steps=6, warmup_steps=2)
    model = _dense_model(keras.optimizers.SGD(schedule))
    x, y = np.ones((6, 4), "float32"), np.zeros((6, 1), "float32")
    history = model.fit(x, y, batch_size=2, epochs=2, verbose=0,
                        callbacks=[LearningRateLogger()])
    # Step 3: decay from 0.01 over the 4 steps after warmup, 1 done; step 6: the end.
    np.testing.assert_allclose(history.history["learning_rate"], [0.01 * 3 / 4, 0.0],
                               atol=1e-9)


class FakeClock:
    """`perf_counter` advancing one second per call."""

    def __init__(self):
        self.now = 100.0

    def perf_counter(self):
        self.now += 1.0
        return self.now


def test_throughput(monkeypatch):
    monkeypatch.setattr(training_logs, "time", FakeClock())
    model = _dense_model("sgd")
    x, y = np.ones((12, 4), "float32"), np.zeros((12, 1), "float32")
    batch_logs = BatchLogs("examples_per_second")
    history = model.fit(x, y, batch_size=2, epochs=2, verbose=0,
                        callbacks=[ThroughputLogger(batch_size=2, every_n_steps=3), batch_logs])
    # The clock is read at each epoch start and after each of its 6 batches:
    # 6 steps of 2 examples in 6 "seconds"; the same for every 3-step window.
    assert history.history["examples_per_second"] == [2.0, 2.0]
    assert batch_logs.seen == [(3, 2.0), (6, 2.0), (9, 2.0), (12, 2.0)]


@pytest.mark.parametrize("every_n_steps", [0, 1.5, True])
def test_rejects_bad_every_n_steps(every_n_steps):
    with pytest.raises(ValueError, match="every_n_steps"):
        LearningRateLogger(every_n_steps=every_n_steps)
    with pytest.raises(ValueError, match="every_n_steps"):
        ThroughputLogger(2, every_n_steps=every_n_steps)
