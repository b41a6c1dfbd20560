"""kerabert.callbacks.BackupAndRestore: backups every N optimizer steps, a fit
interrupted mid-epoch resumed at the backed-up step and data position (so it
ends exactly as an uninterrupted run, dropout and dynamic masking included),
and the files left on disk.

The SIGKILL versions (a killed process, restarted) are in
tests/test_fault_tolerance.py."""

import json
import warnings

import keras
import numpy as np
import pytest

from kerabert.callbacks import BackupAndRestore
from tests.harness import pretraining_pairs
from tests.harness import sentiment_data
from tests.harness import tiny_bert_classifier
from tests.harness import tiny_masking_pretrainer

# 16 examples in batches of 3: 6 batches an epoch (the last of 1), 18 steps.
EPOCHS, BATCH_SIZE, BATCHES, LEARNING_RATE = 3, 3, 6, 5e-3


def _data():
    """The harness's sentences in a fixed order in which consecutive batches
    differ, so that training on the wrong batch shows in the weights."""
    texts, labels = sentiment_data(4)
    order = np.random.default_rng(0).permutation(len(texts))
    return [texts[i] for i in order], labels[order]


def _fit(model, callbacks=(), data=_data):
    x, y = data()
    return model.fit(x, y, batch_size=BATCH_SIZE, epochs=EPOCHS, shuffle=False, verbose=0,
                     callbacks=list(callbacks))


def _step(model):
    return int(model.optimizer.iterations.numpy())


class Crash(keras.callbacks.Callback):
    """Raises once the optimizer has made `step` steps."""

    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if _step(self.model) == self.step:
            raise RuntimeError(f"crash at step {self.step}")


class Recorder(keras.callbacks.Callback):
    """`trained`: the (epoch, batch) of each batch that moved the optimizer."""

    def on_train_begin(self, logs=None):
        self.trained, self._last = [], _step(self.model)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if _step(self.model) != self._last:
            self.trained.append((self._epoch, batch))
        self._last = _step(self.model)


@pytest.fixture(scope="module")
def uninterrupted():
    model = tiny_bert_classifier(LEARNING_RATE)
    history = _fit(model)
    initial = tiny_bert_classifier(LEARNING_RATE).get_weights()
    # Each step moves the weights far beyond the tolerance used below.
    assert max(np.max(np.abs(a - b)) for a, b in zip(model.get_weights(), initial)) > 1e-3
    return {"weights": model.get_weights(), "iterations": _step(model),
            "history": history.history}


def _assert_same_as(reference, model, history, resumed_epochs):
    assert _step(model) == reference["iterations"] == EPOCHS * BATCHES
    for expected, actual in zip(reference["weights"], model.get_weights()):
        np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6)
    # The resumed epoch's metrics include its batches trained before the crash.
    for name, values in reference["history"].items():
        np.testing.assert_allclose(history.history[name],
                                   [values[e] for e in resumed_epochs], rtol=1e-6)


def _crash_after_step(model, callback, step, data=_data):
    with pytest.raises(RuntimeError, match="crash"):
        _fit(model, [callback, Crash(step)], data)


@pytest.mark.parametrize("same_model", [True, False], ids=["retry", "new-model"])
def test_resumes_mid_epoch_at_the_backed_up_step(uninterrupted, tmp_path, same_model):
    backup = BackupAndRestore(str(tmp_path / "backup"), save_freq=4)
    model = tiny_bert_classifier(LEARNING_RATE)
    _crash_after_step(model, backup, 10)  # backups at steps 4 and 8
    metadata = json.loads((tmp_path / "backup" / "training_metadata.json").read_text())
    # Step 8 is batch 2 of epoch 1 (6 batches an epoch).
    assert (metadata["epoch"], metadata["batch"], metadata["iterations"]) == (1, 2, 8)

    if not same_model:  # as a restarted process would
        model = tiny_bert_classifier(LEARNING_RATE)
    recorder = Recorder()
    history = _fit(model, [backup, recorder])
    # Batches 0 and 1 of epoch 1 are skipped, not trained on again.
    assert recorder.trained == ([(1, b) for b in range(2, BATCHES)]
                                + [(2, b) for b in range(BATCHES)])
    _assert_same_as(uninterrupted, model, history, resumed_epochs=[1, 2])
    assert not (tmp_path / "backup").exists()


@pytest.mark.slow  # checks Keras, not kerabert
def test_keras_callback_replays_the_interrupted_epoch(uninterrupted, tmp_path):
    """Why kerabert's callback exists: Keras' own (3.15) restarts the epoch
    from its first batch, which this scenario detects."""
    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"), save_freq=4)
    model = tiny_bert_classifier(LEARNING_RATE)
    _crash_after_step(model, backup, 10)
    _fit(model, [backup])
    assert _step(model) == EPOCHS * BATCHES + 2  # batches 0 and 1 of epoch 1 twice
    assert not all(np.allclose(a, b, rtol=1e-6, atol=1e-6)
                   for a, b in zip(model.get_weights(), uninterrupted["weights"]))


def test_resume_with_steps_per_execution(uninterrupted, tmp_path):
    backup = BackupAndRestore(str(tmp_path / "backup"), save_freq=4)
    model = tiny_bert_classifier(LEARNING_RATE)
    model.compile(learning_rate=LEARNING_RATE, steps_per_execution=2)
    _crash_after_step(model, backup, 10)
    # The backup (batch 2 of epoch 1) cannot be reached 4 batches at a time.
    model = tiny_bert_classifier(LEARNING_RATE)
    model.compile(learning_rate=LEARNING_RATE, steps_per_execution=4)
    with pytest.raises(ValueError, match="steps_per_execution=4 cannot reach"):
        _fit(model, [backup])
    model = tiny_bert_classifier(LEARNING_RATE)
    model.compile(learning_rate=LEARNING_RATE, steps_per_execution=2)
    history = _fit(model, [backup])
    # Two steps per execution train as one step at a time.
    _assert_same_as(uninterrupted, model, history, resumed_epochs=[1, 2])


def test_keep_the_last_backups(tmp_path):
    folder = tmp_path / "backup"
    model = tiny_bert_classifier(LEARNING_RATE)
    _fit(model, [BackupAndRestore(str(folder), save_freq=4, keep=2, delete_checkpoint=False)])
    metadata = json.loads((folder / "training_metadata.json").read_text())
    # Backups at steps 4, 8, 12, 16; the last two stay, the newest is named.
    assert [b["iterations"] for b in metadata["backups"]] == [12, 16]
    assert (metadata["weights"], metadata["epoch"], metadata["batch"]) == (
        "backup-3.weights.h5", 2, 4)
    assert sorted(p.name for p in folder.iterdir()) == [
        "backup-2.weights.h5", "backup-3.weights.h5", "training_metadata.json"]


def test_delete_checkpoint_false_keeps_the_final_backup(tmp_path):
    folder = tmp_path / "per_epoch"
    callback = BackupAndRestore(str(folder), delete_checkpoint=False)
    model = tiny_bert_classifier(LEARNING_RATE)
    _fit(model, [callback])
    metadata = json.loads((folder / "training_metadata.json").read_text())
    assert (metadata["epoch"], metadata["batch"], metadata["iterations"]) == (3, 0, 18)
    assert sorted(p.name for p in folder.iterdir()) == [
        "backup-2.weights.h5", "training_metadata.json"]
    # A later fit with the kept backup resumes after the last epoch: nothing to do.
    weights = model.get_weights()
    history = _fit(model, [callback])
    assert history.history == {} and _step(model) == 18
    for expected, actual in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(actual, expected)
    # Then a fit without the backup runs all its epochs: the restored epoch,
    # which Keras keeps on the model, was cleared when training ended.
    assert len(_fit(model).history["loss"]) == EPOCHS


@pytest.mark.parametrize("kwargs, message", [
    ({"save_freq": 0}, "save_freq"), ({"save_freq": "batch"}, "save_freq"),
    ({"save_freq": True}, "save_freq"), ({"keep": 0}, "keep"),
])
def test_rejects_bad_settings(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        BackupAndRestore(str(tmp_path), **kwargs)


# --- randomness: dropout (the layers' SeedGenerators) and dynamic masking -------

# Each model with its data: 16 examples, so 6 batches an epoch as above.
RANDOM_MODELS = {
    "classifier-dropout": (lambda: tiny_bert_classifier(LEARNING_RATE, dropout=0.1), _data),
    "pretrainer-masking": (lambda: tiny_masking_pretrainer(dropout=0.1,
                                                           learning_rate=LEARNING_RATE),
                           lambda: pretraining_pairs(4)),
}


@pytest.fixture(scope="module")
def uninterrupted_random():
    """`uninterrupted_random(kind)`: an uninterrupted run of a model with
    dropout (and masking), computed once."""
    results = {}

    def run(kind):
        if kind not in results:
            build, data = RANDOM_MODELS[kind]
            model = build()
            history = _fit(model, data=data)
            results[kind] = {"weights": model.get_weights(), "iterations": _step(model),
                             "history": history.history}
        return results[kind]

    return run


@pytest.mark.parametrize("same_model", [True, False], ids=["retry", "new-model"])
@pytest.mark.parametrize("kind", list(RANDOM_MODELS))
def test_resume_restores_dropout_and_masking_randomness(uninterrupted_random, tmp_path, kind,
                                                        same_model):
    """Steps 9 and 10 run with the dropout masks (and the MLM masks) of the
    uninterrupted run's steps 9 and 10, although the restarted fit skipped
    batches 0 and 1 of epoch 1 and, as a new model, started from fresh seeds."""
    reference = uninterrupted_random(kind)
    build, data = RANDOM_MODELS[kind]
    backup = BackupAndRestore(str(tmp_path / "backup"), save_freq=4)
    model = build()
    _crash_after_step(model, backup, 10, data)
    if not same_model:
        model = build()
    history = _fit(model, [backup], data)
    _assert_same_as(reference, model, history, resumed_epochs=[1, 2])


def test_randomness_matters_here(uninterrupted_random):
    """The scenario above can fail: a second run whose dropout seeds start
    elsewhere ends with other weights."""
    reference = uninterrupted_random("classifier-dropout")
    model = tiny_bert_classifier(LEARNING_RATE, dropout=0.1)
    for generator in _seed_generators(model):
        generator.state.assign(generator.state + np.array([0, 1], "int64").astype(
            generator.state.dtype))
    _fit(model)
    assert max(np.max(np.abs(a - b))
               for a, b in zip(model.get_weights(), reference["weights"])) > 1e-4


def _seed_generators(model):
    return [g for layer in model._flatten_layers() for g in layer._seed_generators]


def test_backup_without_random_state_loads_with_a_warning(tmp_path):
    """A backup of the previous format (its metadata has no `random` entry)
    resumes the weights and position; randomness restarts, which it says."""
    folder = tmp_path / "backup"
    backup = BackupAndRestore(str(folder), save_freq=4)
    model = tiny_bert_classifier(LEARNING_RATE, dropout=0.1)
    _crash_after_step(model, backup, 10)
    path = folder / "training_metadata.json"
    metadata = json.loads(path.read_text())
    assert "random" in metadata
    del metadata["random"]
    path.write_text(json.dumps(metadata))

    model = tiny_bert_classifier(LEARNING_RATE, dropout=0.1)
    with pytest.warns(UserWarning, match="random state.*restart"):
        _fit(model, [backup])
    assert _step(model) == EPOCHS * BATCHES


def test_no_warning_for_a_backup_with_random_state(tmp_path):
    backup = BackupAndRestore(str(tmp_path / "backup"), save_freq=4)
    _crash_after_step(tiny_bert_classifier(LEARNING_RATE, dropout=0.1), backup, 10)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*random state.*")
        _fit(tiny_bert_classifier(LEARNING_RATE, dropout=0.1), [backup])
