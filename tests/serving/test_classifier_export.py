"""Raw-text SavedModels of BertClassifier and XLNetClassifier, called from a
process with TensorFlow and the tensorflow-text kernels only, against the
task's own `predict` (itself tested against transformers)."""

import collections
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerabert
from kerabert.serving import export_task
from tests.serving.conftest import call_in_fresh_process
from tests.serving.conftest import spec
from tests.serving.conftest import strings

SEQUENCE_LENGTH = 16
NUM_CLASSES = 3
LONG = "the quick brown fox jumps over the lazy dog . " * 12
SINGLE = {
    "plain": ["the quick brown fox", "a good movie was not bad"],
    "unicode": ["Ünïcödé café — naïve 東京タワー", "ﬁnance in 1990, 3,500 yen ½ \u200b ok"],
    "empty": ["", "   "],
    "long": [LONG, "a " * 200],
    "one": ["the lazy dog"],
    "mixed": ["", "a", LONG, "Ünïcödé café", "the cat sat on the mat .", "\u200b"],
}
Served = collections.namedtuple("Served", "task signatures results path")
PAIRS = {
    "plain": (["the quick fox", "a cat"], ["jumps over the dog", "sat on the mat"]),
    "empty": (["", "the dog"], ["the cat", ""]),
    "long": ([LONG, "a cat"], ["short", LONG + LONG]),
    "unicode": (["Ünïcödé café"], ["東京 — naïve"]),
}


def _softmax(logits):
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.fixture(scope="module", params=["bert", "xlnet"])
def served(request, hf_models, tmp_path_factory):
    """One export per model, all cases answered by one fresh process; `results`
    maps `(signature, case)` to the outputs."""
    cls = {"bert": kerabert.BertClassifier, "xlnet": kerabert.XLNetClassifier}[request.param]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tiny checkpoints: no pooler, unused weights
        task = cls.from_preset(hf_models[f"{request.param}_classifier"],
                               sequence_length=SEQUENCE_LENGTH)
    path = tmp_path_factory.mktemp(f"{request.param}_classifier_export") / "1"
    assert export_task(task, str(path)) == str(path)
    keys, calls = [], []
    for name, texts in SINGLE.items():
        keys.append(("serving_default", name))
        calls.append(("serving_default", {"text": strings(texts)}))
    for name, (a, b) in PAIRS.items():
        keys.append(("serving_pairs", name))
        calls.append(("serving_pairs", {"text": strings(a), "text_pair": strings(b)}))
    keys.append(("serving_default", "empty_batch"))
    calls.append(("serving_default", {"text": strings([])}))
    keys.append(("serving_pairs", "empty_batch"))
    calls.append(("serving_pairs", {"text": strings([]), "text_pair": strings([])}))
    signatures, results = call_in_fresh_process(path, calls)
    return Served(task, signatures, dict(zip(keys, results)), path)


def test_signatures_take_strings_and_return_logits_and_probabilities(served):
    signatures = served.signatures
    outputs = {"logits": spec("float32", [None, NUM_CLASSES]),
               "probabilities": spec("float32", [None, NUM_CLASSES])}
    assert signatures == {
        "serving_default": {"inputs": {"text": spec("string", [None])}, "outputs": outputs},
        "serving_pairs": {"inputs": {"text": spec("string", [None]),
                                     "text_pair": spec("string", [None])},
                          "outputs": outputs},
    }


@pytest.mark.parametrize("case", list(SINGLE))
def test_single_texts_match_predict(served, case):
    task, results = served.task, served.results
    outputs = results[("serving_default", case)]
    expected = task.predict(SINGLE[case], verbose=0)
    np.testing.assert_allclose(outputs["logits"], expected, atol=1e-5)
    np.testing.assert_allclose(outputs["probabilities"], _softmax(expected), atol=1e-6)


@pytest.mark.parametrize("case", list(PAIRS))
def test_pairs_match_predict(served, case):
    task, results = served.task, served.results
    outputs = results[("serving_pairs", case)]
    expected = task.predict(PAIRS[case], verbose=0)
    np.testing.assert_allclose(outputs["logits"], expected, atol=1e-5)
    np.testing.assert_allclose(outputs["probabilities"], _softmax(expected), atol=1e-6)


@pytest.mark.parametrize("signature", ["serving_default", "serving_pairs"])
def test_an_empty_batch_gives_empty_outputs(served, signature):
    results = served.results
    outputs = results[(signature, "empty_batch")]
    assert outputs["logits"].shape == outputs["probabilities"].shape == (0, NUM_CLASSES)


def test_softmax_activation_exports_pre_activation_logits(hf_models, tmp_path):
    """With activation="softmax" the task predicts probabilities; the signature
    returns them as they are and the layer's pre-activation logits beside them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = kerabert.BertClassifier.from_preset(hf_models["bert_classifier"],
                                                   sequence_length=SEQUENCE_LENGTH)
    task = kerabert.BertClassifier(base.backbone, num_classes=NUM_CLASSES,
                                   preprocessor=base.preprocessor, activation="softmax")
    export_task(task, str(tmp_path / "softmax"))
    texts = SINGLE["mixed"]
    outputs = tf.saved_model.load(str(tmp_path / "softmax")).signatures["serving_default"](
        text=tf.constant(texts))
    expected = task.predict(texts, verbose=0)
    np.testing.assert_allclose(outputs["probabilities"].numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(_softmax(outputs["logits"].numpy()), expected, atol=1e-6)


def test_other_activations_are_rejected(hf_models, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = kerabert.BertClassifier.from_preset(hf_models["bert_classifier"],
                                                   sequence_length=SEQUENCE_LENGTH)
    # The constructor refuses an activation the head cannot serve...
    with pytest.raises(ValueError, match="activation must be None .* got 'sigmoid'"):
        kerabert.BertClassifier(base.backbone, num_classes=NUM_CLASSES,
                                preprocessor=base.preprocessor, activation="sigmoid")
    # ...and the export reads the activation the layer really applies, so a head
    # changed after construction is refused too, not exported as softmax.
    base.output_dense.activation = keras.activations.get("sigmoid")
    with pytest.raises(ValueError, match="activation='sigmoid'.*activation=None"):
        export_task(base, str(tmp_path / "sigmoid"))


def test_question_answering_options_are_rejected_for_a_classifier(served, tmp_path):
    task = served.task
    with pytest.raises(ValueError, match="handle_impossible_answer do not apply"):
        export_task(task, str(tmp_path / "x"), handle_impossible_answer=True)


def test_the_documented_server_setup_imports_no_kerabert(served, tmp_path):
    """`import tensorflow, tensorflow_text`, as a server would: loading and calling
    the export imports no Keras module beyond theirs, and no kerabert."""
    results, path = served.results, served.path
    _, (outputs,) = call_in_fresh_process(
        path, [("serving_default", {"text": strings(SINGLE["plain"])})],
        mode="tensorflow_text", tmp_path=tmp_path)
    np.testing.assert_array_equal(outputs["logits"],
                                  results[("serving_default", "plain")]["logits"])
