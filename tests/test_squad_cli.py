import json

import pytest

from tests.conftest import run_python
from tests.conftest import save_tiny_hf_bert

SQUAD = {"version": "v2.0", "data": [{"paragraphs": [
    {"context": "the quick brown fox jumps over the lazy dog .",
     "qas": [{"id": "q1", "question": "what jumps ?",
              "answers": [{"text": "quick brown fox", "answer_start": 4}]},
             {"id": "q2", "question": "who sat on the mat ?", "answers": [],
              "is_impossible": True}]}]}]}


def _cli(*args):
    return run_python("-m", "kerabert.cli", "squad", *args, env={"COLUMNS": "200"}).stdout


@pytest.mark.slow
def test_squad_train_predict_evaluate(tmp_path):
    model_dir = str(tmp_path / "hf")
    save_tiny_hf_bert(model_dir, "BertForQuestionAnswering")
    data = tmp_path / "squad.json"
    data.write_text(json.dumps(SQUAD))
    window = ["--max-seq-length", "32", "--doc-stride", "8"]
    _cli("train", "--preset", model_dir, "--train-file", str(data), "--output-dir",
         str(tmp_path / "trained"), "--epochs", "1", "--batch-size", "2", *window)
    _cli("predict", "--preset", str(tmp_path / "trained"), "--predict-file", str(data),
         "--output-dir", str(tmp_path / "out"), *window)
    for name in ("predictions.json", "nbest_predictions.json", "null_odds.json"):
        assert (tmp_path / "out" / name).is_file()
    predictions = json.loads((tmp_path / "out" / "predictions.json").read_text())
    assert set(predictions) == {"q1", "q2"}
    out = _cli("evaluate", "--data-file", str(data), "--predictions",
               str(tmp_path / "out" / "predictions.json"), "--null-odds",
               str(tmp_path / "out" / "null_odds.json"))
    scores = json.loads(out.strip().splitlines()[-1])
    assert scores["total"] == 2 and "best_f1" in scores and "HasAns_exact" in scores
    expected = sum(1 for q, a in (("q1", "quick brown fox"), ("q2", "")) if predictions[q] == a)
    assert scores["exact_match"] == 100.0 * expected / 2
