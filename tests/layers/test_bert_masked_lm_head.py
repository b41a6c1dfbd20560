"""BertMaskedLMHead against numpy: gather, dense + GELU, LayerNorm, tied output."""

import keras
import numpy as np
import pytest
from scipy.special import erf
from scipy.special import log_softmax

from kerabert.layers.bert_masked_lm_head import BertMaskedLMHead
from tests.layers import checks

B, L, H, V, P = 2, 6, 8, 11, 3
RNG = np.random.default_rng(2)
SEQ = RNG.normal(size=(B, L, H)).astype("float32")
POSITIONS = np.array([[1, 4, 0], [5, 2, 2]], "int32")


def _embedding(dtype="float32"):
    embedding = keras.layers.Embedding(V, H, dtype=dtype)
    embedding.build((None,))
    embedding.embeddings.assign(RNG.normal(size=(V, H)).astype("float32"))
    return embedding


EMBEDDING = _embedding()


def _layer(dtype="float32", embedding=EMBEDDING):
    return BertMaskedLMHead(V, H, activation="gelu", token_embedding=embedding, dtype=dtype)


def _call(layer):
    return layer(SEQ, POSITIONS)


@pytest.fixture(scope="module")
def layer():
    layer = _layer()
    _call(layer)
    layer.output_bias.assign(RNG.normal(size=(V,)).astype("float32"))
    layer.layer_norm.set_weights([RNG.normal(size=(H,)).astype("float32") for _ in range(2)])
    return layer


def test_shape_dtype_and_numpy_reference(layer):
    out = _call(layer)
    assert out.shape == (B, P, V) and out.dtype == "float32"
    x = np.take_along_axis(SEQ, POSITIONS[:, :, None], axis=1)
    x = x @ layer.dense.kernel.numpy() + layer.dense.bias.numpy()
    x = 0.5 * x * (1 + erf(x / np.sqrt(2)))
    x = checks.layer_norm(x, layer.layer_norm.gamma.numpy(), layer.layer_norm.beta.numpy(), 1e-12)
    logits = x @ EMBEDDING.embeddings.numpy().T + layer.output_bias.numpy()
    np.testing.assert_allclose(out, log_softmax(logits, axis=-1), atol=1e-5)


def test_only_masked_positions_matter(layer):
    changed = SEQ.copy()
    changed[0, [2, 3, 5]] = RNG.normal(size=(3, H))  # row 0 reads positions 1, 4, 0
    np.testing.assert_array_equal(layer(changed, POSITIONS), _call(layer))


def test_output_weights_are_the_embeddings_and_not_its_own(layer):
    assert [w.path for w in layer.weights if w.shape == (V, H)] == []
    before = np.asarray(_call(layer))
    # One token's row only: a shift shared by all rows cancels in the log-softmax.
    delta = np.zeros((V, H), "float32")
    delta[3] = 1.0
    EMBEDDING.embeddings.assign_add(delta)
    try:
        assert not np.allclose(_call(layer), before)
    finally:
        EMBEDDING.embeddings.assign_sub(delta)


def test_needs_the_token_embedding():
    head = BertMaskedLMHead(V, H)
    with pytest.raises(ValueError, match="token_embedding"):
        head(SEQ, POSITIONS)


def test_round_trips(layer):
    # The embedding is not serialised: the owner passes it again.
    def call(head):
        if head.token_embedding is None:
            object.__setattr__(head, "_token_embedding", EMBEDDING)
        return _call(head)

    checks.assert_round_trips(layer, call)


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_close_to_float32(policy):
    # Log-probabilities are float32 under every policy, as documented.
    checks.assert_mixed_close(lambda dtype: _layer(dtype), _call, policy, rtol=2e-2, atol=5e-2,
                              output_dtype="float32")
