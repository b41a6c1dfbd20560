"""export_to_transformers for XLNet: kerabert -> transformers folder -> XLNetModel /
AutoModelFor* / AutoTokenizer give the same outputs (1e-5) and the same token ids."""

import json
import os

import keras
import numpy as np
import pytest
import torch
import transformers

import kerabert
from tests.conftest import TINY_VOCAB
from tests.conftest import XLNET_SPIECE
from tests.conftest import save_tiny_hf_xlnet


TEXTS = ["The quick brown fox jumps over the lazy dog.",
         "Héllo,   wörld! ``a cat'' sat on the mat",
         "Botchan was not good",
         ""]
# HF's fast XLNet tokenizer lacks the reference's digit-comma rule, which the slow
# one (and kerabert) apply.
DIGIT_COMMA = "In 1990, the boy paid 3,500 yen."
LENGTH = 24

def _random_inputs(seed=0, batch=3, length=11):
    rng = np.random.default_rng(seed)
    ids = rng.integers(8, 800, (batch, length)).astype("int32")
    segments = rng.integers(0, 2, (batch, length)).astype("int32")
    mask = np.ones((batch, length), "int32")
    mask[1, :4] = 0
    return {"token_ids": ids, "segment_ids": segments, "padding_mask": mask}


def _torch(packed):
    return {"input_ids": torch.tensor(packed["token_ids"], dtype=torch.long),
            "token_type_ids": torch.tensor(packed["segment_ids"], dtype=torch.long),
            "attention_mask": torch.tensor(packed["padding_mask"], dtype=torch.float32)}


def _load(cls, folder):
    model, info = cls.from_pretrained(folder, output_loading_info=True)
    # Every tensor written has a place, and every weight the model has is written.
    assert not info["missing_keys"] and not info["unexpected_keys"], info
    return model.eval()


def _assert_backbone_matches(backbone, hf_model, packed, atol=1e-5):
    ours = backbone(packed)["sequence_output"].numpy()
    with torch.no_grad():
        theirs = hf_model(**_torch(packed)).last_hidden_state.numpy()
    real = packed["padding_mask"].astype(bool)
    np.testing.assert_allclose(ours[real], theirs[real], atol=atol)


def _assert_same_ids(tokenizer, folder):
    fast = transformers.AutoTokenizer.from_pretrained(folder)
    slow = transformers.AutoTokenizer.from_pretrained(folder, use_fast=False)
    assert type(fast).__name__ == "XLNetTokenizerFast"
    assert type(slow).__name__ == "XLNetTokenizer"
    for text in TEXTS + [DIGIT_COMMA]:
        ours = tokenizer.tokenize(text).numpy().tolist()
        assert ours == slow(text, add_special_tokens=False)["input_ids"], text
        if text != DIGIT_COMMA:
            assert ours == fast(text, add_special_tokens=False)["input_ids"], text
    # Special tokens: "<cls>" last, as the reference packs a sequence.
    for hf in (fast, slow):
        assert hf("a cat")["input_ids"][-2:] == [tokenizer.sep_token_id, tokenizer.cls_token_id]
        assert hf.pad_token_id == tokenizer.pad_token_id and hf.padding_side == "left"
        assert hf.mask_token_id == tokenizer.mask_token_id
        assert len(hf) == tokenizer.vocabulary_size()  # no tokens appended


def test_backbone_round_trip(hf_xlnet_dir, tmp_path):
    folder, _ = hf_xlnet_dir
    backbone = kerabert.XLNetBackbone.from_preset(folder)
    tokenizer = kerabert.XLNetTokenizer.from_preset(folder)
    out = backbone.export_to_transformers(tmp_path / "hf", tokenizer=tokenizer)
    assert {"config.json", "model.safetensors", "spiece.model", "tokenizer_config.json",
            "special_tokens_map.json"} <= set(os.listdir(out))
    config = json.loads(open(os.path.join(out, "config.json")).read())
    assert config["model_type"] == "xlnet" and config["architectures"] == ["XLNetModel"]
    assert config["ff_activation"] == "gelu" and config["untie_r"] is True
    hf_model = _load(transformers.XLNetModel, out)
    _assert_same_ids(tokenizer, out)
    preprocessor = kerabert.XLNetPreprocessor(tokenizer, sequence_length=LENGTH)
    packed = {k: v.numpy() for k, v in preprocessor((TEXTS, TEXTS[::-1])).items()}
    _assert_backbone_matches(backbone, hf_model, packed)
    _assert_backbone_matches(backbone, hf_model, _random_inputs())
    # kerabert reads its own export back unchanged.
    again = kerabert.XLNetBackbone.from_preset(out)
    for a, b in zip(again.weights, backbone.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    back = kerabert.XLNetTokenizer.from_preset(out)
    assert (back.lowercase, back.remove_space, back.keep_accents) == (False, True, False)


def test_shared_biases_and_config_fields(tmp_path):
    keras.utils.set_random_seed(7)
    backbone = kerabert.XLNetBackbone(
        vocabulary_size=800, num_layers=3, num_heads=2, hidden_dim=16, intermediate_dim=24,
        activation="gelu_approximate", untie_r=False, clamp_len=4, mem_len=6, reuse_len=3,
        layer_norm_epsilon=1e-7, initializer_range=0.3)
    assert tuple(backbone.get_layer("relative_bias").r_w_bias.shape) == (2, 8)
    tokenizer = kerabert.XLNetTokenizer(XLNET_SPIECE, lowercase=True, keep_accents=True)
    out = backbone.export_to_transformers(tmp_path / "hf", tokenizer=tokenizer)
    config = json.loads(open(os.path.join(out, "config.json")).read())
    assert config["untie_r"] is True and config["ff_activation"] == "gelu_new"
    assert (config["clamp_len"], config["mem_len"], config["reuse_len"]) == (4, 6, 3)
    assert config["layer_norm_eps"] == 1e-7 and config["n_layer"] == 3
    tokenizer_config = json.loads(open(os.path.join(out, "tokenizer_config.json")).read())
    assert (tokenizer_config["do_lower_case"], tokenizer_config["keep_accents"]) == (True, True)
    hf_model = _load(transformers.XLNetModel, out)
    shared = backbone.get_layer("relative_bias").r_r_bias.numpy()
    for layer in hf_model.layer:
        np.testing.assert_array_equal(layer.rel_attn.r_r_bias.detach().numpy(), shared)
    _assert_backbone_matches(backbone, hf_model, _random_inputs(1))
    _assert_same_ids(tokenizer, out)


def test_export_needs_an_xlnet_tokenizer(hf_xlnet_dir, tmp_path):
    backbone = kerabert.XLNetBackbone.from_preset(hf_xlnet_dir[0])
    with pytest.raises(ValueError, match="needs a tokenizer"):
        backbone.export_to_transformers(tmp_path / "a")
    with pytest.raises(ValueError, match="needs an XLNetTokenizer"):
        backbone.export_to_transformers(tmp_path / "b",
                                        tokenizer=kerabert.BertTokenizer(TINY_VOCAB))
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_head_dim_that_transformers_cannot_hold(tmp_path):
    backbone = kerabert.XLNetBackbone(vocabulary_size=800, num_layers=1, num_heads=2,
                                      hidden_dim=16, intermediate_dim=8, head_dim=5)
    with pytest.raises(ValueError, match="head_dim"):
        backbone.export_to_transformers(tmp_path / "hf",
                                        tokenizer=kerabert.XLNetTokenizer(XLNET_SPIECE))
    assert not (tmp_path / "hf").exists()


def test_classifier_round_trip(tmp_path):
    hf_folder = str(tmp_path / "source")
    save_tiny_hf_xlnet(hf_folder, "XLNetForSequenceClassification", seed=1, num_labels=3)
    classifier = kerabert.XLNetClassifier.from_preset(hf_folder, sequence_length=LENGTH)
    out = classifier.export_to_transformers(tmp_path / "hf")
    config = json.loads(open(os.path.join(out, "config.json")).read())
    assert config["architectures"] == ["XLNetForSequenceClassification"]
    hf_model = _load(transformers.AutoModelForSequenceClassification, out)
    assert hf_model.num_labels == 3
    packed = {k: v.numpy() for k, v in classifier.preprocessor(TEXTS).items()}
    with torch.no_grad():
        theirs = hf_model(**_torch(packed)).logits.numpy()
    np.testing.assert_allclose(classifier(packed).numpy(), theirs, atol=1e-5)
    again = kerabert.XLNetClassifier.from_preset(out, sequence_length=LENGTH)
    assert again.num_classes == 3
    np.testing.assert_allclose(again(packed).numpy(), theirs, atol=1e-5)


def test_pretrainer_round_trip(tmp_path):
    source = str(tmp_path / "source")
    save_tiny_hf_xlnet(source, "XLNetLMHeadModel", seed=3, mem_len=6, reuse_len=3,
                       bi_data=True)
    pretrainer = kerabert.XLNetPretrainer.from_preset(source, batch_size=4)
    # transformers initialises the bias to zeros; moved off them, a bias
    # written under the wrong name (or not at all) shows.
    pretrainer.lm_bias.assign(np.random.default_rng(0).normal(size=800).astype("float32"))
    tokenizer = kerabert.XLNetTokenizer.from_preset(source)
    with pytest.raises(ValueError, match="needs a tokenizer"):
        pretrainer.export_to_transformers(tmp_path / "hf")
    out = pretrainer.export_to_transformers(tmp_path / "hf", tokenizer=tokenizer)
    config = json.loads(open(os.path.join(out, "config.json")).read())
    assert config["architectures"] == ["XLNetLMHeadModel"]
    assert (config["mem_len"], config["reuse_len"], config["bi_data"]) == (6, 3, True)
    hf_model = _load(transformers.XLNetLMHeadModel, out)
    np.testing.assert_array_equal(hf_model.lm_loss.weight.detach().numpy(),
                                  pretrainer.backbone.token_embedding.embeddings.numpy())
    np.testing.assert_array_equal(hf_model.lm_loss.bias.detach().numpy(),
                                  pretrainer.lm_bias.numpy())

    # bi_data runs the batch's halves in opposite directions: an even batch.
    x = _random_inputs(2, batch=4)
    rng = np.random.default_rng(2)
    batch, length = x["token_ids"].shape
    x["perm_mask"] = (rng.random((batch, length, length)) < 0.4).astype("float32")
    x["target_mapping"] = np.zeros((batch, 3, length), "float32")
    for b in range(batch):
        # Real tokens only (row 1 is padded in front).
        targets = rng.choice(np.arange(4, length), 3, replace=False)
        x["target_mapping"][b, np.arange(3), targets] = 1.0
    with torch.no_grad():
        logits = hf_model(**_torch(x), perm_mask=torch.tensor(x["perm_mask"]),
                          target_mapping=torch.tensor(x["target_mapping"])).logits
    expected = torch.log_softmax(logits, -1).numpy()
    again = kerabert.XLNetPretrainer.from_preset(out, batch_size=4)
    assert (again.backbone.mem_len, again.backbone.reuse_len, again.backbone.bi_data) == (
        6, 3, True)
    for a, b in zip(again.weights, pretrainer.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for model in (pretrainer, again):
        np.testing.assert_allclose(model(x)["lm_log_probs"].numpy(), expected, atol=1e-5)


def test_question_answerer_round_trip(tmp_path):
    hf_folder = str(tmp_path / "source")
    save_tiny_hf_xlnet(hf_folder, "XLNetForQuestionAnswering", seed=2, start_n_top=3,
                       end_n_top=2)
    qa = kerabert.XLNetQuestionAnswerer.from_preset(hf_folder, sequence_length=32)
    out = qa.export_to_transformers(tmp_path / "hf")
    config = json.loads(open(os.path.join(out, "config.json")).read())
    assert config["architectures"] == ["XLNetForQuestionAnswering"]
    assert (config["start_n_top"], config["end_n_top"]) == (3, 2)
    # AutoModelForQuestionAnswering maps xlnet to XLNetForQuestionAnsweringSimple
    # (one linear layer), which would leave this head unused: name the class.
    hf_model = _load(transformers.XLNetForQuestionAnswering, out)
    x = qa.preprocessor.featurize(["Who paid the yen?"], [DIGIT_COMMA]).inputs
    ours = qa.predict_on_batch(x)
    with torch.no_grad():
        theirs = hf_model(**_torch(x), p_mask=torch.tensor(x["p_mask"], dtype=torch.float32),
                          cls_index=torch.tensor(x["cls_index"], dtype=torch.long))
    # HF's "log probs" are probabilities.
    np.testing.assert_allclose(np.exp(ours["start_top_log_probs"]),
                               theirs.start_top_log_probs.numpy(), atol=1e-5)
    # HF flattens the end beam end-major; the reference (and kerabert) start-major.
    end_probs = theirs.end_top_log_probs.numpy().reshape(-1, 2, 3).transpose(0, 2, 1)
    np.testing.assert_allclose(np.exp(ours["end_top_log_probs"]),
                               end_probs.reshape(len(end_probs), -1), atol=1e-5)
    np.testing.assert_allclose(ours["cls_logits"], theirs.cls_logits.numpy(), atol=1e-5)
    again = kerabert.XLNetQuestionAnswerer.from_preset(out, sequence_length=32)
    assert (again.start_n_top, again.end_n_top) == (3, 2)
