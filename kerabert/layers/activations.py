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


def get_activation(name):
    """Returns the activation function for a kerabert activation name."""
    if name not in _ACTIVATIONS:
        raise ValueError(
            f"Unknown activation {name!r}; kerabert knows {sorted(_ACTIVATIONS)}. "
            "Use 'gelu' for the exact erf GELU and 'gelu_approximate' for the tanh "
            "form of the original BERT checkpoints."
        )
    return _ACTIVATIONS[name]
