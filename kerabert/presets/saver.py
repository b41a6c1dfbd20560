"""Atomic writing of preset folders."""

import datetime
import os
import shutil
import tempfile

import keras

from kerabert.presets.formats import kerabert_preset as fmt


def _version():
    from kerabert.version import __version__

    return __version__


class PresetWriter:
    """Writes a preset into a temporary folder and moves it into place at the end.

    A crash midway leaves the old preset (if any) untouched and no half-written
    folder under the target name. Files already in the target are carried over,
    so saving a tokenizer into an existing backbone preset adds to it.
    """

    def __init__(self, preset_dir, carry_over=True):
        """`carry_over=False` replaces an existing preset instead of adding to it."""
        self.preset_dir = os.path.abspath(os.fspath(preset_dir))
        self.carry_over = carry_over
        self.classes = {}

    def __enter__(self):
        parent = os.path.dirname(self.preset_dir)
        os.makedirs(parent, exist_ok=True)
        if os.path.exists(self.preset_dir) and not os.path.isdir(self.preset_dir):
            raise FileExistsError(f"{self.preset_dir} exists and is not a folder.")
        self.tmp = tempfile.mkdtemp(prefix="." + os.path.basename(self.preset_dir) + ".", dir=parent)
        if self.carry_over and os.path.isdir(self.preset_dir):
            shutil.copytree(self.preset_dir, self.tmp, dirs_exist_ok=True)
            if os.path.isfile(os.path.join(self.tmp, fmt.METADATA_FILE)):
                metadata = fmt.read_json(self.tmp, fmt.METADATA_FILE)
                self.classes = metadata.get("classes", {})
                # Kept when only a tokenizer is added to a backbone preset.
                self.parameter_count = metadata.get("parameter_count")
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return False
        self._write_metadata()
        old = None
        if os.path.isdir(self.preset_dir):
            old = self.tmp + ".old"
            os.rename(self.preset_dir, old)
        os.rename(self.tmp, self.preset_dir)
        if old:
            shutil.rmtree(old, ignore_errors=True)
        return False

    def _write_metadata(self):
        metadata = {
            "kerabert_version": _version(),
            "keras_version": keras.__version__,
            "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
            "classes": self.classes,
        }
        if "backbone" in self.classes:
            metadata["parameter_count"] = self.parameter_count
        fmt.write_json(self.tmp, fmt.METADATA_FILE, metadata)

    def write_backbone(self, backbone):
        fmt.write_json(self.tmp, fmt.CONFIG_FILE, keras.saving.serialize_keras_object(backbone))
        fmt.write_variables(os.path.join(self.tmp, fmt.BACKBONE_WEIGHTS_FILE), backbone.weights)
        self.classes["backbone"] = type(backbone).__name__
        self.parameter_count = int(backbone.count_params())

    def write_tokenizer(self, tokenizer):
        fmt.write_json(self.tmp, fmt.TOKENIZER_CONFIG_FILE,
                       keras.saving.serialize_keras_object(tokenizer))
        asset_dir = os.path.join(self.tmp, fmt.TOKENIZER_ASSET_DIR)
        shutil.rmtree(asset_dir, ignore_errors=True)
        os.makedirs(asset_dir)
        tokenizer.save_assets(asset_dir)
        self.classes["tokenizer"] = type(tokenizer).__name__

    def write_preprocessor(self, preprocessor):
        self.write_tokenizer(preprocessor.tokenizer)
        fmt.write_json(self.tmp, fmt.PREPROCESSOR_CONFIG_FILE,
                       keras.saving.serialize_keras_object(preprocessor))
        self.classes["preprocessor"] = type(preprocessor).__name__

    def write_task(self, task):
        self.write_backbone(task.backbone)
        if task.preprocessor is not None:
            self.write_preprocessor(task.preprocessor)
        fmt.write_json(self.tmp, fmt.TASK_CONFIG_FILE, keras.saving.serialize_keras_object(task))
        fmt.write_variables(os.path.join(self.tmp, fmt.TASK_WEIGHTS_FILE), task.head_weights)
        self.classes["task"] = type(task).__name__
