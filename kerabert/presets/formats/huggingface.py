"""Hugging Face model folders: `config.json` with a `model_type`, plus weights."""

import json
import os

from kerabert.presets.formats import safetensors_io
from kerabert.presets.tensor_reader import TensorReader

CONFIG_FILE = "config.json"
SAFETENSORS_FILE = "model.safetensors"
SAFETENSORS_INDEX_FILE = "model.safetensors.index.json"


def detect(folder):
    path = os.path.join(folder, CONFIG_FILE)
    if not os.path.isfile(path):
        return False
    try:
        return "model_type" in load_config(folder)
    except ValueError:
        return False


def load_config(folder):
    path = os.path.join(folder, CONFIG_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None


def open_weights(folder):
    """Returns a `TensorReader` over the folder's weights."""
    single = os.path.join(folder, SAFETENSORS_FILE)
    index = os.path.join(folder, SAFETENSORS_INDEX_FILE)
    if os.path.isfile(single):
        return TensorReader(safetensors_io.open_tensors(single), single)
    if os.path.isfile(index):
        with open(index, encoding="utf-8") as f:
            weight_map = json.load(f)["weight_map"]
        loaders = {}
        for shard in sorted(set(weight_map.values())):
            shard_path = os.path.join(folder, shard)
            if not os.path.isfile(shard_path):
                raise FileNotFoundError(
                    f"{index} lists the shard {shard}, which is not in {folder}.")
            shard_loaders = safetensors_io.open_tensors(shard_path)
            loaders.update({k: v for k, v in shard_loaders.items() if weight_map.get(k) == shard})
        return TensorReader(loaders, index)
    raise FileNotFoundError(
        f"No weights in {folder}: expected {SAFETENSORS_FILE} or "
        f"{SAFETENSORS_INDEX_FILE}. Pass load_weights=False to build the "
        "architecture only.")


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
