"""Hugging Face model folders: `config.json` with a `model_type`, plus weights.

Weights are read from the first of these that the folder has:

    model.safetensors
    model.safetensors.index.json     + the safetensors shards it lists
    pytorch_model.bin                read without torch or executing pickled code
    pytorch_model.bin.index.json     + the .bin shards it lists

The functions here are the format protocol `loader` uses for every checkpoint
format: `detect`, `load_config`, `converter`, `open_weights`, `describe`.
"""

import importlib
import json
import os

from kerabert.presets import files
from kerabert.presets.formats import pytorch_bin
from kerabert.presets.formats import safetensors_io
from kerabert.presets.formats.safetensors_io import CorruptCheckpointError
from kerabert.presets.tensor_reader import TensorReader

CONFIG_FILE = "config.json"
SAFETENSORS_FILE = "model.safetensors"
SAFETENSORS_INDEX_FILE = "model.safetensors.index.json"
PYTORCH_FILE = "pytorch_model.bin"
PYTORCH_INDEX_FILE = "pytorch_model.bin.index.json"

# Weight files in order of preference: (file name, is a shard index, file reader).
WEIGHT_FILES = (
    (SAFETENSORS_FILE, False, safetensors_io.open_tensors),
    (SAFETENSORS_INDEX_FILE, True, safetensors_io.open_tensors),
    (PYTORCH_FILE, False, pytorch_bin.open_tensors),
    (PYTORCH_INDEX_FILE, True, pytorch_bin.open_tensors),
)

# HF `model_type` -> converter module (imported when first needed).
CONVERTERS = {
    "bert": "kerabert.presets.converters.huggingface_bert",
    "xlnet": "kerabert.presets.converters.huggingface_xlnet",
}


def detect(folder):
    path = os.path.join(folder, CONFIG_FILE)
    if not os.path.isfile(path):
        return False
    try:
        return "model_type" in load_config(folder)
    except ValueError:
        return False


def load_config(folder):
    return files.read_json(os.path.join(folder, CONFIG_FILE))


def converter(config, folder):
    """The converter module for the config's `model_type`."""
    model_type = config.get("model_type")
    if model_type not in CONVERTERS:
        raise ValueError(
            f"{folder}: unknown model_type {model_type!r}. kerabert converts "
            f"{sorted(CONVERTERS)} checkpoints.")
    return importlib.import_module(CONVERTERS[model_type])


def weights_file(folder):
    """The weight file `open_weights` reads, or None."""
    for name, _, _ in WEIGHT_FILES:
        if os.path.isfile(os.path.join(folder, name)):
            return name
    return None


def describe(folder):
    config = load_config(folder)
    return (f"Hugging Face {config.get('model_type')} folder "
            f"({weights_file(folder) or 'no weights'})")


def _open_sharded(folder, index, open_tensors):
    try:
        with open(index, encoding="utf-8") as f:
            weight_map = json.load(f)["weight_map"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise CorruptCheckpointError(f"{index} is not a valid shard index: {error!r}") from None
    loaders = {}
    for shard in sorted(set(weight_map.values())):
        shard_path = os.path.join(folder, shard)
        if not os.path.isfile(shard_path):
            raise FileNotFoundError(
                f"{index} lists the shard {shard}, which is not in {folder}.")
        shard_loaders = open_tensors(shard_path)
        missing = sorted(k for k, v in weight_map.items() if v == shard and k not in shard_loaders)
        if missing:
            raise CorruptCheckpointError(
                f"{index} places {missing[:3]} in {shard}, which does not hold them.")
        loaders.update({k: v for k, v in shard_loaders.items() if weight_map.get(k) == shard})
    return loaders


def open_weights(folder):
    """Returns a `TensorReader` over the folder's weights (see `WEIGHT_FILES`)."""
    for name, sharded, open_tensors in WEIGHT_FILES:
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            loaders = _open_sharded(folder, path, open_tensors) if sharded else open_tensors(path)
            return TensorReader(loaders, path)
    raise FileNotFoundError(
        f"No weights in {folder}: expected one of "
        f"{', '.join(name for name, _, _ in WEIGHT_FILES)}. Pass load_weights=False "
        "to build the architecture only.")


def load_tokenizer_settings(folder):
    """Reads tokenizer flags from `tokenizer.json` (what the fast tokenizer uses),
    falling back to `tokenizer_config.json`."""
    settings = {}
    config_path = os.path.join(folder, "tokenizer_config.json")
    if os.path.isfile(config_path):
        with open(config_path, encoding="utf-8") as f:
            settings["tokenizer_config"] = json.load(f)
    fast_path = os.path.join(folder, "tokenizer.json")
    if os.path.isfile(fast_path):
        with open(fast_path, encoding="utf-8") as f:
            settings["tokenizer_json"] = json.load(f)
    return settings
