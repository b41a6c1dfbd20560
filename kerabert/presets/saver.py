"""Writing kerabert preset folders, all or nothing."""

import datetime
import os
import shutil

import keras

from kerabert.presets import files
from kerabert.presets.formats import kerabert_preset as fmt


def _version():
    from kerabert.version import __version__

    return __version__


class PresetWriter:
    """Writes a preset into a temporary folder and moves it into place at the end
    (`files.AtomicFolder`).

    A crash midway leaves the old preset (if any) untouched and no half-written
    folder under the target name. Files already in the target are carried over,
    so saving a tokenizer into an existing backbone preset adds to it.
    """

    def __init__(self, preset_dir, carry_over=True):
        """`carry_over=False` replaces an existing preset instead of adding to it."""
        self.preset_dir = files.absolute(preset_dir)
        self._folder = files.AtomicFolder(self.preset_dir, carry_over=carry_over)
        self.classes = {}
        self.parameter_count = None

    def __enter__(self):
        self.tmp = self._folder.__enter__()
        if os.path.isfile(os.path.join(self.tmp, fmt.METADATA_FILE)):
            metadata = fmt.read_json(self.tmp, fmt.METADATA_FILE)
            self.classes = metadata.get("classes", {})
            # Kept when only a tokenizer is added to a backbone preset.
            self.parameter_count = metadata.get("parameter_count")
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self._write_metadata()
        return self._folder.__exit__(exc_type, exc, tb)

    def _json(self, name, data):
        files.write_json(os.path.join(self.tmp, name), data)

    def _write_metadata(self):
        metadata = {
            "kerabert_version": _version(),
            "keras_version": keras.__version__,
            "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
            "classes": self.classes,
        }
        if "backbone" in self.classes:
            metadata["parameter_count"] = self.parameter_count
        self._json(fmt.METADATA_FILE, metadata)

    def write_backbone(self, backbone):
        self._json(fmt.CONFIG_FILE, keras.saving.serialize_keras_object(backbone))
        fmt.write_variables(os.path.join(self.tmp, fmt.BACKBONE_WEIGHTS_FILE), backbone.weights)
        self.classes["backbone"] = type(backbone).__name__
        self.parameter_count = int(backbone.count_params())

    def write_tokenizer(self, tokenizer):
        self._json(fmt.TOKENIZER_CONFIG_FILE, keras.saving.serialize_keras_object(tokenizer))
        asset_dir = os.path.join(self.tmp, fmt.TOKENIZER_ASSET_DIR)
        shutil.rmtree(asset_dir, ignore_errors=True)
        os.makedirs(asset_dir)
        tokenizer.save_assets(asset_dir)
        self.classes["tokenizer"] = type(tokenizer).__name__

    def write_preprocessor(self, preprocessor):
        self.write_tokenizer(preprocessor.tokenizer)
        self._json(fmt.PREPROCESSOR_CONFIG_FILE, keras.saving.serialize_keras_object(preprocessor))
        self.classes["preprocessor"] = type(preprocessor).__name__

    def write_task(self, task):
        self.write_backbone(task.backbone)
        if task.preprocessor is not None:
            self.write_preprocessor(task.preprocessor)
        self._json(fmt.TASK_CONFIG_FILE, keras.saving.serialize_keras_object(task))
        fmt.write_variables(os.path.join(self.tmp, fmt.TASK_WEIGHTS_FILE), task.head_weights)
        self.classes["task"] = type(task).__name__
