"""A shared harness: tiny models of every kerabert class, and the checks every
backbone and task must pass (config, `.keras` and preset round trips). The
scripts that tests run in their own processes import it too.

    run_backbone_test(backbone, inputs, tmp_path)
    run_task_test(task, inputs, tmp_path)
    run_preset_roundtrip(model, inputs, tmp_path)
    run_serialization_test(model, inputs, tmp_path)
    run_precision_test(model, inputs, tmp_path)

`tiny_backbone(family)`, `tiny_task(task_cls)` and `task_inputs(task)` build
small random models and a batch of model inputs for them.
"""

import os

import keras
import numpy as np
import pytest

import kerabert
from tests.conftest import TINY_VOCAB
from tests.conftest import XLNET_SPIECE

SIZE = dict(num_layers=2, num_heads=2, hidden_dim=16, intermediate_dim=32)
TEXTS = ["the quick brown fox", "a lazy dog was not good", "good movie !", ""]
QUESTIONS = ["what jumps ?", "who sat ?"]
CONTEXTS = ["the quick brown fox jumps over the lazy dog .", "a cat sat on the mat ."]

TASKS = (kerabert.BertClassifier, kerabert.BertQuestionAnswerer, kerabert.BertPretrainer,
         kerabert.XLNetClassifier, kerabert.XLNetQuestionAnswerer, kerabert.XLNetPretrainer)
TASK_KWARGS = {kerabert.BertClassifier: {"num_classes": 3},
               kerabert.XLNetClassifier: {"num_classes": 3},
               kerabert.XLNetPretrainer: {"batch_size": 2}}


# --- the tiny classifier of the training scripts run in their own processes
# (distribution, multi-worker, fault tolerance) and of the fit tests ------------

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "good", "bad", "movie", "cat", "dog", "a"]


def sentiment_data(repeats):
    """`repeats` copies of four labelled sentences, in a fixed order."""
    texts = ["good movie", "bad movie", "a good cat", "bad dog"] * repeats
    return texts, np.array([1, 0, 1, 0] * repeats)


def tiny_bert_classifier(learning_rate, dropout=0.0):
    """A 1-layer, 8-wide BertClassifier with raw-text preprocessing, seeded and
    by default without dropout (so runs on different devices can be compared
    exactly); `dropout` applies to the backbone, its attention and the head.
    Build it inside the strategy scope it should train under."""
    keras.utils.set_random_seed(0)
    backbone = kerabert.BertBackbone(vocabulary_size=len(VOCAB), num_layers=1, num_heads=2,
                                     hidden_dim=8, intermediate_dim=16, dropout=dropout,
                                     attention_dropout=dropout)
    preprocessor = kerabert.BertPreprocessor(kerabert.BertTokenizer(VOCAB), sequence_length=8)
    model = kerabert.BertClassifier(backbone, num_classes=2, preprocessor=preprocessor,
                                    dropout=dropout)
    model.compile(learning_rate=learning_rate)
    return model


PRETRAINING_FIRST = ["the quick brown fox jumps", "a lazy dog sat on the mat", "good movie",
                     "the cat"]
PRETRAINING_SECOND = ["over the lazy dog .", "the cat was not good", "bad movie !",
                      "jumps on a mat"]


def tiny_masking_pretrainer(dropout=0.1, **compile_kwargs):
    """A 1-layer, 8-wide BertPretrainer on raw sentence pairs, masked
    dynamically by its `BertPretrainerPreprocessor` (length 12, 3 predictions),
    with `dropout` everywhere; seeded, compiled with `compile_kwargs`."""
    keras.utils.set_random_seed(0)
    backbone = kerabert.BertBackbone(vocabulary_size=len(TINY_VOCAB), num_layers=1, num_heads=2,
                                     hidden_dim=8, intermediate_dim=16, max_sequence_length=16,
                                     dropout=dropout, attention_dropout=dropout)
    preprocessor = kerabert.BertPretrainerPreprocessor(
        kerabert.BertTokenizer(TINY_VOCAB), sequence_length=12, max_predictions_per_seq=3)
    model = kerabert.BertPretrainer(backbone, preprocessor=preprocessor)
    model.compile(**compile_kwargs)
    return model


def pretraining_pairs(repeats):
    """`repeats` copies of four sentence pairs and their next-sentence labels."""
    return ((PRETRAINING_FIRST * repeats, PRETRAINING_SECOND * repeats),
            np.array([0, 1, 0, 1] * repeats))


def weight_sums(model):
    """One float64 checksum per weight: enough to compare two training runs."""
    return [float(np.sum(w, dtype=np.float64)) for w in model.get_weights()]


# --- tiny models of every class --------------------------------------------------

def family(cls):
    return "xlnet" if cls.__name__.startswith("XLNet") else "bert"


def tiny_backbone(family, seed=0, **overrides):
    keras.utils.set_random_seed(seed)
    if family == "bert":
        return kerabert.BertBackbone(vocabulary_size=len(TINY_VOCAB), max_sequence_length=64,
                                     **{**SIZE, **overrides})
    return kerabert.XLNetBackbone(vocabulary_size=800, **{**SIZE, **overrides})


def tiny_tokenizer(family):
    if family == "bert":
        return kerabert.BertTokenizer(TINY_VOCAB)
    return kerabert.XLNetTokenizer(XLNET_SPIECE)


def tiny_task(cls, seed=0, **overrides):
    """A `cls` over a tiny random backbone, with its preprocessor (sequence
    length 32) when the class has one."""
    name = family(cls)
    backbone = tiny_backbone(name, seed, **({"mem_len": 4} if cls is kerabert.XLNetPretrainer
                                             else {}))
    preprocessor = None
    if cls.preprocessor_cls is not None:
        preprocessor = cls.preprocessor_cls(tiny_tokenizer(name), sequence_length=32)
    return cls(backbone, preprocessor=preprocessor, **{**TASK_KWARGS.get(cls, {}), **overrides})


def task_inputs(task):
    """One batch of packed model inputs for `task` (numpy dict)."""
    rng = np.random.default_rng(0)
    if task.task_kind == "question_answerer":
        return dict(task.preprocessor.featurize(QUESTIONS, CONTEXTS).inputs)
    if isinstance(task, kerabert.XLNetPretrainer):
        batch, length, targets = task.batch_size, 8, 3
        perm = rng.integers(0, 2, (batch, length, length)).astype("float32")
        mapping = np.zeros((batch, targets, length), "float32")
        mapping[:, np.arange(targets), np.arange(targets)] = 1.0
        return {"token_ids": rng.integers(7, 800, (batch, length)).astype("int32"),
                "segment_ids": np.zeros((batch, length), "int32"), "perm_mask": perm,
                "target_mapping": mapping}
    if isinstance(task, kerabert.BertPretrainer):
        length = 12
        return {"token_ids": rng.integers(5, len(TINY_VOCAB), (2, length)).astype("int32"),
                "segment_ids": np.zeros((2, length), "int32"),
                "padding_mask": np.ones((2, length), "int32"),
                "masked_positions": np.array([[1, 3, 0], [2, 4, 5]], "int32")}
    packed = task.preprocessor(TEXTS)
    return {k: np.asarray(v) for k, v in packed.items()}


def _outputs(model, inputs):
    outputs = model.predict_on_batch(inputs) if hasattr(model, "predict_on_batch") \
        else model(inputs)
    return keras.tree.map_structure(np.asarray, outputs)


def assert_same_outputs(expected, actual, atol=1e-6):
    keras.tree.assert_same_structure(expected, actual)
    for e, a in zip(keras.tree.flatten(expected), keras.tree.flatten(actual)):
        np.testing.assert_allclose(a, e, atol=atol)


def run_preset_roundtrip(model, inputs, tmp_path):
    """`save_to_preset` then `from_preset` of the model's class gives the same
    class and the same outputs."""
    folder = os.path.join(tmp_path, "preset")
    model.save_to_preset(folder)
    reloaded = type(model).from_preset(folder)
    assert type(reloaded) is type(model)
    assert_same_outputs(_outputs(model, inputs), _outputs(reloaded, inputs))
    return reloaded


def run_serialization_test(model, inputs, tmp_path, texts=None):
    """`keras.saving.serialize_keras_object` -> `deserialize_keras_object` (same
    weights), and a `.keras` file, give the model's class and outputs; with
    `texts`, the loaded model's own preprocessor predicts the same on them."""
    expected = _outputs(model, inputs)
    config = keras.saving.serialize_keras_object(model)
    clone = keras.saving.deserialize_keras_object(config)
    assert type(clone) is type(model)
    clone.set_weights(model.get_weights())
    assert_same_outputs(expected, _outputs(clone, inputs))
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    assert_same_outputs(expected, _outputs(loaded, inputs))
    if texts is not None:
        np.testing.assert_array_equal(loaded.predict(texts, verbose=0),
                                      model.predict(texts, verbose=0))
    return expected


def run_precision_test(model, inputs, tmp_path, policy="mixed_bfloat16", rtol=2e-2, atol=5e-2):
    """The model's weights under `policy` (through a preset, `dtype=policy`)
    give float outputs close to the float32 model's, and keep float32
    variables. Integer outputs (top-k indices) are left out: near-ties may
    reorder under bfloat16. Returns `(float32 outputs, mixed outputs)`."""
    assert model.dtype_policy.name == "float32"
    folder = os.path.join(tmp_path, "precision_preset")
    model.save_to_preset(folder)
    mixed = type(model).from_preset(folder, dtype=policy)
    assert mixed.dtype_policy.name == policy
    backbone = getattr(mixed, "backbone", mixed)
    assert backbone.dtype_policy.name == policy
    assert all(v.dtype == "float32" for v in mixed.weights), \
        sorted({(v.path, v.dtype) for v in mixed.weights if v.dtype != "float32"})
    for ours, theirs in zip(model.weights, mixed.weights):
        np.testing.assert_array_equal(np.asarray(theirs), np.asarray(ours))
    expected, actual = _outputs(model, inputs), _outputs(mixed, inputs)
    keras.tree.assert_same_structure(expected, actual)
    compared = 0
    for e, a in zip(keras.tree.flatten(expected), keras.tree.flatten(actual)):
        assert a.shape == e.shape
        if not np.issubdtype(e.dtype, np.floating):
            continue
        np.testing.assert_allclose(a.astype("float32"), e, rtol=rtol, atol=atol)
        # Not the float32 computation again.
        assert not np.array_equal(a.astype("float32"), e)
        compared += 1
    assert compared
    return expected, actual


def _round_trips(model, inputs, tmp_path, texts=None):
    expected = _outputs(model, inputs)
    # Config: the same architecture, which takes the same weights.
    clone = type(model).from_config(model.get_config())
    clone.set_weights(model.get_weights())
    assert_same_outputs(expected, _outputs(clone, inputs))
    run_serialization_test(model, inputs, tmp_path, texts)
    run_preset_roundtrip(model, inputs, tmp_path)
    return expected


def run_backbone_test(backbone, inputs, tmp_path):
    """Output names and shapes, then the config, `.keras` and preset round trips."""
    outputs = _round_trips(backbone, inputs, tmp_path)
    batch, length = inputs["token_ids"].shape
    assert outputs["sequence_output"].shape == (batch, length, backbone.hidden_dim)
    return outputs


def run_task_test(task, inputs, tmp_path, texts=None):
    """The round trips (config, serialization, `.keras`, preset; `texts` as in
    `run_serialization_test`), the default recipe, and `compile=False`."""
    assert task.compiled
    outputs = _round_trips(task, inputs, tmp_path, texts)
    bare = type(task).from_config({**task.get_config(), "compile": False})
    assert not bare.compiled
    return outputs


class TaskRoundTrips:
    """Mixed into a task's test class (`task_cls`, and `texts` for tasks that
    take raw text): the harness's round trips (`run_task_test`) and the
    precision test, on one tiny task built for the class."""

    task_cls = None
    texts = None

    @pytest.fixture(scope="class")
    def tiny(self):
        task = tiny_task(self.task_cls)
        return task, task_inputs(task)

    # An untrained model's optimizer has no state to save, which Keras reports on loading.
    @pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
    def test_harness_round_trips(self, tiny, tmp_path):
        task, inputs = tiny
        run_task_test(task, inputs, tmp_path, texts=self.texts)

    def test_mixed_bfloat16_is_close_to_float32(self, tiny, tmp_path):
        task, inputs = tiny
        run_precision_test(task, inputs, tmp_path)
