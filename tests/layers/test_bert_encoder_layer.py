"""BertEncoderLayer against a numpy post-LayerNorm Transformer block."""

import numpy as np
import pytest
from scipy.special import erf

from kerabert.layers.bert_encoder_layer import BertEncoderLayer
from tests.layers import checks
from tests.layers.test_bert_self_attention import _reference as attention_reference

B, L, H, N, F = 2, 5, 8, 2, 16
RNG = np.random.default_rng(1)
X = RNG.normal(size=(B, L, H)).astype("float32")
MASK = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], "int32")


def _layer(dtype="float32", activation="gelu"):
    return BertEncoderLayer(N, H, F, activation=activation, dropout=0.1,
                            attention_dropout=0.1, layer_norm_epsilon=1e-12, dtype=dtype)


def _call(layer):
    return layer(X, padding_mask=MASK)


def _randomize_norms(layer):
    for norm in (layer.self_attention_layer_norm, layer.output_layer_norm):
        norm.set_weights([RNG.normal(size=(H,)).astype("float32") for _ in range(2)])


@pytest.fixture(scope="module")
def layer():
    layer = _layer()
    _call(layer)
    _randomize_norms(layer)
    return layer


def _reference(layer, x, mask):
    def norm(n, t):
        return checks.layer_norm(t, n.gamma.numpy(), n.beta.numpy(), 1e-12)

    def dense(d, t):
        return t @ d.kernel.numpy() + d.bias.numpy()

    x = norm(layer.self_attention_layer_norm, x + attention_reference(layer.self_attention, x,
                                                                       mask))
    h = dense(layer.intermediate_dense, x)
    h = 0.5 * h * (1 + erf(h / np.sqrt(2)))
    return norm(layer.output_layer_norm, x + dense(layer.output_dense, h))


def test_shape_dtype_and_numpy_reference(layer):
    out = _call(layer)
    assert out.shape == (B, L, H) and out.dtype == "float32"
    np.testing.assert_allclose(out, _reference(layer, X, MASK.astype("float32")), atol=1e-4)


def test_inference_ignores_dropout_and_training_uses_it(layer):
    np.testing.assert_array_equal(layer(X, padding_mask=MASK, training=False), _call(layer))
    assert not np.allclose(layer(X, padding_mask=MASK, training=True), _call(layer))


def test_padded_positions_do_not_reach_real_ones(layer):
    changed = X.copy()
    changed[1, 3:] = RNG.normal(size=(2, H))
    before, after = np.asarray(_call(layer)), np.asarray(layer(changed, padding_mask=MASK))
    np.testing.assert_allclose(after[1, :3], before[1, :3], atol=1e-5)
    np.testing.assert_array_equal(after[0], before[0])


def test_round_trips(layer):
    checks.assert_round_trips(layer, _call)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_close_to_float32(policy):
    # LayerNorm outputs are O(1): a loose absolute tolerance.
    checks.assert_mixed_close(_layer, _call, policy, rtol=2e-2, atol=5e-2)
