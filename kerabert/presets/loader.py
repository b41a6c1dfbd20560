"""`from_preset` for every kerabert class: find the folder, detect its format
once, build the objects, load the weights.

`PresetLoader(preset)` resolves a preset (a folder, `hf://...` or a built-in
name) and opens it as a *source*: a `KerabertPreset` (read natively) or a
`Checkpoint` of another library (converted by the model family's module for
that format). Both answer the same questions (`backbone_class`, `backbone_config`,
`tokenizer`, `preprocessor_config`, `head_config`, `load_weights`), so
every `load_*` below has one path whatever the format; a source reads its
config and opens its checkpoint once however many objects a load builds.

The model families are found through `kerabert.presets.registry`, which
imports them on first use.
"""

import contextlib
import difflib
import inspect
import os
import warnings

from kerabert.presets import files
from kerabert.presets.resolve import resolve_preset
from kerabert.presets.errors import caller_stacklevel
from kerabert.presets.formats.huggingface_checkpoint import CONFIG_FILE
from kerabert.presets.formats.huggingface_checkpoint import HuggingFaceCheckpoint
from kerabert.presets.formats.kerabert_preset import KerabertPreset
from kerabert.presets.formats.keras_hub_checkpoint import KerasHubCheckpoint
from kerabert.presets.formats.tf_checkpoint import TFCheckpoint

# Formats in detection order.
FORMATS = (KerabertPreset, KerasHubCheckpoint, HuggingFaceCheckpoint, TFCheckpoint)

# Constructor arguments `from_preset` never forwards: they come from the preset.
ASSET_ARGUMENTS = ("vocabulary", "proto", "tokenizer", "backbone", "preprocessor")
# Keyword arguments of `from_preset` itself (not constructor arguments).
LOADING_KWARGS = ("load_weights", "ignore_unused_weights")


def resolve(preset):
    """The local folder of `preset` (see `kerabert.presets.resolve`)."""
    return resolve_preset(preset)


def open_source(folder):
    """The source object reading `folder`: a `KerabertPreset` or a `Checkpoint`."""
    config = os.path.join(folder, CONFIG_FILE)
    if os.path.isfile(config):
        # A damaged config.json is reported as such, not as an unknown format.
        files.read_json(config)
    for fmt in FORMATS:
        if fmt.detect(folder):
            return fmt(folder)
    present = sorted(os.listdir(folder))
    raise ValueError(
        f"Cannot tell what kind of checkpoint {folder} holds (files: {present[:10]}). "
        "kerabert reads its own presets (config.json with a kerabert class), keras-hub "
        "presets (a keras_hub class), Hugging Face folders (config.json with a model_type) "
        "and TensorFlow "
        "checkpoints (a family's config, e.g. bert_config.json or xlnet_config.json, "
        "next to <name>.ckpt.index and its data files).")


# --- keyword routing -------------------------------------------------------------------

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


def _split(kwargs, keys):
    return {k: kwargs.pop(k) for k in list(kwargs) if k in keys}


def _check_class(found, wanted, folder):
    if not issubclass(found, wanted):
        raise ValueError(
            f"{folder} holds a {found.__name__}, which is not a {wanted.__name__}. "
            f"Use {found.__name__}.from_preset(...) or a matching preset.")


class PresetLoader:
    """Builds kerabert objects from one preset, opened once.

    Attributes:
      folder: the local folder.
      source: the `KerabertPreset` or `Checkpoint` reading it.
      readers: the `TensorReader`s of the last weight load (what was read).
    """

    def __init__(self, preset):
        self.folder = resolve(preset)
        text = os.fspath(preset)
        self.remote = text if files.is_remote(text) else None
        with self.naming_the_remote_folder():
            self.source = open_source(self.folder)
        self.readers = []

    @contextlib.contextmanager
    def naming_the_remote_folder(self):
        """Errors about a remote preset name it, not its local temporary copy."""
        try:
            yield
        except (ValueError, OSError) as error:
            if self.remote is None or self.folder not in str(error):
                raise
            raise type(error)(str(error).replace(self.folder, self.remote)) from None

    @property
    def is_native(self):
        return isinstance(self.source, KerabertPreset)

    def describe(self):
        return self.source.describe()

    def backbone_class(self):
        return self.source.backbone_class()

    def backbone_config(self):
        return self.source.backbone_config()

    # --- backbones -----------------------------------------------------------------

    def load_backbone(self, cls, load_weights=True, ignore_unused_weights=False, **kwargs):
        found = self.source.backbone_class()
        _check_class(found, cls, self.folder)
        check_keywords(kwargs, {"backbone": accepted_keywords(found),
                                "loading": set(LOADING_KWARGS)}, f"{found.__name__}.from_preset")
        backbone = found.from_config({**self.source.backbone_config(), **kwargs})
        if load_weights:
            self.readers = self.source.load_weights(backbone, ignore_unused=ignore_unused_weights)
        return backbone

    # --- tokenizers and preprocessors ----------------------------------------------

    def load_tokenizer(self, cls, **kwargs):
        found = self.source.tokenizer_class()
        _check_class(found, cls, self.folder)
        check_keywords(kwargs, {"tokenizer": accepted_keywords(found)},
                       f"{found.__name__}.from_preset")
        return self.source.tokenizer(found, **kwargs)

    def load_preprocessor(self, cls, max_sequence_length=None, **kwargs):
        """`max_sequence_length`: the backbone's limit; a preprocessor built
        fresh (not read from the preset) gets `sequence_length` at most this."""
        preprocessor_keywords = accepted_keywords(cls)
        tokenizer_keywords = accepted_keywords(cls.tokenizer_cls) - preprocessor_keywords
        check_keywords(kwargs, {"preprocessor": preprocessor_keywords,
                                "tokenizer": tokenizer_keywords}, f"{cls.__name__}.from_preset")
        tokenizer_kwargs = _split(kwargs, tokenizer_keywords)
        saved = self.source.preprocessor_config()
        # A preset saved from another task (say a classifier) still provides the
        # tokenizer for this task's own preprocessor.
        if saved is not None and issubclass(saved[0], cls):
            found, config = saved
            tokenizer = self.load_tokenizer(found.tokenizer_cls, **tokenizer_kwargs)
            return found(tokenizer=tokenizer, **{**config, **kwargs})
        tokenizer = self.load_tokenizer(cls.tokenizer_cls, **tokenizer_kwargs)
        if max_sequence_length and "sequence_length" not in kwargs:
            default = inspect.signature(cls).parameters.get("sequence_length")
            if default is not None and default.default is not inspect.Parameter.empty:
                kwargs["sequence_length"] = min(default.default, max_sequence_length)
        return cls(tokenizer=tokenizer, **kwargs)

    # --- tasks -----------------------------------------------------------------------

    def load_task(self, cls, load_weights=True, ignore_unused_weights=False, **kwargs):
        """Builds a task; its head weights load when the preset has a fitting head.

        A head fits when the preset was saved from (or converted as) the same
        kind of task with the same head settings (`cls.head_mismatch`).
        Otherwise a fresh head is built, which needs the head's size (e.g.
        `num_classes`).
        """
        use_preprocessor = kwargs.pop("preprocessor", True)
        # Keywords go to the first of task, preprocessor (and its tokenizer) and
        # backbone whose constructor takes them.
        task_keywords = accepted_keywords(cls)
        preprocessor_keywords = set()
        if cls.preprocessor_cls is not None and use_preprocessor is True:
            preprocessor_keywords = (accepted_keywords(cls.preprocessor_cls)
                                     | accepted_keywords(cls.preprocessor_cls.tokenizer_cls))
            preprocessor_keywords -= task_keywords
        backbone_keywords = (accepted_keywords(cls.backbone_cls) - task_keywords
                             - preprocessor_keywords)
        check_keywords(kwargs, {"task": task_keywords,
                                "preprocessor and tokenizer": preprocessor_keywords,
                                "backbone": backbone_keywords,
                                "loading": {*LOADING_KWARGS, "preprocessor"}},
                       f"{cls.__name__}.from_preset")
        backbone_kwargs = _split(kwargs, backbone_keywords)
        preprocessor_kwargs = _split(kwargs, preprocessor_keywords)

        # Weights are read below, backbone and head in one pass.
        backbone = self.load_backbone(cls.backbone_cls, load_weights=False, **backbone_kwargs)
        if use_preprocessor is True and cls.preprocessor_cls is None:
            use_preprocessor = None  # a task fed by its own data pipeline
        preprocessor = (self.load_preprocessor(
            cls.preprocessor_cls, max_sequence_length=getattr(backbone, "max_sequence_length",
                                                              None), **preprocessor_kwargs)
            if use_preprocessor is True else use_preprocessor)
        saved_head = self.source.head_config(cls)
        task = cls(backbone=backbone, preprocessor=preprocessor, **cls.require_head_config(
            {**(saved_head or {}), **kwargs}, saved_head, self.folder))
        if load_weights:
            head_fits = self._head_fits(cls, saved_head, task)
            self.readers = self.source.load_weights(backbone, task if head_fits else None,
                                                    ignore_unused=ignore_unused_weights)
        return task

    def _head_fits(self, cls, saved_head, task):
        """Whether the preset's head loads into `task`; warns when it holds a
        head of this kind that does not fit (a new head is then trained)."""
        if saved_head is None:
            return False
        mismatch = cls.head_mismatch(saved_head, task)
        if mismatch:
            differences = "; ".join(f"{key}={saved!r} in the preset, {asked!r} asked for"
                                    for key, saved, asked in mismatch)
            warnings.warn(
                f"{self.folder} holds a head for {cls.__name__} that does not fit "
                f"({differences}). "
                "Its weights are not loaded: this model has a new head, initialised at random. "
                f"Omit {mismatch[0][0]} to keep the saved head.", stacklevel=caller_stacklevel())
        return not mismatch


# --- the entry points of the `from_preset` methods ------------------------------------

def _load(what, cls, preset, kwargs):
    loader = PresetLoader(preset)
    with loader.naming_the_remote_folder():
        return getattr(loader, what)(cls, **kwargs)


def load_backbone(cls, preset, **kwargs):
    return _load("load_backbone", cls, preset, kwargs)


def load_tokenizer(cls, preset, **kwargs):
    return _load("load_tokenizer", cls, preset, kwargs)


def load_preprocessor(cls, preset, **kwargs):
    return _load("load_preprocessor", cls, preset, kwargs)


def load_task(cls, preset, **kwargs):
    return _load("load_task", cls, preset, kwargs)
