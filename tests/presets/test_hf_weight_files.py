"""Hugging Face folders whose weights are sharded safetensors, pytorch_model.bin or
sharded .bin files load into models that match `transformers` within 1e-5."""

import os
import shutil

import numpy as np
import pytest
import torch
import transformers

import kerabert
from kerabert.presets import loader
from kerabert.presets.formats import huggingface_checkpoint
from kerabert.presets.formats.huggingface_checkpoint import HuggingFaceCheckpoint
from tests.conftest import save_tiny_hf_bert
from tests.conftest import torch_inputs

TEXTS = ["the quick brown fox jumps over the lazy dog.", "a cat sat on the mat"]
TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json",
                   "special_tokens_map.json")

# layout -> (save_pretrained arguments, the weight file open_weights must pick)
LAYOUTS = {
    "sharded_safetensors": (dict(max_shard_size="20KB"), "model.safetensors.index.json"),
    "bin": (dict(safe_serialization=False), "pytorch_model.bin"),
    "sharded_bin": (dict(safe_serialization=False, max_shard_size="20KB"),
                    "pytorch_model.bin.index.json"),
}


@pytest.fixture(scope="module")
def hf_folders(tmp_path_factory):
    """One random tiny BertModel, saved by transformers in every layout."""
    root = tmp_path_factory.mktemp("hf_weight_files")
    model = save_tiny_hf_bert(str(root / "safetensors"), "BertModel", seed=5)
    folders = {}
    for layout, (save_args, _) in LAYOUTS.items():
        folder = root / layout
        model.save_pretrained(str(folder), **save_args)
        for name in TOKENIZER_FILES:
            if os.path.isfile(root / "safetensors" / name):
                shutil.copy(root / "safetensors" / name, folder)
        folders[layout] = str(folder)
    return folders, model


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_weight_layout_matches_transformers(hf_folders, layout):
    folders, hf_model = hf_folders
    folder = folders[layout]
    files = set(os.listdir(folder))
    assert huggingface_checkpoint.weights_file(folder) == LAYOUTS[layout][1]
    assert "model.safetensors" not in files
    if layout.startswith("sharded"):
        assert len([f for f in files if "-of-" in f]) > 1  # really several shards
    assert loader.open_source(folder).format_name == "huggingface"
    backbone = kerabert.BertBackbone.from_preset(folder)
    preprocessor = kerabert.BertPreprocessor.from_preset(folder, sequence_length=16)
    packed = {k: v.numpy() for k, v in preprocessor(TEXTS).items()}
    ours = backbone(packed)
    with torch.no_grad():
        theirs = hf_model(**torch_inputs(packed))
    mask = packed["padding_mask"].astype(bool)
    np.testing.assert_allclose(ours["sequence_output"].numpy()[mask],
                               theirs.last_hidden_state.numpy()[mask], atol=1e-5)
    np.testing.assert_allclose(ours["pooled_output"].numpy(), theirs.pooler_output.numpy(),
                               atol=1e-5)


def test_safetensors_is_preferred_over_bin(hf_folders, tmp_path):
    folders, _ = hf_folders
    folder = tmp_path / "both"
    shutil.copytree(folders["bin"], folder)
    shutil.copy(os.path.join(os.path.dirname(folders["bin"]), "safetensors", "model.safetensors"),
                folder)
    assert HuggingFaceCheckpoint(str(folder)).open_weights().source.endswith("model.safetensors")


def test_shard_index_naming_a_missing_shard(hf_folders, tmp_path):
    folders, _ = hf_folders
    folder = tmp_path / "m"
    shutil.copytree(folders["sharded_bin"], folder)
    shard = sorted(f for f in os.listdir(folder) if "-of-" in f)[0]
    os.remove(folder / shard)
    with pytest.raises(FileNotFoundError, match=shard):
        HuggingFaceCheckpoint(str(folder)).open_weights()


def test_tokenizer_flags_of_a_bin_folder_are_carried_over(hf_folders, tmp_path):
    """A cased tokenizer that still strips accents: every flag must survive."""
    folders, _ = hf_folders
    folder = tmp_path / "cased"
    shutil.copytree(folders["bin"], folder)
    for name in TOKENIZER_FILES[1:]:
        if os.path.isfile(folder / name):
            os.remove(folder / name)
    hf_tokenizer = transformers.BertTokenizerFast(
        str(folder / "vocab.txt"), do_lower_case=False, strip_accents=True,
        tokenize_chinese_chars=False)
    hf_tokenizer.save_pretrained(str(folder))
    hf_tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder))
    tokenizer = kerabert.BertTokenizer.from_preset(str(folder))
    assert (tokenizer.lowercase, tokenizer.strip_accents, tokenizer.tokenize_chinese_chars) == (
        False, True, False)
    texts = ["The quíck Brówn fox", "the lazy dög 東京 sat"]
    for text in texts:
        assert tokenizer.tokenize(text).numpy().tolist() == hf_tokenizer(
            text, add_special_tokens=False)["input_ids"]
