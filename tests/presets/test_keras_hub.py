"""keras-hub interop: keras-hub preset folders (built here with keras-hub and
saved by its `save_to_preset`) load into kerabert with keras-hub's outputs, and
kerabert models exported with `export_to_keras_hub` load in keras-hub with
kerabert's. keras-hub is the oracle in both directions."""

import os
import warnings

import keras
import keras_hub
import numpy as np
import pytest

import kerabert
from kerabert.presets import hub
from kerabert.presets import resolve
from kerabert.presets import kaggle
from kerabert.presets import registry
from tests import harness
from tests.conftest import TINY_VOCAB

TEXTS = ["The quick brown fox jumps over the lazy dog.", "a cat sat on the mat !", "good",
         "Movie was not bad , the cat ran"]
PAIRS = (["the cat", "a dog"], ["sat on the mat .", "was not good"])
SEQUENCE_LENGTH = 16
ATOL = 1e-5
SIZE = dict(num_layers=2, num_heads=2, hidden_dim=16, intermediate_dim=32)


def randomize(model, seed):
    """Random values in every weight (keras-hub starts biases and LayerNorm
    at 0 and 1, which would hide a bias or a beta loaded into the wrong place)."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        value = rng.normal(0.0, 0.2, tuple(variable.shape))
        if variable.path.endswith("gamma"):
            value += 1.0
        variable.assign(value.astype("float32"))


def hub_tokenizer():
    # keras-hub's uncased presets: lower-case, accents kept.
    return keras_hub.models.BertTokenizer(vocabulary=TINY_VOCAB, lowercase=True)


def hub_bert_backbone():
    return keras_hub.models.BertBackbone(vocabulary_size=len(TINY_VOCAB), max_sequence_length=32,
                                         num_segments=2, dropout=0.0, **SIZE)


def packed(batch=2, length=10, seed=1):
    rng = np.random.default_rng(seed)
    mask = np.ones((batch, length), "int32")
    mask[1, 6:] = 0
    return {"token_ids": (rng.integers(5, len(TINY_VOCAB), (batch, length)) * mask).astype("int32"),
            "segment_ids": np.concatenate([np.zeros((batch, 4), "int32"),
                                           np.ones((batch, length - 4), "int32")], 1) * mask,
            "padding_mask": mask}


def hub_packed(preprocessor, inputs):
    """keras-hub's packed inputs (a tuple passed as `x` is a pair of segments,
    as its first positional argument it would be `(x, y)`)."""
    x = preprocessor(x=inputs)
    return {k: np.asarray(v) for k, v in (x[0] if isinstance(x, tuple) else x).items()}


def as_lists(ids):
    """Token ids of a batch (ragged tensor or list of rows) as lists of ints."""
    ids = ids.to_list() if hasattr(ids, "to_list") else ids
    return [[int(i) for i in np.asarray(row)] for row in ids]


def to_numpy(x):
    return keras.tree.map_structure(lambda t: np.asarray(keras.ops.convert_to_numpy(t)), x)


@pytest.fixture(scope="module")
def hub_classifier(tmp_path_factory):
    """A keras-hub BertTextClassifier preset folder and the model that wrote it."""
    keras.utils.set_random_seed(0)
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor(
        hub_tokenizer(), sequence_length=SEQUENCE_LENGTH)
    model = keras_hub.models.BertTextClassifier(hub_bert_backbone(), num_classes=3,
                                                preprocessor=preprocessor, dropout=0.0)
    randomize(model, 0)
    folder = str(tmp_path_factory.mktemp("keras_hub") / "classifier")
    model.save_to_preset(folder)
    return folder, model


@pytest.fixture(scope="module")
def hub_masked_lm(tmp_path_factory):
    keras.utils.set_random_seed(1)
    preprocessor = keras_hub.models.BertMaskedLMPreprocessor(
        hub_tokenizer(), sequence_length=SEQUENCE_LENGTH, mask_selection_rate=0.2,
        mask_selection_length=4)
    model = keras_hub.models.BertMaskedLM(hub_bert_backbone(), preprocessor=preprocessor)
    randomize(model, 1)
    folder = str(tmp_path_factory.mktemp("keras_hub") / "masked_lm")
    model.save_to_preset(folder)
    return folder, model


@pytest.fixture(scope="module")
def hub_xlnet(tmp_path_factory):
    keras.utils.set_random_seed(2)
    model = keras_hub.models.XLNetBackbone(vocabulary_size=100, dropout=0.0, **SIZE)
    randomize(model, 2)
    folder = str(tmp_path_factory.mktemp("keras_hub") / "xlnet")
    model.save_to_preset(folder)
    return folder, model


# --- keras-hub -> kerabert ------------------------------------------------------------

def test_classifier_preset_gives_keras_hubs_outputs_on_raw_strings(hub_classifier):
    folder, theirs = hub_classifier
    ours = kerabert.BertClassifier.from_preset(folder)
    assert ours.num_classes == 3
    assert ours.backbone.activation == "gelu_approximate"
    assert ours.preprocessor.sequence_length == SEQUENCE_LENGTH
    tokenizer = ours.preprocessor.tokenizer
    assert (tokenizer.lowercase, tokenizer.strip_accents) == (True, False)

    for inputs in (TEXTS, PAIRS):
        expected = hub_packed(theirs.preprocessor, inputs)
        got = {k: np.asarray(v) for k, v in ours.preprocessor(inputs).items()}
        for key in ("token_ids", "segment_ids", "padding_mask"):
            np.testing.assert_array_equal(got[key], expected[key], err_msg=key)
        np.testing.assert_allclose(ours.predict(inputs, verbose=0), to_numpy(theirs(expected)),
                                   atol=ATOL)
    np.testing.assert_allclose(ours.predict(TEXTS, verbose=0), theirs.predict(TEXTS, verbose=0),
                               atol=ATOL)


def test_backbone_of_a_task_preset_gives_keras_hubs_outputs(hub_classifier):
    folder, theirs = hub_classifier
    ours = kerabert.BertBackbone.from_preset(folder)
    expected, got = to_numpy(theirs.backbone(packed())), to_numpy(ours(packed()))
    for key in ("sequence_output", "pooled_output"):
        np.testing.assert_allclose(got[key], expected[key], atol=ATOL)
    # The tokenizer alone loads from the folder too.
    tokenizer = kerabert.BertTokenizer.from_preset(folder)
    np.testing.assert_array_equal(tokenizer(TEXTS[0]), theirs.preprocessor.tokenizer(TEXTS[0]))


def test_tokenizer_preset_alone(tmp_path):
    theirs = keras_hub.models.BertTokenizer(vocabulary=TINY_VOCAB, lowercase=True,
                                            strip_accents=True)
    theirs.save_to_preset(str(tmp_path))  # tokenizer.json and assets/ only
    ours = kerabert.BertTokenizer.from_preset(str(tmp_path))
    assert (ours.lowercase, ours.strip_accents) == (True, True)
    assert as_lists(ours(TEXTS)) == as_lists(theirs(TEXTS))
    with pytest.raises(ValueError, match="holds a tokenizer, no model"):
        kerabert.BertBackbone.from_preset(str(tmp_path))


def test_masked_lm_preset_loads_into_the_pretrainers_masked_lm_head(hub_masked_lm):
    folder, theirs = hub_masked_lm
    ours = kerabert.BertPretrainer.from_preset(folder)
    assert (ours.mlm_activation, ours.mlm_layer_norm_epsilon) == ("gelu", 1e-5)
    preprocessor = ours.preprocessor
    assert (preprocessor.sequence_length, preprocessor.mask_rate,
            preprocessor.max_predictions_per_seq) == (SEQUENCE_LENGTH, 0.2, 4)
    inputs = packed()
    positions = np.array([[1, 2, 5], [0, 3, 4]], "int32")
    expected = keras.ops.log_softmax(theirs({**inputs, "mask_positions": positions}), axis=-1)
    got = ours({**inputs, "masked_positions": positions})["mlm_log_probs"]
    np.testing.assert_allclose(to_numpy(got), to_numpy(expected), atol=ATOL)


def test_xlnet_backbone_preset_gives_keras_hubs_outputs_one_example_at_a_time(hub_xlnet):
    folder, theirs = hub_xlnet
    ours = kerabert.XLNetBackbone.from_preset(folder)
    inputs = packed()
    inputs["token_ids"] = inputs["token_ids"] * 3  # within XLNet's 100-token vocabulary
    ours_batch = to_numpy(ours(inputs)["sequence_output"])
    for row in range(2):
        example = {k: v[row:row + 1] for k, v in inputs.items()}
        expected = to_numpy(theirs(example))
        np.testing.assert_allclose(to_numpy(ours(example)["sequence_output"]), expected,
                                   atol=ATOL)
        np.testing.assert_allclose(ours_batch[row:row + 1], expected, atol=ATOL)


def test_keras_hub_xlnet_is_still_wrong_for_batches_of_more_than_one(hub_xlnet):
    """keras-hub reshapes its relative position encodings (positions, batch,
    dim) -> (batch, positions, dim) instead of transposing them, so its XLNet
    outputs depend on the batch size; the README says so. When keras-hub fixes
    it, this fails: update the README."""
    _, theirs = hub_xlnet
    inputs = {k: v * (3 if k == "token_ids" else 1) for k, v in packed().items()}
    first_alone = to_numpy(theirs({k: v[:1] for k, v in inputs.items()}))
    assert np.abs(to_numpy(theirs(inputs))[:1] - first_alone).max() > 1e-3


def test_xlnet_preset_without_tokenizer_names_the_way_out(hub_xlnet):
    folder, _ = hub_xlnet
    with pytest.raises(FileNotFoundError, match="keras-hub has no XLNet tokenizer"):
        kerabert.XLNetClassifier.from_preset(folder, num_classes=2)
    model = kerabert.XLNetClassifier.from_preset(folder, num_classes=2, preprocessor=None)
    assert model.preprocessor is None


def test_convert_command_reads_keras_hub_folders(hub_classifier, tmp_path, capsys):
    from kerabert import cli

    folder, theirs = hub_classifier
    dest = tmp_path / "converted"
    assert cli.main(["convert", folder, str(dest), "--task", "classifier"]) == 0
    assert "keras-hub BertTextClassifier preset" in capsys.readouterr().out
    converted = kerabert.BertClassifier.from_preset(str(dest))
    np.testing.assert_allclose(converted.predict(TEXTS, verbose=0),
                               theirs.predict(TEXTS, verbose=0), atol=ATOL)


def test_tokenizer_follows_the_reference_where_keras_hub_case_folds():
    """keras-hub lower-cases with NFKC case folding; the reference (and
    transformers) lower-case character by character. Accents follow the
    `strip_accents` flag in both. kerabert follows the reference, which the
    transformers tokenizer checks here."""
    from tokenizers import Tokenizer
    from tokenizers import models
    from tokenizers import normalizers
    from tokenizers import pre_tokenizers

    vocabulary = TINY_VOCAB + ["strasse", "straße", "fine", "ﬁne", "abc", "café", "cafe"]
    reference = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocabulary)},
                                           unk_token="[UNK]"))
    reference.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=False)
    reference.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    ours = kerabert.BertTokenizer(vocabulary, lowercase=True, strip_accents=False)
    theirs = keras_hub.models.BertTokenizer(vocabulary=vocabulary, lowercase=True)
    for text, keras_hub_reads in (("Straße", "strasse"), ("ﬁne", "fine"), ("ＡＢＣ", "abc")):
        assert list(np.asarray(ours(text))) == reference.encode(text).ids
        assert [vocabulary[i] for i in np.asarray(theirs(text))] == [keras_hub_reads]
        assert list(np.asarray(ours(text))) != list(np.asarray(theirs(text)))
    # Accents: kept by both under the preset's flag.
    assert list(np.asarray(ours("Café"))) == list(np.asarray(theirs("Café"))) \
        == [vocabulary.index("café")]


# --- kerabert -> keras-hub ------------------------------------------------------------

def test_exported_classifier_loads_in_keras_hub_with_the_same_outputs(tmp_path):
    backbone = harness.tiny_backbone("bert", activation="gelu_approximate")
    randomize(backbone, 3)
    preprocessor = kerabert.BertPreprocessor(harness.tiny_tokenizer("bert"),
                                             sequence_length=SEQUENCE_LENGTH)
    ours = kerabert.BertClassifier(backbone, num_classes=4, preprocessor=preprocessor,
                                   activation="softmax")
    folder = ours.export_to_keras_hub(tmp_path / "exported")
    theirs = keras_hub.models.TextClassifier.from_preset(folder)
    assert type(theirs).__name__ == "BertTextClassifier"
    np.testing.assert_allclose(theirs.predict(TEXTS, verbose=0), ours.predict(TEXTS, verbose=0),
                               atol=ATOL)
    np.testing.assert_allclose(to_numpy(theirs(hub_packed(theirs.preprocessor, PAIRS))),
                               ours.predict(PAIRS, verbose=0), atol=ATOL)
    # Back into kerabert: the same model again.
    again = kerabert.BertClassifier.from_preset(folder)
    np.testing.assert_allclose(again.predict(TEXTS, verbose=0), ours.predict(TEXTS, verbose=0),
                               atol=ATOL)


def test_exported_pretrainer_is_a_keras_hub_masked_lm_without_the_nsp_head(tmp_path):
    backbone = harness.tiny_backbone("bert", activation="gelu_approximate")
    randomize(backbone, 4)
    preprocessor = kerabert.BertPretrainerPreprocessor(harness.tiny_tokenizer("bert"),
                                                       sequence_length=SEQUENCE_LENGTH)
    ours = kerabert.BertPretrainer(backbone, preprocessor=preprocessor, mlm_activation="gelu",
                                   mlm_layer_norm_epsilon=1e-5)
    randomize(ours.mlm_head, 5)
    with pytest.warns(UserWarning, match="no next-sentence head"):
        folder = ours.export_to_keras_hub(tmp_path / "masked_lm")
    theirs = keras_hub.models.BertMaskedLM.from_preset(folder)
    assert type(theirs.preprocessor).__name__ == "BertMaskedLMPreprocessor"
    inputs = packed()
    positions = np.array([[1, 2, 5], [0, 3, 4]], "int32")
    expected = ours({**inputs, "masked_positions": positions})["mlm_log_probs"]
    got = keras.ops.log_softmax(theirs({**inputs, "mask_positions": positions}), axis=-1)
    np.testing.assert_allclose(to_numpy(got), to_numpy(expected), atol=ATOL)


def test_exported_backbones_load_in_keras_hub(tmp_path):
    bert = harness.tiny_backbone("bert", activation="gelu_approximate")
    randomize(bert, 6)
    folder = bert.export_to_keras_hub(tmp_path / "bert", tokenizer=harness.tiny_tokenizer("bert"))
    theirs = keras_hub.models.BertBackbone.from_preset(folder)
    expected, got = to_numpy(bert(packed())), to_numpy(theirs(packed()))
    for key in ("sequence_output", "pooled_output"):
        np.testing.assert_allclose(got[key], expected[key], atol=ATOL)
    tokenizer = keras_hub.models.BertTokenizer.from_preset(folder)
    assert as_lists(tokenizer(TEXTS)) == as_lists(harness.tiny_tokenizer("bert")(TEXTS))

    xlnet = harness.tiny_backbone("xlnet", activation="gelu")
    randomize(xlnet, 7)
    folder = xlnet.export_to_keras_hub(tmp_path / "xlnet")
    theirs = keras_hub.models.XLNetBackbone.from_preset(folder)
    example = {k: v[1:] * (7 if k == "token_ids" else 1) for k, v in packed().items()}
    np.testing.assert_allclose(to_numpy(theirs(example)),
                               to_numpy(xlnet(example)["sequence_output"]), atol=ATOL)


def test_exact_gelu_is_refused_with_the_measured_difference_unless_allowed(tmp_path):
    backbone = harness.tiny_backbone("bert")  # "gelu": the exact form, as transformers' BERT
    randomize(backbone, 8)
    target = tmp_path / "exact"
    with pytest.raises(ValueError, match=r"tanh|gelu_approximate") as error:
        backbone.export_to_keras_hub(target)
    assert "allow_numerical_change=True" in str(error.value)
    assert "differ by up to" in str(error.value)
    assert not target.exists()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        folder = backbone.export_to_keras_hub(target, allow_numerical_change=True)
    message = next(str(w.message) for w in caught if "differ by up to" in str(w.message))
    stated = float(message.split("differ by up to ")[1].split(" ")[0])
    theirs = keras_hub.models.BertBackbone.from_preset(folder)
    actual = np.abs(to_numpy(theirs(packed()))["sequence_output"]
                    - to_numpy(backbone(packed()))["sequence_output"]).max()
    assert 0 < stated and 0 < actual < 10 * stated


def test_pretrainer_with_the_reference_head_is_refused(tmp_path):
    backbone = harness.tiny_backbone("bert", activation="gelu_approximate")
    pretrainer = kerabert.BertPretrainer(backbone)  # head: the backbone's GELU and 1e-12
    with pytest.raises(ValueError, match="masked-LM head"):
        pretrainer.export_to_keras_hub(tmp_path / "refused")


def test_tasks_keras_hub_lacks_are_refused_naming_the_backbone_export(tmp_path):
    for task_cls in (kerabert.BertQuestionAnswerer, kerabert.XLNetClassifier):
        task = harness.tiny_task(task_cls)
        with pytest.raises(NotImplementedError, match="backbone.export_to_keras_hub"):
            task.export_to_keras_hub(tmp_path / task_cls.__name__)


# --- names and Kaggle handles ---------------------------------------------------------

def test_keras_hub_preset_names_resolve(monkeypatch):
    """Every keras-hub BERT preset name is kerabert's own name, an alias of
    one, or (for keras-hub's own fine-tunes) its Kaggle handle."""
    downloads = []
    monkeypatch.setattr(hub, "download",
                        lambda repo, revision=None, label=None, family=None: downloads.append(
                            ("hf", repo)) or "hf-folder")
    monkeypatch.setattr(kaggle, "download",
                        lambda handle: downloads.append(("kaggle", handle)) or "kaggle-folder")
    assert registry.get("bert_base_en").name == "bert_base_en_cased"
    assert registry.get("bert_base_multi").name == "bert_base_multi_cased"
    assert registry.get("bert_large_en").name == "bert_large_en_cased"
    names = keras_hub.models.BertBackbone.presets
    for name in names:
        downloads.clear()
        resolve.resolve_preset(name)
        entry = registry.get(name)
        if entry is not None:
            assert downloads == [("hf", entry.hf_repo)]
        else:
            assert downloads == [("kaggle", names[name]["kaggle_handle"])]
    assert registry.get("bert_tiny_en_uncased_sst2") is None  # a keras-hub fine-tune
    with pytest.raises(FileNotFoundError, match="'bert_base_en'"):
        resolve.resolve_preset("bert_base_ne")


def _cache_with(folder, cache, handle):
    """A kagglehub cache holding `folder` as `handle`, written the way
    kagglehub writes its own."""
    import shutil

    from kagglehub.cache import Cache
    from kagglehub.cache import get_cached_path
    from kagglehub.handle import parse_model_handle

    parsed = parse_model_handle(handle)
    shutil.copytree(folder, get_cached_path(parsed))
    Cache().mark_as_complete(parsed)


def test_kaggle_handle_loads_from_kagglehubs_cache(hub_classifier, tmp_path, monkeypatch):
    folder, theirs = hub_classifier
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "kagglehub"))
    _cache_with(folder, tmp_path / "kagglehub", "keras/bert/keras/tiny_classifier/2")
    ours = kerabert.BertClassifier.from_preset("kaggle://keras/bert/keras/tiny_classifier/2")
    np.testing.assert_allclose(ours.predict(TEXTS, verbose=0), theirs.predict(TEXTS, verbose=0),
                               atol=ATOL)


def test_kaggle_unreachable_uses_the_newest_cached_version(hub_classifier, tmp_path,
                                                            monkeypatch):
    import kagglehub
    import requests

    folder, _ = hub_classifier
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "kagglehub"))
    for version in (1, 3):
        _cache_with(folder, tmp_path / "kagglehub", f"keras/bert/keras/tiny/{version}")

    def unreachable(handle, *args, **kwargs):
        raise requests.exceptions.ConnectionError("Failed to establish a new connection")

    monkeypatch.setattr(kagglehub, "model_download", unreachable)
    resolved = resolve.resolve_preset("kaggle://keras/bert/keras/tiny")
    assert resolved == os.path.join(str(tmp_path / "kagglehub"), "models", "keras", "bert",
                                    "keras", "tiny", "3")


def test_kaggle_offline_error_names_the_missing_files(tmp_path, monkeypatch):
    import kagglehub
    import requests

    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "kagglehub"))

    def unreachable(handle, *args, **kwargs):
        raise requests.exceptions.ConnectionError("Failed to establish a new connection")

    monkeypatch.setattr(kagglehub, "model_download", unreachable)
    with pytest.raises(hub.HubError) as error:
        kerabert.BertBackbone.from_preset("kaggle://keras/bert/keras/bert_tiny_en_uncased/3")
    message = str(error.value)
    assert "Kaggle could not be reached" in message
    assert "Missing: config.json, model.weights.h5" in message
    assert str(tmp_path / "kagglehub") in message

    # A half-written cache entry: the missing file is named.
    partial = tmp_path / "kagglehub" / "models" / "keras" / "bert" / "keras" / "half" / "1"
    partial.mkdir(parents=True)
    (partial / "config.json").write_text("{}")
    with pytest.raises(hub.HubError, match=r"Missing: model\.weights\.h5\."):
        resolve.resolve_preset("kaggle://keras/bert/keras/half/1")


def test_malformed_kaggle_handles_are_explained():
    for handle in ("kaggle://keras/bert", "kaggle://keras/bert/keras/tiny/latest",
                   "kaggle://keras/bert/keras/ti ny"):
        with pytest.raises(ValueError, match="expected kaggle://owner/model/framework/variation"):
            resolve.resolve_preset(handle)
