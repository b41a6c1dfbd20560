"""kerabert's own preset folders (layout modelled on keras-hub's).

    config.json            backbone, serialised with keras.saving
    model.weights.h5       backbone variables, one HDF5 dataset per variable path
    tokenizer.json         tokenizer config
    assets/tokenizer/      tokenizer assets (vocabulary.txt, spiece.model)
    preprocessor.json      preprocessor config (task presets)
    task.json              task config (task presets)
    task.weights.h5        head variables (task presets)
    metadata.json          versions, parameter count, date, class names

Weights are keyed by Keras variable path, so a mismatch names the variable.
Classes are found by the name they are registered with in Keras
(`registered_name`, "kerabert>BertBackbone").
"""

import os

import h5py
import keras
import numpy as np

from kerabert.presets import files
from kerabert.presets.formats import KERABERT
from kerabert.presets.tensor_reader import TensorReader

CONFIG_FILE = "config.json"
BACKBONE_WEIGHTS_FILE = "model.weights.h5"
TOKENIZER_CONFIG_FILE = "tokenizer.json"
PREPROCESSOR_CONFIG_FILE = "preprocessor.json"
TASK_CONFIG_FILE = "task.json"
TASK_WEIGHTS_FILE = "task.weights.h5"
METADATA_FILE = "metadata.json"
TOKENIZER_ASSET_DIR = os.path.join("assets", "tokenizer")
REGISTERED_PREFIX = "kerabert>"
# Tokenizer constructor arguments that name an asset file.
ASSET_KEYS = ("vocabulary", "proto")
# Every file a preset may hold (patterns), for downloading one; a folder listing
# METADATA_FILE or BACKBONE_WEIGHTS_FILE is a kerabert preset.
HUB_FILES = (CONFIG_FILE, METADATA_FILE, BACKBONE_WEIGHTS_FILE, TASK_WEIGHTS_FILE,
             TOKENIZER_CONFIG_FILE, PREPROCESSOR_CONFIG_FILE, TASK_CONFIG_FILE, "assets/*")
MARKER_FILES = (METADATA_FILE, BACKBONE_WEIGHTS_FILE)


def read_json(folder, name):
    path = os.path.join(folder, name)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"The preset {folder} lacks {name}. It may be incomplete; save it again "
            "with save_to_preset().")
    return files.read_json(path)


def write_variables(path, variables):
    """Saves variables to HDF5, one dataset per `variable.path`."""
    with h5py.File(path, "w") as f:
        for variable in variables:
            if variable.path in f:
                raise ValueError(f"Two variables share the path {variable.path!r}.")
            f.create_dataset(variable.path, data=np.asarray(variable.numpy()))


def open_variables(path):
    """Returns a `TensorReader` over a file written by `write_variables`."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Weights file not found: {path}.")
    names = []
    try:
        with h5py.File(path, "r") as f:
            f.visititems(lambda name, obj: names.append(name)
                         if isinstance(obj, h5py.Dataset) else None)
    except OSError as error:
        raise ValueError(f"{path} is not a readable HDF5 weights file: {error}") from None

    def loader(name):
        def load():
            with h5py.File(path, "r") as f:
                return f[name][()]
        return load

    return TensorReader({n: loader(n) for n in names}, path)


def _registered_class(config, folder):
    name = config.get("registered_name")
    found = keras.saving.get_registered_object(name) if name else None
    if found is None:
        raise ValueError(f"{folder}: unknown class {name!r} in the preset config.")
    return found


class KerabertPreset:
    """A preset folder written by `save_to_preset`, read as the loader reads
    any checkpoint (the methods have the `Checkpoint` conversion names)."""

    format_name = KERABERT

    def __init__(self, folder):
        self.folder = folder

    @classmethod
    def detect(cls, folder):
        path = os.path.join(folder, CONFIG_FILE)
        if not os.path.isfile(path):
            return os.path.isfile(os.path.join(folder, METADATA_FILE))
        config = files.read_json(path)
        return isinstance(config, dict) and str(config.get("registered_name", "")).startswith(
            REGISTERED_PREFIX)

    def describe(self):
        classes = {}
        if os.path.isfile(os.path.join(self.folder, METADATA_FILE)):
            classes = read_json(self.folder, METADATA_FILE).get("classes", {})
        return "kerabert preset" + (f" ({', '.join(sorted(set(classes.values())))})"
                                    if classes else "")

    def _config(self, name):
        config = read_json(self.folder, name)
        return _registered_class(config, self.folder), config["config"]

    def backbone_class(self):
        return self._config(CONFIG_FILE)[0]

    def backbone_config(self):
        return dict(self._config(CONFIG_FILE)[1])

    def tokenizer_class(self):
        return self._config(TOKENIZER_CONFIG_FILE)[0]

    def tokenizer(self, tokenizer_cls, **overrides):
        """The saved tokenizer, its assets read from `assets/tokenizer/`, or
        from the file its config names, which must lie inside the folder."""
        found, config = self._config(TOKENIZER_CONFIG_FILE)
        config, named = self._confined_assets(dict(config))
        tokenizer = found.from_config({**config, **overrides})
        if not named:
            tokenizer.load_assets(os.path.join(self.folder, TOKENIZER_ASSET_DIR))
        return tokenizer

    def _confined_assets(self, config):
        """`(config, whether it names an asset)`, with each asset file it names
        (`vocabulary`, `proto`) resolved against the preset folder. A name that
        leads out of the folder is refused: a downloaded preset must not make
        kerabert read other files of the machine. The check is on the path as
        written, not on where symlinks lead, as the files of a preset in the
        Hugging Face cache are symlinks into its blob store."""
        named = False
        folder = os.path.abspath(self.folder)
        for key in ASSET_KEYS:
            value = config.get(key)
            if value is None:
                continue
            named = True
            if not isinstance(value, (str, os.PathLike)):
                continue  # the asset itself (a list of tokens), not a file
            path = os.fspath(value)
            target = os.path.normpath(os.path.join(folder, path))
            if os.path.isabs(path) or os.path.commonpath([folder, target]) != folder:
                raise ValueError(
                    f"{os.path.join(self.folder, TOKENIZER_CONFIG_FILE)} names its {key} file "
                    f"{path!r}, which is outside the preset folder: kerabert reads a preset's "
                    "tokenizer assets only from inside it. Put the file in the folder (or in "
                    f"{TOKENIZER_ASSET_DIR}/ with {key}: null, as save_to_preset writes it).")
            config[key] = target
        return config, named

    def preprocessor_config(self):
        """(class, config without the tokenizer) of the saved preprocessor, or None."""
        if not os.path.isfile(os.path.join(self.folder, PREPROCESSOR_CONFIG_FILE)):
            return None
        found, config = self._config(PREPROCESSOR_CONFIG_FILE)
        return found, {k: v for k, v in config.items() if k != "tokenizer"}

    def head_config(self, task_cls):
        """The saved head's settings when it was saved from `task_cls` (or a
        class related to it), else None."""
        if not os.path.isfile(os.path.join(self.folder, TASK_CONFIG_FILE)):
            return None
        found, config = self._config(TASK_CONFIG_FILE)
        if issubclass(found, task_cls) or issubclass(task_cls, found):
            return task_cls.head_config_from(config)
        return None

    def load_weights(self, backbone, task=None, ignore_unused=False):
        """Reads the backbone's variables (and `task`'s head's) by path."""
        reader = open_variables(os.path.join(self.folder, BACKBONE_WEIGHTS_FILE))
        for variable in backbone.weights:
            reader.assign(variable, variable.path)
        reader.check_consumed(ignore_unused=ignore_unused)
        readers = [reader]
        if task is not None:
            head = open_variables(os.path.join(self.folder, TASK_WEIGHTS_FILE))
            for variable in task.head_weights:
                head.assign(variable, variable.path)
            head.check_consumed()
            readers.append(head)
        return readers
