"""Original TF1 XLNet folders (xlnet_config.json, spiece.model, xlnet_model.ckpt.*)
with the original variable names load into models that match `transformers`.

The checkpoints are written from tiny transformers models whose `ff_activation`
is "gelu_new", the tanh GELU that the reference's "gelu" means.
"""

import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf
import torch

import kerabert
from kerabert.presets import loader
from tests.conftest import save_tiny_hf_xlnet
from tests.presets import checkpoint_writers
from tests.presets.fake_hub import folder_files

TEXTS = ["The quick brown fox jumps.", "In 1990, the boy paid 3,500 yen."]
FOLDER_NAME = "xlnet_cased_L-2_H-16_A-2"


def _inputs(seed=0, batch=3, length=9):
    rng = np.random.default_rng(seed)
    ids = rng.integers(8, 800, (batch, length)).astype("int32")
    segments = rng.integers(0, 2, (batch, length)).astype("int32")
    mask = np.ones((batch, length), "int32")
    mask[1, :3] = 0  # left padding, as XLNet classification packs it
    return {"token_ids": ids, "segment_ids": segments, "padding_mask": mask}


def _torch(packed):
    return {"input_ids": torch.tensor(packed["token_ids"], dtype=torch.long),
            "token_type_ids": torch.tensor(packed["segment_ids"], dtype=torch.long),
            "attention_mask": torch.tensor(packed["padding_mask"], dtype=torch.float32)}


def _assert_matches(backbone, hf_model, packed):
    ours = backbone(packed)["sequence_output"].numpy()
    with torch.no_grad():
        theirs = hf_model(**_torch(packed)).last_hidden_state.numpy()
    real = packed["padding_mask"].astype(bool)
    np.testing.assert_allclose(ours[real], theirs[real], atol=1e-5)


@pytest.fixture(scope="module")
def untied(tmp_path_factory):
    root = tmp_path_factory.mktemp("tf1_xlnet")
    hf_model = save_tiny_hf_xlnet(str(root / "hf"), seed=3, ff_activation="gelu_new")
    folder = str(root / FOLDER_NAME)
    tensors = checkpoint_writers.write_tf1_xlnet_folder(folder, hf_model)
    return folder, hf_model, tensors


@pytest.fixture(scope="module")
def tied(tmp_path_factory):
    """untie_r=False: one (N, D) set of biases for every layer."""
    root = tmp_path_factory.mktemp("tf1_xlnet_tied")
    hf_model = save_tiny_hf_xlnet(str(root / "hf"), seed=4, ff_activation="gelu_new")
    checkpoint_writers.tie_xlnet_biases(hf_model)
    folder = str(root / FOLDER_NAME)
    tensors = checkpoint_writers.write_tf1_xlnet_folder(folder, hf_model, untie_r=False)
    return folder, hf_model, tensors


def _copy(folder, target):
    shutil.copytree(folder, target)
    return str(target)


def test_checkpoint_holds_the_original_names(untied, tied):
    folder, _, tensors = untied
    names = dict(tf.train.list_variables(os.path.join(folder, "xlnet_model.ckpt")))
    assert set(names) == set(tensors)
    assert names["model/transformer/r_w_bias"] == [2, 2, 8]
    assert names["model/transformer/seg_embed"] == [2, 2, 2, 8]
    assert names["model/transformer/mask_emb/mask_emb"] == [1, 1, 16]
    assert names["model/transformer/layer_1/rel_attn/q/kernel"] == [16, 2, 8]
    assert names["model/transformer/layer_1/ff/layer_1/kernel"] == [16, 32]
    names = dict(tf.train.list_variables(os.path.join(tied[0], "xlnet_model.ckpt")))
    assert names["model/transformer/r_s_bias"] == [2, 8]


def test_backbone_matches_transformers(untied):
    folder, hf_model, _ = untied
    preset = loader.PresetLoader(folder)
    assert preset.source.format_name == "tf_checkpoint"
    assert "TF1 XLNet" in preset.describe()
    backbone = kerabert.XLNetBackbone.from_preset(folder)
    assert backbone.activation == "gelu_approximate" and backbone.untie_r
    assert (backbone.num_layers, backbone.hidden_dim, backbone.head_dim) == (2, 16, 8)
    _assert_matches(backbone, hf_model, _inputs())
    np.testing.assert_array_equal(backbone.mask_embedding.embeddings.numpy(),
                                  hf_model.mask_emb.detach().numpy().reshape(1, 16))


def test_release_on_the_hub_loads_through_hf_handles(untied, fake_hub):
    """A repository holding the original release (xlnet_config.json, no
    config.json) is downloaded whole and read as the local folder is."""
    folder, hf_model, _ = untied
    fake_hub.add_repo("someone/xlnet-tf1", folder_files(folder))
    backbone = kerabert.XLNetBackbone.from_preset("hf://someone/xlnet-tf1")
    _assert_matches(backbone, hf_model, _inputs())
    tokenizer = kerabert.XLNetTokenizer.from_preset("hf://someone/xlnet-tf1")
    assert tokenizer.get_vocabulary() == kerabert.XLNetTokenizer.from_preset(
        folder).get_vocabulary()


def test_shared_biases_load_as_shared(tied):
    folder, hf_model, tensors = tied
    backbone = kerabert.XLNetBackbone.from_preset(folder)
    assert not backbone.untie_r
    bias = backbone.get_layer("relative_bias")
    for name in ("r_w_bias", "r_r_bias", "r_s_bias"):
        assert tuple(getattr(bias, name).shape) == (2, 8)
        np.testing.assert_array_equal(getattr(bias, name).numpy(),
                                      tensors[f"model/transformer/{name}"])
    _assert_matches(backbone, hf_model, _inputs(1))
    # An untied backbone takes a copy per layer (HF's TF loader does the same).
    untied = kerabert.XLNetBackbone.from_preset(folder, untie_r=True)
    assert tuple(untied.get_layer("relative_bias").r_w_bias.shape) == (2, 2, 8)
    _assert_matches(untied, hf_model, _inputs(1))


def test_per_layer_biases_do_not_load_into_shared(untied, tmp_path):
    target = _copy(untied[0], tmp_path / FOLDER_NAME)
    path = os.path.join(target, "xlnet_config.json")
    with open(path) as f:
        config = json.load(f)
    config["untie_r"] = False
    with open(path, "w") as f:
        json.dump(config, f)
    with pytest.raises(kerabert.CheckpointMismatchError, match="untie_r"):
        kerabert.XLNetBackbone.from_preset(target)


def test_tokenizer(untied):
    folder, _, _ = untied
    tokenizer = kerabert.XLNetTokenizer.from_preset(folder)
    assert not tokenizer.lowercase and tokenizer.remove_space and not tokenizer.keep_accents
    from transformers import XLNetTokenizer

    reference = XLNetTokenizer(os.path.join(folder, "spiece.model"))
    for text in TEXTS:
        assert tokenizer.tokenize(text).numpy().tolist() == reference.encode(
            text, add_special_tokens=False)
    assert kerabert.XLNetTokenizer.from_preset(folder, lowercase=True).lowercase
    preprocessor = kerabert.XLNetPreprocessor.from_preset(folder, sequence_length=16)
    assert preprocessor.sequence_length == 16


def test_missing_tensor_is_named(untied, tmp_path):
    _, hf_model, _ = untied
    target = str(tmp_path / FOLDER_NAME)
    checkpoint_writers.write_xlnet_config(target, hf_model.config)
    tensors = checkpoint_writers.xlnet_tf1_tensors(hf_model)
    del tensors["model/transformer/layer_1/ff/LayerNorm/beta"]
    checkpoint_writers.save_v2(os.path.join(target, "xlnet_model.ckpt"), tensors)
    with pytest.raises(kerabert.CheckpointMismatchError,
                       match="layer_1/ff/LayerNorm/beta.*missing"):
        kerabert.XLNetBackbone.from_preset(target)


def test_checkpoint_whose_shapes_disagree_with_its_config(untied, tmp_path):
    target = _copy(untied[0], tmp_path / FOLDER_NAME)
    path = os.path.join(target, "xlnet_config.json")
    with open(path) as f:
        config = json.load(f)
    config["n_token"] += 7
    with open(path, "w") as f:
        json.dump(config, f)
    with pytest.raises(kerabert.CheckpointMismatchError) as error:
        kerabert.XLNetBackbone.from_preset(target)
    message = str(error.value)
    assert "word_embedding/lookup_table" in message
    assert "(800, 16)" in message and "(807, 16)" in message


def test_truncated_checkpoint_data(untied, tmp_path):
    target = _copy(untied[0], tmp_path / FOLDER_NAME)
    data = os.path.join(target, "xlnet_model.ckpt.data-00000-of-00001")
    with open(data, "rb") as f:
        payload = f.read()
    with open(data, "wb") as f:
        f.write(payload[: len(payload) // 3])
    with pytest.raises(kerabert.CorruptCheckpointError, match="truncated"):
        kerabert.XLNetBackbone.from_preset(target)
    with open(os.path.join(target, "xlnet_model.ckpt.index"), "wb") as f:
        f.write(b"garbage")
    with pytest.raises(kerabert.CorruptCheckpointError, match="Cannot read"):
        kerabert.XLNetBackbone.from_preset(target)
    # The tokenizer needs only spiece.model.
    assert not kerabert.XLNetTokenizer.from_preset(target).lowercase


def test_config_and_checkpoint_of_different_families(untied, tmp_path):
    target = _copy(untied[0], tmp_path / FOLDER_NAME)
    # A plain config.json with the XLNetConfig keys is read as one.
    os.rename(os.path.join(target, "xlnet_config.json"), os.path.join(target, "config.json"))
    assert loader.PresetLoader(target).backbone_config()["activation"] == "gelu_approximate"
    # A BERT config beside XLNet weights.
    with open(os.path.join(target, "bert_config.json"), "w") as f:
        json.dump({"vocab_size": 800, "hidden_size": 16, "num_hidden_layers": 2,
                   "num_attention_heads": 2, "intermediate_size": 32}, f)
    os.remove(os.path.join(target, "config.json"))
    with pytest.raises(ValueError, match="config is BERT's, but the checkpoint .* holds XLNet weights"):
        kerabert.XLNetBackbone.from_preset(target)


def test_config_without_checkpoint_builds_the_architecture(untied, tmp_path):
    target = tmp_path / "config_only"
    target.mkdir()
    shutil.copy(os.path.join(untied[0], "xlnet_config.json"), target)
    with pytest.raises(FileNotFoundError, match="xlnet_model.ckpt.index"):
        kerabert.XLNetBackbone.from_preset(str(target))
    backbone = kerabert.XLNetBackbone.from_preset(str(target), load_weights=False)
    assert backbone.num_layers == 2 and backbone.activation == "gelu_approximate"


# --- heads of the reference fine-tuning scripts ----------------------------------

def _fine_tuned(tmp_path, architecture, **config):
    hf_model = save_tiny_hf_xlnet(str(tmp_path / "hf"), architecture, seed=5,
                                  ff_activation="gelu_new", **config)
    folder = str(tmp_path / FOLDER_NAME)
    # Fine-tuning graphs have no query stream, so no mask_emb.
    tensors = checkpoint_writers.write_tf1_xlnet_folder(folder, hf_model, mask_emb=False)
    return folder, hf_model, tensors


def test_classification_head_matches_transformers(tmp_path):
    folder, hf_model, tensors = _fine_tuned(tmp_path, "XLNetForSequenceClassification",
                                            num_labels=3)
    assert "model/sequnece_summary/summary/kernel" in tensors
    assert "model/classification_imdb/logit/kernel" in tensors
    classifier = kerabert.XLNetClassifier.from_preset(folder, sequence_length=24)
    assert classifier.num_classes == 3
    packed = {k: v.numpy() for k, v in classifier.preprocessor(TEXTS).items()}
    with torch.no_grad():
        expected = hf_model(**_torch(packed)).logits.numpy()
    np.testing.assert_allclose(classifier.predict(TEXTS, verbose=0), expected, atol=1e-5)
    # The backbone alone leaves the head unused without complaint.
    kerabert.XLNetBackbone.from_preset(folder)
    # A new head of another size needs no flag either.
    with pytest.warns(UserWarning, match="num_classes=3 in the preset, 5 asked for"):
        other = kerabert.XLNetClassifier.from_preset(folder, num_classes=5, sequence_length=24)
    assert other.num_classes == 5


def test_squad_head_matches_transformers(tmp_path):
    folder, hf_model, tensors = _fine_tuned(tmp_path, "XLNetForQuestionAnswering",
                                            start_n_top=5, end_n_top=5)
    assert "answer_class/dense_1/kernel" in tensors
    assert "answer_class/dense_1/bias" not in tensors
    qa = kerabert.XLNetQuestionAnswerer.from_preset(folder, sequence_length=32)
    features = qa.preprocessor.featurize(["Who paid the yen?"], [TEXTS[1]])
    x = features.inputs
    ours = qa.predict_on_batch(x)
    with torch.no_grad():
        theirs = hf_model(**_torch(x), p_mask=torch.tensor(x["p_mask"], dtype=torch.float32),
                          cls_index=torch.tensor(x["cls_index"], dtype=torch.long))
    # HF's "log probs" are probabilities.
    np.testing.assert_allclose(np.exp(ours["start_top_log_probs"]),
                               theirs.start_top_log_probs.numpy(), atol=1e-5)
    # HF flattens the end beam end-major; the reference (and kerabert) start-major.
    end_probs = theirs.end_top_log_probs.numpy().reshape(-1, 5, 5).transpose(0, 2, 1)
    np.testing.assert_allclose(np.exp(ours["end_top_log_probs"]),
                               end_probs.reshape(len(end_probs), -1), atol=1e-5)
    np.testing.assert_allclose(ours["cls_logits"], theirs.cls_logits.numpy(), atol=1e-5)
    head = qa.get_layer("span_head")
    np.testing.assert_array_equal(head.end_logits_layer_norm.gamma.numpy(),
                                  tensors["end_logits/LayerNorm/gamma"])
    np.testing.assert_array_equal(head.end_logits_dense_1.kernel.numpy(),
                                  tensors["end_logits/dense_1/kernel"])


def test_pretraining_checkpoint_matches_transformers(tmp_path):
    """A pretraining checkpoint (mask_emb, tied lm_loss with its bias) loads into
    XLNetPretrainer; the two-stream output matches XLNetLMHeadModel."""
    hf_model = save_tiny_hf_xlnet(str(tmp_path / "hf"), "XLNetLMHeadModel", seed=6,
                                  ff_activation="gelu_new")
    with torch.no_grad():
        hf_model.lm_loss.bias.normal_()
    folder = str(tmp_path / FOLDER_NAME)
    tensors = checkpoint_writers.write_tf1_xlnet_folder(folder, hf_model)
    assert "model/lm_loss/bias" in tensors and "model/lm_loss/weight" not in tensors
    pretrainer = kerabert.XLNetPretrainer.from_preset(folder, preprocessor=None)
    np.testing.assert_array_equal(pretrainer.lm_bias.numpy(), tensors["model/lm_loss/bias"])
    x = _inputs(2)
    rng = np.random.default_rng(2)
    batch, length = x["token_ids"].shape
    perm = (rng.random((batch, length, length)) < 0.4).astype("float32")
    mapping = np.zeros((batch, 3, length), "float32")
    for b in range(batch):
        mapping[b, np.arange(3), rng.choice(length, 3, replace=False)] = 1.0
    ours = pretrainer({**x, "perm_mask": perm, "target_mapping": mapping})["lm_log_probs"]
    with torch.no_grad():
        logits = hf_model(**_torch(x), perm_mask=torch.tensor(perm),
                          target_mapping=torch.tensor(mapping)).logits
    np.testing.assert_allclose(ours.numpy(), torch.log_softmax(logits, -1).numpy(), atol=1e-5)
