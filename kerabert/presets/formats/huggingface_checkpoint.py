"""Hugging Face model folders: `config.json` with a `model_type`, plus weights.

Weights are read from the first of these that the folder has:

    model.safetensors
    model.safetensors.index.json     + the safetensors shards it lists
    pytorch_model.bin                read without torch or executing pickled code
    pytorch_model.bin.index.json     + the .bin shards it lists

Tensors are named as in the model's state dict. Two transformers conventions are
applied here, for every family: LayerNorm parameters saved under their old
names (`.gamma` / `.beta`) are read as `.weight` / `.bias`, and `position_ids`
buffers (saved by old versions, not weights) are left out.
"""

import json
import os

from kerabert.presets import files
from kerabert.presets import registry
from kerabert.presets.errors import CorruptCheckpointError
from kerabert.presets.formats import pytorch_bin
from kerabert.presets.formats import safetensors_io
from kerabert.presets.formats import HUGGINGFACE
from kerabert.presets.formats.checkpoint import Checkpoint

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
# What a download of a transformers folder fetches: its configs (and each
# family's vocabulary file), and of its weights one group, in this order.
HUB_CONFIG_FILES = (CONFIG_FILE, "tokenizer.json", "tokenizer_config.json",
                    "special_tokens_map.json")
HUB_WEIGHT_GROUPS = (
    (SAFETENSORS_FILE,),
    (SAFETENSORS_INDEX_FILE, "model-*.safetensors"),
    (PYTORCH_FILE,),
    (PYTORCH_INDEX_FILE, "pytorch_model-*.bin"),
)
# Files of other frameworks an export replaces (a stale one could be loaded instead).
OTHER_WEIGHT_FILES = ("tf_model.h5", "flax_model.msgpack")
# Legacy LayerNorm parameter names -> today's.
_LEGACY_SUFFIXES = {".gamma": ".weight", ".beta": ".bias"}
_BUFFER_SUFFIXES = ("position_ids",)


def weights_file(folder):
    """The weight file `open_weights` reads, or None."""
    for name, _, _ in WEIGHT_FILES:
        if os.path.isfile(os.path.join(folder, name)):
            return name
    return None


def is_weight_file(name):
    """Whether `name` is a weight file (or shard) of a transformers folder."""
    return (name in {n for n, _, _ in WEIGHT_FILES} or name in OTHER_WEIGHT_FILES
            or (name.startswith(("model-", "pytorch_model-"))
                and name.endswith((".safetensors", ".bin"))))


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


def _modern_name(name):
    for old, new in _LEGACY_SUFFIXES.items():
        if name.endswith(old) and "LayerNorm" in name:
            return name[: -len(old)] + new
    return name


class HuggingFaceCheckpoint(Checkpoint):
    """A transformers model folder (see the module docstring)."""

    format_name = HUGGINGFACE

    @classmethod
    def detect(cls, folder):
        path = os.path.join(folder, CONFIG_FILE)
        return os.path.isfile(path) and "model_type" in files.read_json(path)

    def _read_config(self):
        return files.read_json(os.path.join(self.folder, CONFIG_FILE))

    def _find_family(self):
        model_type = self.config.get("model_type")
        family = registry.family_for_model_type(model_type)
        if family is None:
            raise ValueError(
                f"{self.folder}: unknown model_type {model_type!r}. kerabert converts "
                f"{registry.hf_model_types()} checkpoints.")
        return family

    def describe(self):
        return (f"Hugging Face {self.config.get('model_type')} folder "
                f"({weights_file(self.folder) or 'no weights'})")

    def _open_loaders(self):
        for name, sharded, open_tensors in WEIGHT_FILES:
            path = os.path.join(self.folder, name)
            if os.path.isfile(path):
                loaders = (_open_sharded(self.folder, path, open_tensors) if sharded
                           else open_tensors(path))
                buffers = [n for n in loaders if n.endswith(_BUFFER_SUFFIXES)]
                loaders = {_modern_name(n): f for n, f in loaders.items() if n not in buffers}
                return loaders, path, buffers
        raise FileNotFoundError(
            f"No weights in {self.folder}: expected one of "
            f"{', '.join(name for name, _, _ in WEIGHT_FILES)}. Pass load_weights=False "
            "to build the architecture only.")

    def tokenizer_settings(self):
        """`{"tokenizer_config": ..., "tokenizer_json": ...}`: the flags of the
        folder's tokenizer files, those that exist."""
        settings = {}
        for key, name in (("tokenizer_config", "tokenizer_config.json"),
                          ("tokenizer_json", "tokenizer.json")):
            path = os.path.join(self.folder, name)
            if os.path.isfile(path):
                settings[key] = files.read_json(path)
        return settings


def write_folder(folder, config, tensors, write_tokenizer_files):
    """Writes a transformers folder: `config.json`, `model.safetensors` and, by
    calling `write_tokenizer_files(tmp)`, the tokenizer files, all or nothing.
    Other files already in `folder` are kept; its old weight files are removed.
    Returns the folder's absolute path."""
    with files.AtomicFolder(folder, drop=is_weight_file) as tmp:
        files.write_json(os.path.join(tmp, CONFIG_FILE), config)
        safetensors_io.save_file(tensors, os.path.join(tmp, SAFETENSORS_FILE),
                                 metadata={"format": "pt"})
        write_tokenizer_files(tmp)
    return files.absolute(folder)
