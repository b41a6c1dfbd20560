"""Raw-text SavedModels of BertQuestionAnswerer and XLNetQuestionAnswerer,
called from a process with TensorFlow and the tensorflow-text kernels only,
against the task's own `answer()` (itself tested against the transformers
question-answering pipeline and the reference XLNet decoding).

The tasks window with `sequence_length=32`, so `answer()`'s defaults are
max_seq_len=32, doc_stride=16: most contexts here need several windows.
"""

import collections
import warnings

import pytest

import kerabert
from kerabert.serving import export_task
from tests.serving.conftest import call_in_fresh_process
from tests.serving.conftest import spec
from tests.serving.conftest import strings

SEQUENCE_LENGTH = 32
STORY = ("the quick brown fox jumps over the lazy dog . a cat sat on the mat , not a dog ! "
         "the good movie was not bad . ")
UNICODE = ("Ünïcödé café — naïve Zoë met 東京タワー in 1990, paying 3,500 yen ½ \u200b for "
           "ﬁnance. ΟΔΟΣ and straße, İstanbul: done.")
# name -> (questions, contexts); every example here is one `answer()` accepts.
CASES = {
    "one_window": (["what was the lazy dog ?"], ["the lazy dog sat on a mat ."]),
    "many_windows": (["who sat on the mat ?"], [STORY * 4]),
    "unicode": (["who met whom in 1990 ?", "Ünïcödé ?"], [UNICODE, UNICODE * 2]),
    "one_token_context": (["a cat ?"], ["dog"]),
    "mixed_batch": (
        ["what jumps ?", "a cat ?", "is the movie good ?", "who ?", "where ?"],
        ["fox " * 40, "the fox jumps over the dog. " * 6 + "a cat sat on the mat.",
         "The good movie, was not bad!", UNICODE, "the mat"]),
}
# Examples `answer()` rejects with a ValueError; the signature answers ("", 0, 0, 0.0).
REJECTED = {
    "blank": (["", "   ", "what ?", "what ?"], ["a cat", "a cat", "", " \n "]),
    # 20 question tokens leave no room to advance with doc_stride=16 in 32 tokens.
    "long_question": (["the dog " * 10], [STORY]),
}
EMPTY_ANSWER = {"answer": "", "start": 0, "end": 0, "score": 0.0}
Served = collections.namedtuple("Served", "task handle_impossible_answer signatures results")


@pytest.fixture(scope="module")
def tasks(hf_models):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tiny checkpoints: no pooler
        return {"bert": kerabert.BertQuestionAnswerer.from_preset(
                    hf_models["bert_qa"], sequence_length=SEQUENCE_LENGTH),
                "xlnet": kerabert.XLNetQuestionAnswerer.from_preset(
                    hf_models["xlnet_qa"], sequence_length=SEQUENCE_LENGTH)}


@pytest.fixture(scope="module", params=[("bert", False), ("bert", True), ("xlnet", False),
                                        ("xlnet", True)],
                ids=lambda p: f"{p[0]}-{'impossible' if p[1] else 'default'}")
def served(request, tasks, tmp_path_factory):
    """One export per model and `handle_impossible_answer`; every case answered
    by one fresh process."""
    kind, impossible = request.param
    task = tasks[kind]
    path = tmp_path_factory.mktemp(f"{kind}_qa_export") / "1"
    with pytest.warns(UserWarning, match="more than 12 tokens leaves no room"):
        export_task(task, str(path), handle_impossible_answer=impossible)
    cases = {**CASES, **REJECTED, "empty_batch": ([], [])}
    calls = [("serving_default", {"question": strings(q), "context": strings(c)})
             for q, c in cases.values()]
    signatures, results = call_in_fresh_process(path, calls)
    return Served(task, impossible, signatures, dict(zip(cases, results)))


def _rows(outputs):
    return [{"answer": outputs["answer"][i], "start": int(outputs["start"][i]),
             "end": int(outputs["end"][i]), "score": float(outputs["score"][i])}
            for i in range(len(outputs["answer"]))]


def _assert_same(ours, expected, context):
    assert (ours["answer"], ours["start"], ours["end"]) == (
        expected["answer"], expected["start"], expected["end"])
    # The signature returns float32 scores; answer() float64.
    assert ours["score"] == pytest.approx(expected["score"], rel=1e-5, abs=1e-7)
    assert context[ours["start"]:ours["end"]] == ours["answer"]


def test_signature_takes_questions_and_contexts(served):
    assert served.signatures == {"serving_default": {
        "inputs": {"question": spec("string", [None]), "context": spec("string", [None])},
        "outputs": {"answer": spec("string", [None]), "start": spec("int64", [None]),
                    "end": spec("int64", [None]), "score": spec("float32", [None])}}}


@pytest.mark.parametrize("case", list(CASES))
def test_answers_match_answer(served, case):
    questions, contexts = CASES[case]
    expected = served.task.answer(questions, contexts,
                                  handle_impossible_answer=served.handle_impossible_answer)
    ours = _rows(served.results[case])
    assert len(ours) == len(expected)
    for a, b, context in zip(ours, expected, contexts):
        _assert_same(a, b, context)


def test_contexts_are_windowed(served):
    """The cases above do exercise several windows per context."""
    preprocessor = served.task.preprocessor
    for case in ("many_windows", "unicode", "mixed_batch"):
        questions, contexts = CASES[case]
        features = preprocessor.featurize(questions, contexts, sequence_length=SEQUENCE_LENGTH,
                                          doc_stride=SEQUENCE_LENGTH // 2, stride_mode="overlap")
        assert len(features.example_index) > len(questions), case


def test_the_null_answer_is_exercised(served):
    """With handle_impossible_answer the null answer wins somewhere, so the
    comparison above covers it. (The tiny random XLNet's answer-class
    probability, about 0.5, beats every span; the BERT cases have both. Both
    signatures pick between the two in the same code.)"""
    if not served.handle_impossible_answer:
        pytest.skip("no null answer without handle_impossible_answer")
    answers = [row["answer"] for case in CASES for row in _rows(served.results[case])]
    assert "" in answers
    if isinstance(served.task, kerabert.BertQuestionAnswerer):
        assert any(answers)


@pytest.mark.parametrize("case", list(REJECTED))
def test_requests_answer_rejects_get_the_empty_answer(served, case):
    questions, contexts = REJECTED[case]
    for question, context in zip(questions, contexts):
        with pytest.raises(ValueError):
            served.task.answer(question, context)
    assert _rows(served.results[case]) == [EMPTY_ANSWER] * len(questions)


def test_an_empty_batch_gives_empty_outputs(served):
    outputs = served.results["empty_batch"]
    assert {k: v.shape for k, v in outputs.items()} == {
        "answer": (0,), "start": (0,), "end": (0,), "score": (0,)}


def test_settings_answer_rejects_are_rejected_at_export(tasks, tmp_path):
    with pytest.raises(ValueError, match="doc_stride .* is larger than max_seq_len"):
        export_task(tasks["bert"], str(tmp_path / "a"), max_seq_len=16, doc_stride=20)
    with pytest.raises(ValueError, match="max_seq_len=128 exceeds the model's 64 positions"):
        export_task(tasks["bert"], str(tmp_path / "b"), max_seq_len=128)


def test_a_question_answerer_without_preprocessor_takes_no_answer_options(hf_models, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        task = kerabert.BertQuestionAnswerer.from_preset(hf_models["bert_qa"], preprocessor=None)
    with pytest.raises(ValueError, match="max_seq_len do not apply.*no preprocessor"):
        export_task(task, str(tmp_path / "x"), max_seq_len=32)
