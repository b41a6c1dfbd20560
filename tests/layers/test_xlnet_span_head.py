"""XLNetSpanHead: masked start / end logits and the answer class, against numpy."""

import numpy as np
import pytest
from scipy.special import log_softmax

from kerabert.layers.xlnet_span_head import XLNetSpanHead
from tests.layers import checks

B, L, H, K1, K2 = 2, 7, 8, 2, 3
RNG = np.random.default_rng(6)
HIDDEN = RNG.normal(size=(B, L, H)).astype("float32")
P_MASK = np.array([[1, 1, 0, 0, 0, 0, 1], [1, 0, 0, 0, 1, 1, 1]], "float32")
CLS = np.array([6, 6], "int32")


def _layer(dtype="float32"):
    return XLNetSpanHead(H, start_n_top=K1, end_n_top=K2, kernel_initializer="glorot_normal",
                         dtype=dtype)


def _call(layer):
    return layer(HIDDEN, P_MASK, CLS)


@pytest.fixture(scope="module")
def layer():
    layer = _layer()
    _call(layer)
    return layer


def _dense(d, x):
    out = x @ d.kernel.numpy()
    return out + d.bias.numpy() if d.use_bias else out


def _start_logits(layer):
    logits = _dense(layer.start_logits, HIDDEN)[..., 0]
    return logits * (1 - P_MASK) - 1e30 * P_MASK


def _end_log_probs(layer, start_state):
    """(B, L) end log-probabilities given one start state (B, H) per row."""
    x = np.concatenate([HIDDEN, np.broadcast_to(start_state[:, None], HIDDEN.shape)], -1)
    x = np.tanh(_dense(layer.end_logits_dense_0, x))
    norm = layer.end_logits_layer_norm
    x = checks.layer_norm(x, norm.gamma.numpy(), norm.beta.numpy(), 1e-12)
    logits = _dense(layer.end_logits_dense_1, x)[..., 0]
    return log_softmax(logits * (1 - P_MASK) - 1e30 * P_MASK, -1)


def test_outputs_against_numpy(layer):
    out = _call(layer)
    assert {k: (tuple(v.shape), v.dtype) for k, v in out.items()} == {
        "start_top_log_probs": ((B, K1), "float32"), "start_top_index": ((B, K1), "int32"),
        "end_top_log_probs": ((B, K1 * K2), "float32"),
        "end_top_index": ((B, K1 * K2), "int32"), "cls_logits": ((B,), "float32")}
    start = log_softmax(_start_logits(layer), -1)
    order = np.argsort(-start, -1)[:, :K1]
    np.testing.assert_array_equal(out["start_top_index"], order)
    np.testing.assert_allclose(out["start_top_log_probs"],
                               np.take_along_axis(start, order, -1), atol=1e-5)
    for i in range(K1):  # entry i * K2 + j: the j-th best end of the i-th best start
        end = _end_log_probs(layer, HIDDEN[np.arange(B), order[:, i]])
        best = np.argsort(-end, -1)[:, :K2]
        np.testing.assert_array_equal(out["end_top_index"][:, i * K2:(i + 1) * K2], best)
        np.testing.assert_allclose(out["end_top_log_probs"][:, i * K2:(i + 1) * K2],
                                   np.take_along_axis(end, best, -1), atol=1e-5)
    weights = checks.softmax(_start_logits(layer))
    x = np.concatenate([np.einsum("bl,blh->bh", weights, HIDDEN), HIDDEN[np.arange(B), CLS]], -1)
    cls = _dense(layer.answer_class_dense_1, np.tanh(_dense(layer.answer_class_dense_0, x)))
    np.testing.assert_allclose(out["cls_logits"], cls[:, 0], atol=1e-5)


def test_p_masked_positions_are_never_chosen(layer):
    out = _call(layer)
    for key in ("start_top_index", "end_top_index"):
        assert not np.take_along_axis(P_MASK, np.asarray(out[key]), -1).any()


def test_loss_terms_against_numpy(layer):
    starts, ends, impossible = np.array([2, 1]), np.array([4, 3]), np.array([0.0, 1.0])
    terms = layer.loss_terms(HIDDEN, P_MASK, CLS, starts, ends, impossible)
    start = log_softmax(_start_logits(layer), -1)
    end = _end_log_probs(layer, HIDDEN[np.arange(B), starts])
    np.testing.assert_allclose(terms["start"], -start[np.arange(B), starts].mean(), rtol=1e-5)
    np.testing.assert_allclose(terms["end"], -end[np.arange(B), ends].mean(), rtol=1e-5)
    loss = layer.loss(HIDDEN, P_MASK, CLS, starts, ends, impossible)
    np.testing.assert_allclose(
        loss, 0.5 * (terms["start"] + terms["end"]) + 0.5 * terms["answer_class"], rtol=1e-6)


def test_round_trips(layer):
    checks.assert_round_trips(layer, _call)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_close_to_float32(policy):
    # Logits are float32 under every policy; the beam (top-k) may reorder near-ties,
    # so the float outputs compared are the masked start logits and the answer class.
    def call(layer):
        start = layer.start(HIDDEN, P_MASK)
        return {"start_logits": start * (1 - P_MASK),
                "cls_logits": layer.answer_class(HIDDEN, start, CLS)}

    checks.assert_mixed_close(_layer, call, policy, rtol=2e-2, atol=5e-2, output_dtype="float32")
