"""`from_preset` for every kerabert class: find the folder, detect its format,
build the object, load the weights.

Each checkpoint format is a module of plain functions under `formats/` (reading
files) and `converters/` (mapping names and configs onto kerabert classes).
"""

import os

import keras

from kerabert.presets.converters import huggingface_bert
from kerabert.presets.formats import huggingface
from kerabert.presets.formats import kerabert_preset

# HF `model_type` -> converter module.
HF_CONVERTERS = {"bert": huggingface_bert}

# `from_preset` keyword arguments that configure the preprocessor or backbone
# rather than the task.
PREPROCESSOR_KWARGS = ("sequence_length", "truncate")
BACKBONE_KWARGS = ("dtype",)


def resolve(preset):
    """Returns the local folder for `preset`, or raises a helpful error."""
    path = os.path.expanduser(os.fspath(preset))
    if os.path.isdir(path):
        return path
    if os.path.exists(path):
        raise NotADirectoryError(
            f"Preset {preset!r} is a file; a preset is a folder (a kerabert preset "
            "written by save_to_preset, or a Hugging Face model folder).")
    raise FileNotFoundError(
        f"Preset {preset!r} was not found: no such folder. Pass the path of a "
        "kerabert preset folder (written by save_to_preset) or of a Hugging Face "
        "model folder (config.json + model.safetensors + vocab.txt).")


def detect_format(folder):
    if kerabert_preset.detect(folder):
        return "kerabert"
    if huggingface.detect(folder):
        return "huggingface"
    present = sorted(os.listdir(folder))
    raise ValueError(
        f"Cannot tell what kind of checkpoint {folder} holds (files: {present[:10]}). "
        "kerabert reads its own presets (config.json with a kerabert class) and "
        "Hugging Face folders (config.json with a model_type).")


def _hf_converter(config, folder):
    model_type = config.get("model_type")
    if model_type not in HF_CONVERTERS:
        raise ValueError(
            f"{folder}: unknown model_type {model_type!r}. kerabert converts "
            f"{sorted(HF_CONVERTERS)} checkpoints.")
    return HF_CONVERTERS[model_type]


def _check_class(found, wanted, folder):
    if not issubclass(found, wanted):
        raise ValueError(
            f"{folder} holds a {found.__name__}, which is not a {wanted.__name__}. "
            f"Use {found.__name__}.from_preset(...) or a matching preset.")


def _registered_class(config, folder):
    name = config.get("registered_name")
    found = keras.saving.get_registered_object(name) if name else None
    if found is None:
        raise ValueError(f"{folder}: unknown class {name!r} in the preset config.")
    return found


def _split(kwargs, keys):
    return {k: kwargs.pop(k) for k in list(kwargs) if k in keys}


# --- backbones ------------------------------------------------------------

def load_backbone(cls, preset, load_weights=True, ignore_unused_weights=False, **kwargs):
    folder = resolve(preset)
    if detect_format(folder) == "kerabert":
        config = kerabert_preset.read_json(folder, kerabert_preset.CONFIG_FILE)
        found = _registered_class(config, folder)
        _check_class(found, cls, folder)
        backbone = found.from_config({**config["config"], **kwargs})
        if load_weights:
            reader = kerabert_preset.open_variables(
                os.path.join(folder, kerabert_preset.BACKBONE_WEIGHTS_FILE))
            for variable in backbone.weights:
                reader.assign(variable, variable.path)
            reader.check_consumed(ignore_unused=ignore_unused_weights)
        return backbone
    config = huggingface.load_config(folder)
    converter = _hf_converter(config, folder)
    _check_class(converter.backbone_cls(), cls, folder)
    backbone = converter.backbone_cls()(**{**converter.convert_backbone_config(config), **kwargs})
    if load_weights:
        reader = huggingface.open_weights(folder)
        converter.convert_backbone_weights(backbone, reader)
        reader.check_consumed(ignore_prefixes=converter.HEAD_PREFIXES,
                              ignore_unused=ignore_unused_weights)
    return backbone


# --- tokenizers and preprocessors -------------------------------------------

def load_tokenizer(cls, preset, **kwargs):
    folder = resolve(preset)
    if detect_format(folder) == "kerabert":
        config = kerabert_preset.read_json(folder, kerabert_preset.TOKENIZER_CONFIG_FILE)
        found = _registered_class(config, folder)
        _check_class(found, cls, folder)
        tokenizer = found.from_config({**config["config"], **kwargs})
        tokenizer.load_assets(os.path.join(folder, kerabert_preset.TOKENIZER_ASSET_DIR))
        return tokenizer
    config = huggingface.load_config(folder)
    converter = _hf_converter(config, folder)
    tokenizer_cls = converter.tokenizer_cls()
    _check_class(tokenizer_cls, cls, folder)
    return converter.convert_tokenizer(tokenizer_cls, folder, **kwargs)


def load_preprocessor(cls, preset, **kwargs):
    folder = resolve(preset)
    if detect_format(folder) == "kerabert" and os.path.isfile(
            os.path.join(folder, kerabert_preset.PREPROCESSOR_CONFIG_FILE)):
        config = kerabert_preset.read_json(folder, kerabert_preset.PREPROCESSOR_CONFIG_FILE)
        found = _registered_class(config, folder)
        _check_class(found, cls, folder)
        inner = dict(config["config"])
        inner["tokenizer"] = load_tokenizer(found.tokenizer_cls, folder)
        return found(**{**inner, **kwargs})
    tokenizer = load_tokenizer(cls.tokenizer_cls, folder)
    return cls(tokenizer=tokenizer, **kwargs)


# --- tasks ----------------------------------------------------------------

def load_task(cls, preset, load_weights=True, ignore_unused_weights=False, **kwargs):
    """Builds a task; its head weights load when the preset has a matching head.

    A head "matches" when the preset was saved from (or converted as) the same
    kind of task and, for classifiers, with the same `num_classes`. Otherwise a
    fresh head is built, which needs the head's size (e.g. `num_classes`).
    """
    folder = resolve(preset)
    backbone_kwargs = _split(kwargs, BACKBONE_KWARGS)
    preprocessor_kwargs = _split(kwargs, PREPROCESSOR_KWARGS)
    use_preprocessor = kwargs.pop("preprocessor", True)
    is_kerabert = detect_format(folder) == "kerabert"
    # HF weights are converted below in one pass over the checkpoint.
    backbone = load_backbone(cls.backbone_cls, folder, load_weights=load_weights and is_kerabert,
                             **backbone_kwargs)
    preprocessor = (load_preprocessor(cls.preprocessor_cls, folder, **preprocessor_kwargs)
                    if use_preprocessor is True else use_preprocessor)

    if is_kerabert:
        saved_head = None
        if os.path.isfile(os.path.join(folder, kerabert_preset.TASK_CONFIG_FILE)):
            config = kerabert_preset.read_json(folder, kerabert_preset.TASK_CONFIG_FILE)
            found = _registered_class(config, folder)
            if issubclass(found, cls) or issubclass(cls, found):
                saved_head = cls.head_config_from(config["config"])
        task_kwargs = {**(saved_head or {}), **kwargs}
        task = cls(backbone=backbone, preprocessor=preprocessor,
                   **cls.require_head_config(task_kwargs, saved_head, folder))
        if load_weights and saved_head is not None and cls.head_matches(saved_head, task):
            reader = kerabert_preset.open_variables(
                os.path.join(folder, kerabert_preset.TASK_WEIGHTS_FILE))
            kerabert_preset.assign_variables(task.head_weights, reader)
        return task

    config = huggingface.load_config(folder)
    converter = _hf_converter(config, folder)
    saved_head = converter.head_config(config, cls.task_kind)
    task = cls(backbone=backbone, preprocessor=preprocessor,
               **cls.require_head_config({**(saved_head or {}), **kwargs}, saved_head, folder))
    if load_weights:
        reader = huggingface.open_weights(folder)
        converter.convert_backbone_weights(backbone, reader)
        if saved_head is not None and cls.head_matches(saved_head, task):
            converter.convert_head_weights(task, reader)
        reader.check_consumed(ignore_prefixes=converter.HEAD_PREFIXES,
                              ignore_unused=ignore_unused_weights)
    return task
