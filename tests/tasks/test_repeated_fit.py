"""Every `fit` call trains: the default recipe's schedule is planned once and
planned again when a later fit runs past it (a second fit used to run every
step at learning rate 0)."""

import logging
import os

import keras
import numpy as np
import pytest

from tests.harness import sentiment_data
from tests.harness import tiny_bert_classifier

BATCH = 4


class LearningRates(keras.callbacks.Callback):
    """The learning rate each optimizer step of a fit uses."""

    def on_train_begin(self, logs=None):
        self.rates = []

    def on_train_batch_begin(self, batch, logs=None):
        self.rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))


def fit(model, **kwargs):
    x, y = sentiment_data(repeats=2)  # 8 examples: 2 steps per epoch
    rates = LearningRates()
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, y, batch_size=BATCH, shuffle=False, verbose=0, callbacks=[rates], **kwargs)
    moved = max(float(np.abs(a - b).max()) for a, b in zip(model.get_weights(), before))
    return rates.rates, moved


def assert_trains(rates, moved, steps):
    assert len(rates) == steps
    assert min(rates) > 0, rates
    assert moved > 0


def test_second_fit_trains_and_says_it_replanned(caplog):
    model = tiny_bert_classifier(learning_rate=1e-2)
    first, _ = fit(model, epochs=1)
    # The first plan: warmup from 0 over 10 % of the 2 steps (rounded to 0), decay to 0.
    assert first == pytest.approx([1e-2, 5e-3])
    with caplog.at_level(logging.WARNING, logger="kerabert"):
        second, moved = fit(model, epochs=1)
    assert_trains(second, moved, steps=2)
    assert second == pytest.approx([1e-2, 5e-3])  # decay from the peak, from step 2
    messages = [r.getMessage() for r in caplog.records if "Planning it again" in r.getMessage()]
    assert len(messages) == 1 and "steps 2 to 4" in messages[0]


def test_fit_with_initial_epoch_after_a_fit_trains():
    model = tiny_bert_classifier(learning_rate=1e-2)
    fit(model, epochs=2)
    rates, moved = fit(model, initial_epoch=2, epochs=3)
    assert_trains(rates, moved, steps=2)


def test_first_fit_with_initial_epoch_plans_its_own_steps():
    model = tiny_bert_classifier(learning_rate=1e-2)
    rates, moved = fit(model, initial_epoch=2, epochs=3)
    assert_trains(rates, moved, steps=2)
    assert model._auto_schedule.total_steps == 2


def test_explicit_plan_is_kept_then_replanned_past_its_end():
    model = tiny_bert_classifier(learning_rate=1e-2)
    model.compile(learning_rate=1e-2, num_train_steps=8, warmup_ratio=0.25)
    first, _ = fit(model, epochs=2)
    second, _ = fit(model, epochs=2)
    # One plan of 8 steps (2 warmup) across both fits.
    expected = [0.0, 5e-3, 1e-2, 5e-3 * 5 / 3, 5e-3 * 4 / 3, 5e-3, 5e-3 * 2 / 3, 5e-3 / 3]
    assert first + second == pytest.approx(expected)
    third, moved = fit(model, epochs=1)
    assert_trains(third, moved, steps=2)


def test_fit_after_loading_a_keras_file_mid_training_continues_the_plan(tmp_path):
    uninterrupted = tiny_bert_classifier(learning_rate=1e-2)
    expected, _ = fit(uninterrupted, epochs=3)

    model = tiny_bert_classifier(learning_rate=1e-2)
    # Train the first of three planned epochs, save, reload, resume.
    model.compile(learning_rate=1e-2, num_train_steps=6)
    first, _ = fit(model, epochs=1)
    path = os.path.join(tmp_path, "mid.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert int(reloaded.optimizer.iterations.numpy()) == 2
    rest, moved = fit(reloaded, initial_epoch=1, epochs=3)
    assert_trains(rest, moved, steps=4)
    assert first + rest == pytest.approx(expected)


def test_fit_after_loading_a_finished_run_trains(tmp_path):
    model = tiny_bert_classifier(learning_rate=1e-2)
    fit(model, epochs=1)
    path = os.path.join(tmp_path, "done.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    rates, moved = fit(reloaded, epochs=1)
    assert_trains(rates, moved, steps=2)
