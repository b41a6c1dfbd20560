"""XLNetRelativePositionEncoding against numpy sinusoids of the distances."""

import numpy as np
import pytest

from kerabert.layers.xlnet_relative_position_encoding import XLNetRelativePositionEncoding
from tests.layers import checks

H = 8
TOKENS = np.zeros((2, 5), "int32")
MEMORY = np.zeros((2, 3, H), "float32")


def _sinusoid(distances):
    inv_freq = 1.0 / 10000 ** (np.arange(0, H, 2.0) / H)
    angles = np.asarray(distances, "float64")[:, None] * inv_freq[None]
    return np.concatenate([np.sin(angles), np.cos(angles)], -1)


@pytest.mark.parametrize("attn_type, memory, distances", [
    ("bi", None, np.arange(5, -5, -1)),          # klen .. -qlen + 1
    ("uni", None, np.arange(5, -1, -1)),         # klen .. 0
    ("bi", MEMORY, np.arange(8, -5, -1)),        # klen = mlen + qlen
])
def test_distances_and_sinusoids(attn_type, memory, distances):
    layer = XLNetRelativePositionEncoding(H, attn_type=attn_type)
    out = layer(TOKENS, memory=memory)
    assert out.shape == (1, len(distances), H) and out.dtype == "float32"
    np.testing.assert_allclose(out[0], _sinusoid(distances), atol=1e-5)


def test_bi_data_adds_the_negated_distances_and_clamps():
    layer = XLNetRelativePositionEncoding(H, bi_data=True, clamp_len=3)
    out = layer(TOKENS)
    forward = np.clip(np.arange(5, -5, -1), -3, 3)
    assert out.shape == (2, 10, H)
    np.testing.assert_allclose(out[0], _sinusoid(forward), atol=1e-5)
    np.testing.assert_allclose(out[1], _sinusoid(-forward), atol=1e-5)


def test_clamp_without_bi_data():
    out = XLNetRelativePositionEncoding(H, clamp_len=2)(TOKENS)
    np.testing.assert_allclose(out[0], _sinusoid(np.clip(np.arange(5, -5, -1), -2, 2)),
                               atol=1e-5)


def test_bad_attn_type():
    with pytest.raises(ValueError, match="attn_type"):
        XLNetRelativePositionEncoding(H, attn_type="both")


def test_round_trips():
    layer = XLNetRelativePositionEncoding(H, attn_type="uni", bi_data=True, clamp_len=4)
    checks.assert_round_trips(layer, lambda l: l(TOKENS, memory=MEMORY))


def test_float32_under_mixed_precision():
    # The encoding is float32 under every policy (sin / cos of large distances).
    checks.assert_mixed_close(lambda dtype: XLNetRelativePositionEncoding(H, dtype=dtype),
                              lambda l: l(TOKENS), rtol=0, atol=0, output_dtype="float32")
