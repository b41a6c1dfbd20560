"""BertPretrainerPreprocessor: packing and the reference masking procedure, checked
statistically on a large batch."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerabert.preprocessors.bert_preprocessor import BertPreprocessor
from kerabert.preprocessors.bert_pretrainer_preprocessor import BertPretrainerPreprocessor
from kerabert.tokenizers.bert_tokenizer import BertTokenizer
from tests.conftest import TINY_VOCAB

WORDS = [t for t in TINY_VOCAB if t.isalpha()]
SUFFIXES = ["s", "ed", "ing"]


def _sentences(rng, n, low=2, high=14):
    """Random sentences of vocabulary words, a third of them with a `##` suffix."""
    out = []
    for _ in range(n):
        words = [w + (rng.choice(SUFFIXES) if rng.random() < 0.33 else "")
                 for w in rng.choice(WORDS, size=rng.integers(low, high))]
        out.append(" ".join(words))
    return out


@pytest.fixture(scope="module")
def tokenizer():
    return BertTokenizer(TINY_VOCAB)


@pytest.fixture(scope="module")
def corpus():
    rng = np.random.default_rng(0)
    return _sentences(rng, 3000), _sentences(rng, 3000)


def _masked(tokenizer, corpus, seed=None, **kwargs):
    """Masked batch, the unmasked packing of the same text, and numpy views;
    `seed`: the stateless seed of the masks (else stateful random ops)."""
    keras.utils.set_random_seed(1)
    preprocessor = BertPretrainerPreprocessor(tokenizer, sequence_length=32, **kwargs)
    x, y = preprocessor(corpus, y=np.zeros(len(corpus[0]), "int32"),
                        seed=None if seed is None else tf.constant(seed, tf.int64))
    original = BertPreprocessor(tokenizer, sequence_length=32)(corpus)
    return ({k: v.numpy() for k, v in x.items()}, {k: v.numpy() for k, v in y.items()},
            {k: v.numpy() for k, v in original.items()})


def _selected(x, y):
    """(B, L) bool: the positions chosen for prediction."""
    selected = np.zeros(x["token_ids"].shape, bool)
    rows, slots = np.nonzero(y["masked_weights"])
    selected[rows, x["masked_positions"][rows, slots]] = True
    return selected


def _num_to_predict(original, tokenizer, slots, rate=0.15):
    real = original["padding_mask"].sum(1)
    specials = np.isin(original["token_ids"], [tokenizer.cls_token_id, tokenizer.sep_token_id,
                                               tokenizer.pad_token_id])
    candidates = (original["padding_mask"].astype(bool) & ~specials).sum(1)
    target = np.minimum(slots, np.maximum(1, np.round(real * rate).astype(int)))
    return np.minimum(target, candidates), candidates


@pytest.mark.parametrize("seed", [None, [7, 3]], ids=["stateful", "stateless"])
def test_masking_statistics(tokenizer, corpus, seed):
    x, y, original = _masked(tokenizer, corpus, seed)
    ids, weights = original["token_ids"], y["masked_weights"]
    assert x["masked_positions"].shape == (3000, 20) and weights.dtype == np.float32
    # Packing is BertPreprocessor's.
    for key in ("segment_ids", "padding_mask"):
        np.testing.assert_array_equal(x[key], original[key])

    # The reference's num_to_predict, exactly (one prediction per chosen token).
    target, _ = _num_to_predict(original, tokenizer, 20)
    np.testing.assert_array_equal(weights.sum(1), target)
    rate = weights.sum() / original["padding_mask"].sum()
    assert 0.13 < rate < 0.17, rate

    # Slots: ascending positions, then padding (position 0, id 0, weight 0).
    positions = x["masked_positions"]
    real_slots = weights > 0
    assert np.all(np.diff(np.where(real_slots, positions, 10**6 + np.arange(20)), axis=1) > 0)
    assert np.all(positions[~real_slots] == 0) and np.all(y["masked_ids"][~real_slots] == 0)
    # Labels are the original ids; specials are never chosen.
    np.testing.assert_array_equal(y["masked_ids"][real_slots],
                                  np.take_along_axis(ids, positions, 1)[real_slots])
    assert not np.isin(y["masked_ids"][real_slots],
                       [tokenizer.cls_token_id, tokenizer.sep_token_id,
                        tokenizer.pad_token_id]).any()

    # Only chosen positions change; 80 % [MASK], 10 % random, 10 % kept.
    selected = _selected(x, y)
    np.testing.assert_array_equal(x["token_ids"][~selected], ids[~selected])
    new, old = x["token_ids"][selected], ids[selected]
    vocab = len(TINY_VOCAB)
    assert abs(np.mean(new == tokenizer.mask_token_id) - (0.8 + 0.1 / vocab)) < 0.015
    assert abs(np.mean(new == old) - (0.1 + 0.1 / vocab)) < 0.015
    assert ((new >= 0) & (new < vocab)).all()


def test_a_seed_determines_the_masks(tokenizer, corpus):
    """The same seed masks the same batch the same way whatever ran before;
    other seeds mask it otherwise."""
    small = (corpus[0][:200], corpus[1][:200])
    first = _masked(tokenizer, small, seed=[7, 3])
    tf.random.uniform([5])  # moves the stateful random state only
    again = _masked(tokenizer, small, seed=[7, 3])
    other = _masked(tokenizer, small, seed=[7, 4])
    for key in ("token_ids", "masked_positions"):
        np.testing.assert_array_equal(again[0][key], first[0][key])
        assert (other[0][key] != first[0][key]).any()


def test_cap_at_max_predictions(tokenizer, corpus):
    x, y, original = _masked(tokenizer, corpus, max_predictions_per_seq=2)
    target, _ = _num_to_predict(original, tokenizer, 2)
    np.testing.assert_array_equal(y["masked_weights"].sum(1), target)
    assert (target == 2).mean() > 0.9


def test_whole_word_masking(tokenizer, corpus):
    x, y, original = _masked(tokenizer, corpus, whole_word_masking=True, mask_rate=0.3)
    ids = original["token_ids"]
    selected = _selected(x, y)
    continuation = np.isin(ids, [TINY_VOCAB.index("##" + s) for s in SUFFIXES])
    # A `##` piece is chosen exactly when the piece before it is.
    follows_word = continuation[:, 1:] & ~np.isin(ids[:, :-1], [2, 3, 0])
    np.testing.assert_array_equal(selected[:, 1:][follows_word], selected[:, :-1][follows_word])
    assert selected[:, 1:][follows_word].any() and (~selected[:, 1:][follows_word]).any()
    # Whole words never overflow num_to_predict, and the greedy fill reaches it
    # in most rows (a row falls short only when no remaining word fits).
    target, _ = _num_to_predict(original, tokenizer, 20, rate=0.3)
    count = y["masked_weights"].sum(1)
    assert (count <= target).all() and (count >= target - 1).all()
    assert (count == target).mean() > 0.9
    np.testing.assert_array_equal(y["masked_ids"][y["masked_weights"] > 0],
                                  np.take_along_axis(ids, x["masked_positions"], 1)[
                                      y["masked_weights"] > 0])


def test_mask_and_pack_ragged_ids_and_single_segments(tokenizer):
    preprocessor = BertPretrainerPreprocessor(tokenizer, sequence_length=8,
                                              max_predictions_per_seq=10)
    a = tf.ragged.constant([[5, 6, 7, 8, 9, 10], [5]])
    b = tf.ragged.constant([[11, 12, 13], [12, 13]])
    x, y = preprocessor.mask_and_pack(a, b, next_sentence_labels=tf.constant([[1], [0]]))
    # Round-robin truncation to [CLS] a a a [SEP] b b [SEP].
    np.testing.assert_array_equal(x["segment_ids"][0], [0, 0, 0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(y["next_sentence_labels"], [1, 0])
    # P (10) > L (8): extra slots are padding.
    assert y["masked_weights"].shape == (2, 10)
    np.testing.assert_array_equal(y["masked_weights"].numpy().sum(1), [1, 1])
    x, y = preprocessor(["the quick fox", "a dog"])
    assert "next_sentence_labels" not in y
    assert set(np.unique(x["segment_ids"])) == {0}
    x, y = preprocessor(("the quick fox", "a dog"), y=1)
    assert x["token_ids"].shape == (8,) and y["masked_ids"].shape == (10,)
    assert int(y["next_sentence_labels"]) == 1


def test_in_a_tf_data_pipeline(tokenizer):
    preprocessor = BertPretrainerPreprocessor(tokenizer, sequence_length=12,
                                              max_predictions_per_seq=3)
    ds = tf.data.Dataset.from_tensor_slices((
        (["the cat sat", "a dog", "good movie"], ["on the mat", "was bad", "!"]), [0, 1, 0]))
    x, y = next(iter(ds.batch(3).map(preprocessor)))
    assert x["masked_positions"].shape == (3, 3) and y["next_sentence_labels"].shape == (3,)


def test_config_round_trip_and_validation(tokenizer):
    preprocessor = BertPretrainerPreprocessor(tokenizer, sequence_length=16, mask_rate=0.2,
                                              max_predictions_per_seq=4, whole_word_masking=True)
    config = keras.saving.serialize_keras_object(preprocessor)
    restored = keras.saving.deserialize_keras_object(config)
    restored.tokenizer.set_vocabulary(TINY_VOCAB)
    assert restored.get_config() == preprocessor.get_config()
    with pytest.raises(ValueError, match="mask_rate"):
        BertPretrainerPreprocessor(tokenizer, mask_rate=0.0)
    with pytest.raises(ValueError, match="sum <= 1"):
        BertPretrainerPreprocessor(tokenizer, mask_token_rate=0.9, random_token_rate=0.2)
    no_mask = BertTokenizer([t for t in TINY_VOCAB if t != "[MASK]"])
    with pytest.raises(ValueError, match="mask token"):
        BertPretrainerPreprocessor(no_mask)(["the cat"])
