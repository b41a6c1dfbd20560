import os

import keras
import numpy as np
import pytest
import tensorflow as tf
import torch

import kerabert
from tests import harness
from tests.conftest import torch_inputs

TEXTS = ["the quick brown fox", "a lazy dog was not good", "good movie !", "bad cat ."]


@pytest.fixture(scope="module")
def hf_classifier(hf_classifier_dir):
    folder, hf_model = hf_classifier_dir
    return kerabert.BertClassifier.from_preset(folder, sequence_length=16), hf_model


def test_hf_sequence_classification_head_is_kept(hf_classifier):
    classifier, hf_model = hf_classifier
    assert classifier.num_classes == 3
    packed = classifier.preprocessor(TEXTS)
    with torch.no_grad():
        expected = hf_model(**torch_inputs(packed)).logits.numpy()
    np.testing.assert_allclose(classifier.predict(TEXTS, verbose=0), expected, atol=1e-5)


def test_pairs_match_transformers(hf_classifier):
    classifier, hf_model = hf_classifier
    pairs = (TEXTS, TEXTS[::-1])
    packed = classifier.preprocessor(pairs)
    assert set(np.unique(packed["segment_ids"].numpy())) == {0, 1}
    with torch.no_grad():
        expected = hf_model(**torch_inputs(packed)).logits.numpy()
    np.testing.assert_allclose(classifier.predict(pairs, verbose=0), expected, atol=1e-5)


def test_new_head_when_num_classes_differs(hf_classifier_dir):
    folder, _ = hf_classifier_dir
    with pytest.warns(UserWarning, match="new head") as caught:
        classifier = kerabert.BertClassifier.from_preset(folder, num_classes=5, sequence_length=16)
    assert caught[0].filename == __file__  # points at the caller's line
    assert classifier.predict(TEXTS, verbose=0).shape == (4, 5)


def test_backbone_only_preset_needs_num_classes(hf_bert_dir):
    folder, _ = hf_bert_dir
    with pytest.raises(ValueError, match="num_classes is missing"):
        kerabert.BertClassifier.from_preset(folder)


@pytest.fixture(scope="module")
def trained(hf_bert_dir, tmp_path_factory):
    """One fit on raw strings, shared by the saving tests (fits are slow)."""
    folder, _ = hf_bert_dir
    keras.utils.set_random_seed(0)
    classifier = kerabert.BertClassifier.from_preset(folder, num_classes=2, sequence_length=12)
    # The default recipe, with a learning rate a random tiny model can learn with.
    classifier.compile(learning_rate=2e-2)
    x = ["good movie", "bad movie", "good cat", "bad dog"] * 8
    y = np.array([1, 0, 1, 0] * 8)
    history = classifier.fit(x, y, batch_size=8, epochs=8, validation_data=(x[:8], y[:8]),
                             verbose=0)
    return classifier, history, tmp_path_factory.mktemp("saved")


def test_fit_on_raw_strings_learns(trained):
    classifier, history, _ = trained
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0]
    assert history.history["accuracy"][-1] == 1.0
    assert "val_accuracy" in history.history
    # The default schedule was sized from the data: 4 steps x 8 epochs.
    assert classifier._auto_schedule.total_steps == 32


def test_fit_on_tf_data_pairs_learns(hf_bert_dir):
    folder, _ = hf_bert_dir
    keras.utils.set_random_seed(0)
    classifier = kerabert.BertClassifier.from_preset(folder, num_classes=2, sequence_length=12)
    classifier.compile(learning_rate=2e-2)
    # The label is decided by the second segment alone, so only pairs can learn it.
    first = TEXTS * 4
    second = ["good movie", "bad movie"] * 8
    labels = [1, 0] * 8
    ds = tf.data.Dataset.from_tensor_slices(((first, second), labels)).batch(8)
    before = classifier.evaluate(ds, verbose=0, return_dict=True)
    history = classifier.fit(ds, epochs=8, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    after = classifier.evaluate(ds, verbose=0, return_dict=True)
    assert after["loss"] < 0.5 * before["loss"], (before, after)
    assert after["accuracy"] == 1.0, after


def test_save_to_preset_round_trip(trained):
    classifier, _, tmp = trained
    folder = os.path.join(tmp, "preset")
    classifier.save_to_preset(folder)
    for name in ["config.json", "model.weights.h5", "tokenizer.json", "preprocessor.json",
                 "task.json", "task.weights.h5", "metadata.json",
                 "assets/tokenizer/vocabulary.txt"]:
        assert os.path.isfile(os.path.join(folder, name)), name
    reloaded = kerabert.BertClassifier.from_preset(folder)
    np.testing.assert_array_equal(reloaded.predict(TEXTS, verbose=0),
                                  classifier.predict(TEXTS, verbose=0))
    backbone = kerabert.BertBackbone.from_preset(folder)
    packed = classifier.preprocessor(TEXTS)
    np.testing.assert_array_equal(backbone(packed)["pooled_output"],
                                  classifier.backbone(packed)["pooled_output"])


def test_preprocessor_none_takes_packed_dicts(trained):
    classifier, _, _ = trained
    bare = kerabert.BertClassifier(classifier.backbone, num_classes=2)
    packed = classifier.preprocessor(TEXTS)
    assert bare.predict(packed, verbose=0).shape == (4, 2)
    with pytest.raises(TypeError, match="preprocessor=None"):
        classifier.preprocessor(packed)


def test_empty_strings_and_empty_batch(trained):
    classifier, _, _ = trained
    assert classifier.predict(["", "good"], verbose=0).shape == (2, 2)
    packed = classifier.preprocessor(tf.constant([], tf.string))
    assert packed["token_ids"].shape == (0, 12)


def test_sequence_length_beyond_positions_is_rejected(hf_bert_dir):
    folder, _ = hf_bert_dir
    with pytest.raises(ValueError, match="max_sequence_length"):
        kerabert.BertClassifier.from_preset(folder, num_classes=2, sequence_length=100)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_training(policy):
    """Both mixed policies train without NaN; float16 gets dynamic loss scaling."""
    keras.utils.set_random_seed(0)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "good", "bad", "movie"]
    backbone = kerabert.BertBackbone(vocabulary_size=len(vocab), num_layers=1, num_heads=2,
                                     hidden_dim=8, intermediate_dim=16, dtype=policy)
    preprocessor = kerabert.BertPreprocessor(kerabert.BertTokenizer(vocab), sequence_length=6)
    classifier = kerabert.BertClassifier(backbone, num_classes=2, preprocessor=preprocessor)
    if policy == "mixed_float16":
        assert isinstance(classifier.optimizer, keras.optimizers.LossScaleOptimizer)
    history = classifier.fit(["good movie", "bad movie"] * 4, np.array([1, 0] * 4),
                             batch_size=4, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert classifier.backbone.token_embedding.embeddings.dtype == "float32"


# --- the shared harness ----------------------------------------------------------

class TestHarness(harness.TaskRoundTrips):
    task_cls = kerabert.BertClassifier
    texts = harness.TEXTS


def test_backbone_from_outside_the_strategy_scope_is_refused(hf_bert_dir):
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    outside = harness.tiny_backbone("bert")
    with strategy.scope():
        with pytest.raises(ValueError, match=r"outside this MirroredStrategy's scope.*"
                                             r"\(or call from_preset\) inside"):
            kerabert.BertClassifier(outside, num_classes=2)
        classifier = kerabert.BertClassifier.from_preset(hf_bert_dir[0], num_classes=2)
    assert classifier.distribute_strategy is strategy
