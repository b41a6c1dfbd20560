"""kerabert XLNetQuestionAnswererPreprocessor against a transcription of the
reference `convert_examples_to_features` (official/nlp/xlnet/squad_utils.py):
doc spans, `_check_is_max_context`, the P <sep> Q <sep> <cls>
layout with right padding, `p_mask`, `cls_index` and the training targets. The
reference's LCS character alignment is replaced by exact tokenizer offsets, so
token positions of answers are checked by decoding them instead."""

import os
import random

import keras
import numpy as np
import pytest

from kerabert.preprocessors.question_answerer_preprocessor import QAFeatures
from kerabert.preprocessors.xlnet_question_answerer_preprocessor import (
    XLNetQuestionAnswererPreprocessor,
)
from kerabert.tokenizers.xlnet_tokenizer import XLNetTokenizer
from tests.tokenization.corpus import FIXTURES
from tests.tokenization.corpus import botchan_sentences

MODEL = os.path.join(FIXTURES, "xlnet_digit_comma_unigram_800.model")
SEP, CLS, PAD = 4, 3, 5


@pytest.fixture(scope="module")
def tokenizer():
    return XLNetTokenizer(MODEL)


def reference_doc_spans(num_tokens, max_tokens_for_doc, doc_stride):
    doc_spans = []
    start_offset = 0
    while start_offset < num_tokens:
        length = min(num_tokens - start_offset, max_tokens_for_doc)
        doc_spans.append((start_offset, length))
        if start_offset + length == num_tokens:
            break
        start_offset += min(length, doc_stride)
    return doc_spans


def reference_is_max_context(doc_spans, cur_span_index, position):
    best_score, best_span_index = None, None
    for span_index, (start, length) in enumerate(doc_spans):
        end = start + length - 1
        if position < start or position > end:
            continue
        score = min(position - start, end - position) + 0.01 * length
        if best_score is None or score > best_score:
            best_score, best_span_index = score, span_index
    return cur_span_index == best_span_index


def reference_features(doc_tokens, query_tokens, max_seq_length, doc_stride,
                       tok_start_position=None, tok_end_position=None, is_impossible=False):
    """The per-window loop of `convert_examples_to_features`, padding id aside."""
    doc_spans = reference_doc_spans(len(doc_tokens), max_seq_length - len(query_tokens) - 3,
                                    doc_stride)
    features = []
    for doc_span_index, (start, length) in enumerate(doc_spans):
        tokens, segment_ids, p_mask, max_context = [], [], [], []
        for i in range(length):
            max_context.append(reference_is_max_context(doc_spans, doc_span_index, start + i))
            tokens.append(doc_tokens[start + i])
            segment_ids.append(0)
            p_mask.append(0)
        tokens.append(SEP)
        segment_ids.append(0)
        p_mask.append(1)
        for token in query_tokens:
            tokens.append(token)
            segment_ids.append(1)
            p_mask.append(1)
        tokens.append(SEP)
        segment_ids.append(1)
        p_mask.append(1)
        cls_index = len(segment_ids)
        tokens.append(CLS)
        segment_ids.append(2)
        p_mask.append(0)
        input_mask = [0] * len(tokens)
        while len(tokens) < max_seq_length:
            tokens.append(0)
            input_mask.append(1)
            segment_ids.append(3)
            p_mask.append(1)
        span_is_impossible = is_impossible
        start_position = end_position = None
        if tok_start_position is not None and not span_is_impossible:
            if not (tok_start_position >= start and tok_end_position <= start + length - 1):
                span_is_impossible = True
            else:
                start_position = tok_start_position - start
                end_position = tok_end_position - start
        if span_is_impossible:
            start_position = end_position = cls_index
        features.append(dict(
            tokens=tokens, input_mask=input_mask, segment_ids=segment_ids, p_mask=p_mask,
            cls_index=cls_index, max_context=max_context, start_position=start_position,
            end_position=end_position, is_impossible=float(span_is_impossible)))
    return features


def test_hand_checked_layout(tokenizer):
    context, question = "The cat sat on the mat.", "Where did it sit?"
    c = tokenizer.tokenize(context).numpy().tolist()
    q = tokenizer.tokenize(question).numpy().tolist()
    features = XLNetQuestionAnswererPreprocessor(tokenizer, sequence_length=40).featurize(
        [question], [context])
    inputs = features.inputs
    n = len(c) + len(q) + 3
    assert inputs["token_ids"][0].tolist() == c + [SEP] + q + [SEP, CLS] + [PAD] * (40 - n)
    assert inputs["segment_ids"][0].tolist() == (
        [0] * (len(c) + 1) + [1] * (len(q) + 1) + [2] + [3] * (40 - n))
    assert inputs["p_mask"][0].tolist() == [0] * len(c) + [1] * (len(q) + 2) + [0] + [1] * (40 - n)
    assert inputs["padding_mask"][0].tolist() == [1] * n + [0] * (40 - n)
    assert inputs["cls_index"].tolist() == [n - 1]
    assert features.context_index[0].tolist() == list(range(len(c))) + [-1] * (40 - len(c))
    assert features.max_context[0, :len(c)].all() and not features.max_context[0, len(c):].any()
    for name in ("token_ids", "segment_ids", "padding_mask", "p_mask", "cls_index"):
        assert inputs[name].dtype == np.int32, name
    assert features.start_positions is None and features.is_impossible is None
    # Offsets are character spans of the original context; words follow spaces.
    spans = [context[s:e] for s, e in zip(features.token_starts[0], features.token_ends[0])]
    assert "".join(spans) == context.replace(" ", "")
    assert features.word_ids[0][-1] == len(context.split()) - 1
    trimmed = features.trimmed(multiple=8)
    assert trimmed.inputs["token_ids"].shape == (1, 24)
    assert trimmed.inputs["cls_index"].shape == (1,)


def _long_examples():
    rng = random.Random(11)
    lines = [l for l in botchan_sentences() if len(l.split()) > 6]
    examples = []
    for k in range(6):
        context = " ".join(rng.sample(lines, 8))
        words = context.split()
        first = rng.randrange(len(words) - 3)
        answer = " ".join(words[first:first + rng.randint(1, 3)])
        start = context.index(answer, len(" ".join(words[:first])))
        question = " ".join(rng.sample(lines[0].split(), 4)) + "?"
        if k == 5:  # unanswerable
            start, answer = -1, ""
        examples.append((question, context, start, answer))
    return examples


@pytest.mark.parametrize("length,stride,max_query", [(48, 16, 8), (64, 40, 64)])
def test_windows_and_targets_match_reference(tokenizer, length, stride, max_query):
    examples = _long_examples()
    questions, contexts, starts, answers = map(list, zip(*examples))
    preprocessor = XLNetQuestionAnswererPreprocessor(
        tokenizer, sequence_length=length, doc_stride=stride, max_query_length=max_query)
    features = preprocessor.featurize(questions, contexts, starts, answers)
    assert preprocessor.count_windows(questions, contexts) == len(features.example_index)
    row = 0
    for i, (question, context, start, answer) in enumerate(examples):
        query = tokenizer.tokenize(question).numpy().tolist()[:max_query]
        doc = tokenizer.tokenize(context).numpy().tolist()
        token_starts, token_ends = features.token_starts[i], features.token_ends[i]
        tok_start = tok_end = None
        if answer:
            inside = np.nonzero((token_ends > start) & (token_starts < start + len(answer)))[0]
            tok_start, tok_end = int(inside[0]), int(inside[-1])
            # The answer tokens cover exactly the answer (it is made of words).
            assert context[token_starts[tok_start]:token_ends[tok_end]] == answer
        expected = reference_features(doc, query, length, stride, tok_start, tok_end,
                                      is_impossible=not answer)
        assert len(expected) > (1 if i < 5 else 0)
        for ref in expected:
            mask = 1 - np.array(ref["input_mask"])
            assert features.example_index[row] == i
            np.testing.assert_array_equal(features.inputs["padding_mask"][row], mask)
            np.testing.assert_array_equal(features.inputs["token_ids"][row],
                                          np.where(mask == 1, ref["tokens"], PAD))
            for name in ("segment_ids", "p_mask", "cls_index"):
                np.testing.assert_array_equal(features.inputs[name][row], ref[name])
            count = len(ref["max_context"])
            assert features.max_context[row, :count].tolist() == ref["max_context"]
            assert not features.max_context[row, count:].any()
            assert features.start_positions[row] == ref["start_position"]
            assert features.end_positions[row] == ref["end_position"]
            assert features.is_impossible[row] == ref["is_impossible"]
            if not ref["is_impossible"]:
                s, e = features.start_positions[row], features.end_positions[row]
                decoded = tokenizer.detokenize(features.inputs["token_ids"][row, s:e + 1])
                assert decoded.numpy().decode() == answer
                index = features.context_index[row]
                assert context[token_starts[index[s]]:token_ends[index[e]]] == answer
            row += 1
    assert row == len(features.example_index)
    # Each context token has exactly one best window.
    for i in range(len(examples)):
        rows = features.example_index == i
        best = features.context_index[rows][features.max_context[rows]]
        assert sorted(best.tolist()) == list(range(len(features.token_starts[i])))
    assert features.is_impossible.dtype == np.float32
    assert 0 < features.is_impossible.sum() < len(features.is_impossible)


def test_answer_alignment_and_impossible(tokenizer):
    context = "In 1990, the boy paid 3,000 yen for the \ufb01ne hat."
    questions = ["When?", "How much?", "What?", "Who?"]
    answers = ["1990", "3,000 yen", "\ufb01ne hat", ""]
    starts = [context.index(a) if a else -1 for a in answers]
    features = XLNetQuestionAnswererPreprocessor(tokenizer, sequence_length=64).featurize(
        questions, [context] * 4, starts, answers)
    for row, answer in enumerate(answers):
        s, e = features.start_positions[row], features.end_positions[row]
        if not answer:
            assert s == e == features.inputs["cls_index"][row]
            assert features.is_impossible[row] == 1.0
            continue
        assert features.is_impossible[row] == 0.0
        index = features.context_index[row]
        assert context[features.token_starts[row][index[s]]:
                       features.token_ends[row][index[e]]] == answer
    # Windows that do not hold the whole answer target the null answer.
    long_context = "word " * 60 + "the target here."
    features = XLNetQuestionAnswererPreprocessor(
        tokenizer, sequence_length=32, doc_stride=8).featurize(
            ["Which?"], [long_context], [long_context.index("target")], ["target"])
    answer_token = int(np.argmax(features.token_starts[0] == long_context.index("target")))
    holds = [(index == answer_token).any() for index in features.context_index]
    assert 0 < sum(holds) < len(holds)
    for row, held in enumerate(holds):
        cls_index = features.inputs["cls_index"][row]
        if held:
            assert features.is_impossible[row] == 0.0
            assert features.context_index[row][features.start_positions[row]] == answer_token
        else:
            assert features.is_impossible[row] == 1.0
            assert features.start_positions[row] == features.end_positions[row] == cls_index


def test_word_ids(tokenizer):
    context = "Hello world \u4e2d x 1990, then\ufeffnext"
    features = XLNetQuestionAnswererPreprocessor(tokenizer).featurize(["q?"], [context])
    ids = tokenizer.tokenize(context).numpy().tolist()
    words = features.word_ids[0]
    assert len(words) == len(ids) and words[0] == 0
    assert np.all(np.diff(words) >= 0)
    spans = {}
    for w, s, e in zip(words, features.token_starts[0], features.token_ends[0]):
        lo, hi = spans.get(w, (s, e))
        spans[w] = (min(lo, s), max(hi, e))
    # "▁" + "<unk>" is one word; "then" and "next" are separate words because
    # SentencePiece treats U+FEFF as a space.
    assert [context[s:e] for s, e in spans.values()] == [
        "Hello", "world", "\u4e2d", "x", "1990,", "then", "next"]


def test_errors_and_config(tokenizer, tmp_path):
    preprocessor = XLNetQuestionAnswererPreprocessor(tokenizer, sequence_length=40)
    with pytest.raises(ValueError, match="Question 0 is empty"):
        preprocessor.featurize([" "], ["context"])
    with pytest.raises(ValueError, match="Context 1 is empty"):
        preprocessor.featurize(["q", "q"], ["context", ""])
    with pytest.raises(ValueError, match="2 questions but 1 contexts"):
        preprocessor.featurize(["q", "q"], ["c"])
    with pytest.raises(ValueError, match="no room for context"):
        preprocessor.featurize(["a long question " * 10], ["c"], sequence_length=20)
    with pytest.raises(TypeError, match="featurize"):
        preprocessor("question")
    config = keras.saving.serialize_keras_object(
        XLNetQuestionAnswererPreprocessor(tokenizer, sequence_length=96, doc_stride=32,
                                          max_query_length=16))
    assert {k: config["config"][k] for k in ("sequence_length", "doc_stride",
                                             "max_query_length")} == {
        "sequence_length": 96, "doc_stride": 32, "max_query_length": 16}
    restored = keras.saving.deserialize_keras_object(config)
    assert isinstance(restored, XLNetQuestionAnswererPreprocessor)
    assert restored.doc_stride == 32 and restored.tokenizer_cls is XLNetTokenizer
    assert isinstance(preprocessor.featurize(["q?"], ["c d"]), QAFeatures)
