"""Activation names used in kerabert configs, and how checkpoint formats spell them.

BERT's original TF1 code and the Model Garden seeds use the *tanh approximation* of
GELU under the name "gelu"; Hugging Face's "gelu" is the exact erf form and its
tanh forms are "gelu_new" / "gelu_pytorch_tanh" / "gelu_fast". kerabert names the
two unambiguously, and each converter translates its format's spelling.
"""

import keras

GELU = "gelu"  # exact: 0.5 * x * (1 + erf(x / sqrt(2)))
GELU_APPROXIMATE = "gelu_approximate"  # 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))

_ACTIVATIONS = {
    GELU: lambda x: keras.activations.gelu(x, approximate=False),
    GELU_APPROXIMATE: lambda x: keras.activations.gelu(x, approximate=True),
    "relu": keras.activations.relu,
    "tanh": keras.activations.tanh,
    "silu": keras.activations.silu,
    "linear": keras.activations.linear,
}


# How checkpoint formats spell kerabert's activations; the first spelling of an
# activation is the one an export writes.
HF_SPELLINGS = {
    "gelu": GELU,
    "gelu_new": GELU_APPROXIMATE,
    "gelu_pytorch_tanh": GELU_APPROXIMATE,
    "gelu_fast": GELU_APPROXIMATE,
    "relu": "relu",
    "tanh": "tanh",
    "silu": "silu",
    "swish": "silu",
}
# The Google reference code (BERT's `get_activation`, XLNet's `ff_activation`):
# its "gelu" is the tanh form.
TF1_SPELLINGS = {
    "gelu": GELU_APPROXIMATE,
    "relu": "relu",
    "tanh": "tanh",
    "linear": "linear",
}


def from_spelling(spelled, spellings, field):
    """The kerabert activation a format's `field` value `spelled` means."""
    if spelled not in spellings:
        raise ValueError(f"Unsupported {field} {spelled!r}; supported: {sorted(spellings)}.")
    return spellings[spelled]


def spelling(name, spellings):
    """How a format spells the kerabert activation `name` (its first spelling)."""
    for spelled, meaning in spellings.items():
        if meaning == name:
            return spelled
    exportable = sorted({meaning for meaning in spellings.values()})
    raise ValueError(f"The activation {name!r} has no equivalent in this format; exportable: "
                     f"{exportable}.")


def get_activation(name):
    """Returns the activation function for a kerabert activation name."""
    if name not in _ACTIVATIONS:
        raise ValueError(
            f"Unknown activation {name!r}; kerabert knows {sorted(_ACTIVATIONS)}. "
            "Use 'gelu' for the exact erf GELU and 'gelu_approximate' for the tanh "
            "form of the original BERT checkpoints."
        )
    return _ACTIVATIONS[name]
