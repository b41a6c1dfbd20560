"""A classifier's labels are checked before anything is traced (Python lists,
numpy arrays) or by assertions in the graph (`tf.data`), and `label_names`
maps class names to ids in `fit` / `evaluate`, is kept by presets and
transformers folders, and names `predict_labels`' answers."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
import transformers

import kerabert
from tests import harness
from tests.conftest import save_tiny_hf_bert
from tests.conftest import save_tiny_hf_xlnet

TEXTS = ["good movie", "bad movie", "a good cat", "the bad dog"]
NAMES = ["neg", "pos"]


@pytest.fixture(scope="module")
def classifier():
    return harness.tiny_task(kerabert.BertClassifier, num_classes=2)


@pytest.fixture(scope="module")
def named():
    return harness.tiny_task(kerabert.BertClassifier, num_classes=None, label_names=NAMES)


def _untraced(model):
    """Nothing of the model was traced or stepped."""
    return (model.train_function is None and model.test_function is None
            and int(model.optimizer.iterations.numpy()) == 0)


# --- labels held in Python --------------------------------------------------------

BAD_LABELS = [
    ([0, 5, 1, 0], ValueError, r"Label 5 at row 1 is out of range: num_classes=2"),
    (np.array([0, 1, -1, 0]), ValueError, r"Label -1 at row 2 is out of range: num_classes=2"),
    (["pos", "neg", "pos", "neg"], ValueError, r"strings .*no label_names"),
    ([0.5, 1.2, 0.1, 0.9], ValueError,
     r"Label 0.5 at row 0 is a float.*num_classes=2.*regressor \(num_classes=1\)"),
    (np.array([0.0, 1.0, np.nan, 0.0]), ValueError, r"Label nan at row 2 is a float"),
    ([0, 1], ValueError, r"got 4 texts and 2 labels: pass one label per text"),
    ([0, None, 1, 0], ValueError, r"Label 1 is None"),
    ([0, "pos", 1, 0], TypeError, r"mix names and numbers"),
    ([0, {}, 1, 0], TypeError, r"Label 1 is a dict"),
]


@pytest.mark.parametrize("labels, error, message", BAD_LABELS)
def test_bad_labels_fail_before_anything_is_traced(classifier, labels, error, message):
    with pytest.raises(error, match=message):
        classifier.fit(TEXTS, labels, verbose=0)
    with pytest.raises(error, match=message):
        classifier.evaluate(TEXTS, labels, verbose=0)
    with pytest.raises(error, match=message):
        classifier.fit(TEXTS, [0, 1, 1, 0], validation_data=(TEXTS, labels), verbose=0)
    assert _untraced(classifier)


def test_missing_labels_and_sample_weights_of_another_length(classifier):
    with pytest.raises(ValueError, match=r"fit\(\) got 4 examples but no labels"):
        classifier.fit(TEXTS, verbose=0)
    with pytest.raises(ValueError, match="got 4 texts and 3 sample weights"):
        classifier.fit(TEXTS, [0, 1, 1, 0], sample_weight=[1.0, 1.0, 1.0], verbose=0)
    pair = (TEXTS, TEXTS[::-1])
    with pytest.raises(ValueError, match="got 4 texts and 5 labels"):
        classifier.evaluate(pair, [0, 1, 1, 0, 1], verbose=0)
    assert _untraced(classifier)


def test_packed_inputs_are_checked_too():
    task = kerabert.BertClassifier(harness.tiny_backbone("bert"), num_classes=3)
    packed = harness.task_inputs(harness.tiny_task(kerabert.BertClassifier))
    with pytest.raises(ValueError, match="Label 3 at row 0 is out of range: num_classes=3"):
        task.fit(packed, np.array([3, 0, 1, 2]), verbose=0)
    with pytest.raises(ValueError, match="got 4 input rows and 2 labels: pass one label per "
                                         "input row"):
        task.evaluate(packed, np.array([0, 1]), verbose=0)


def test_integral_floats_train_as_class_ids():
    """[0., 1., ...] are the class ids 0 and 1: the same step as ints."""
    runs = []
    for labels in ([0, 1, 1, 0], [0.0, 1.0, 1.0, 0.0]):
        model = harness.tiny_task(kerabert.BertClassifier, num_classes=2, dropout=0.0)
        model.fit(TEXTS, labels, batch_size=4, shuffle=False, verbose=0)
        runs.append(harness.weight_sums(model))
    np.testing.assert_allclose(runs[1], runs[0], rtol=1e-6)


def test_a_regressor_takes_floats_and_refuses_names():
    regressor = harness.tiny_task(kerabert.BertClassifier, num_classes=1)
    history = regressor.fit(TEXTS, [0.5, 1.2, 0.1, 0.9], verbose=0)
    assert np.isfinite(history.history["loss"][0])
    with pytest.raises(TypeError, match="regressor .* takes float scores"):
        regressor.fit(TEXTS, ["pos", "neg", "pos", "neg"], verbose=0)
    with pytest.raises(ValueError, match="Label inf at row 3 is not a finite number"):
        regressor.fit(TEXTS, [0.5, 1.2, 0.1, np.inf], verbose=0)


# --- labels in a tf.data.Dataset -------------------------------------------------

@pytest.mark.parametrize("labels, message", [
    ([0, 5, 1, 0], "A label is out of range: num_classes=2"),
    ([0.0, 0.5, 1.0, 0.0], "A label is a float, but a classifier with num_classes=2"),
])
def test_dataset_labels_are_asserted_in_the_graph(labels, message):
    classifier = harness.tiny_task(kerabert.BertClassifier, num_classes=2)
    dataset = tf.data.Dataset.from_tensor_slices((TEXTS, labels)).batch(2)
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        classifier.fit(dataset, verbose=0)
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        classifier.evaluate(dataset, verbose=0)


def test_dataset_string_labels(classifier, named):
    names = tf.data.Dataset.from_tensor_slices((TEXTS, ["pos", "neg", "pos", "neg"])).batch(2)
    with pytest.raises(ValueError, match="dataset's labels are strings.*no label_names"):
        classifier.fit(names, verbose=0)
    assert _untraced(classifier)
    ids = tf.data.Dataset.from_tensor_slices((TEXTS, [1, 0, 1, 0])).batch(2)
    np.testing.assert_allclose(named.evaluate(names, verbose=0), named.evaluate(ids, verbose=0),
                               rtol=1e-6)
    unknown = tf.data.Dataset.from_tensor_slices((TEXTS, ["pos", "meh", "pos", "neg"])).batch(2)
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"not one of the label_names \[neg, pos\].*meh"):
        named.evaluate(unknown, verbose=0)


# --- label_names -----------------------------------------------------------------

def test_label_names_set_num_classes_and_are_checked():
    three = harness.tiny_task(kerabert.BertClassifier, num_classes=None, label_names=["a", "b", "c"])
    assert three.num_classes == 3
    assert harness.tiny_task(kerabert.XLNetClassifier, num_classes=None,
                             label_names=NAMES).num_classes == 2
    with pytest.raises(ValueError, match="num_classes=3 but label_names has 2 names"):
        harness.tiny_task(kerabert.BertClassifier, num_classes=3, label_names=NAMES)
    with pytest.raises(ValueError, match=r"label_names repeats \['a'\]"):
        harness.tiny_task(kerabert.BertClassifier, num_classes=None, label_names=["a", "a"])
    with pytest.raises(TypeError, match="label_names must be a list of strings"):
        harness.tiny_task(kerabert.BertClassifier, num_classes=None, label_names="neg pos")
    with pytest.raises(ValueError, match="regressor .* has no label names"):
        harness.tiny_task(kerabert.BertClassifier, num_classes=None, label_names=["score"])
    with pytest.raises(ValueError, match="num_classes is missing"):
        harness.tiny_task(kerabert.XLNetClassifier, num_classes=None)


def test_names_train_as_their_class_ids():
    """fit on names takes the same step as fit on the ids they name."""
    cls, names = kerabert.BertClassifier, ["pos", "neg", "pos", "neg"]
    by_name = harness.tiny_task(cls, num_classes=None, label_names=NAMES, dropout=0.0)
    by_id = harness.tiny_task(cls, num_classes=2, dropout=0.0)
    np.testing.assert_allclose(by_name.get_weights()[0], by_id.get_weights()[0])
    by_name.fit(TEXTS, names, batch_size=4, shuffle=False, verbose=0)
    by_id.fit(TEXTS, [1, 0, 1, 0], batch_size=4, shuffle=False, verbose=0)
    np.testing.assert_allclose(harness.weight_sums(by_name), harness.weight_sums(by_id),
                               rtol=1e-6)
    with pytest.raises(ValueError, match=r"Label 'meh' at row 2 is not one of the label_names "
                                         r"\['neg', 'pos'\]"):
        by_name.fit(TEXTS, ["pos", "neg", "meh", "neg"], verbose=0)


def test_predict_labels(classifier, named):
    scores = named.predict(TEXTS, verbose=0)
    assert named.predict_labels(TEXTS) == [NAMES[i] for i in np.argmax(scores, axis=-1)]
    np.testing.assert_array_equal(classifier.predict_labels(TEXTS),
                                  np.argmax(classifier.predict(TEXTS, verbose=0), axis=-1))
    regressor = harness.tiny_task(kerabert.BertClassifier, num_classes=1)
    with pytest.raises(ValueError, match=r"regressor \(num_classes=1\).*predict\(x\)\[:, 0\]"):
        regressor.predict_labels(TEXTS)


def test_label_names_survive_presets_and_keras_files(named, tmp_path):
    named.save_to_preset(tmp_path / "preset")
    task_config = json.loads((tmp_path / "preset" / "task.json").read_text())
    assert task_config["config"]["label_names"] == NAMES
    again = kerabert.BertClassifier.from_preset(str(tmp_path / "preset"))
    assert list(again.label_names) == NAMES
    renamed = kerabert.BertClassifier.from_preset(str(tmp_path / "preset"),
                                                  label_names=["bad", "good"])
    assert list(renamed.label_names) == ["bad", "good"]
    np.testing.assert_allclose(renamed.predict(TEXTS, verbose=0), named.predict(TEXTS, verbose=0),
                               atol=1e-6)  # same head: only the names changed
    with pytest.warns(UserWarning, match="does not fit"):
        bigger = kerabert.BertClassifier.from_preset(str(tmp_path / "preset"), num_classes=3)
    assert bigger.num_classes == 3 and bigger.label_names is None
    with pytest.warns(UserWarning, match="does not fit"):
        three = kerabert.BertClassifier.from_preset(str(tmp_path / "preset"),
                                                    label_names=["a", "b", "c"])
    assert three.num_classes == 3 and list(three.label_names) == ["a", "b", "c"]
    named.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert list(loaded.label_names) == NAMES


def test_label_names_from_and_to_transformers(tmp_path):
    folder = str(tmp_path / "hf")
    save_tiny_hf_bert(folder, "BertForSequenceClassification", num_labels=2,
                      id2label={0: "negative", 1: "positive"},
                      label2id={"negative": 0, "positive": 1})
    classifier = kerabert.BertClassifier.from_preset(folder, sequence_length=16)
    assert list(classifier.label_names) == ["negative", "positive"]
    out = classifier.export_to_transformers(tmp_path / "exported")
    config = transformers.AutoConfig.from_pretrained(out)
    assert config.id2label == {0: "negative", 1: "positive"}
    assert config.label2id == {"negative": 0, "positive": 1}
    # transformers' default names are no label names.
    default = str(tmp_path / "default")
    save_tiny_hf_bert(default, "BertForSequenceClassification", num_labels=3)
    assert transformers.AutoConfig.from_pretrained(default).id2label[0] == "LABEL_0"
    unnamed = kerabert.BertClassifier.from_preset(default, sequence_length=16)
    assert unnamed.num_classes == 3 and unnamed.label_names is None
    exported = transformers.AutoConfig.from_pretrained(
        unnamed.export_to_transformers(tmp_path / "exported_default"))
    assert exported.id2label == {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}


def test_xlnet_label_names_to_and_from_transformers(tmp_path):
    folder = str(tmp_path / "hf")
    save_tiny_hf_xlnet(folder, "XLNetForSequenceClassification", num_labels=3,
                       id2label={0: "entailment", 1: "neutral", 2: "contradiction"},
                       label2id={"entailment": 0, "neutral": 1, "contradiction": 2})
    classifier = kerabert.XLNetClassifier.from_preset(folder, sequence_length=16)
    assert list(classifier.label_names) == ["entailment", "neutral", "contradiction"]
    classifier.label_names = ["yes", "maybe", "no"]
    out = classifier.export_to_transformers(tmp_path / "exported")
    config = transformers.AutoConfig.from_pretrained(out)
    assert config.id2label == {0: "yes", 1: "maybe", 2: "no"}
    assert config.label2id == {"yes": 0, "maybe": 1, "no": 2}
    assert os.path.isfile(os.path.join(out, "config.json"))
