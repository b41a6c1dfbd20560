"""`x=None` and `answer(question=None / context=None)` get an error that names
the argument and what it takes, before anything is traced."""

import pytest

import kerabert
from tests import harness

CONTEXT = "the quick brown fox jumps over the lazy dog ."


@pytest.fixture(scope="module")
def classifier():
    return harness.tiny_task(kerabert.BertClassifier, num_classes=2)


@pytest.mark.parametrize("call, method", [
    (lambda m: m.predict(None), "predict"),
    (lambda m: m.evaluate(None, [0, 1]), "evaluate"),
    (lambda m: m.fit(None, [0, 1]), "fit"),
])
def test_x_none_names_the_argument(classifier, call, method):
    with pytest.raises(TypeError, match=rf"{method}\(\) got x=None: x takes a string, a list of "
                                        "strings"):
        call(classifier)
    assert classifier.train_function is None and classifier.predict_function is None


def test_x_none_without_a_preprocessor():
    task = kerabert.BertClassifier(harness.tiny_backbone("bert"), num_classes=2)
    with pytest.raises(TypeError, match=r"predict\(\) got x=None: x takes a dict of packed "
                                        r"inputs \(token_ids"):
        task.predict(None)


@pytest.mark.parametrize("cls", [kerabert.BertQuestionAnswerer, kerabert.XLNetQuestionAnswerer])
def test_answer_names_a_missing_question_or_context(cls):
    qa = harness.tiny_task(cls)
    with pytest.raises(TypeError, match="answer\\(\\) got question=None: question takes a "
                                        "string, or a non-empty list of strings"):
        qa.answer(question=None, context=CONTEXT)
    with pytest.raises(TypeError, match="answer\\(\\) got context=None: context takes a string"):
        qa.answer("what jumps ?", context=None)
    with pytest.raises(TypeError, match="got context=a list whose item 1 is NoneType"):
        qa.answer(["what jumps ?", "who ?"], [CONTEXT, None])
    with pytest.raises(TypeError, match="got question=an empty list"):
        qa.answer([], [])
    with pytest.raises(TypeError, match=r"predict\(\) got x=None: x takes a "
                                        r"kerabert\.squad\.SquadData"):
        qa.predict(None)
    assert isinstance(qa.answer("what jumps ?", CONTEXT), dict)  # the checks let text through
