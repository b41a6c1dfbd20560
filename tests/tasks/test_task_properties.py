"""Property-based tests of the tasks on random Unicode (hypothesis).

- `answer(question=..., context=...)` of the BERT and XLNet question answerers
  never crashes, and every answer (each of `top_k`) is exactly
  `context[start:end]`. A question or context that is empty to the model
  (whitespace only, or only characters the tokenizer drops such as "\u200b")
  raises a `ValueError` that says so, before the model runs.
- `predict` of the BERT and XLNet classifiers gives a text the same logits
  alone, inside a batch of other texts and with its padding cut off: padding
  does not leak.

The texts are those of tests/tokenization/unicode_text.py; the models are the
tiny random ones of tests/harness.py, built once per module. Bounded like
test_tokenizer_properties.py: fixed examples, derandomized, no database.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

import kerabert
from tests import harness
from tests.tokenization.unicode_text import texts

BOUNDED = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Contexts long enough to need several windows at the small window sizes below.
contexts = st.one_of(texts, st.lists(texts, min_size=2, max_size=6).map(" ".join))
# Window settings that always fit: a question of at most 4 tokens leaves at
# least 9 context tokens per window, more than `doc_stride`.
answer_options = st.fixed_dictionaries({
    "top_k": st.sampled_from([1, 3]),
    "max_seq_len": st.sampled_from([16, 32]),
    "max_question_len": st.just(4),
    "doc_stride": st.sampled_from([1, 4]),
    "handle_impossible_answer": st.booleans(),
    "align_to_words": st.booleans(),
})


@pytest.fixture(scope="module", params=["bert", "xlnet"])
def qa(request):
    cls = {"bert": kerabert.BertQuestionAnswerer, "xlnet": kerabert.XLNetQuestionAnswerer}
    return harness.tiny_task(cls[request.param])


@pytest.fixture(scope="module", params=["bert", "xlnet"])
def clf(request):
    cls = {"bert": kerabert.BertClassifier, "xlnet": kerabert.XLNetClassifier}
    return harness.tiny_task(cls[request.param])


def is_empty(qa, text):
    """Whitespace only (`str.strip()`), or only characters the tokenizer drops."""
    return not text.strip() or len(qa.preprocessor.tokenizer.tokenize(text)) == 0


@BOUNDED
@given(question=texts, context=contexts, options=answer_options)
@example(question="what ?", context="the quick brown fox " * 8, options=dict(
    top_k=3, max_seq_len=16, max_question_len=4, doc_stride=4, handle_impossible_answer=True,
    align_to_words=True))
@example(question="e\u0301\u200b?", context="\u200b\u200d\ufeff\x00", options=dict(
    top_k=3, max_seq_len=16, max_question_len=4, doc_stride=4, handle_impossible_answer=False,
    align_to_words=True))
@example(question="fox", context="ﬁnance ½ ㍱ e\u0301 👨\u200d👩\u200d👧 " + "a" * 201,
         options=dict(top_k=3, max_seq_len=32, max_question_len=4, doc_stride=1,
                      handle_impossible_answer=False, align_to_words=False))
def test_answers_are_slices_of_the_context(qa, question, context, options):
    if is_empty(qa, question) or is_empty(qa, context):
        with pytest.raises(ValueError, match="(Question|Context) 0 (is empty|has no tokens)"):
            qa.answer(question=question, context=context, **options)
        return
    answers = qa.answer(question=question, context=context, **options)
    if options["top_k"] == 1:
        answers = [answers]
    assert 1 <= len(answers) <= options["top_k"]
    for answer in answers:
        assert set(answer) == {"answer", "start", "end", "score"}
        assert 0 <= answer["start"] <= answer["end"] <= len(context), answer
        assert context[answer["start"]:answer["end"]] == answer["answer"], (context, answer)
        assert np.isfinite(answer["score"]), answer


@settings(BOUNDED, max_examples=20)
@given(st.lists(texts, min_size=2, max_size=6), st.data())
@example(["the quick brown fox jumps over the lazy dog " * 6, "", "a", " \u3000 "], None)
def test_logits_do_not_depend_on_the_batch_or_padding(clf, batch, data):
    position = 0 if data is None else data.draw(st.integers(0, len(batch) - 1))
    together = clf.predict(batch, verbose=0)
    alone = clf.predict([batch[position]], verbose=0)
    assert together.shape == (len(batch), clf.num_classes)
    np.testing.assert_allclose(alone[0], together[position], atol=1e-5)
    # The same row with its padding cut off (wherever the layout puts it).
    packed = {k: np.asarray(v) for k, v in clf.preprocessor([batch[position]]).items()}
    real = packed["padding_mask"][0] > 0
    unpadded = clf.predict_on_batch({k: v[:, real] for k, v in packed.items()})
    np.testing.assert_allclose(alone[0], unpadded[0], atol=1e-5)


def test_lone_surrogate_raises_a_clear_error(clf):
    with pytest.raises(ValueError, match="text 1 with the lone surrogate U\\+D800 at character 2"):
        clf.predict(["fine", "no\ud800"], verbose=0)


@pytest.mark.parametrize("question,context", [("who\udc80", "a cat"), ("who", "a \ud800cat")])
def test_lone_surrogate_in_answer_raises_a_clear_error(qa, question, context):
    with pytest.raises(ValueError, match="lone surrogate"):
        qa.answer(question=question, context=context)
