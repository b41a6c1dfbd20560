"""What the preset machinery knows about model families, told by the families.

The modules here read and write files and know no model. Each model family
is a package whose `__init__.py` holds, as data, its `Family` (its classes,
how other libraries name it, and one module per checkpoint format) and its
built-in `PRESETS` (a name -> a checkpoint on the Hugging Face Hub).

The families' packages are told to the registry by import path
(`register_family_modules`, which `kerabert/checkpoints/__init__.py` calls when
`kerabert` is imported) and imported on the first lookup, as transformers'
auto classes map model types to modules: `registry.get("bert_base_en_uncased")`
works right after `import kerabert`, and nothing imports a model family before
something asks for one. Classes and format modules are named by their import
paths too and imported when used.
"""

import dataclasses
import importlib
import threading

# Family name -> the import path of the package that describes it.
_FAMILY_MODULES = {}


def import_path(path):
    """`"package.module:Name"` -> the object; `"package.module"` -> the module."""
    module, _, name = path.partition(":")
    module = importlib.import_module(module)
    return getattr(module, name) if name else module


@dataclasses.dataclass(frozen=True)
class Family:
    """A model family as the loader, the hub and the commands see it.

    Attributes:
      name: "bert", "xlnet".
      title: how messages spell it ("BERT").
      backbone, tokenizer: import paths of the classes ("package.module:Class");
        `backbone_cls` / `tokenizer_cls` import them.
      task_classes: `{task kind: import path}` ("classifier",
        "question_answerer", "pretrainer"); `tasks` imports them.
      formats: `{format name: module path}`: one module per checkpoint format
        the family reads, each implementing
        `kerabert.presets.formats.family_format.FamilyFormat`.
      hf_model_types: the `model_type`s of Hugging Face configs it reads.
      tf_config_files: config file names of its TensorFlow checkpoint releases.
      tokenizer_files: the vocabulary files its tokenizer needs.
      keras_hub_backbones: the keras-hub backbone classes it reads ("BertBackbone").
      keras_hub_tokenizers: the keras-hub tokenizer classes it reads ("BertTokenizer").
    """

    name: str
    title: str
    backbone: str
    tokenizer: str
    task_classes: dict
    formats: dict
    hf_model_types: tuple
    tf_config_files: tuple
    tokenizer_files: tuple
    keras_hub_backbones: tuple = ()
    keras_hub_tokenizers: tuple = ()

    @property
    def backbone_cls(self):
        return import_path(self.backbone)

    @property
    def tokenizer_cls(self):
        return import_path(self.tokenizer)

    @property
    def tasks(self):
        """`{task kind: task class}`."""
        return {kind: import_path(path) for kind, path in self.task_classes.items()}

    def format(self, format_name):
        """The family's module for `format_name` (a `FamilyFormat`)."""
        path = self.formats.get(format_name)
        if path is None:
            raise NotImplementedError(
                f"kerabert has no {format_name} support for {self.title} models; it handles "
                f"{', '.join(sorted(self.formats))}.")
        return import_path(path)


@dataclasses.dataclass(frozen=True)
class Preset:
    """A built-in preset name. `params` is the exact parameter count of the
    backbone (no task head) computed from the checkpoint's published config;
    `aliases` are other libraries' names for the same checkpoint."""

    name: str
    hf_repo: str
    family: str
    params: int
    description: str
    aliases: tuple = ()

    def as_dict(self):
        return {"name": self.name, "hf_repo": self.hf_repo, "family": self.family,
                "params": self.params, "description": self.description}


class _Tables:
    """The families, presets and aliases, read from the registered family
    packages on the first lookup (again after a new registration)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._loaded = None

    def get(self):
        if self._loaded is None:
            with self._lock:
                if self._loaded is None:
                    families, presets, aliases = {}, {}, {}
                    for name, path in dict(_FAMILY_MODULES).items():
                        module = importlib.import_module(path)
                        families[name] = module.FAMILY
                        for preset in module.PRESETS:
                            presets[preset.name] = preset
                            aliases.update(dict.fromkeys(preset.aliases, preset.name))
                    self._loaded = families, presets, aliases
        return self._loaded


    def reset(self):
        with self._lock:
            self._loaded = None


_TABLES = _Tables()


def register_family_modules(modules):
    """Tells the registry `{family name: import path of its package}`; the
    packages are imported on the first lookup."""
    _FAMILY_MODULES.update(modules)
    _TABLES.reset()


def family_names():
    """The registered families' names (their packages are not imported)."""
    return list(_FAMILY_MODULES)


def _families():
    return _TABLES.get()[0]


def keras_hub_presets():
    """`{name: Kaggle handle}` of the keras-hub presets of every family's
    keras-hub backbones, from the installed keras-hub's own tables."""
    import keras_hub

    handles = {}
    for family_ in _families().values():
        for class_name in family_.keras_hub_backbones:
            presets = getattr(getattr(keras_hub.models, class_name, None), "presets", None) or {}
            handles.update({name: entry["kaggle_handle"] for name, entry in presets.items()
                            if "kaggle_handle" in entry})
    return handles


def families():
    """The registered families, in registration order."""
    return list(_families().values())


def family(name):
    return _families()[name]


def family_of(model_or_class):
    """The family whose backbone, tokenizer or task class `model_or_class` is
    (or is an instance of); None when no family claims it."""
    cls = model_or_class if isinstance(model_or_class, type) else type(model_or_class)
    for candidate in _families().values():
        owned = (candidate.backbone_cls, candidate.tokenizer_cls, *candidate.tasks.values())
        if issubclass(cls, owned):
            return candidate
    return None


def export_parts(model, tokenizer, format_name, target):
    """What an export of `model` (a backbone or a task) to `format_name`
    works from: `(the family's format module, backbone, task or None,
    tokenizer)`; the tokenizer defaults to a task's preprocessor's. `target`
    names the format in messages ("transformers")."""
    family = family_of(model)
    if family is None or format_name not in family.formats:
        raise NotImplementedError(
            f"Exporting a {type(model).__name__} to {target} is not supported.")
    backbone = getattr(model, "backbone", model)
    task = None if model is backbone else model
    if tokenizer is None and task is not None and task.preprocessor is not None:
        tokenizer = task.preprocessor.tokenizer
    return family.format(format_name), backbone, task, tokenizer


def family_for_model_type(model_type):
    """The family that reads Hugging Face configs of `model_type`, or None."""
    return next((f for f in _families().values() if model_type in f.hf_model_types), None)


def family_for_keras_hub(class_name):
    """The family that reads keras-hub presets of backbone or tokenizer
    `class_name`, or None."""
    return next((f for f in _families().values()
                 if class_name in f.keras_hub_backbones + f.keras_hub_tokenizers), None)


def keras_hub_names():
    return sorted(n for f in _families().values()
                  for n in f.keras_hub_backbones + f.keras_hub_tokenizers)


def hf_model_types():
    return sorted(t for f in _families().values() for t in f.hf_model_types)


def tf_config_files():
    """Every family's TF checkpoint config file names."""
    return [name for f in _families().values() for name in f.tf_config_files]


def get(name):
    """The `Preset` of a built-in name (or of an alias of one), or None."""
    _, presets, aliases = _TABLES.get()
    return presets.get(aliases.get(name, name))


def preset_names(aliases=False):
    """The built-in names; with `aliases`, other libraries' names of them too."""
    _, presets, alias_names = _TABLES.get()
    return list(presets) + (list(alias_names) if aliases else [])


def list_presets():
    """The built-in presets as a list of dicts (name, hf_repo, family, params,
    description), in table order.

    Example:
    ```python
    for p in kerabert.list_presets():
        print(p["name"], p["params"], p["hf_repo"])
    ```
    The command `kerabert presets` prints the same table.
    """
    return [preset.as_dict() for preset in _TABLES.get()[1].values()]


def format_params(count):
    return f"{count / 1e9:.2f}B" if count >= 1e9 else f"{count / 1e6:.1f}M"
