"""`from_preset` for every kerabert class: find the folder, detect its format,
build the object, load the weights.

Each checkpoint format is a module of plain functions under `formats/` (reading
files) and `converters/` (mapping names and configs onto kerabert classes).
"""

import difflib
import inspect
import os
import sys
import warnings

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

# Constructor arguments `from_preset` never forwards: they come from the preset.
ASSET_ARGUMENTS = ("vocabulary", "proto", "tokenizer", "backbone", "preprocessor")
# Keyword arguments of `from_preset` itself (not constructor arguments).
LOADING_KWARGS = ("load_weights", "ignore_unused_weights")


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
    if os.path.isfile(os.path.join(folder, kerabert_preset.CONFIG_FILE)):
        # A damaged config.json is reported as such, not as an unknown format.
        kerabert_preset.read_json(folder, kerabert_preset.CONFIG_FILE)
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


def accepted_keywords(cls):
    """The keyword arguments `cls(...)` takes, along its `__init__`s up the MRO
    while they forward `**kwargs`, minus the assets a preset provides. Keras'
    own layer arguments stop the walk; only `name` is kept from them."""
    names = {"name"}
    for klass in cls.__mro__:
        if klass.__module__.startswith("keras") or klass is object:
            break
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        parameters = inspect.signature(init).parameters.values()
        names.update(p.name for p in parameters if p.kind in (
            p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self")
        if not any(p.kind == p.VAR_KEYWORD for p in parameters):
            break
    return names - set(ASSET_ARGUMENTS)


def check_keywords(kwargs, groups, who):
    """Raises a `TypeError` naming each keyword of `kwargs` that no group
    (`{group name: accepted names}`) takes, with the close matches and the full
    list, so a misspelt keyword is never dropped silently."""
    valid = set().union(*groups.values())
    unknown = sorted(k for k in kwargs if k not in valid)
    if not unknown:
        return
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, sorted(valid), n=1)
        hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    listing = "; ".join(f"{group}: {', '.join(sorted(names))}"
                        for group, names in groups.items() if names)
    raise TypeError(
        f"{who} got unexpected keyword argument{'s' if len(unknown) > 1 else ''} "
        f"{', '.join(hints)}. Valid keywords are {listing}.")


# --- backbones ------------------------------------------------------------

def _check_backbone_keywords(found, kwargs):
    check_keywords(kwargs, {"backbone": accepted_keywords(found),
                            "loading": set(LOADING_KWARGS)}, f"{found.__name__}.from_preset")


def load_backbone(cls, preset, load_weights=True, ignore_unused_weights=False, **kwargs):
    folder = resolve(preset)
    if detect_format(folder) == NATIVE_FORMAT:
        config = kerabert_preset.read_json(folder, kerabert_preset.CONFIG_FILE)
        found = _registered_class(config, folder)
        _check_class(found, cls, folder)
        _check_backbone_keywords(found, kwargs)
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
    _check_backbone_keywords(converter.backbone_cls(), kwargs)
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
        check_keywords(kwargs, {"tokenizer": accepted_keywords(found)},
                       f"{found.__name__}.from_preset")
        tokenizer = found.from_config({**config["config"], **kwargs})
        tokenizer.load_assets(os.path.join(folder, kerabert_preset.TOKENIZER_ASSET_DIR))
        return tokenizer
    _, _, converter = _converter(folder)
    tokenizer_cls = converter.tokenizer_cls()
    _check_class(tokenizer_cls, cls, folder)
    check_keywords(kwargs, {"tokenizer": accepted_keywords(tokenizer_cls)},
                   f"{tokenizer_cls.__name__}.from_preset")
    return converter.convert_tokenizer(tokenizer_cls, folder, **kwargs)


def load_preprocessor(cls, preset, max_sequence_length=None, **kwargs):
    """`max_sequence_length`: the backbone's limit; a preprocessor built fresh
    (not read from the preset) gets `sequence_length` at most this."""
    folder = resolve(preset)
    preprocessor_keywords = accepted_keywords(cls)
    tokenizer_keywords = accepted_keywords(cls.tokenizer_cls) - preprocessor_keywords
    check_keywords(kwargs, {"preprocessor": preprocessor_keywords,
                            "tokenizer": tokenizer_keywords}, f"{cls.__name__}.from_preset")
    tokenizer_kwargs = _split(kwargs, tokenizer_keywords)
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
    use_preprocessor = kwargs.pop("preprocessor", True)
    # Keywords go to the first of task, preprocessor (and its tokenizer) and
    # backbone whose constructor takes them.
    task_keywords = accepted_keywords(cls)
    preprocessor_keywords = set()
    if cls.preprocessor_cls is not None and use_preprocessor is True:
        preprocessor_keywords = (accepted_keywords(cls.preprocessor_cls)
                                 | accepted_keywords(cls.preprocessor_cls.tokenizer_cls))
        preprocessor_keywords -= task_keywords
    backbone_keywords = accepted_keywords(cls.backbone_cls) - task_keywords - preprocessor_keywords
    check_keywords(kwargs, {"task": task_keywords, "preprocessor and tokenizer":
                            preprocessor_keywords, "backbone": backbone_keywords,
                            "loading": {"load_weights", "ignore_unused_weights", "preprocessor"}},
                   f"{cls.__name__}.from_preset")
    backbone_kwargs = _split(kwargs, backbone_keywords)
    preprocessor_kwargs = _split(kwargs, preprocessor_keywords)
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
        if load_weights and _head_fits(cls, saved_head, task, folder):
            reader = kerabert_preset.open_variables(
                os.path.join(folder, kerabert_preset.TASK_WEIGHTS_FILE))
            kerabert_preset.assign_variables(task.head_weights, reader)
        return task

    fmt, config, converter = _converter(folder)
    saved_head = converter.head_config(config, cls.task_kind, folder)
    task = cls(backbone=backbone, preprocessor=preprocessor,
               **cls.require_head_config({**(saved_head or {}), **kwargs}, saved_head, folder))
    if load_weights:
        head_fits = _head_fits(cls, saved_head, task, folder)
        _convert_weights(fmt, converter, folder, backbone, task if head_fits else None,
                         ignore_unused=ignore_unused_weights)
    return task


def _caller_stacklevel():
    """The `warnings.warn` stacklevel of the first caller outside kerabert."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    level, frame = 2, sys._getframe(2)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        level, frame = level + 1, frame.f_back
    return level


def _head_fits(cls, saved_head, task, folder):
    """Whether the preset's head loads into `task`; warns when it holds a head
    of this kind that does not fit (a new head is then trained from scratch)."""
    if saved_head is None:
        return False
    mismatch = cls.head_mismatch(saved_head, task)
    if mismatch:
        differences = "; ".join(f"{key}={saved!r} in the preset, {asked!r} asked for"
                                for key, saved, asked in mismatch)
        warnings.warn(
            f"{folder} holds a {cls.__name__} head that does not fit ({differences}). Its "
            "weights are not loaded: this model has a new head, initialised at random. "
            f"Omit {mismatch[0][0]} to keep the saved head.", stacklevel=_caller_stacklevel())
    return not mismatch
