"""Which kerabert class a command builds for a preset."""

# task kind -> the task class name, by the preset's backbone class.
TASKS = {
    "classifier": {"BertBackbone": "BertClassifier", "XLNetBackbone": "XLNetClassifier"},
    "question_answerer": {"BertBackbone": "BertQuestionAnswerer",
                          "XLNetBackbone": "XLNetQuestionAnswerer"},
}


def task_class(preset, kind):
    """The task class of kind `kind` ("classifier", "question_answerer") for the
    model family of `preset`."""
    import kerabert
    from kerabert.presets import loader

    backbone = loader.backbone_class(loader.resolve(preset)).__name__
    if backbone not in TASKS[kind]:
        raise ValueError(f"{preset} holds a {backbone}, for which kerabert has no {kind}.")
    return getattr(kerabert, TASKS[kind][backbone])


def family(model):
    """"bert" or "xlnet": the family of a task or backbone."""
    backbone = getattr(model, "backbone", model)
    return type(backbone).__name__.replace("Backbone", "").lower()
