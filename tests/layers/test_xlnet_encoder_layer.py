"""XLNetEncoderLayer: relative attention, then the feed-forward block, in numpy."""

import numpy as np
import pytest
from scipy.special import erf

from kerabert.layers.xlnet_encoder_layer import XLNetEncoderLayer
from tests.layers import checks
from tests.layers.test_xlnet_relative_attention import BIASES
from tests.layers.test_xlnet_relative_attention import G
from tests.layers.test_xlnet_relative_attention import MASK
from tests.layers.test_xlnet_relative_attention import POS_EMB
from tests.layers.test_xlnet_relative_attention import SEG_MAT
from tests.layers.test_xlnet_relative_attention import X
from tests.layers.test_xlnet_relative_attention import _reference as attention_reference

B, Q, H, N, D, F = 2, 5, 8, 2, 3, 12
RNG = np.random.default_rng(5)


def _layer(dtype="float32"):
    return XLNetEncoderLayer(N, D, H, F, activation="gelu", dtype=dtype)


def _call(layer):
    return layer(X, pos_emb=POS_EMB, biases=BIASES, seg_mat=SEG_MAT, mask_h=MASK)


@pytest.fixture(scope="module")
def layer():
    layer = _layer()
    _call(layer)
    for norm in (layer.rel_attn.layer_norm, layer.ff_layer_norm):
        norm.set_weights([RNG.normal(size=(H,)).astype("float32") for _ in range(2)])
    return layer


def _feed_forward(layer, x):
    h = x @ layer.ff_layer_1.kernel.numpy() + layer.ff_layer_1.bias.numpy()
    h = 0.5 * h * (1 + erf(h / np.sqrt(2)))
    y = h @ layer.ff_layer_2.kernel.numpy() + layer.ff_layer_2.bias.numpy()
    norm = layer.ff_layer_norm
    return checks.layer_norm(x + y, norm.gamma.numpy(), norm.beta.numpy(), 1e-12)


def test_shape_dtype_and_numpy_reference(layer):
    out = _call(layer)
    assert out.shape == (B, Q, H) and out.dtype == "float32"
    expected = _feed_forward(layer, attention_reference(layer.rel_attn, X, MASK))
    np.testing.assert_allclose(out, expected, atol=1e-4)


def test_two_streams_share_the_feed_forward(layer):
    mask_g = np.maximum(MASK, np.eye(Q, dtype="float32"))
    h, g = layer(X, G, pos_emb=POS_EMB, biases=BIASES, seg_mat=SEG_MAT, mask_h=MASK,
                 mask_g=mask_g)
    np.testing.assert_allclose(h, _call(layer), atol=1e-6)
    _, g_attention = layer.rel_attn(X, G, pos_emb=POS_EMB, biases=BIASES, seg_mat=SEG_MAT,
                                    mask_h=MASK, mask_g=mask_g)
    np.testing.assert_allclose(g, _feed_forward(layer, np.asarray(g_attention)), atol=1e-4)


def test_blocked_keys_do_not_reach_real_ones(layer):
    changed = X.copy()
    changed[1, :2] = RNG.normal(size=(2, H))
    after = np.asarray(layer(changed, pos_emb=POS_EMB, biases=BIASES, seg_mat=SEG_MAT,
                             mask_h=MASK))
    np.testing.assert_allclose(after[1, 2:], np.asarray(_call(layer))[1, 2:], atol=1e-5)


def test_dropout_only_in_training(layer):
    np.testing.assert_array_equal(layer(X, pos_emb=POS_EMB, biases=BIASES, training=False),
                                  layer(X, pos_emb=POS_EMB, biases=BIASES))
    assert not np.allclose(layer(X, pos_emb=POS_EMB, biases=BIASES, training=True),
                           layer(X, pos_emb=POS_EMB, biases=BIASES))


def test_round_trips(layer):
    checks.assert_round_trips(layer, _call)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_close_to_float32(policy):
    checks.assert_mixed_close(_layer, _call, policy, rtol=2e-2, atol=5e-2)
