"""In-graph question-answering windows against `QuestionAnswererPreprocessor.featurize`
(itself tested against the reference `convert_examples_to_features`): the same
windows, positions, max-context flags, offsets and word ids, bit for bit."""

import random

import numpy as np
import pytest
import tensorflow as tf

from kerabert.preprocessors.bert_question_answerer_preprocessor import (
    BertQuestionAnswererPreprocessor,
)
from kerabert.preprocessors.question_answerer_windows import question_answerer_windows
from kerabert.preprocessors.xlnet_question_answerer_preprocessor import (
    XLNetQuestionAnswererPreprocessor,
)
from kerabert.tokenizers.bert_tokenizer import BertTokenizer
from kerabert.tokenizers.xlnet_tokenizer import XLNetTokenizer
from tests.conftest import TINY_VOCAB
from tests.conftest import XLNET_SPIECE
from tests.tokenization.corpus import botchan_sentences
from tests.tokenization.corpus import build_corpus

STORY = "the quick brown fox jumps over the lazy dog . a cat sat on the mat , not a dog ! "
EXAMPLES = [
    ("what ?", "the lazy dog ."),                                  # one short window
    ("who sat on the mat ?", STORY * 5),                           # many windows
    ("q", "Ünïcödé çafé — naïve 東京タワー \u200b ½ ﬁnance x"),      # unicode, expansions
    ("In 1990, who paid?", "In 1990, the boy paid 3,500 yen."),  # XLNet digit-comma pieces
    ("the " * 80, STORY * 2),                                      # question past max_query
    ("a", "x"),
    ("cat", "\u200b"),                     # a context with no token: featurize raises
    ("dog", "fox " * 37),
    ("  spaced  question ", "  leading and trailing\tspaces \n "),
    ("", STORY),                           # blank question: featurize raises
    ("what ?", ""),                        # empty context: featurize raises
    ("what ?", " \n\u3000 "),              # whitespace-only context: featurize raises
]
# (sequence_length, doc_stride, max_query_length, stride_mode)
SETTINGS = [(32, 8, 64, "overlap"), (24, 4, 10, "overlap"), (64, 16, 64, "overlap"),
            (20, 3, 6, "step"), (48, 30, 12, "overlap")]


@pytest.fixture(scope="module", params=["bert", "xlnet"])
def preprocessor(request):
    if request.param == "bert":
        return BertQuestionAnswererPreprocessor(BertTokenizer(TINY_VOCAB))
    return XLNetQuestionAnswererPreprocessor(XLNetTokenizer(XLNET_SPIECE))


def _featurize_each(preprocessor, questions, contexts, **settings):
    """featurize on the examples it accepts; which ones those are."""
    accepted = []
    for q, c in zip(questions, contexts):
        try:
            preprocessor.featurize([q], [c], **settings)
            accepted.append(True)
        except ValueError:
            accepted.append(False)
    kept = [i for i, ok in enumerate(accepted) if ok]
    features = preprocessor.featurize([questions[i] for i in kept], [contexts[i] for i in kept],
                                      **settings) if kept else None
    return accepted, kept, features


def _assert_windows_equal(preprocessor, questions, contexts, windows, **settings):
    accepted, kept, features = _featurize_each(preprocessor, questions, contexts, **settings)
    assert windows["valid"].numpy().tolist() == accepted
    if features is None:
        assert windows["inputs"]["token_ids"].shape[0] == 0
        return
    for key, expected in features.inputs.items():
        ours = windows["inputs"][key].numpy()
        assert ours.dtype == expected.dtype, key
        np.testing.assert_array_equal(ours, expected, err_msg=key)
    assert set(windows["inputs"]) == set(features.inputs)
    np.testing.assert_array_equal(windows["example_index"].numpy(),
                                  np.asarray(kept)[features.example_index])
    np.testing.assert_array_equal(windows["context_index"].numpy(), features.context_index)
    np.testing.assert_array_equal(windows["max_context"].numpy(), features.max_context)
    for j, i in enumerate(kept):
        np.testing.assert_array_equal(windows["token_starts"][i].numpy(), features.token_starts[j])
        np.testing.assert_array_equal(windows["token_ends"][i].numpy(), features.token_ends[j])
        np.testing.assert_array_equal(windows["word_ids"][i].numpy(), features.word_ids[j])


@pytest.mark.parametrize("length,stride,max_query,mode", SETTINGS)
def test_windows_equal_featurize(preprocessor, length, stride, max_query, mode):
    questions, contexts = zip(*EXAMPLES)
    windows = question_answerer_windows(
        preprocessor.tokenizer, tf.constant(questions), tf.constant(contexts),
        sequence_length=length, doc_stride=stride, max_query_length=max_query, stride_mode=mode)
    _assert_windows_equal(preprocessor, list(questions), list(contexts), windows,
                          sequence_length=length, doc_stride=stride,
                          max_query_length=max_query, stride_mode=mode)


def test_windows_equal_featurize_on_a_varied_corpus(preprocessor):
    """Questions from the tokenizer corpus (accents, CJK, emoji, controls, special
    casing, ...), contexts of one to eight Botchan sentences or corpus lines."""
    rng = random.Random(0)
    corpus, sentences = build_corpus(300, seed=5), botchan_sentences()
    questions = [rng.choice(corpus)[:80] for _ in range(60)]
    contexts = [" ".join(rng.choice(sentences) for _ in range(rng.randint(1, 8))) if i % 3
                else " ".join(rng.choice(corpus) for _ in range(rng.randint(1, 4)))
                for i in range(60)]
    settings = dict(sequence_length=40, doc_stride=12, max_query_length=16,
                    stride_mode="overlap")
    windows = question_answerer_windows(preprocessor.tokenizer, tf.constant(questions),
                                        tf.constant(contexts), **settings)
    assert len(windows["example_index"]) > 2 * len(questions)  # many multi-window contexts
    _assert_windows_equal(preprocessor, questions, contexts, windows, **settings)


def test_an_empty_batch_has_no_windows(preprocessor):
    windows = question_answerer_windows(
        preprocessor.tokenizer, tf.constant([], tf.string), tf.constant([], tf.string),
        sequence_length=32, doc_stride=8)
    assert windows["inputs"]["token_ids"].shape == (0, 32)
    assert windows["valid"].shape == (0,)


def test_windows_run_in_a_dataset_map(preprocessor):
    """Graph mode (as in `tf.data`): the same windows as eagerly."""
    questions, contexts = zip(*EXAMPLES[:4])
    settings = dict(sequence_length=32, doc_stride=8, max_query_length=16)
    dataset = tf.data.Dataset.from_tensor_slices((list(questions), list(contexts))).batch(4)
    mapped = dataset.map(lambda q, c: question_answerer_windows(
        preprocessor.tokenizer, q, c, **settings)["inputs"])
    (graph,) = list(mapped)
    eager = question_answerer_windows(preprocessor.tokenizer, tf.constant(questions),
                                      tf.constant(contexts), **settings)["inputs"]
    for key in eager:
        np.testing.assert_array_equal(graph[key].numpy(), eager[key].numpy())


def test_bad_arguments_are_named():
    tokenizer = BertTokenizer(TINY_VOCAB)
    with pytest.raises(ValueError, match="stride_mode must be 'step' or 'overlap'"):
        question_answerer_windows(tokenizer, ["a"], ["b"], sequence_length=16, doc_stride=4,
                                  stride_mode="slide")
    with pytest.raises(ValueError, match="layout must be one of"):
        question_answerer_windows(tokenizer, ["a"], ["b"], sequence_length=16, doc_stride=4,
                                  layout="gpt")
    with pytest.raises(TypeError, match="layout='bert'"):
        question_answerer_windows(object(), ["a"], ["b"], sequence_length=16, doc_stride=4)


def test_preprocessor_call_runs_in_tf_data():
    """The base class promises preprocessors map over a `tf.data` pipeline: a
    question answerer's gives the windows of each batch, as `featurize` does."""
    preprocessor = BertQuestionAnswererPreprocessor(BertTokenizer(TINY_VOCAB), sequence_length=16,
                                                    doc_stride=4)
    questions = ["what jumps over the dog ?", "who sat ?", "the"]
    contexts = ["the quick brown fox jumps over the lazy dog . a cat sat on the mat , the dog "
                "was not good .", "a cat sat on the mat .", "the movie"]
    dataset = tf.data.Dataset.from_tensor_slices((questions, contexts)).batch(2)
    windows = list(dataset.map(lambda q, c: preprocessor((q, c))).unbatch().batch(100))
    expected = preprocessor.featurize(questions, contexts, stride_mode="step").inputs
    assert len(windows) == 1
    for key in ("token_ids", "segment_ids", "padding_mask"):
        np.testing.assert_array_equal(windows[0][key].numpy(), expected[key])
    with pytest.raises(ValueError, match="training targets"):
        preprocessor((questions, contexts), np.zeros(3))
