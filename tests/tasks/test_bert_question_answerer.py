"""BertQuestionAnswerer against transformers' BertForQuestionAnswering and its
question-answering pipeline (4.57.x), and the reference SQuAD algorithms."""

import json
import os
import warnings

import keras
import numpy as np
import pytest
import torch
import transformers

import kerabert
from kerabert.preprocessors.question_answerer_preprocessor import max_context_flags
from kerabert.preprocessors.question_answerer_preprocessor import window_starts
from tests import harness
from tests.conftest import save_tiny_hf_bert
from tests.conftest import torch_inputs

CONTEXT = ("the quick brown fox jumps over the lazy dog . a cat sat on the mat , "
           "not a dog ! the good movie was not bad . ")
PAIRS = [
    ("what was the lazy dog ?", CONTEXT),
    ("who sat on the mat ?", CONTEXT * 3),          # several windows
    ("is the movie good ?", "The good movie, was not bad!"),
    ("a cat ?", "the fox jumps over the dog. " * 6 + "a cat sat on the mat."),
    ("the quick fox", "Quick, quick: the brown fox was not lazy; the dog was."),
    ("what jumps ?", "fox " * 40),
]
SETTINGS = [
    dict(max_seq_len=32),
    dict(max_seq_len=32, top_k=3),
    dict(max_seq_len=24, doc_stride=8, top_k=3),
    dict(max_seq_len=24, doc_stride=4, top_k=2, handle_impossible_answer=True),
    dict(max_seq_len=20, doc_stride=6, top_k=3, align_to_words=False, max_answer_len=5),
]


@pytest.fixture(scope="module")
def hf_qa(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("hf_bert_qa"))
    model = save_tiny_hf_bert(folder, "BertForQuestionAnswering", seed=3)
    # BertForQuestionAnswering saves no pooler. The question answerer does not use
    # it, so it loads without a word; a backbone alone says its pooler is random.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        qa = kerabert.BertQuestionAnswerer.from_preset(folder, sequence_length=32)
    with pytest.warns(UserWarning, match="no pooler"):
        kerabert.BertBackbone.from_preset(folder)
    return folder, model, qa


def test_start_end_logits_match_transformers(hf_qa):
    _, model, qa = hf_qa
    features = qa.preprocessor.featurize([q for q, _ in PAIRS], [c for _, c in PAIRS])
    ours = qa.predict(features.inputs, verbose=0)
    with torch.no_grad():
        theirs = model(**torch_inputs(features.inputs))
    np.testing.assert_allclose(ours["start_logits"], theirs.start_logits.numpy(), atol=1e-5)
    np.testing.assert_allclose(ours["end_logits"], theirs.end_logits.numpy(), atol=1e-5)


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()))
def test_answer_matches_transformers_pipeline(hf_qa, settings):
    folder, _, qa = hf_qa
    pipe = transformers.pipeline("question-answering", model=folder, tokenizer=folder,
                                 device=-1)
    top_k = settings.get("top_k", 1)
    for question, context in PAIRS:
        ours = qa.answer(question, context, **settings)
        theirs = pipe(question=question, context=context, **settings)
        ours = ours if isinstance(ours, list) else [ours]
        theirs = theirs if isinstance(theirs, list) else [theirs]
        # Candidates tied within 1e-4 may legitimately come out in either order.
        ranked = pipe(question=question, context=context, **{**settings, "top_k": top_k + 1})
        ranked = ranked if isinstance(ranked, list) else [ranked]
        scores = [a["score"] for a in ranked]
        for rank, (a, b) in enumerate(zip(ours, theirs)):
            assert abs(a["score"] - b["score"]) < 1e-4, (question, rank, a, b)
            near_tie = any(abs(scores[rank] - scores[j]) <= 1e-4
                           for j in (rank - 1, rank + 1) if 0 <= j < len(scores))
            if not near_tie:
                assert (a["answer"], a["start"], a["end"]) == (b["answer"], b["start"], b["end"])
            assert context[a["start"]:a["end"]] == a["answer"]
        assert len(ours) == len(theirs)


def test_batched_answers_equal_single_answers(hf_qa):
    _, _, qa = hf_qa
    batched = qa.answer([q for q, _ in PAIRS], [c for _, c in PAIRS], max_seq_len=32)
    for (question, context), answer in zip(PAIRS, batched):
        single = qa.answer(question, context, max_seq_len=32)
        assert answer["answer"] == single["answer"]
        assert answer["score"] == pytest.approx(single["score"], abs=1e-6)


def test_answer_rejects_bad_input(hf_qa):
    _, _, qa = hf_qa
    with pytest.raises(ValueError, match="Question 0 is empty"):
        qa.answer("  ", CONTEXT)
    with pytest.raises(ValueError, match="Context 0 is empty"):
        qa.answer("what?", "")
    with pytest.raises(ValueError, match="equal length"):
        qa.answer(["a", "b"], [CONTEXT])
    with pytest.raises(ValueError, match="doc_stride"):
        qa.answer("what?", CONTEXT, max_seq_len=16, doc_stride=32)


def reference_windows(num_tokens, max_tokens, doc_stride):
    """The reference convert_examples_to_features sliding-window loop."""
    spans, start = [], 0
    while start < num_tokens:
        length = min(num_tokens - start, max_tokens)
        spans.append((start, length))
        if start + length == num_tokens:
            break
        start += min(length, doc_stride)
    return spans


def reference_is_max_context(spans, span_index, position):
    best_score, best_index = None, None
    for index, (start, length) in enumerate(spans):
        end = start + length - 1
        if position < start or position > end:
            continue
        score = min(position - start, end - position) + 0.01 * length
        if best_score is None or score > best_score:
            best_score, best_index = score, index
    return best_index == span_index


@pytest.mark.parametrize("num_tokens,budget,stride", [(1, 10, 3), (10, 10, 3), (11, 10, 3),
                                                      (57, 10, 3), (100, 17, 128), (40, 9, 9)])
def test_windows_and_max_context_follow_the_reference(num_tokens, budget, stride):
    spans = reference_windows(num_tokens, budget, stride)
    ours = [(s, min(budget, num_tokens - s)) for s in window_starts(num_tokens, budget, stride, "step")]
    assert ours == spans
    best = max_context_flags(ours, num_tokens)
    for w, (start, length) in enumerate(spans):
        for position in range(start, start + length):
            assert (best[position] == w) == reference_is_max_context(spans, w, position)


def test_overlap_windows_match_hf_tokenizer_overflow(hf_qa):
    folder, _, qa = hf_qa
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    question, context = PAIRS[1]
    encoded = tokenizer(question, context, truncation="only_second", max_length=24, stride=8,
                        return_overflowing_tokens=True)
    features = qa.preprocessor.featurize([question], [context], sequence_length=24,
                                         doc_stride=8, stride_mode="overlap")
    ours = [list(row[mask > 0]) for row, mask in zip(features.inputs["token_ids"],
                                                     features.inputs["padding_mask"])]
    assert ours == encoded["input_ids"]


SQUAD = {"version": "v2.0", "data": [{"title": "t", "paragraphs": [
    {"context": "The quick brown fox jumps over the lazy dog.",
     "qas": [{"id": "q1", "question": "What jumps?",
              "answers": [{"text": "quick brown fox", "answer_start": 4},
                          {"text": "fox", "answer_start": 16}], "is_impossible": False},
             {"id": "q2", "question": "Who sleeps?", "answers": [], "is_impossible": True}]}]}]}


def test_squad_reader_and_errors(tmp_path):
    data = kerabert.squad.load(SQUAD)
    assert data.version == "2.0" and len(data) == 2
    assert data[0].answer_start == 4 and data[0].answers == ["quick brown fox", "fox"]
    assert data[1].is_impossible and data[1].answer_start == -1
    broken = json.loads(json.dumps(SQUAD))
    del broken["data"][0]["paragraphs"][0]["qas"][0]["question"]
    with pytest.raises(kerabert.squad.SquadFormatError, match="question q1 lacks the field 'question'"):
        kerabert.squad.load(broken)
    shifted = json.loads(json.dumps(SQUAD))
    shifted["data"][0]["paragraphs"][0]["qas"][0]["answers"][0]["answer_start"] = 5
    with pytest.raises(kerabert.squad.SquadFormatError, match="q1.*not at offset 5"):
        kerabert.squad.load(shifted)
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(kerabert.squad.SquadFormatError, match="not valid JSON"):
        kerabert.squad.load(str(path))


def test_official_scoring_hand_computed():
    from kerabert.metrics.squad_metrics import evaluate_predictions
    from kerabert.metrics.squad_metrics import f1
    from kerabert.metrics.squad_metrics import normalize_answer
    assert normalize_answer("The  Quick, brown Fox!") == "quick brown fox"
    # "a brown fox" vs "the quick brown fox": 2 common of 2 predicted / 3 gold.
    assert f1("a brown fox", "the quick brown fox") == pytest.approx(2 * 1 * (2 / 3) / (1 + 2 / 3))
    gold = {"q1": ["quick brown fox", "fox"], "q2": []}
    result = evaluate_predictions(gold, {"q1": "the fox", "q2": "dog"},
                                  null_odds={"q1": -1.0, "q2": 2.0})
    assert result["exact_match"] == 50.0          # q1 matches "fox"; q2 should be ""
    assert result["HasAns_exact"] == 100.0 and result["NoAns_exact"] == 0.0
    # Predicting "" above odds 2.0 ... the best threshold keeps q1 and nulls q2:
    assert result["best_exact"] == 100.0 and result["best_exact_thresh"] == -1.0
    v1 = evaluate_predictions({"a": ["x y"], "b": ["z"]}, {"a": "x", "b": "z"})
    assert v1["exact_match"] == 50.0 and v1["f1"] == pytest.approx(100 * (2 / 3 + 1) / 2)
    assert "HasAns_exact" not in v1


def _synthetic_squad(n, seed):
    rng = np.random.default_rng(seed)
    animals, colors = ["fox", "dog", "cat"], ["good", "bad", "lazy", "quick", "brown"]
    paragraphs = []
    for i in range(n):
        animal, color = rng.choice(animals), rng.choice(colors)
        filler = " ".join(rng.choice(["the", "a", "on", "mat", "sat", "over"], size=rng.integers(0, 5)))
        context = f"{filler} the {animal} is {color} . {filler}".strip()
        start = context.index(f" is {color}") + 4
        paragraphs.append({"context": context, "qas": [{
            "id": f"s{i}", "question": f"what is the {animal} ?",
            "answers": [{"text": color, "answer_start": start}]}]})
    return kerabert.squad.load({"data": [{"paragraphs": paragraphs}]})


def test_fine_tuning_learns_synthetic_squad(hf_bert_dir, tmp_path):
    folder, _ = hf_bert_dir
    keras.utils.set_random_seed(0)
    qa = kerabert.BertQuestionAnswerer.from_preset(folder, sequence_length=24)
    train = _synthetic_squad(64, seed=0)
    before = kerabert.squad.evaluate(train, qa.predict_squad(train))["exact_match"]
    qa.compile(learning_rate=1e-2)
    history = qa.fit(train, epochs=15, batch_size=16, verbose=0)
    losses = history.history["loss"]
    after = kerabert.squad.evaluate(train, qa.predict_squad(train, output_dir=str(tmp_path)))
    assert losses[-1] < 0.5 * losses[0]
    assert after["exact_match"] >= before + 40, (before, after)
    for name in ("predictions.json", "nbest_predictions.json"):
        assert os.path.isfile(tmp_path / name)
    # The saved preset keeps the trained span head.
    qa.save_to_preset(str(tmp_path / "preset"))
    reloaded = kerabert.BertQuestionAnswerer.from_preset(str(tmp_path / "preset"))
    assert reloaded.predict_squad(train) == qa.predict_squad(train)


def test_v2_null_answers_follow_the_threshold(hf_qa):
    _, _, qa = hf_qa
    data = kerabert.squad.load(SQUAD)
    always_null = qa.predict_squad(data, null_score_diff_threshold=-1e9)
    never_null = qa.predict_squad(data, null_score_diff_threshold=1e9)
    assert set(always_null.values()) == {""}
    assert all(never_null.values())
    odds = qa.last_squad_outputs["null_odds"]
    default = qa.predict_squad(data)
    for qid, text in default.items():
        assert (text == "") == (odds[qid] > 0.0)


def test_large_squad_files_stream_with_a_known_length(hf_bert_dir):
    folder, _ = hf_bert_dir
    qa = kerabert.BertQuestionAnswerer.from_preset(folder, sequence_length=16, doc_stride=4)
    data = _synthetic_squad(30, seed=5)
    in_memory = qa._squad_dataset(data, batch_size=4, shuffle=False)
    qa.stream_chunk_size = 7  # force the streaming path with 5 chunks
    streamed = qa._squad_dataset(data, batch_size=4, shuffle=False)
    assert int(streamed.cardinality()) == int(in_memory.cardinality())
    for (x1, y1), (x2, y2) in zip(in_memory, streamed):
        for key in x1:
            np.testing.assert_array_equal(x1[key], x2[key])
        for key in y1:
            np.testing.assert_array_equal(y1[key], y2[key])
    history = qa.fit(data, epochs=1, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"][0])


# --- the shared harness ----------------------------------------------------------

class TestHarness(harness.TaskRoundTrips):
    task_cls = kerabert.BertQuestionAnswerer
