"""`from_preset` for every kerabert class: find the folder, detect its format,
build the object, load the weights.

Each checkpoint format is a module of plain functions under `formats/` (reading
files) and `converters/` (mapping names and configs onto kerabert classes).
"""

import inspect
import os

import keras

from kerabert.presets.formats import huggingface
from kerabert.presets.formats import kerabert_preset
from kerabert.presets.formats import tf_checkpoint

# Checkpoint formats in detection order: name -> module under `formats/`.
# kerabert presets are read natively. Every other format is converted, and its
# module has the same functions:
#   detect(folder) -> bool              load_config(folder) -> dict
#   converter(config, folder) -> module under `converters/`
#   open_weights(folder) -> TensorReader   describe(folder) -> str
# Each converter module has convert_backbone_config(config),
# convert_backbone_weights(backbone, reader), convert_tokenizer(cls, folder,
# **overrides), head_config(config, task_kind, folder), convert_head_weights(task, reader),
# HEAD_PREFIXES (head tensors a load may leave unused), backbone_cls(),
# tokenizer_cls().
FORMATS = {
    "kerabert": kerabert_preset,
    "huggingface": huggingface,
    "tf_checkpoint": tf_checkpoint,
}
NATIVE_FORMAT = "kerabert"

# `from_preset` keyword arguments that configure the preprocessor or backbone
# rather than the task.
PREPROCESSOR_KWARGS = ("sequence_length", "truncate", "doc_stride", "max_query_length")
BACKBONE_KWARGS = ("dtype",)
# ... and those that configure the tokenizer (e.g. `lowercase=False` for a cased
# TF1 checkpoint whose folder name does not say so).
TOKENIZER_KWARGS = ("lowercase", "strip_accents", "tokenize_chinese_chars",
                    "max_input_chars_per_word")


def resolve(preset):
    """Returns the local folder for `preset`, or raises a helpful error.

    `preset` is a local folder, `hf://owner/repo[@revision]` or a built-in name
    (`kerabert.list_presets()`); Hub presets are downloaded into the Hugging
    Face cache (see `kerabert.presets.hub`).
    """
    from kerabert.presets import hub

    return hub.resolve_preset(preset)


def detect_format(folder):
    """The name (a key of `FORMATS`) of the format of the checkpoint in `folder`."""
    for name, module in FORMATS.items():
        if module.detect(folder):
            return name
    present = sorted(os.listdir(folder))
    raise ValueError(
        f"Cannot tell what kind of checkpoint {folder} holds (files: {present[:10]}). "
        "kerabert reads its own presets (config.json with a kerabert class), "
        "Hugging Face folders (config.json with a model_type) and TensorFlow "
        "checkpoints (bert_config.json + bert_model.ckpt.*, or xlnet_config.json + "
        "xlnet_model.ckpt.*).")


def format_module(folder):
    """The module under `formats/` that reads `folder`."""
    return FORMATS[detect_format(folder)]


def _converter(folder):
    """(format module, config, converter module) of a folder that is converted."""
    fmt = format_module(folder)
    config = fmt.load_config(folder)
    return fmt, config, fmt.converter(config, folder)


def backbone_config(preset):
    """The backbone's constructor arguments stored in (or converted from) `preset`."""
    folder = resolve(preset)
    if detect_format(folder) == NATIVE_FORMAT:
        return dict(kerabert_preset.read_json(folder, kerabert_preset.CONFIG_FILE)["config"])
    _, config, converter = _converter(folder)
    return converter.convert_backbone_config(config)


def backbone_class(preset):
    """The backbone class stored in (or converted from) `preset`."""
    folder = resolve(preset)
    if detect_format(folder) == NATIVE_FORMAT:
        config = kerabert_preset.read_json(folder, kerabert_preset.CONFIG_FILE)
        return _registered_class(config, folder)
    _, _, converter = _converter(folder)
    return converter.backbone_cls()


def _convert_weights(fmt, converter, folder, backbone, task=None, ignore_unused=False):
    """One pass over the checkpoint: backbone, then the task head if given."""
    reader = fmt.open_weights(folder)
    converter.convert_backbone_weights(backbone, reader)
    if task is not None:
        converter.convert_head_weights(task, reader)
    reader.check_consumed(ignore_prefixes=converter.HEAD_PREFIXES, ignore_unused=ignore_unused)
    return reader


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
    if detect_format(folder) == NATIVE_FORMAT:
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
    fmt, config, converter = _converter(folder)
    _check_class(converter.backbone_cls(), cls, folder)
    backbone = converter.backbone_cls()(**{**converter.convert_backbone_config(config), **kwargs})
    if load_weights:
        _convert_weights(fmt, converter, folder, backbone, ignore_unused=ignore_unused_weights)
    return backbone


# --- tokenizers and preprocessors -------------------------------------------

def load_tokenizer(cls, preset, **kwargs):
    folder = resolve(preset)
    if detect_format(folder) == NATIVE_FORMAT:
        config = kerabert_preset.read_json(folder, kerabert_preset.TOKENIZER_CONFIG_FILE)
        found = _registered_class(config, folder)
        _check_class(found, cls, folder)
        tokenizer = found.from_config({**config["config"], **kwargs})
        tokenizer.load_assets(os.path.join(folder, kerabert_preset.TOKENIZER_ASSET_DIR))
        return tokenizer
    _, _, converter = _converter(folder)
    tokenizer_cls = converter.tokenizer_cls()
    _check_class(tokenizer_cls, cls, folder)
    return converter.convert_tokenizer(tokenizer_cls, folder, **kwargs)


def load_preprocessor(cls, preset, max_sequence_length=None, **kwargs):
    """`max_sequence_length`: the backbone's limit; a preprocessor built fresh
    (not read from the preset) gets `sequence_length` at most this."""
    folder = resolve(preset)
    tokenizer_kwargs = _split(kwargs, TOKENIZER_KWARGS)
    if detect_format(folder) == NATIVE_FORMAT and os.path.isfile(
            os.path.join(folder, kerabert_preset.PREPROCESSOR_CONFIG_FILE)):
        config = kerabert_preset.read_json(folder, kerabert_preset.PREPROCESSOR_CONFIG_FILE)
        found = _registered_class(config, folder)
        # A preset saved from another task (say a classifier) still provides the
        # tokenizer for this task's own preprocessor.
        if issubclass(found, cls):
            inner = dict(config["config"])
            inner["tokenizer"] = load_tokenizer(found.tokenizer_cls, folder, **tokenizer_kwargs)
            return found(**{**inner, **kwargs})
    tokenizer = load_tokenizer(cls.tokenizer_cls, folder, **tokenizer_kwargs)
    if max_sequence_length and "sequence_length" not in kwargs:
        default = inspect.signature(cls).parameters.get("sequence_length")
        if default is not None and default.default is not inspect.Parameter.empty:
            kwargs["sequence_length"] = min(default.default, max_sequence_length)
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
    preprocessor_kwargs = _split(kwargs, PREPROCESSOR_KWARGS + TOKENIZER_KWARGS)
    use_preprocessor = kwargs.pop("preprocessor", True)
    is_kerabert = detect_format(folder) == NATIVE_FORMAT
    # Converted weights are read below in one pass over the checkpoint.
    backbone = load_backbone(cls.backbone_cls, folder, load_weights=load_weights and is_kerabert,
                             **backbone_kwargs)
    if use_preprocessor is True and cls.preprocessor_cls is None:
        use_preprocessor = None  # a task fed by its own data pipeline
    preprocessor = (load_preprocessor(
        cls.preprocessor_cls, folder,
        max_sequence_length=getattr(backbone, "max_sequence_length", None), **preprocessor_kwargs)
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

    fmt, config, converter = _converter(folder)
    saved_head = converter.head_config(config, cls.task_kind, folder)
    task = cls(backbone=backbone, preprocessor=preprocessor,
               **cls.require_head_config({**(saved_head or {}), **kwargs}, saved_head, folder))
    if load_weights:
        head_matches = saved_head is not None and cls.head_matches(saved_head, task)
        _convert_weights(fmt, converter, folder, backbone, task if head_matches else None,
                         ignore_unused=ignore_unused_weights)
    return task
