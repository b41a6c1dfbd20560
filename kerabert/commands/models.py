"""Which kerabert class a command builds for a preset."""

# The task kinds a command can build (`kerabert convert --task`).
TASK_KINDS = ("classifier", "question_answerer")


def task_class(preset, kind):
    """The task class of kind `kind` ("classifier", "question_answerer") for the
    model family of `preset` (a preset, or a `PresetLoader` already open)."""
    
    from kerabert.presets import loader
    from kerabert.presets import registry

    if not isinstance(preset, loader.PresetLoader):
        preset = loader.PresetLoader(preset)
    backbone = preset.backbone_class()
    family = registry.family_of(backbone)
    if family is None or kind not in family.tasks:
        raise ValueError(f"{preset.folder} holds a {backbone.__name__}, for which kerabert has "
                         f"no {kind}.")
    return family.tasks[kind]


def family(model):
    """The registered family ("bert", "xlnet") of a task or backbone."""
    from kerabert.presets import registry

    return registry.family_of(model).name
