"""`BackupAndRestore` resuming XLNet pretraining mid-epoch: the factorisation
orders of `kerabert.data.xlnet_pretraining`, the dropout masks and the
Transformer-XL memory of the resumed steps are those of the uninterrupted run."""

import json
import os

import keras
import numpy as np
import pytest

import kerabert
from kerabert.callbacks import BackupAndRestore
from kerabert.data import xlnet_pretraining
from tests.callbacks.test_backup_and_restore import Crash
from tests.callbacks.test_backup_and_restore import _step
from tests.conftest import XLNET_SPIECE

BOTCHAN = os.path.join(os.path.dirname(__file__), "..", "fixtures", "botchan.txt")
EPOCHS, BATCH, LEARNING_RATE = 3, 2, 5e-3


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A few lines of the novel: 6 batches an epoch, so a crash at step 10
    falls inside the second epoch."""
    path = tmp_path_factory.mktemp("xlnet") / "corpus.txt"
    with open(BOTCHAN, encoding="utf-8") as f:
        lines = f.read().splitlines()[:6]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def tokenizer():
    return kerabert.XLNetTokenizer(proto=XLNET_SPIECE)


def _dataset(corpus, tokenizer):
    return xlnet_pretraining.xlnet_pretraining_dataset(
        corpus, tokenizer, batch_size=BATCH, seq_len=16, reuse_len=8, perm_size=4,
        num_predict=4, repeat=False)


def _pretrainer(tokenizer):
    keras.utils.set_random_seed(0)
    backbone = kerabert.XLNetBackbone(
        vocabulary_size=tokenizer.vocabulary_size(), num_layers=2, num_heads=2, hidden_dim=16,
        intermediate_dim=32, dropout=0.1, attention_dropout=0.1, mem_len=8, reuse_len=8)
    model = kerabert.XLNetPretrainer(backbone, batch_size=BATCH)
    model.compile(learning_rate=LEARNING_RATE, num_train_steps=100, warmup_ratio=0.0)
    model.build()  # a backup is restored into a built model
    return model


def _fit(model, dataset, callbacks=()):
    return model.fit(dataset, epochs=EPOCHS, verbose=0, callbacks=list(callbacks))


@pytest.fixture(scope="module")
def uninterrupted(corpus, tokenizer):
    dataset = _dataset(corpus, tokenizer)
    assert int(dataset.cardinality()) == 6
    model = _pretrainer(tokenizer)
    history = _fit(model, dataset)
    initial = _pretrainer(tokenizer).get_weights()
    assert max(np.max(np.abs(a - b)) for a, b in zip(model.get_weights(), initial)) > 1e-3
    return {"weights": model.get_weights(), "iterations": _step(model),
            "history": history.history, "memory": [m.numpy() for m in model._memory]}


def _assert_same_as(reference, model, history):
    assert _step(model) == reference["iterations"] == EPOCHS * 6
    for expected, actual in zip(reference["weights"], model.get_weights()):
        np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6)
    for expected, actual in zip(reference["memory"], model._memory):
        np.testing.assert_allclose(actual.numpy(), expected, rtol=1e-6, atol=1e-6)
    # The resumed fit ran epochs 1 and 2 (with epoch 1's batches before the
    # crash in its metrics).
    for name, values in reference["history"].items():
        np.testing.assert_allclose(history.history[name], values[1:], rtol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("same_model", [True, False], ids=["retry", "new-model"])
def test_resumed_xlnet_pretraining_equals_the_uninterrupted_run(uninterrupted, corpus,
                                                                tokenizer, tmp_path,
                                                                same_model):
    """Backed up at step 8 (batch 2 of epoch 1), crashed at step 10; the
    resumed fit skips batches 0-1 of epoch 1 and ends with the uninterrupted
    run's weights and memory. A new model (and a new dataset object, as in a
    restarted process) gets its seeds and memory from the backup."""
    folder = tmp_path / "backup"
    backup = BackupAndRestore(str(folder), save_freq=4)
    model, dataset = _pretrainer(tokenizer), _dataset(corpus, tokenizer)
    with pytest.raises(RuntimeError, match="crash"):
        _fit(model, dataset, [backup, Crash(10)])
    metadata = json.loads((folder / "training_metadata.json").read_text())
    assert (metadata["epoch"], metadata["batch"], metadata["iterations"]) == (1, 2, 8)
    assert os.path.exists(folder / metadata["state"])
    if not same_model:
        model, dataset = _pretrainer(tokenizer), _dataset(corpus, tokenizer)
    history = _fit(model, dataset, [backup])
    _assert_same_as(uninterrupted, model, history)


@pytest.mark.slow
def test_memory_matters_here(uninterrupted, corpus, tokenizer, tmp_path):
    """The scenario above can fail: the same resume with the memory emptied
    after the restore ends elsewhere."""
    folder = tmp_path / "backup"
    backup = BackupAndRestore(str(folder), save_freq=4)
    with pytest.raises(RuntimeError, match="crash"):
        _fit(_pretrainer(tokenizer), _dataset(corpus, tokenizer), [backup, Crash(10)])

    class EmptyMemory(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.model.reset_memory()

    model = _pretrainer(tokenizer)
    _fit(model, _dataset(corpus, tokenizer), [backup, EmptyMemory()])
    assert _step(model) == uninterrupted["iterations"]
    assert max(np.max(np.abs(a - b)) for a, b in
               zip(model.get_weights(), uninterrupted["weights"])) > 1e-5


def test_a_backup_without_state_variables_warns(corpus, tokenizer, tmp_path):
    """A backup from an earlier kerabert (no state file named) resumes with
    empty memory, and says so."""
    folder = tmp_path / "backup"
    backup = BackupAndRestore(str(folder), save_freq=4)
    with pytest.raises(RuntimeError, match="crash"):
        _fit(_pretrainer(tokenizer), _dataset(corpus, tokenizer), [backup, Crash(4)])
    path = folder / "training_metadata.json"
    metadata = json.loads(path.read_text())
    del metadata["state"]
    path.write_text(json.dumps(metadata))
    model = _pretrainer(tokenizer)
    with pytest.warns(UserWarning, match="memory restarts empty"):
        model.fit(_dataset(corpus, tokenizer), epochs=1, verbose=0, callbacks=[backup])
    assert _step(model) == 6
