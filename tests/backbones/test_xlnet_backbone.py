"""XLNetBackbone against transformers' XLNetModel with the same weights.

Tiny random XLNets are saved by `transformers` and loaded through the HF
converter, so each test covers conversion and the maths. HF's XLNetModel is
time-major and takes `mems` as (M, B, H); kerabert's memory is (B, M, H).
"""

import keras
import numpy as np
import pytest
import torch

import kerabert
from kerabert.layers.xlnet_relative_position_encoding import XLNetRelativePositionEncoding
from tests.conftest import save_tiny_hf_xlnet

B, L, P = 4, 7, 3


def _long(x):
    return torch.tensor(np.asarray(x), dtype=torch.long)


def _float(x):
    return torch.tensor(np.asarray(x), dtype=torch.float32)


def _inputs(seed, padded=True):
    rng = np.random.default_rng(seed)
    ids = rng.integers(8, 800, (B, L)).astype("int32")
    segments = rng.integers(0, 2, (B, L)).astype("int32")
    mask = np.ones((B, L), "int32")
    if padded:  # left padding, as XLNet classification packs it
        mask[1, :3] = 0
        mask[3, :1] = 0
    perm = (rng.random((B, L, L)) < 0.4).astype("float32")
    mapping = np.zeros((B, P, L), "float32")
    for b in range(B):
        mapping[b, np.arange(P), rng.choice(L, P, replace=False)] = 1.0
    return ids, segments, mask, perm, mapping


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """(kerabert backbone, HF model) per HF config, built once per module."""
    cache = {}

    def get(**config):
        key = tuple(sorted(config.items()))
        if key not in cache:
            folder = str(tmp_path_factory.mktemp("xlnet"))
            hf = save_tiny_hf_xlnet(folder, **config)
            cache[key] = (kerabert.XLNetBackbone.from_preset(folder), hf)
        return cache[key]

    return get


CONFIGS = [
    dict(),
    dict(bi_data=True, clamp_len=3),
    dict(clamp_len=2),
    dict(mem_len=10, reuse_len=4),
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: ",".join(c) or "default")
def test_content_stream_matches_xlnet_model(converted, config):
    backbone, hf = converted(**config)
    ids, segments, mask, _, _ = _inputs(0)
    ours = backbone({"token_ids": ids, "segment_ids": segments,
                     "padding_mask": mask})["sequence_output"].numpy()
    with torch.no_grad():
        theirs = hf(input_ids=_long(ids), token_type_ids=_long(segments),
                    attention_mask=_float(mask)).last_hidden_state.numpy()
    real = mask.astype(bool)
    np.testing.assert_allclose(ours[real], theirs[real], atol=1e-5)
    # The functional graph and call_with_memory are one computation.
    again = backbone.call_with_memory({"token_ids": ids, "segment_ids": segments,
                                       "padding_mask": mask})["sequence_output"].numpy()
    np.testing.assert_allclose(again, ours, atol=1e-6)


@pytest.mark.parametrize("config", CONFIGS[:3], ids=lambda c: ",".join(c) or "default")
def test_two_stream_with_perm_mask_and_target_mapping(converted, config):
    backbone, hf = converted(**config)
    ids, segments, mask, perm, mapping = _inputs(1)
    ours = backbone.call_with_memory(
        {"token_ids": ids, "segment_ids": segments, "padding_mask": mask},
        perm_mask=perm, target_mapping=mapping)
    with torch.no_grad():
        theirs = hf(input_ids=_long(ids), token_type_ids=_long(segments),
                    attention_mask=_float(mask), perm_mask=_float(perm),
                    target_mapping=_float(mapping)).last_hidden_state.numpy()
    assert ours["query_output"].shape == (B, P, 16)
    np.testing.assert_allclose(ours["query_output"].numpy(), theirs, atol=1e-5)


@pytest.mark.parametrize("config", [dict(mem_len=10, reuse_len=4),
                                    dict(mem_len=5, attn_type="uni"),
                                    dict(mem_len=6, attn_type="uni", same_length=True)],
                         ids=["bi,reuse", "uni", "uni,same_length"])
def test_memory_carried_over_two_segments(converted, config):
    backbone, hf = converted(**config)
    uni = config.get("attn_type") == "uni"
    ids, segments, mask, perm, mapping = _inputs(2, padded=False)
    first = backbone.call_with_memory({"token_ids": ids, "segment_ids": segments})
    with torch.no_grad():
        hf_first = hf(input_ids=_long(ids), token_type_ids=_long(segments), use_mems=True)
    np.testing.assert_allclose(first["sequence_output"].numpy(),
                               hf_first.last_hidden_state.numpy(), atol=1e-5)
    assert len(first["memory"]) == 2
    for ours, theirs in zip(first["memory"], hf_first.mems):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy().transpose(1, 0, 2), atol=1e-5)

    ids2 = np.roll(ids, 1, axis=0)
    # (HF's "uni" path cannot combine a causal mask with perm_mask: it adds
    # them in place with mismatched shapes, so "uni" is checked without.)
    extra = {} if uni else {"perm_mask": perm, "target_mapping": mapping}
    second = backbone.call_with_memory({"token_ids": ids2, "segment_ids": segments},
                                       memory=first["memory"], **extra)
    with torch.no_grad():
        hf_second = hf(input_ids=_long(ids2), token_type_ids=_long(segments),
                       mems=hf_first.mems, use_mems=True,
                       **{k: _float(v) for k, v in extra.items()})
    key = "sequence_output" if uni else "query_output"
    np.testing.assert_allclose(second[key].numpy(), hf_second.last_hidden_state.numpy(),
                               atol=1e-5)
    for ours, theirs in zip(second["memory"], hf_second.mems):
        assert ours.shape[1] == min(config["mem_len"], theirs.shape[0])
        np.testing.assert_allclose(ours.numpy(), theirs.numpy().transpose(1, 0, 2), atol=1e-5)


def test_relative_position_encoding_golden_value():
    # The reference's unit test (official/nlp/xlnet_modeling_test.py): distances
    # [1, 0] with d_model 4.
    layer = XLNetRelativePositionEncoding(4)
    table = layer._embed(np.array([1.0, 0.0], "float32")).numpy()
    np.testing.assert_allclose(
        table, [[0.84147096, 0.00999983, 0.54030228, 0.99994999], [0.0, 0.0, 1.0, 1.0]],
        atol=1e-7)


def test_tied_biases_are_shared_and_config_round_trips():
    backbone = kerabert.XLNetBackbone(
        vocabulary_size=30, num_layers=3, num_heads=2, hidden_dim=8, intermediate_dim=12,
        head_dim=3, untie_r=False, bi_data=True, clamp_len=5, attn_type="uni",
        same_length=True, mem_len=4, reuse_len=2, activation="gelu_approximate")
    bias = backbone.get_layer("relative_bias")
    assert tuple(bias.r_w_bias.shape) == (2, 3)
    config = backbone.get_config()
    clone = kerabert.XLNetBackbone.from_config(config)
    assert clone.get_config() == config
    assert len(clone.weights) == len(backbone.weights)
    untied = kerabert.XLNetBackbone(vocabulary_size=30, num_layers=3, num_heads=2,
                                    hidden_dim=8, intermediate_dim=12)
    assert tuple(untied.get_layer("relative_bias").r_w_bias.shape) == (3, 2, 4)


def test_bi_data_needs_an_even_batch():
    backbone = kerabert.XLNetBackbone(vocabulary_size=30, num_layers=1, num_heads=2,
                                      hidden_dim=8, intermediate_dim=12, bi_data=True)
    inputs = {"token_ids": np.ones((3, 4), "int32"), "segment_ids": np.zeros((3, 4), "int32"),
              "padding_mask": np.ones((3, 4), "int32")}
    with pytest.raises(Exception, match="even"):
        backbone(inputs)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_masks_stay_finite(policy):
    backbone = kerabert.XLNetBackbone(vocabulary_size=30, num_layers=2, num_heads=2,
                                      hidden_dim=8, intermediate_dim=12, dtype=policy)
    assert backbone.dtype_policy.name == policy
    ids, segments, mask, perm, mapping = _inputs(3)
    ids = ids % 30
    out = backbone.call_with_memory(
        {"token_ids": ids, "segment_ids": segments, "padding_mask": mask},
        perm_mask=perm, target_mapping=mapping, training=True)
    assert out["sequence_output"].dtype == keras.mixed_precision.Policy(policy).compute_dtype
    assert np.isfinite(np.asarray(out["query_output"], "float32")).all()
    assert np.isfinite(np.asarray(out["sequence_output"], "float32")).all()
