"""XLNetAttentionMasks against a numpy transcription of the reference masks."""

import numpy as np
import pytest

from kerabert.layers.xlnet_attention_masks import XLNetAttentionMasks
from tests.layers import checks

Q, M = 4, 2
TOKENS = np.zeros((2, Q), "int32")
PADDING = np.array([[1, 1, 1, 1], [0, 1, 1, 1]], "int32")
PERM = np.random.default_rng(3).integers(0, 2, (2, Q, Q)).astype("float32")
MEMORY = np.zeros((2, M, 8), "float32")


def _reference(attn_type, padding=None, perm=None, mlen=0, same_length=False):
    """(mask_h, mask_g), both (B, Q, M + Q), 1 = blocked."""
    mask = np.zeros((2, Q, mlen + Q))
    if attn_type == "uni":
        for i in range(Q):
            mask[:, i, mlen + i + 1:] = 1  # later keys
            if same_length:
                # The reference adds a strict lower triangle to the first qlen
                # columns: query i sees keys i .. mlen + i, mlen + 1 of them.
                mask[:, i, :i] = 1
    if padding is not None:
        mask[:, :, mlen:] += (1 - padding)[:, None, :]
    if perm is not None:
        mask[:, :, mlen:] += perm
    mask_g = (mask > 0).astype("float32")
    mask_h = mask_g.copy()
    for i in range(Q):
        mask_h[:, i, mlen + i] = 0  # the content stream sees itself
    return mask_h, mask_g


def _check(out, expected):
    for ours, theirs in zip(out, expected):
        assert ours.dtype == "float32"
        np.testing.assert_array_equal(np.broadcast_to(ours, theirs.shape), theirs)


def test_nothing_to_mask():
    assert XLNetAttentionMasks("bi")(TOKENS) == (None, None)


@pytest.mark.parametrize("attn_type", ["bi", "uni"])
def test_padding_and_permutation(attn_type):
    layer = XLNetAttentionMasks(attn_type)
    _check(layer(TOKENS, padding_mask=PADDING), _reference(attn_type, padding=PADDING))
    _check(layer(TOKENS, padding_mask=PADDING, perm_mask=PERM),
           _reference(attn_type, padding=PADDING, perm=PERM))


def test_memory_columns_are_visible():
    out = XLNetAttentionMasks("uni")(TOKENS, padding_mask=PADDING, perm_mask=PERM, memory=MEMORY)
    _check(out, _reference("uni", PADDING, PERM, mlen=M))
    assert not np.asarray(out[1])[..., :M].any()


def test_uni_same_length():
    out = XLNetAttentionMasks("uni", same_length=True)(TOKENS, memory=MEMORY)
    _check(out, _reference("uni", mlen=M, same_length=True))
    assert ((1 - np.asarray(out[0])).sum(-1) == M + 1).all()


def test_bad_attn_type():
    with pytest.raises(ValueError, match="attn_type"):
        XLNetAttentionMasks("both")


def test_round_trips():
    layer = XLNetAttentionMasks("uni", same_length=True)
    checks.assert_round_trips(layer, lambda l: l(TOKENS, padding_mask=PADDING, perm_mask=PERM,
                                                 memory=MEMORY))


def test_float32_under_mixed_precision():
    checks.assert_mixed_close(lambda dtype: XLNetAttentionMasks("uni", dtype=dtype),
                              lambda l: l(TOKENS, padding_mask=PADDING), rtol=0, atol=0,
                              output_dtype="float32")
