"""Original Google TF1 BERT folders (bert_config.json, vocab.txt, bert_model.ckpt.*)
with the original variable names load into models that match `transformers`."""

import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf
import torch

import kerabert
from kerabert.presets import loader
from kerabert.checkpoints.bert import google
from tests.conftest import save_tiny_hf_bert
from tests.conftest import assert_backbone_matches
from tests.conftest import torch_inputs
from tests.presets import checkpoint_writers

TEXTS = ["the quick brown fox jumps over the lazy dog.", "a cat sat on the mat"]
FOLDER_NAME = "uncased_L-2_H-16_A-2"


@pytest.fixture(scope="module")
def tf1(tmp_path_factory):
    """A TF1 release folder written from a transformers BertForPreTraining whose
    hidden_act "gelu_new" is the tanh GELU that TF1's "gelu" means."""
    root = tmp_path_factory.mktemp("tf1")
    hf_model = save_tiny_hf_bert(str(root / "hf"), "BertForPreTraining", seed=2,
                                 hidden_act="gelu_new")
    folder = root / FOLDER_NAME
    tensors = checkpoint_writers.write_tf1_folder(str(folder), hf_model)
    return str(folder), hf_model, tensors


def _copy(folder, target):
    shutil.copytree(folder, target)
    return str(target)


def test_checkpoint_holds_exactly_the_original_names(tf1):
    folder, _, tensors = tf1
    names = dict(tf.train.list_variables(os.path.join(folder, "bert_model.ckpt")))
    assert set(names) == set(tensors)
    for name in ("bert/embeddings/word_embeddings",
                 "bert/encoder/layer_1/attention/self/query/kernel",
                 "bert/pooler/dense/kernel", "cls/predictions/output_bias",
                 "cls/seq_relationship/output_weights", "global_step"):
        assert name in names
    with open(os.path.join(folder, "bert_config.json")) as f:
        assert json.load(f)["hidden_act"] == "gelu"


def test_backbone_matches_transformers(tf1):
    folder, hf_model, _ = tf1
    preset = loader.PresetLoader(folder)
    assert preset.source.format_name == "tf_checkpoint"
    assert "Google TF1" in preset.describe()
    backbone = kerabert.BertBackbone.from_preset(folder)
    assert backbone.activation == "gelu_approximate"
    assert backbone.num_segments == 2 and backbone.max_sequence_length == 64
    preprocessor = kerabert.BertPreprocessor.from_preset(folder, sequence_length=16)
    packed = {k: v.numpy() for k, v in preprocessor((TEXTS, TEXTS[::-1])).items()}
    assert_backbone_matches(backbone, hf_model.bert, packed)


@pytest.mark.parametrize("name, lowercase", [
    ("uncased_L-24_H-1024_A-16", True), ("uncased_L-12_H-768_A-12", True),
    ("multilingual_L-12_H-768_A-12", True), ("chinese_L-12_H-768_A-12", True),
    ("cased_L-12_H-768_A-12", False), ("cased_L-24_H-1024_A-16", False),
    ("multi_cased_L-12_H-768_A-12", False),
    ("wwm_uncased_L-24_H-1024_A-16", True), ("wwm_cased_L-24_H-1024_A-16", False),
    ("my_Cased_model", False), ("bert_tiny", True),
])
def test_casing_is_inferred_as_the_reference_does(name, lowercase):
    assert google.infer_lowercase(f"/checkpoints/{name}/") is lowercase


def test_casing_in_the_config_wins_over_the_folder_name():
    config = {"do_lower_case": False}
    assert google.infer_lowercase("/x/uncased_L-12_H-768_A-12", config) is False


def test_tokenizer_casing_from_folder_name_and_override(tf1, tmp_path):
    folder, _, _ = tf1
    tokenizer = kerabert.BertTokenizer.from_preset(folder)
    assert tokenizer.lowercase and tokenizer.strip_accents is None
    assert tokenizer.max_input_chars_per_word == 200  # the reference's limit
    assert tokenizer.tokenize("The Quick FOX").numpy().tolist() == [5, 6, 8]
    assert not kerabert.BertTokenizer.from_preset(folder, lowercase=False).lowercase
    preprocessor = kerabert.BertPreprocessor.from_preset(folder, lowercase=False,
                                                         sequence_length=8)
    assert not preprocessor.tokenizer.lowercase and preprocessor.sequence_length == 8
    cased = _copy(folder, tmp_path / "multi_cased_L-12_H-768_A-12")
    assert not kerabert.BertTokenizer.from_preset(cased).lowercase
    assert kerabert.BertTokenizer.from_preset(cased, lowercase=True).lowercase


def test_classifier_from_tf1_needs_num_classes_and_takes_casing(tf1):
    folder, _, tensors = tf1
    with pytest.raises(ValueError, match="num_classes is missing"):
        kerabert.BertClassifier.from_preset(folder, sequence_length=8)
    classifier = kerabert.BertClassifier.from_preset(folder, num_classes=2, lowercase=False,
                                                     sequence_length=8)
    assert not classifier.preprocessor.tokenizer.lowercase
    np.testing.assert_array_equal(
        classifier.backbone.get_layer("pooled_dense").kernel.numpy(),
        tensors["bert/pooler/dense/kernel"])
    assert classifier.predict(["the cat"], verbose=0).shape == (1, 2)


def test_missing_tensor_is_named(tf1, tmp_path):
    folder, hf_model, _ = tf1
    target = str(tmp_path / FOLDER_NAME)
    checkpoint_writers.write_bert_config(target, hf_model.config)
    tensors = checkpoint_writers.tf1_tensors(hf_model)
    del tensors["bert/encoder/layer_1/output/LayerNorm/beta"]
    checkpoint_writers.save_v2(os.path.join(target, "bert_model.ckpt"), tensors)
    with pytest.raises(kerabert.CheckpointMismatchError,
                       match="bert/encoder/layer_1/output/LayerNorm/beta.*missing"):
        kerabert.BertBackbone.from_preset(target)


def test_checkpoint_whose_shapes_disagree_with_its_config(tf1, tmp_path):
    folder, _, _ = tf1
    target = _copy(folder, tmp_path / FOLDER_NAME)
    path = os.path.join(target, "bert_config.json")
    with open(path) as f:
        config = json.load(f)
    config["vocab_size"] += 7
    with open(path, "w") as f:
        json.dump(config, f)
    with pytest.raises(kerabert.CheckpointMismatchError) as error:
        kerabert.BertBackbone.from_preset(target)
    message = str(error.value)
    assert "bert/embeddings/word_embeddings" in message
    assert "(31, 16)" in message and "(38, 16)" in message


def test_truncated_checkpoint_data(tf1, tmp_path):
    folder, _, _ = tf1
    target = _copy(folder, tmp_path / FOLDER_NAME)
    data = os.path.join(target, "bert_model.ckpt.data-00000-of-00001")
    with open(data, "rb") as f:
        payload = f.read()
    with open(data, "wb") as f:
        f.write(payload[: len(payload) // 3])
    with pytest.raises(kerabert.CorruptCheckpointError, match="truncated"):
        kerabert.BertBackbone.from_preset(target)
    with open(os.path.join(target, "bert_model.ckpt.index"), "wb") as f:
        f.write(b"garbage")
    with pytest.raises(kerabert.CorruptCheckpointError, match="Cannot read"):
        kerabert.BertBackbone.from_preset(target)
    # The tokenizer needs only vocab.txt and the folder name.
    assert kerabert.BertTokenizer.from_preset(target).lowercase


def test_config_without_checkpoint_builds_the_architecture(tf1, tmp_path):
    folder, _, _ = tf1
    target = tmp_path / "config_only"
    target.mkdir()
    shutil.copy(os.path.join(folder, "bert_config.json"), target)
    with pytest.raises(FileNotFoundError, match="bert_model.ckpt.index"):
        kerabert.BertBackbone.from_preset(str(target))
    backbone = kerabert.BertBackbone.from_preset(str(target), load_weights=False)
    assert backbone.num_layers == 2 and backbone.activation == "gelu_approximate"


@pytest.mark.parametrize("task", ["question_answerer", "classifier"])
def test_fine_tuned_reference_heads(tmp_path, task):
    """Checkpoints written by the reference's run_squad.py / run_classifier.py:
    their heads (`cls/squad/output_*`, `output_*`, stored (outputs, hidden)) load
    into BertQuestionAnswerer / BertClassifier and match transformers."""
    architecture = ("BertForQuestionAnswering" if task == "question_answerer"
                    else "BertForSequenceClassification")
    extra = {"num_labels": 3} if task == "classifier" else {}
    hf_model = save_tiny_hf_bert(str(tmp_path / "hf"), architecture, seed=4,
                                 hidden_act="gelu_new", **extra)
    if task == "question_answerer":
        # A transformers QA model has no pooler; the reference graph does.
        from transformers.models.bert.modeling_bert import BertPooler
        hf_model.bert.pooler = BertPooler(hf_model.config)
    sd = {k: v.detach().numpy() for k, v in hf_model.state_dict().items()}
    if task == "question_answerer":
        head = {"cls/squad/output_weights": sd["qa_outputs.weight"],
                "cls/squad/output_bias": sd["qa_outputs.bias"]}
    else:
        head = {"output_weights": sd["classifier.weight"], "output_bias": sd["classifier.bias"]}
    folder = str(tmp_path / "uncased_L-2_H-16_A-2")
    checkpoint_writers.write_bert_config(folder, hf_model.config)
    tensors = {**checkpoint_writers.tf1_tensors(hf_model), **head}
    checkpoint_writers.save_v2(os.path.join(folder, "bert_model.ckpt"), tensors)
    cls = kerabert.BertQuestionAnswerer if task == "question_answerer" else kerabert.BertClassifier
    model = cls.from_preset(folder, sequence_length=16)
    texts = ["the quick fox", "a lazy dog sat"]
    packed = {k: v.numpy() for k, v in kerabert.BertPreprocessor.from_preset(
        folder, sequence_length=16)(texts).items()}
    with torch.no_grad():
        expected = hf_model(**torch_inputs(packed))
    # The classifier takes raw text; the QA task takes packed windows.
    ours = model.predict(packed if task == "question_answerer" else texts, verbose=0)
    if task == "question_answerer":
        np.testing.assert_allclose(ours["start_logits"], expected.start_logits.numpy(), atol=1e-5)
        np.testing.assert_allclose(ours["end_logits"], expected.end_logits.numpy(), atol=1e-5)
    else:
        assert model.num_classes == 3
        np.testing.assert_allclose(ours, expected.logits.numpy(), atol=1e-5)
