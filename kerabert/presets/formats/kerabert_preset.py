"""kerabert's own preset folders (layout modelled on keras-hub's).

    config.json            backbone, serialised with keras.saving
    model.weights.h5       backbone variables, one HDF5 dataset per variable path
    tokenizer.json         tokenizer config
    assets/tokenizer/      tokenizer assets (vocabulary.txt, spiece.model)
    preprocessor.json      preprocessor config (task presets)
    task.json              task config (task presets)
    task.weights.h5        head variables (task presets)
    metadata.json          versions, parameter count, date, class names

Weights are keyed by Keras variable path so a mismatch names the tensor.
"""

import json
import os

import h5py
import numpy as np

from kerabert.presets import files
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


def detect(folder):
    path = os.path.join(folder, CONFIG_FILE)
    if not os.path.isfile(path):
        return os.path.isfile(os.path.join(folder, METADATA_FILE))
    try:
        config = read_json(folder, CONFIG_FILE)
    except ValueError:
        return False
    return str(config.get("registered_name", "")).startswith(REGISTERED_PREFIX)


def describe(folder):
    classes = {}
    if os.path.isfile(os.path.join(folder, METADATA_FILE)):
        classes = read_json(folder, METADATA_FILE).get("classes", {})
    return "kerabert preset" + (f" ({', '.join(sorted(set(classes.values())))})" if classes else "")


def read_json(folder, name):
    path = os.path.join(folder, name)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"The preset {folder} lacks {name}. It may be incomplete; save it again "
            "with save_to_preset().")
    return files.read_json(path)


def write_json(folder, name, data):
    with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")


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


def assign_variables(variables, reader):
    """Loads every variable by path; leftovers in the file are an error."""
    for variable in variables:
        reader.assign(variable, variable.path)
    reader.check_consumed()
