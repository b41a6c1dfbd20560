"""keras-hub (formerly keras-nlp) preset folders, as `save_to_preset` writes
them and Kaggle serves them:

    config.json            the backbone ({"registered_name": "keras_hub>BertBackbone", ...})
    model.weights.h5       the backbone's weights (Keras' object-graph layout)
    tokenizer.json         the tokenizer's config; its vocabulary in assets/tokenizer/
    preprocessor.json      a task preset's preprocessor (sequence_length, ...)
    task.json              a task preset's task (BertTextClassifier, BertMaskedLM, ...)
    task.weights.h5        the task's head weights
    metadata.json          keras_hub_version, parameter_count, ...

A tokenizer's preset (`BertTokenizer.save_to_preset`) is tokenizer.json and
assets/ alone. The file names are kerabert's own, with other contents: this
format is told apart by the `keras_hub>` prefix of the registered class names. The weights are
read by loading the preset with keras-hub itself and taking every variable by
its Keras path ("transformer_layer_0/self_attention_layer/query/kernel"):
those paths are what keras-hub names its layers, while the h5 files' internal
names depend on Keras' object tracking.
"""

import os

import numpy as np

from kerabert.presets import files
from kerabert.presets import registry
from kerabert.presets.formats import KERAS_HUB
from kerabert.presets.formats import kerabert_preset
from kerabert.presets.formats.checkpoint import Checkpoint

# keras-hub's file names are kerabert's own (kerabert's layout follows keras-hub's).
CONFIG_FILE = kerabert_preset.CONFIG_FILE
TOKENIZER_FILE = kerabert_preset.TOKENIZER_CONFIG_FILE
PREPROCESSOR_FILE = kerabert_preset.PREPROCESSOR_CONFIG_FILE
TASK_FILE = kerabert_preset.TASK_CONFIG_FILE
VOCABULARY_DIR = kerabert_preset.TOKENIZER_ASSET_DIR
REGISTERED_PREFIX = "keras_hub>"
# keras-nlp, the library's former name, wrote the same folders.
LEGACY_PREFIX = "keras_nlp>"


def _registered(config):
    name = str(config.get("registered_name", "")) if isinstance(config, dict) else ""
    return name.startswith((REGISTERED_PREFIX, LEGACY_PREFIX))


class KerasHubCheckpoint(Checkpoint):
    """A keras-hub preset folder (see the module docstring)."""

    format_name = KERAS_HUB

    @classmethod
    def detect(cls, folder):
        path = os.path.join(folder, CONFIG_FILE)
        if os.path.isfile(path):
            return _registered(files.read_json(path))
        path = os.path.join(folder, TOKENIZER_FILE)
        return os.path.isfile(path) and _registered(files.read_json(path))

    def _read_json(self, name):
        path = os.path.join(self.folder, name)
        return files.read_json(path) if os.path.isfile(path) else None

    def _read_config(self):
        config = self._read_json(CONFIG_FILE)
        if config is None:
            raise ValueError(f"{self.folder} is a keras-hub {self.class_name} preset: it holds a "
                             "tokenizer, no model.")
        return config["config"]

    @property
    def class_name(self):
        """The keras-hub class of the backbone ("BertBackbone"), or of the
        tokenizer in a tokenizer's preset ("BertTokenizer")."""
        return (self._read_json(CONFIG_FILE) or self._read_json(TOKENIZER_FILE))["class_name"]

    def task_config(self):
        """`(keras-hub task class name, its config)` of a task preset, or None."""
        task = self._read_json(TASK_FILE)
        return None if task is None else (task["class_name"], task["config"])

    def preprocessor_settings(self):
        """`(keras-hub preprocessor class name, its config)`, or None."""
        preprocessor = self._read_json(PREPROCESSOR_FILE)
        return None if preprocessor is None else (preprocessor["class_name"],
                                                  preprocessor["config"])

    def tokenizer_settings(self):
        """`(tokenizer config, vocabulary folder)`; the config is None in a
        backbone-only preset."""
        tokenizer = self._read_json(TOKENIZER_FILE)
        return (None if tokenizer is None else tokenizer["config"],
                os.path.join(self.folder, VOCABULARY_DIR))

    def _find_family(self):
        family = registry.family_for_keras_hub(self.class_name)
        if family is None:
            raise ValueError(
                f"{self.folder} is a keras-hub {self.class_name} preset; kerabert reads "
                f"keras-hub's {registry.keras_hub_names()} presets.")
        return family

    def describe(self):
        task = self.task_config()
        return f"keras-hub {task[0] if task else self.class_name} preset"

    def _open_loaders(self):
        import keras
        import keras_hub

        # A task preset's model holds the backbone's variables and the head's.
        task = self._read_json(TASK_FILE)
        if task is not None:
            task_cls = keras.saving.get_registered_object(task["registered_name"])
            if task_cls is None:
                raise ValueError(f"{self.folder}: keras-hub {keras_hub.__version__} has no "
                                 f"{task['class_name']}.")
            model = task_cls.from_preset(self.folder, preprocessor=None)
        else:
            model = keras_hub.models.Backbone.from_preset(self.folder)

        def loader(variable):
            return lambda: np.asarray(variable.numpy())

        return {v.path: loader(v) for v in model.weights}, self.folder, []
