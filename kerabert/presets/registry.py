"""What the preset machinery knows about model families, told by the families.

The modules here read and write files and know no model. Each family (BERT,
XLNet) registers itself from `kerabert/checkpoints/<family>.py` with a
`Family`: its classes, how checkpoints of other libraries name it, and the
module that converts them. Built-in preset names (a name -> a checkpoint on the
Hugging Face Hub) are registered the same way.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Family:
    """A model family as the loader, the hub and the commands see it.

    Attributes:
      name: "bert", "xlnet".
      title: how messages spell it ("BERT").
      checkpoints: the family's checkpoint module, with the functions the
        loader calls (`backbone_config`, `head_config`, `tokenizer`,
        `load_weights`, `tf_layout`, ... see `kerabert/checkpoints/bert.py`).
      backbone_cls, tokenizer_cls: classes.
      tasks: `{task kind: task class}` ("classifier", "question_answerer",
        "pretrainer").
      hf_model_types: the `model_type`s of Hugging Face configs it reads.
      tf_config_files: config file names of its TensorFlow checkpoint releases.
      tokenizer_files: the vocabulary files its tokenizer needs.
      keras_hub_backbones: the keras-hub backbone classes it reads ("BertBackbone").
      keras_hub_tokenizers: the keras-hub tokenizer classes it reads ("BertTokenizer").
    """

    name: str
    title: str
    checkpoints: object
    backbone_cls: type
    tokenizer_cls: type
    tasks: dict
    hf_model_types: tuple
    tf_config_files: tuple
    tokenizer_files: tuple
    keras_hub_backbones: tuple = ()
    keras_hub_tokenizers: tuple = ()


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


_FAMILIES = {}
_PRESETS = {}
_ALIASES = {}


def register_family(family):
    _FAMILIES[family.name] = family


def register_presets(presets):
    for preset in presets:
        _PRESETS[preset.name] = preset
        for alias in preset.aliases:
            _ALIASES[alias] = preset.name


def keras_hub_presets():
    """`{name: Kaggle handle}` of the keras-hub presets of every family's
    keras-hub backbones, from the installed keras-hub's own tables."""
    import keras_hub

    handles = {}
    for family_ in _FAMILIES.values():
        for class_name in family_.keras_hub_backbones:
            presets = getattr(getattr(keras_hub.models, class_name, None), "presets", None) or {}
            handles.update({name: entry["kaggle_handle"] for name, entry in presets.items()
                            if "kaggle_handle" in entry})
    return handles


def families():
    """The registered families, in registration order."""
    return list(_FAMILIES.values())


def family(name):
    return _FAMILIES[name]


def family_of(model_or_class):
    """The family whose backbone, tokenizer or task class `model_or_class` is
    (or is an instance of); None when no family claims it."""
    cls = model_or_class if isinstance(model_or_class, type) else type(model_or_class)
    for candidate in _FAMILIES.values():
        owned = (candidate.backbone_cls, candidate.tokenizer_cls, *candidate.tasks.values())
        if issubclass(cls, owned):
            return candidate
    return None


def export_parts(model, tokenizer, target, needs=None):
    """What an export of `model` (a backbone or a task) works from:
    `(family module, backbone, task or None, tokenizer)`; the tokenizer
    defaults to a task's preprocessor's. `needs`: a function the family
    module must have for the `target` format ("keras-hub")."""
    family = family_of(model)
    if family is None or (needs and not hasattr(family.checkpoints, needs)):
        raise NotImplementedError(
            f"Exporting a {type(model).__name__} to {target} is not supported.")
    backbone = getattr(model, "backbone", model)
    task = None if model is backbone else model
    if tokenizer is None and task is not None and task.preprocessor is not None:
        tokenizer = task.preprocessor.tokenizer
    return family.checkpoints, backbone, task, tokenizer


def family_for_model_type(model_type):
    """The family that reads Hugging Face configs of `model_type`, or None."""
    return next((f for f in _FAMILIES.values() if model_type in f.hf_model_types), None)


def family_for_keras_hub(class_name):
    """The family that reads keras-hub presets of backbone or tokenizer
    `class_name`, or None."""
    return next((f for f in _FAMILIES.values()
                 if class_name in f.keras_hub_backbones + f.keras_hub_tokenizers), None)


def keras_hub_names():
    return sorted(n for f in _FAMILIES.values()
                  for n in f.keras_hub_backbones + f.keras_hub_tokenizers)


def hf_model_types():
    return sorted(t for f in _FAMILIES.values() for t in f.hf_model_types)


def tf_config_files():
    """Every family's TF checkpoint config file names."""
    return [name for f in _FAMILIES.values() for name in f.tf_config_files]


def get(name):
    """The `Preset` of a built-in name (or of an alias of one), or None."""
    return _PRESETS.get(_ALIASES.get(name, name))


def preset_names(aliases=False):
    """The built-in names; with `aliases`, other libraries' names of them too."""
    return list(_PRESETS) + (list(_ALIASES) if aliases else [])


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
    return [preset.as_dict() for preset in _PRESETS.values()]


def format_params(count):
    return f"{count / 1e9:.2f}B" if count >= 1e9 else f"{count / 1e6:.1f}M"
