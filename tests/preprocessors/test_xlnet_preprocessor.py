"""kerabert.XLNetPreprocessor against the reference packing and HF XLNetTokenizer.

Oracles: a transcription of the reference `convert_single_example` +
`_truncate_seq_pair` (official/nlp/xlnet/classifier_utils.py),
and HF `XLNetTokenizer(a, b, padding="max_length", truncation=True)`.
Expected differences: the reference pads ids with 0 and its `input_mask` is 1
for padding; HF pads the segment ids with 3 where the reference (and kerabert)
use 4. Everything else is compared exactly.
"""

import os
import random

import keras
import numpy as np
import pytest
import tensorflow as tf
import transformers

from kerabert.preprocessors.xlnet_preprocessor import XLNetPreprocessor
from kerabert.tokenizers.xlnet_tokenizer import XLNetTokenizer
from tests.tokenization.corpus import FIXTURES
from tests.tokenization.corpus import botchan_sentences

MODEL = os.path.join(FIXTURES, "xlnet_digit_comma_unigram_800.model")
SEP, CLS, PAD = 4, 3, 5


def reference_truncate_seq_pair(tokens_a, tokens_b, max_length):
    while True:
        if len(tokens_a) + len(tokens_b) <= max_length:
            break
        if len(tokens_a) > len(tokens_b):
            tokens_a.pop()
        else:
            tokens_b.pop()


def reference_convert_single_example(tokens_a, tokens_b, max_seq_length):
    """classifier_utils.convert_single_example, on token ids."""
    tokens_a, tokens_b = list(tokens_a), list(tokens_b) if tokens_b is not None else None
    if tokens_b:
        reference_truncate_seq_pair(tokens_a, tokens_b, max_seq_length - 3)
    elif len(tokens_a) > max_seq_length - 2:
        tokens_a = tokens_a[:max_seq_length - 2]
    tokens, segment_ids = [], []
    for token in tokens_a:
        tokens.append(token)
        segment_ids.append(0)
    tokens.append(SEP)
    segment_ids.append(0)
    if tokens_b:
        for token in tokens_b:
            tokens.append(token)
            segment_ids.append(1)
        tokens.append(SEP)
        segment_ids.append(1)
    tokens.append(CLS)
    segment_ids.append(2)
    input_ids = tokens
    input_mask = [0] * len(input_ids)
    if len(input_ids) < max_seq_length:
        delta_len = max_seq_length - len(input_ids)
        input_ids = [0] * delta_len + input_ids
        input_mask = [1] * delta_len + input_mask
        segment_ids = [4] * delta_len + segment_ids
    return input_ids, input_mask, segment_ids


@pytest.fixture(scope="module")
def tokenizer():
    return XLNetTokenizer(MODEL)


def _pairs(count, seed):
    rng = random.Random(seed)
    lines = list(botchan_sentences())
    texts_a = [rng.choice(lines) for _ in range(count)]
    texts_b = [rng.choice(lines)[:rng.randint(0, 200)] for _ in range(count)]
    texts_a[:4] = ["In 1990, he paid 3,000 yen.", "short", "a b", "x"]
    texts_b[:4] = ["", "a much longer second sentence than the first one", "c", "y z w"]
    return texts_a, texts_b


def _numpy(output):
    return {k: np.asarray(v) for k, v in output.items()}


@pytest.mark.parametrize("length", [5, 16, 48])
def test_matches_reference(tokenizer, length):
    texts_a, texts_b = _pairs(60, seed=length)
    ids_a = tokenizer.tokenize(texts_a).to_list()
    ids_b = tokenizer.tokenize(texts_b).to_list()
    preprocessor = XLNetPreprocessor(tokenizer, sequence_length=length)
    single = _numpy(preprocessor(texts_a))
    pair = _numpy(preprocessor((texts_a, texts_b)))
    for i in range(len(texts_a)):
        for got, b in ((single, None), (pair, ids_b[i])):
            # An empty B is dropped by the reference (`if example.text_b`) but
            # kept by a preprocessor fed pairs; compare pairs with a non-empty B.
            if b is not None and not texts_b[i]:
                continue
            ref_ids, ref_mask, ref_segments = reference_convert_single_example(
                ids_a[i], b, length)
            mask = 1 - np.array(ref_mask)
            np.testing.assert_array_equal(got["padding_mask"][i], mask)
            np.testing.assert_array_equal(got["segment_ids"][i], ref_segments)
            np.testing.assert_array_equal(
                got["token_ids"][i], np.where(mask == 1, ref_ids, PAD))
    assert single["token_ids"].dtype == np.int32 and single["token_ids"].shape == (60, length)
    assert np.all(pair["token_ids"][:, -1] == CLS)


@pytest.mark.parametrize("length", [6, 24, 64])
def test_matches_hf(tokenizer, length):
    """HF's packing (`prepare_for_model`) of kerabert's ids: tokenization is
    compared with HF in tests/tokenization (it differs on rare Viterbi ties)."""
    hf = transformers.XLNetTokenizer(vocab_file=MODEL)
    texts_a, texts_b = _pairs(40, seed=100 + length)
    ids_a = tokenizer.tokenize(texts_a).to_list()
    ids_b = tokenizer.tokenize(texts_b).to_list()
    preprocessor = XLNetPreprocessor(tokenizer, sequence_length=length)
    for inputs, pairs in ((texts_a, [(a, None) for a in ids_a]),
                          ((texts_a, texts_b), list(zip(ids_a, ids_b)))):
        got = _numpy(preprocessor(inputs))
        for i, (a, b) in enumerate(pairs):
            expected = hf.prepare_for_model(
                a, b, padding="max_length", max_length=length, truncation=True)
            np.testing.assert_array_equal(got["token_ids"][i], expected["input_ids"])
            np.testing.assert_array_equal(got["padding_mask"][i], expected["attention_mask"])
            hf_segments = np.array(expected["token_type_ids"])
            np.testing.assert_array_equal(
                got["segment_ids"][i],
                np.where(hf_segments == hf.pad_token_type_id, 4, hf_segments))


def test_waterfall(tokenizer):
    texts_a, texts_b = _pairs(30, seed=7)
    ids_a = tokenizer.tokenize(texts_a).to_list()
    ids_b = tokenizer.tokenize(texts_b).to_list()
    length = 20
    got = _numpy(XLNetPreprocessor(tokenizer, sequence_length=length, truncate="waterfall")(
        (texts_a, texts_b)))
    for i, (a, b) in enumerate(zip(ids_a, ids_b)):
        a = a[:length - 3]
        b = b[:length - 3 - len(a)]
        expected = a + [SEP] + b + [SEP, CLS]
        row = got["token_ids"][i]
        assert row[length - len(expected):].tolist() == expected
        assert row[:length - len(expected)].tolist() == [PAD] * (length - len(expected))


def test_hand_checked_layout(tokenizer):
    a = tokenizer.tokenize("a b").numpy().tolist()
    b = tokenizer.tokenize("c").numpy().tolist()
    out = _numpy(XLNetPreprocessor(tokenizer, sequence_length=10)(("a b", "c")))
    assert out["token_ids"].shape == (10,)  # unbatched in, unbatched out
    n = len(a) + len(b) + 3
    assert out["token_ids"].tolist() == [PAD] * (10 - n) + a + [SEP] + b + [SEP, CLS]
    assert out["segment_ids"].tolist() == (
        [4] * (10 - n) + [0] * (len(a) + 1) + [1] * (len(b) + 1) + [2])
    assert out["padding_mask"].tolist() == [0] * (10 - n) + [1] * n


def test_tf_data(tokenizer):
    texts_a, texts_b = _pairs(12, seed=3)
    labels = np.arange(12)
    preprocessor = XLNetPreprocessor(tokenizer, sequence_length=32)
    expected = _numpy(preprocessor((texts_a, texts_b)))
    dataset = tf.data.Dataset.from_tensor_slices(((texts_a, texts_b), labels)).batch(5).map(
        lambda x, y: preprocessor(x, y))
    rows = {k: [] for k in expected}
    got_labels = []
    for x, y in dataset:
        for k in rows:
            rows[k].append(x[k].numpy())
        got_labels.extend(y.numpy().tolist())
    for k, v in expected.items():
        np.testing.assert_array_equal(np.concatenate(rows[k]), v)
    assert got_labels == labels.tolist()
    single = tf.data.Dataset.from_tensor_slices(texts_a).map(preprocessor)
    first = next(iter(single))
    np.testing.assert_array_equal(first["token_ids"].numpy(),
                                  _numpy(preprocessor(texts_a))["token_ids"][0])


def test_config_round_trip(tokenizer, tmp_path):
    preprocessor = XLNetPreprocessor(tokenizer, sequence_length=24, truncate="waterfall")
    config = keras.saving.serialize_keras_object(preprocessor)
    assert "kerabert" in config["registered_name"]
    assert config["config"]["sequence_length"] == 24
    assert config["config"]["truncate"] == "waterfall"
    tokenizer.save_assets(str(tmp_path))
    restored = keras.saving.deserialize_keras_object(config)
    assert isinstance(restored, XLNetPreprocessor)
    restored.tokenizer.load_assets(str(tmp_path))
    texts = ["one sentence here", "and another, 1990, one"]
    for k, v in _numpy(preprocessor(texts)).items():
        np.testing.assert_array_equal(_numpy(restored(texts))[k], v)
    assert XLNetPreprocessor.tokenizer_cls is XLNetTokenizer


def test_errors(tokenizer):
    with pytest.raises(ValueError, match="truncate"):
        XLNetPreprocessor(tokenizer, truncate="middle")
    with pytest.raises(ValueError, match="at least 3"):
        XLNetPreprocessor(tokenizer, sequence_length=2)
    with pytest.raises(ValueError, match="<cls>"):
        XLNetPreprocessor(XLNetTokenizer(os.path.join(FIXTURES, "botchan_en_unigram_1000.model")))(
            "text")
    with pytest.raises(TypeError):
        XLNetPreprocessor(tokenizer)({"text": "x"})
    with pytest.raises(ValueError):
        XLNetPreprocessor(tokenizer)(("a", "b", "c"))
