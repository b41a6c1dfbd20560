"""Embedding SavedModels (`export_backbone`), the token-id fallback for tasks
without a preprocessor, and the export API's errors."""

import collections
import warnings

import numpy as np
import pytest

import kerabert
from kerabert.serving import export_backbone
from kerabert.serving import export_task
from tests.conftest import XLNET_SPIECE
from tests.serving.conftest import call_in_fresh_process
from tests.serving.conftest import ints
from tests.serving.conftest import spec
from tests.serving.conftest import strings
from tests.tokenization.corpus import FIXTURES

SEQUENCE_LENGTH = 16
HIDDEN = 16
TEXTS = ["the quick brown fox", "", "Ünïcödé café — naïve 東京 ½", "the lazy dog . " * 10, "a"]
Served = collections.namedtuple("Served", "backbone preprocessor signatures outputs")


@pytest.fixture(scope="module", params=["bert", "xlnet"])
def served(request, hf_bert_dir, hf_xlnet_dir, tmp_path_factory):
    if request.param == "bert":
        folder = hf_bert_dir[0]
        backbone = kerabert.BertBackbone.from_preset(folder)
        preprocessor = kerabert.BertPreprocessor.from_preset(folder,
                                                             sequence_length=SEQUENCE_LENGTH)
    else:
        folder = hf_xlnet_dir[0]
        backbone = kerabert.XLNetBackbone.from_preset(folder)
        preprocessor = kerabert.XLNetPreprocessor.from_preset(folder,
                                                              sequence_length=SEQUENCE_LENGTH)
    path = tmp_path_factory.mktemp(f"{request.param}_embedder") / "1"
    export_backbone(backbone, preprocessor, str(path))
    signatures, (outputs, empty) = call_in_fresh_process(path, [
        ("serving_default", {"text": strings(TEXTS)}),
        ("serving_default", {"text": strings([])})])
    return Served(backbone, preprocessor, signatures, {"texts": outputs, "empty": empty})


def test_embedding_signature(served):
    assert served.signatures == {"serving_default": {
        "inputs": {"text": spec("string", [None])},
        "outputs": {"sequence_output": spec("float32", [None, SEQUENCE_LENGTH, HIDDEN]),
                    "pooled_output": spec("float32", [None, HIDDEN]),
                    "padding_mask": spec("int32", [None, SEQUENCE_LENGTH])}}}


def test_embeddings_match_the_backbone(served):
    inputs = served.preprocessor(TEXTS)
    expected = served.backbone.predict(inputs, verbose=0)
    outputs = served.outputs["texts"]
    np.testing.assert_array_equal(outputs["padding_mask"], np.asarray(inputs["padding_mask"]))
    np.testing.assert_allclose(outputs["sequence_output"], expected["sequence_output"],
                               atol=1e-5)
    if isinstance(served.backbone, kerabert.BertBackbone):
        pooled = expected["pooled_output"]
    else:  # XLNet: the <cls> state, at the last (left-padded) position
        pooled = expected["sequence_output"][:, -1]
        cls_token_id = served.preprocessor.tokenizer.cls_token_id
        assert (np.asarray(inputs["token_ids"])[:, -1] == cls_token_id).all()
    np.testing.assert_allclose(outputs["pooled_output"], pooled, atol=1e-5)


def test_an_empty_batch_gives_empty_embeddings(served):
    shapes = {k: v.shape for k, v in served.outputs["empty"].items()}
    assert shapes == {"sequence_output": (0, SEQUENCE_LENGTH, HIDDEN),
                      "pooled_output": (0, HIDDEN), "padding_mask": (0, SEQUENCE_LENGTH)}


def test_a_task_without_preprocessor_exports_token_ids(hf_models, tmp_path):
    """Keras' own export: the packed inputs in, the task's output out."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with_text = kerabert.BertClassifier.from_preset(hf_models["bert_classifier"],
                                                        sequence_length=SEQUENCE_LENGTH)
        task = kerabert.BertClassifier.from_preset(hf_models["bert_classifier"],
                                                   preprocessor=None)
    packed = {k: np.asarray(v) for k, v in with_text.preprocessor(TEXTS).items()}
    export_task(task, str(tmp_path / "ids"))
    signatures, (outputs,) = call_in_fresh_process(
        tmp_path / "ids", [("serve", {k: ints(v) for k, v in packed.items()})])
    assert signatures["serving_default"]["inputs"] == {
        k: spec("int32", [None, None]) for k in ("token_ids", "segment_ids", "padding_mask")}
    (logits,) = outputs.values()
    np.testing.assert_allclose(logits, task.predict(packed, verbose=0), atol=1e-5)


def test_unsupported_tasks_and_mismatched_preprocessors_are_named(hf_bert_dir, tmp_path):
    backbone = kerabert.BertBackbone.from_preset(hf_bert_dir[0])
    tokenizer = kerabert.BertTokenizer.from_preset(hf_bert_dir[0])
    pretrainer = kerabert.BertPretrainer(
        backbone, preprocessor=kerabert.BertPretrainerPreprocessor(tokenizer, sequence_length=16))
    with pytest.raises(TypeError, match="no raw-text serving signature for a BertPretrainer"):
        export_task(pretrainer, str(tmp_path / "pretrainer"))
    xlnet_preprocessor = kerabert.XLNetPreprocessor(kerabert.XLNetTokenizer(XLNET_SPIECE))
    with pytest.raises(TypeError, match="reads single texts packed by a BertPreprocessor"):
        export_backbone(backbone, xlnet_preprocessor, str(tmp_path / "mismatch"))


def test_sentencepiece_resources_are_named_after_the_model():
    """Two exported XLNet models loaded in one server must not share one
    SentencePiece model; two exports of the same model may."""
    (resource,) = kerabert.XLNetTokenizer(XLNET_SPIECE).tf_resources()
    (same,) = kerabert.XLNetTokenizer(XLNET_SPIECE).tf_resources()
    (different,) = kerabert.XLNetTokenizer(
        f"{FIXTURES}/botchan_en_unigram_1000.model").tf_resources()
    assert resource.shared_name == same.shared_name != different.shared_name
    assert kerabert.BertTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a"]).tf_resources() == []
