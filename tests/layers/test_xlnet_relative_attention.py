"""XLNetRelativeAttention against a numpy transcription of its score formula."""

import numpy as np
import pytest

from kerabert.layers.xlnet_relative_attention import XLNetRelativeAttention
from kerabert.layers.xlnet_relative_position_encoding import XLNetRelativePositionEncoding
from tests.layers import checks

B, Q, H, N, D = 2, 5, 8, 2, 3
RNG = np.random.default_rng(4)
X = RNG.normal(size=(B, Q, H)).astype("float32")
G = RNG.normal(size=(B, Q, H)).astype("float32")
SEGMENTS = np.array([[0, 0, 1, 1, 1], [0, 0, 0, 1, 1]])
SEG_MAT = (SEGMENTS[:, :, None] != SEGMENTS[:, None, :]).astype("float32")
MASK = np.zeros((B, Q, Q), "float32")
MASK[1, :, :2] = 1  # row 1: the first two keys are padding
POS_EMB = np.asarray(XLNetRelativePositionEncoding(H)(np.zeros((B, Q), "int32")))
BIASES = tuple(RNG.normal(size=(N, D)).astype("float32") for _ in range(3))


def _layer(dtype="float32"):
    return XLNetRelativeAttention(N, D, kernel_initializer="glorot_normal", dtype=dtype)


def _call(layer):
    return layer(X, pos_emb=POS_EMB, biases=BIASES, seg_mat=SEG_MAT, mask_h=MASK)


@pytest.fixture(scope="module")
def layer():
    layer = _layer()
    _call(layer)
    layer.layer_norm.set_weights([RNG.normal(size=(H,)).astype("float32") for _ in range(2)])
    return layer


def _reference(layer, h, mask):
    w = {n: getattr(layer, n).numpy() for n in ("q", "k", "v", "o", "r", "seg_embed")}
    r_w, r_r, r_s = BIASES
    q = np.einsum("bih,hnd->bind", h, w["q"])
    k = np.einsum("bjh,hnd->bjnd", h, w["k"])
    v = np.einsum("bjh,hnd->bjnd", h, w["v"])
    r = np.einsum("rh,hnd->rnd", POS_EMB[0], w["r"])  # row t holds distance Q - t
    score = np.einsum("bind,bjnd->bnij", q + r_w, k)
    for i in range(Q):
        for j in range(Q):
            # distance i - j is row Q - (i - j)
            score[:, :, i, j] += np.einsum("bnd,nd->bn", q[:, i] + r_r, r[Q - i + j])
            seg = w["seg_embed"][SEG_MAT[:, i, j].astype(int)]  # (B, N, D)
            score[:, :, i, j] += np.einsum("bnd,bnd->bn", q[:, i] + r_s, seg)
    score = score / np.sqrt(D) - 1e30 * mask[:, None]
    context = np.einsum("bnij,bjnd->bind", checks.softmax(score), v)
    out = np.einsum("bind,hnd->bih", context, w["o"]) + h
    return checks.layer_norm(out, layer.layer_norm.gamma.numpy(), layer.layer_norm.beta.numpy(),
                             1e-12)


def test_shape_dtype_and_numpy_reference(layer):
    out = _call(layer)
    assert out.shape == (B, Q, H) and out.dtype == "float32"
    np.testing.assert_allclose(out, _reference(layer, X, MASK), atol=1e-4)


def test_blocked_keys_are_not_attended(layer):
    changed = X.copy()
    changed[1, :2] = RNG.normal(size=(2, H))
    after = np.asarray(layer(changed, pos_emb=POS_EMB, biases=BIASES, seg_mat=SEG_MAT,
                             mask_h=MASK))
    before = np.asarray(_call(layer))
    np.testing.assert_allclose(after[1, 2:], before[1, 2:], atol=1e-5)
    np.testing.assert_array_equal(after[0], before[0])


def test_two_streams(layer):
    mask_g = np.maximum(MASK, np.eye(Q, dtype="float32"))  # g never sees its own token
    h, g = layer(X, G, pos_emb=POS_EMB, biases=BIASES, seg_mat=SEG_MAT, mask_h=MASK,
                 mask_g=mask_g)
    assert h.shape == g.shape == (B, Q, H)
    np.testing.assert_allclose(h, _call(layer), atol=1e-6)
    # g's own content at position i does not reach its output at i: only its query does.
    changed = X.copy()
    changed[:, 3] += 1.0
    _, g2 = layer(changed, G, pos_emb=POS_EMB, biases=BIASES, seg_mat=SEG_MAT, mask_h=MASK,
                  mask_g=mask_g)
    np.testing.assert_allclose(np.asarray(g2)[:, 3], np.asarray(g)[:, 3], atol=1e-5)


def test_round_trips(layer):
    checks.assert_round_trips(layer, _call)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_close_to_float32(policy):
    checks.assert_mixed_close(_layer, _call, policy, rtol=2e-2, atol=5e-2)
