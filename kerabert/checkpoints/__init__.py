"""Each model family's checkpoint knowledge, one package per family:

    <family>/__init__.py   the `Family` (classes, names, one module per format) and
                           its built-in presets, as data
    <family>/config.py     every config key of every format (one table per format)
    <family>/weights.py    every tensor name of every format (one table per model part)
    <family>/huggingface.py, google.py, keras_hub.py
                           one module per checkpoint format, each implementing
                           `kerabert.presets.formats.family_format.FamilyFormat`

Nothing here is imported until `kerabert.presets.registry` is asked about a
family (see its `FAMILY_MODULES`).
"""
