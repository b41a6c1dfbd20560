"""XLNetRelativeSegments: 1 where query and key segments differ."""

import numpy as np

from kerabert.layers.xlnet_relative_segments import XLNetRelativeSegments
from tests.layers import checks

SEGMENTS = np.array([[0, 0, 1, 1], [0, 1, 1, 2]], "int32")
MEMORY = np.zeros((2, 3, 8), "float32")


def test_against_numpy():
    out = XLNetRelativeSegments()(SEGMENTS)
    assert out.shape == (2, 4, 4) and out.dtype == "float32"
    expected = (SEGMENTS[:, :, None] != SEGMENTS[:, None, :]).astype("float32")
    np.testing.assert_array_equal(out, expected)


def test_memory_counts_as_segment_zero():
    out = XLNetRelativeSegments()(SEGMENTS, memory=MEMORY)
    assert out.shape == (2, 4, 7)
    keys = np.concatenate([np.zeros((2, 3), "int32"), SEGMENTS], 1)
    np.testing.assert_array_equal(out, SEGMENTS[:, :, None] != keys[:, None, :])
    np.testing.assert_array_equal(out[:, :, :3], (SEGMENTS != 0)[:, :, None].repeat(3, -1))


def test_round_trips():
    checks.assert_round_trips(XLNetRelativeSegments(), lambda l: l(SEGMENTS, memory=MEMORY))


def test_float32_under_mixed_precision():
    checks.assert_mixed_close(lambda dtype: XLNetRelativeSegments(dtype=dtype),
                              lambda l: l(SEGMENTS), rtol=0, atol=0, output_dtype="float32")
