"""`num_classes=1` classifiers are regressors (STS-B), transformers'
`num_labels=1` heads load and export as regression, and `fit` reads
tfds-style records through `features=`."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
import torch
import transformers

import kerabert
from tests import harness
from tests.conftest import save_tiny_hf_bert
from tests.conftest import torch_inputs

WORDS = ["good", "bad", "movie", "cat", "dog", "the"]


def _scored_texts(count, seed=0):
    """Texts whose score is the number of "good" in them (0 to 4): a toy STS-B."""
    rng = np.random.default_rng(seed)
    texts, scores = [], []
    for _ in range(count):
        goods = int(rng.integers(0, 5))
        words = ["good"] * goods + list(rng.choice(WORDS[1:], 5 - goods))
        rng.shuffle(words)
        texts.append(" ".join(words))
        scores.append(float(goods))
    return texts, np.array(scores, "float32")


def test_regressor_learns_a_toy_score():
    keras.utils.set_random_seed(0)
    regressor = harness.tiny_task(kerabert.BertClassifier, num_classes=1, dropout=0.0)
    assert regressor.is_regressor
    assert isinstance(regressor.loss, keras.losses.MeanSquaredError)
    regressor.compile(learning_rate=1e-2)
    texts, scores = _scored_texts(96)
    history = regressor.fit(texts, scores, batch_size=16, epochs=12, verbose=0)
    assert "rmse" in history.history
    predictions = regressor.predict(texts[:32], verbose=0)
    assert predictions.shape == (32, 1)
    error = float(np.sqrt(np.mean((predictions[:, 0] - scores[:32]) ** 2)))
    baseline = float(np.std(scores[:32]))  # always predicting the mean
    assert error < 0.6 * baseline, (error, baseline)
    assert history.history["loss"][-1] < 0.3 * history.history["loss"][0]


def test_xlnet_regressor_and_softmax_is_refused():
    regressor = harness.tiny_task(kerabert.XLNetClassifier, num_classes=1)
    assert regressor.predict(["a good movie"], verbose=0).shape == (1, 1)
    assert isinstance(regressor.loss, keras.losses.MeanSquaredError)
    with pytest.raises(ValueError, match="regressor"):
        harness.tiny_task(kerabert.BertClassifier, num_classes=1, activation="softmax")


def test_transformers_regression_head_loads_and_exports(tmp_path):
    folder = str(tmp_path / "hf")
    hf_model = save_tiny_hf_bert(folder, "BertForSequenceClassification", seed=5, num_labels=1)
    regressor = kerabert.BertClassifier.from_preset(folder, sequence_length=16)
    assert regressor.num_classes == 1
    texts = ["the quick brown fox", "a lazy dog was not good"]
    packed = regressor.preprocessor(texts)
    with torch.no_grad():
        expected = hf_model(**torch_inputs(packed)).logits.numpy()
    np.testing.assert_allclose(regressor.predict(texts, verbose=0), expected, atol=1e-5)

    exported = regressor.export_to_transformers(str(tmp_path / "export"))
    with open(f"{exported}/config.json") as f:
        assert json.load(f)["problem_type"] == "regression"
    reloaded = transformers.AutoModelForSequenceClassification.from_pretrained(exported).eval()
    with torch.no_grad():
        np.testing.assert_allclose(reloaded(**torch_inputs(packed)).logits.numpy(), expected,
                                   atol=1e-5)
        # transformers trains it with the mean squared error, as kerabert does.
        labels = torch.tensor([[1.0], [2.0]])
        loss = reloaded(**torch_inputs(packed), labels=labels).loss.item()
    np.testing.assert_allclose(loss, float(keras.losses.MeanSquaredError()(
        labels.numpy(), expected)), rtol=1e-5)


def test_fit_reads_tfds_style_records():
    """GLUE MRPC as tensorflow-datasets yields it: dict elements."""
    keras.utils.set_random_seed(0)
    classifier = harness.tiny_task(kerabert.BertClassifier, num_classes=2)
    records = {"sentence1": ["good movie", "bad movie", "a good cat", "bad dog"] * 4,
               "sentence2": ["the movie", "the cat", "a dog", "the dog"] * 4,
               "label": np.array([1, 0, 1, 0] * 4), "idx": np.arange(16)}
    dataset = tf.data.Dataset.from_tensor_slices(records).batch(4)
    history = classifier.fit(dataset, features=("sentence1", "sentence2"), epochs=1, verbose=0,
                             validation_data=dataset)
    assert "val_accuracy" in history.history
    by_dataset = classifier.predict(dataset, features=("sentence1", "sentence2"), verbose=0)
    by_columns = classifier.predict(records, features=("sentence1", "sentence2"), verbose=0)
    pairs = classifier.predict((records["sentence1"], records["sentence2"]), verbose=0)
    np.testing.assert_allclose(by_dataset, pairs, atol=1e-6)
    np.testing.assert_allclose(by_columns, pairs, atol=1e-6)
    result = classifier.evaluate(records, features=("sentence1", "sentence2"), verbose=0,
                                 return_dict=True)
    assert 0.0 <= result["accuracy"] <= 1.0
    with pytest.raises(KeyError, match="no \\['question'\\].*columns are"):
        classifier.fit(dataset, features=("question", "sentence2"), verbose=0)


def test_unbatched_tfds_style_records_are_batched_with_a_notice(caplog):
    """tensorflow-datasets returns unbatched datasets by default."""
    keras.utils.set_random_seed(0)
    classifier = harness.tiny_task(kerabert.BertClassifier, num_classes=2)
    records = {"sentence1": ["good movie", "bad movie", "a good cat", "bad dog"] * 9,
               "sentence2": ["the movie", "the cat", "a dog", "the dog"] * 9,
               "label": np.array([1, 0, 1, 0] * 9)}
    unbatched = tf.data.Dataset.from_tensor_slices(records)
    features = ("sentence1", "sentence2")
    with caplog.at_level("WARNING", logger="kerabert"):
        history = classifier.fit(unbatched, features=features, epochs=1, verbose=0,
                                 validation_data=unbatched)
    notices = [r.getMessage() for r in caplog.records if "single examples" in r.getMessage()]
    assert notices and "batching it by 32" in notices[0] and ".batch(n)" in notices[0]
    # 36 records by the default 32: two steps.
    assert classifier.optimizer.iterations.numpy() == 2 and "val_accuracy" in history.history
    pairs = classifier.predict((records["sentence1"], records["sentence2"]), verbose=0)
    by_dataset = classifier.predict(unbatched, features=features, batch_size=5, verbose=0)
    assert by_dataset.shape == (36, 2)
    np.testing.assert_allclose(by_dataset, pairs, atol=1e-6)


def test_unbatched_text_label_tuples_are_batched():
    keras.utils.set_random_seed(0)
    classifier = harness.tiny_task(kerabert.BertClassifier, num_classes=2)
    texts, labels = harness.sentiment_data(5)
    unbatched = tf.data.Dataset.from_tensor_slices((texts, labels))
    assert unbatched.element_spec[0].shape.rank == 0
    classifier.fit(unbatched, batch_size=4, epochs=1, verbose=0)
    # 20 examples by the given batch_size 4: five steps.
    assert classifier.optimizer.iterations.numpy() == 5
    logits = classifier.predict(texts, verbose=0)
    result = classifier.evaluate(unbatched, verbose=0, return_dict=True)
    expected = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits)
    np.testing.assert_allclose(result["loss"], float(expected), rtol=1e-5)
