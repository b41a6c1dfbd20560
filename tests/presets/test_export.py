"""export_to_transformers: kerabert -> transformers folder -> AutoModel* /
AutoTokenizer give the same outputs (1e-5) and the same token ids."""

import json
import os

import numpy as np
import pytest
import torch
import transformers

import kerabert
from kerabert.presets.formats import huggingface_checkpoint
from tests.conftest import TINY_VOCAB
from tests.conftest import save_tiny_hf_bert


TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "Héllo, wörld! a cat sat on the mat",
    "东京 the movie was not good , not bad !",
    "the" + "s" * 140 + " dog",  # 143 characters: over HF's default limit of 100
    "",
]
LENGTH = 64


def _hf_packed(hf_tokenizer, texts, pairs=None):
    encoded = hf_tokenizer(texts, pairs, padding="max_length", max_length=LENGTH,
                           truncation=True, return_tensors="np")
    return {"token_ids": encoded["input_ids"].astype("int32"),
            "segment_ids": encoded["token_type_ids"].astype("int32"),
            "padding_mask": encoded["attention_mask"].astype("int32")}


def _torch(packed):
    return {"input_ids": torch.tensor(packed["token_ids"], dtype=torch.long),
            "token_type_ids": torch.tensor(packed["segment_ids"], dtype=torch.long),
            "attention_mask": torch.tensor(packed["padding_mask"], dtype=torch.long)}


def _assert_same_ids(tokenizer, hf_tokenizer, texts=TEXTS):
    for text in texts:
        ours = tokenizer.tokenize(text).numpy().tolist()
        assert ours == hf_tokenizer(text, add_special_tokens=False)["input_ids"], text
    # Pairs of different lengths: on equal-length pairs with an odd budget HF's fast
    # truncation cuts the first segment where the reference (and kerabert) cut the second.
    seconds = texts[1:] + texts[:1]
    packed = kerabert.BertPreprocessor(tokenizer, sequence_length=LENGTH)((texts, seconds))
    expected = _hf_packed(hf_tokenizer, texts, seconds)
    for key in expected:
        np.testing.assert_array_equal(packed[key].numpy(), expected[key])


def _assert_backbone_matches(backbone, hf_model, packed, atol=1e-5):
    ours = backbone(packed)
    with torch.no_grad():
        theirs = hf_model(**_torch(packed))
    mask = packed["padding_mask"].astype(bool)
    np.testing.assert_allclose(ours["sequence_output"].numpy()[mask],
                               theirs.last_hidden_state.numpy()[mask], atol=atol)
    np.testing.assert_allclose(ours["pooled_output"].numpy(), theirs.pooler_output.numpy(),
                               atol=atol)


def test_backbone_round_trip(hf_bert_dir, tmp_path):
    folder, _ = hf_bert_dir
    backbone = kerabert.BertBackbone.from_preset(folder)
    tokenizer = kerabert.BertTokenizer(TINY_VOCAB, lowercase=True, max_input_chars_per_word=200)
    out = backbone.export_to_transformers(tmp_path / "hf", tokenizer=tokenizer)
    assert {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"} <= set(
        os.listdir(out))
    hf_model = transformers.AutoModel.from_pretrained(out).eval()
    hf_tokenizer = transformers.AutoTokenizer.from_pretrained(out)
    assert type(hf_model).__name__ == "BertModel"
    _assert_same_ids(tokenizer, hf_tokenizer)
    _assert_backbone_matches(backbone, hf_model, _hf_packed(hf_tokenizer, TEXTS))
    # The slow tokenizer reads the same flags from tokenizer_config.json.
    slow = transformers.AutoTokenizer.from_pretrained(out, use_fast=False)
    assert type(slow).__name__ == "BertTokenizer"
    assert slow("Héllo, wörld!")["input_ids"] == hf_tokenizer("Héllo, wörld!")["input_ids"]
    # And kerabert reads its own export back unchanged.
    again = kerabert.BertBackbone.from_preset(out)
    for a, b in zip(again.weights, backbone.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    _assert_same_ids(kerabert.BertTokenizer.from_preset(out), hf_tokenizer)


def test_config_fields_are_carried_over(tmp_path):
    backbone = kerabert.BertBackbone(
        vocabulary_size=len(TINY_VOCAB) + 3, num_layers=2, num_heads=2, hidden_dim=16,
        intermediate_dim=24, max_sequence_length=LENGTH, num_segments=3,
        activation="gelu_approximate", layer_norm_epsilon=1e-7, initializer_range=0.5)
    tokenizer = kerabert.BertTokenizer(TINY_VOCAB, lowercase=False, strip_accents=True,
                                       tokenize_chinese_chars=False)
    out = backbone.export_to_transformers(tmp_path / "hf", tokenizer=tokenizer)
    config = json.loads(open(os.path.join(out, "config.json")).read())
    assert config["hidden_act"] == "gelu_new" and config["layer_norm_eps"] == 1e-7
    assert config["type_vocab_size"] == 3 and config["max_position_embeddings"] == LENGTH
    assert config["vocab_size"] == len(TINY_VOCAB) + 3 and config["architectures"] == ["BertModel"]
    tokenizer_config = json.loads(open(os.path.join(out, "tokenizer_config.json")).read())
    assert tokenizer_config["tokenizer_class"] == "BertTokenizer"
    assert (tokenizer_config["do_lower_case"], tokenizer_config["strip_accents"],
            tokenizer_config["tokenize_chinese_chars"]) == (False, True, False)
    hf_model = transformers.AutoModel.from_pretrained(out).eval()
    hf_tokenizer = transformers.AutoTokenizer.from_pretrained(out)
    _assert_same_ids(tokenizer, hf_tokenizer, TEXTS + ["Déjà vu: The Cat", "东京tokyo"])
    packed = _hf_packed(hf_tokenizer, TEXTS)
    packed["segment_ids"][:, 5:9] = 2  # the third segment type
    _assert_backbone_matches(backbone, hf_model, packed)


def test_classifier_round_trip(hf_classifier_dir, tmp_path):
    folder, _ = hf_classifier_dir
    classifier = kerabert.BertClassifier.from_preset(folder, sequence_length=LENGTH)
    out = classifier.export_to_transformers(tmp_path / "hf")
    config = json.loads(open(os.path.join(out, "config.json")).read())
    assert config["architectures"] == ["BertForSequenceClassification"]
    hf_model = transformers.AutoModelForSequenceClassification.from_pretrained(out).eval()
    assert hf_model.num_labels == 3
    hf_tokenizer = transformers.AutoTokenizer.from_pretrained(out)
    _assert_same_ids(classifier.preprocessor.tokenizer, hf_tokenizer, TEXTS[:3])
    packed = {k: v.numpy() for k, v in classifier.preprocessor(TEXTS).items()}
    with torch.no_grad():
        theirs = hf_model(**_torch(packed)).logits.numpy()
    np.testing.assert_allclose(classifier(packed).numpy(), theirs, atol=1e-5)
    again = kerabert.BertClassifier.from_preset(out, sequence_length=LENGTH)
    assert again.num_classes == 3
    np.testing.assert_allclose(again(packed).numpy(), theirs, atol=1e-5)


def test_question_answerer_round_trip(hf_bert_dir, tmp_path):
    folder, _ = hf_bert_dir
    qa = kerabert.BertQuestionAnswerer(kerabert.BertBackbone.from_preset(folder),
                                       preprocessor=None)
    tokenizer = kerabert.BertTokenizer.from_preset(folder)
    out = qa.export_to_transformers(tmp_path / "hf", tokenizer=tokenizer)
    hf_model = transformers.AutoModelForQuestionAnswering.from_pretrained(out).eval()
    assert type(hf_model).__name__ == "BertForQuestionAnswering"
    packed = _hf_packed(transformers.AutoTokenizer.from_pretrained(out), ["the dog"], ["a cat"])
    ours = qa(packed)
    with torch.no_grad():
        theirs = hf_model(**_torch(packed))
    np.testing.assert_allclose(ours["start_logits"].numpy(), theirs.start_logits.numpy(), atol=1e-5)
    np.testing.assert_allclose(ours["end_logits"].numpy(), theirs.end_logits.numpy(), atol=1e-5)


def test_pretrainer_round_trip(tmp_path):
    source = str(tmp_path / "source")
    save_tiny_hf_bert(source, "BertForPreTraining", seed=3)
    pretrainer = kerabert.BertPretrainer.from_preset(source, sequence_length=LENGTH,
                                                     max_predictions_per_seq=6, mask_rate=0.3)
    # transformers initialises the LayerNorm to (1, 0) and the output bias to 0;
    # moved off those, a head tensor written under the wrong name shows.
    rng = np.random.default_rng(0)
    for variable in pretrainer.head_weights:
        variable.assign(variable.numpy() + rng.normal(0, 0.5, variable.shape).astype("float32"))
    out = pretrainer.export_to_transformers(tmp_path / "hf")
    config = json.loads(open(os.path.join(out, "config.json")).read())
    assert config["architectures"] == ["BertForPreTraining"]
    hf_model, info = transformers.BertForPreTraining.from_pretrained(out,
                                                                     output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    hf_model.eval()
    head = pretrainer.get_layer("mlm_head")
    decoder = hf_model.cls.predictions.decoder
    np.testing.assert_array_equal(decoder.weight.detach().numpy(),
                                  pretrainer.backbone.token_embedding.embeddings.numpy())
    np.testing.assert_array_equal(decoder.bias.detach().numpy(), head.output_bias.numpy())

    x, _ = pretrainer.preprocessor((TEXTS[:4], TEXTS[1:5]))
    x = {k: v.numpy() for k, v in x.items()}
    assert x["masked_positions"].any()
    with torch.no_grad():
        theirs = hf_model(**_torch(x))
    mlm = torch.log_softmax(theirs.prediction_logits, -1).numpy()
    expected = {
        "mlm_log_probs": np.take_along_axis(mlm, x["masked_positions"][:, :, None], axis=1),
        "nsp_log_probs": torch.log_softmax(theirs.seq_relationship_logits, -1).numpy(),
    }
    again = kerabert.BertPretrainer.from_preset(out, sequence_length=LENGTH)
    for a, b in zip(again.weights, pretrainer.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for model in (pretrainer, again):
        ours = model(x)
        for key, value in expected.items():
            np.testing.assert_allclose(ours[key].numpy(), value, atol=1e-5)


def test_export_is_atomic_and_replaces_stale_weights(hf_bert_dir, tmp_path, monkeypatch):
    backbone = kerabert.BertBackbone.from_preset(hf_bert_dir[0])
    tokenizer = kerabert.BertTokenizer(TINY_VOCAB)
    target = tmp_path / "hf"
    target.mkdir()
    (target / "pytorch_model.bin").write_bytes(b"old weights")
    (target / "notes.txt").write_text("mine")
    backbone.export_to_transformers(target, tokenizer=tokenizer)
    assert not (target / "pytorch_model.bin").exists()
    assert (target / "notes.txt").read_text() == "mine"
    before = {p.name: p.read_bytes() for p in target.iterdir()}

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(huggingface_checkpoint.safetensors_io, "save_file", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        backbone.export_to_transformers(target, tokenizer=tokenizer)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hf"]  # no temporary folders left


def test_export_needs_a_matching_tokenizer(hf_bert_dir, tmp_path):
    backbone = kerabert.BertBackbone.from_preset(hf_bert_dir[0])
    with pytest.raises(ValueError, match="needs a tokenizer"):
        backbone.export_to_transformers(tmp_path / "a")
    too_big = kerabert.BertTokenizer(TINY_VOCAB + [f"extra{i}" for i in range(5)])
    with pytest.raises(ValueError, match="do not belong together"):
        backbone.export_to_transformers(tmp_path / "b", tokenizer=too_big)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
