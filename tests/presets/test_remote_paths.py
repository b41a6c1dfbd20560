"""Paths on other filesystems (gs://, s3://, ...) go through tf.io.gfile; TF's
in-memory `ram://` filesystem stands in for them here: presets, exports,
SQuAD files, TFRecords and training backups are written there and read back."""

import json
import uuid

import numpy as np
import pytest
import tensorflow as tf

import kerabert
from kerabert.callbacks import BackupAndRestore
from kerabert.presets import files
from tests import harness
from tests.callbacks.test_backup_and_restore import Crash
from tests.callbacks.test_backup_and_restore import LEARNING_RATE
from tests.callbacks.test_backup_and_restore import _fit
from tests.harness import tiny_bert_classifier


@pytest.fixture
def ram():
    """A fresh folder on the in-memory filesystem."""
    root = f"ram://kerabert-test-{uuid.uuid4().hex}"
    yield root
    if tf.io.gfile.exists(root):
        tf.io.gfile.rmtree(root)


@pytest.fixture(scope="module")
def classifier():
    return harness.tiny_task(kerabert.BertClassifier)


def test_is_remote():
    assert files.is_remote("gs://bucket/preset") and files.is_remote("ram://x")
    assert not files.is_remote("/tmp/x") and not files.is_remote("relative/x")
    assert not files.is_remote("hf://owner/repo") and not files.is_remote("kaggle://a/b/c/d")


def test_preset_saved_there_loads_back(ram, classifier):
    folder = f"{ram}/classifier"
    classifier.save_to_preset(folder)
    assert sorted(tf.io.gfile.listdir(folder)) == [
        "assets", "config.json", "metadata.json", "model.weights.h5", "preprocessor.json",
        "task.json", "task.weights.h5", "tokenizer.json"]
    loaded = kerabert.BertClassifier.from_preset(folder)
    np.testing.assert_array_equal(loaded.predict(harness.TEXTS, verbose=0),
                                  classifier.predict(harness.TEXTS, verbose=0))



def test_upload_leaves_exactly_the_new_files(ram, tmp_path):
    for name, text in (("config.json", "{}"), ("a.txt", "old"), ("sub/b.txt", "old")):
        (tmp_path / "old" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "old" / name).write_text(text)
    files.upload_folder(str(tmp_path / "old"), f"{ram}/folder")
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "config.json").write_text("{}")
    (tmp_path / "new" / "a.txt").write_text("new")
    files.upload_folder(str(tmp_path / "new"), f"{ram}/folder")
    assert files._remote_files(f"{ram}/folder") == ["a.txt", "config.json"]
    with tf.io.gfile.GFile(f"{ram}/folder/a.txt") as f:
        assert f.read() == "new"


def test_interrupted_upload_leaves_no_loadable_mix(ram, classifier, monkeypatch):
    """An object store cannot swap folders: the upload deletes config.json
    first and writes it last, so a reader of a half-uploaded folder is told it
    is not a checkpoint instead of loading old and new files together."""
    folder = f"{ram}/classifier"
    classifier.save_to_preset(folder)
    copy = tf.io.gfile.copy

    def failing_copy(source, target, overwrite=False):
        if target.startswith("ram://") and target.endswith("task.weights.h5"):
            raise OSError("connection reset")
        return copy(source, target, overwrite=overwrite)

    monkeypatch.setattr(tf.io.gfile, "copy", failing_copy)
    with pytest.raises(OSError, match="connection reset"):
        classifier.save_to_preset(folder)
    monkeypatch.setattr(tf.io.gfile, "copy", copy)
    assert not tf.io.gfile.exists(f"{folder}/config.json")
    with pytest.raises(FileNotFoundError, match="lacks config.json") as error:
        kerabert.BertClassifier.from_preset(folder)
    assert folder in str(error.value)


def test_exports_written_there(ram, classifier):
    hf_folder = classifier.export_to_transformers(f"{ram}/hf")
    assert hf_folder == f"{ram}/hf"
    loaded = kerabert.BertClassifier.from_preset(hf_folder)
    np.testing.assert_allclose(loaded.predict(harness.TEXTS, verbose=0),
                               classifier.predict(harness.TEXTS, verbose=0), atol=1e-5)


def test_squad_files_there(ram):
    squad = {"version": "1.1", "data": [{"title": "t", "paragraphs": [{
        "context": "The cat sat on the mat.",
        "qas": [{"id": "q1", "question": "Where did the cat sit?",
                 "answers": [{"text": "on the mat", "answer_start": 12}]}]}]}]}
    path = f"{ram}/squad/dev.json"
    tf.io.gfile.makedirs(f"{ram}/squad")
    with tf.io.gfile.GFile(path, "w") as f:
        f.write(json.dumps(squad))
    data = kerabert.squad.load(path)
    written = kerabert.squad.write_predictions(f"{ram}/out", {"q1": "the mat"})
    with tf.io.gfile.GFile(written[0]) as f:
        predictions = json.load(f)
    assert kerabert.squad.evaluate(data, predictions)["exact_match"] == 0.0
    assert tf.io.gfile.listdir(f"{ram}/out") == ["predictions.json"]


def test_tfrecords_there(ram, classifier):
    from kerabert.data import classification_tfrecords as records

    path = f"{ram}/records/train.tf_record"
    records.write_classification_tfrecords(path, classifier.preprocessor, harness.TEXTS,
                                           np.array([0, 1, 2, 1]))
    dataset = records.read_classification_tfrecords(f"{ram}/records/*.tf_record",
                                                    classifier.preprocessor.sequence_length,
                                                    batch_size=4)
    inputs, labels = next(iter(dataset))
    np.testing.assert_array_equal(labels, [0, 1, 2, 1])
    expected = classifier.preprocessor(harness.TEXTS)
    np.testing.assert_array_equal(inputs["token_ids"], expected["token_ids"])


def test_backups_there_resume_the_run(ram):
    reference = tiny_bert_classifier(LEARNING_RATE)
    _fit(reference)

    backup_dir = f"{ram}/backup"
    model = tiny_bert_classifier(LEARNING_RATE)
    with pytest.raises(RuntimeError, match="crash"):
        _fit(model, [BackupAndRestore(backup_dir, save_freq=4), Crash(10)])
    with tf.io.gfile.GFile(f"{backup_dir}/training_metadata.json") as f:
        assert json.load(f)["iterations"] == 8
    resumed = tiny_bert_classifier(LEARNING_RATE)  # as a restarted process
    _fit(resumed, [BackupAndRestore(backup_dir, save_freq=4)])
    for expected, actual in zip(reference.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6)
    assert not tf.io.gfile.exists(backup_dir)
