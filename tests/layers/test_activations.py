"""kerabert's activation names against the formulas, and the checkpoint spellings."""

import numpy as np
import pytest
from scipy.special import erf

from kerabert.layers import activations

X = np.linspace(-6, 6, 241).astype("float32")


def test_gelu_is_the_erf_formula():
    expected = 0.5 * X * (1 + erf(X / np.sqrt(2)))
    np.testing.assert_allclose(activations.get_activation("gelu")(X), expected, atol=1e-6)


def test_gelu_approximate_is_the_tanh_formula():
    x = X.astype("float64")
    expected = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))
    np.testing.assert_allclose(activations.get_activation("gelu_approximate")(X), expected,
                               atol=1e-6)
    # The two differ: a mix-up would show.
    exact = 0.5 * x * (1 + erf(x / np.sqrt(2)))
    assert np.abs(expected - exact).max() > 1e-4


@pytest.mark.parametrize("name, formula", [
    ("relu", lambda x: np.maximum(x, 0)), ("tanh", np.tanh),
    ("silu", lambda x: x / (1 + np.exp(-x))), ("linear", lambda x: x)])
def test_other_activations(name, formula):
    np.testing.assert_allclose(activations.get_activation(name)(X), formula(X), atol=1e-6)


def test_unknown_activation_names_both_gelus():
    with pytest.raises(ValueError, match="gelu_approximate"):
        activations.get_activation("gelu_new")


# Hugging Face: "gelu" is exact; gelu_new / gelu_pytorch_tanh / gelu_fast the tanh form.
# Google's TF1 BERT and XLNet: "gelu" is the tanh form.
@pytest.mark.parametrize("spellings, spelled, meaning", [
    (activations.HF_SPELLINGS, "gelu", "gelu"),
    (activations.HF_SPELLINGS, "gelu_new", "gelu_approximate"),
    (activations.HF_SPELLINGS, "gelu_pytorch_tanh", "gelu_approximate"),
    (activations.HF_SPELLINGS, "gelu_fast", "gelu_approximate"),
    (activations.HF_SPELLINGS, "swish", "silu"),
    (activations.HF_SPELLINGS, "relu", "relu"),
    (activations.TF1_SPELLINGS, "gelu", "gelu_approximate"),
    (activations.TF1_SPELLINGS, "relu", "relu"),
])
def test_spellings_read(spellings, spelled, meaning):
    assert activations.from_spelling(spelled, spellings, "hidden_act") == meaning


def test_spellings_write_the_first_spelling():
    assert activations.spelling("gelu", activations.HF_SPELLINGS) == "gelu"
    assert activations.spelling("gelu_approximate", activations.HF_SPELLINGS) == "gelu_new"
    assert activations.spelling("gelu_approximate", activations.TF1_SPELLINGS) == "gelu"
    # Every spelling's meaning is an activation kerabert can run.
    for table in (activations.HF_SPELLINGS, activations.TF1_SPELLINGS):
        for meaning in table.values():
            activations.get_activation(meaning)


def test_unsupported_spellings_raise():
    with pytest.raises(ValueError, match="Unsupported hidden_act 'gelu_new'"):
        activations.from_spelling("gelu_new", activations.TF1_SPELLINGS, "hidden_act")
    # TF1 has no exact GELU.
    with pytest.raises(ValueError, match="no equivalent"):
        activations.spelling("gelu", activations.TF1_SPELLINGS)
