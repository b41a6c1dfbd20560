"""Each model family's checkpoint knowledge, one package per family:

    <family>/__init__.py   the `Family` (classes, names, one module per format) and
                           its built-in presets, as data
    <family>/config.py     every config key of every format (one table per format)
    <family>/weights.py    every tensor name of every format (one table per model part)
    <family>/huggingface.py, google.py, keras_hub.py
                           one module per checkpoint format, each implementing
                           `kerabert.presets.formats.family_format.FamilyFormat`

This file tells the registry where the families are, by import path, when
`kerabert` is imported; the family packages themselves are imported only when
`kerabert.presets.registry` is first asked about a family.
"""

from kerabert.presets import registry

registry.register_family_modules({
    "bert": f"{__name__}.bert",
    "xlnet": f"{__name__}.xlnet",
})
