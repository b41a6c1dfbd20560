"""`kerabert glue train|evaluate|predict` end to end on GLUE-layout files."""

import csv
import json
import os

import numpy as np

import kerabert
from kerabert import cli
from tests.conftest import save_tiny_hf_bert

MRPC = os.path.join(os.path.dirname(__file__), "..", "fixtures", "glue", "MRPC")


def test_train_evaluate_predict(tmp_path, capsys):
    model = str(tmp_path / "hf")
    save_tiny_hf_bert(model, "BertModel", seed=7)
    trained = str(tmp_path / "trained")
    common = ["--task", "mrpc", "--data-dir", MRPC]
    assert cli.main(["glue", "train", *common, "--preset", model, "--output-dir", trained,
                     "--epochs", "1", "--batch-size", "2", "--sequence-length", "32"]) == 0
    with open(os.path.join(trained, "metrics.json")) as f:
        metrics = json.load(f)
    assert metrics["task"] == "MRPC" and set(metrics) >= {"accuracy", "f1"}

    capsys.readouterr()
    assert cli.main(["glue", "evaluate", *common, "--preset", trained]) == 0
    scores = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # The same model on the same split scores the same.
    assert scores == {k: metrics[k] for k in ("accuracy", "f1")}
    dev = kerabert.glue.load("mrpc", MRPC, "dev")
    classifier = kerabert.BertClassifier.from_preset(trained)
    expected = kerabert.glue.evaluate("mrpc", dev.y, classifier.predict(dev.x, verbose=0))
    np.testing.assert_allclose(scores["accuracy"], expected["accuracy"])

    out = str(tmp_path / "submission")
    assert cli.main(["glue", "predict", *common, "--preset", trained, "--output-dir", out]) == 0
    with open(os.path.join(out, "MRPC.tsv"), newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    test = kerabert.glue.load("mrpc", MRPC, "test")
    assert rows[0] == ["index", "prediction"]
    assert [r[0] for r in rows[1:]] == test.ids and {r[1] for r in rows[1:]} <= {"0", "1"}

    assert cli.main(["glue", "evaluate", *common, "--preset", trained, "--split", "test"]) == 1
    assert "has no labels" in capsys.readouterr().err
