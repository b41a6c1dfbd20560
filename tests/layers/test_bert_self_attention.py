"""BertSelfAttention against a numpy softmax(QK^T / sqrt(d) + mask) V."""

import numpy as np
import pytest

from kerabert.layers.bert_self_attention import BertSelfAttention
from tests.layers import checks

B, L, H, N = 2, 5, 8, 2
RNG = np.random.default_rng(0)
X = RNG.normal(size=(B, L, H)).astype("float32")
MASK = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], "int32")


def _layer(dtype="float32"):
    return BertSelfAttention(N, H, kernel_initializer="glorot_normal", dtype=dtype)


def _call(layer):
    return layer(X, padding_mask=MASK)


def _reference(layer, x, mask):
    def dense(d):
        return x @ d.kernel.numpy() + d.bias.numpy()

    def heads(t):
        return t.reshape(B, L, N, H // N).transpose(0, 2, 1, 3)

    q, k, v = (heads(dense(d)) for d in (layer.query, layer.key, layer.value))
    scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(H // N)
    scores = scores + (1.0 - mask[:, None, None, :]) * -10000.0
    context = (checks.softmax(scores) @ v).transpose(0, 2, 1, 3).reshape(B, L, H)
    out = layer.attention_output
    return context @ out.kernel.numpy() + out.bias.numpy()


@pytest.fixture(scope="module")
def layer():
    layer = _layer()
    _call(layer)
    return layer


def test_shape_dtype_and_numpy_reference(layer):
    out = _call(layer)
    assert out.shape == (B, L, H) and out.dtype == "float32"
    np.testing.assert_allclose(out, _reference(layer, X, MASK.astype("float32")), atol=1e-5)
    # Without a mask every key counts.
    np.testing.assert_allclose(layer(X), _reference(layer, X, np.ones((B, L), "float32")),
                               atol=1e-5)


def test_padded_keys_are_not_attended(layer):
    changed = X.copy()
    changed[1, 3:] = RNG.normal(size=(2, H))
    before, after = np.asarray(_call(layer)), np.asarray(layer(changed, padding_mask=MASK))
    np.testing.assert_allclose(after[1, :3], before[1, :3], atol=1e-6)
    np.testing.assert_array_equal(after[0], before[0])
    # Unmasked, the change is visible.
    assert not np.allclose(layer(changed)[1, :3], layer(X)[1, :3], atol=1e-3)


def test_hidden_dim_must_split_into_heads():
    with pytest.raises(ValueError, match="not a multiple"):
        BertSelfAttention(3, 8)


def test_round_trips(layer):
    checks.assert_round_trips(layer, _call)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_close_to_float32(policy):
    checks.assert_mixed_close(_layer, _call, policy)
