"""Every script in examples/ runs to the end with its quick settings and prints
its result: a figure in its valid range (not a fixed value: a few training
steps decide little), plus what the script itself claims (reloaded logits
match, a preset or SavedModel on disk)."""

import glob
import os
import re
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slow  # five fresh processes, each importing TensorFlow and training

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUMBER = r"(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?)"

# script -> (its quick arguments, [(a pattern whose groups are figures, lowest, highest)]).
# "{tmp}" in an argument is the test's temporary folder.
EXAMPLES = {
    "text_classification.py": (["--quick"], [
        (rf"held-out accuracy: {NUMBER}%", 0, 100),
    ]),
    "question_answering.py": (["--quick"], [
        (rf"dev: \{{'exact_match': {NUMBER}, 'f1': {NUMBER}, 'total': 16,", 0, 100),
        (rf"'score': {NUMBER}, 'start': \d+, 'end': \d+, 'answer': '", 0, 1),
    ]),
    "xlnet_classification.py": (["--quick"], [
        (rf"synthetic: train accuracy {NUMBER}%, held-out accuracy {NUMBER}%", 0, 100),
        (rf"QA \(untrained head, arbitrary span\): \{{'score': {NUMBER},", 0, 1),
    ]),
    "pretrain_bert.py": (["--quick"], [
        (rf"held-out masked-LM accuracy {NUMBER}% = ", 0, 100),
        (rf"pretrained  backbone: test accuracy {NUMBER}%", 0, 100),
        (rf"random init backbone: test accuracy {NUMBER}%", 0, 100),
    ]),
    "glue_style_finetune_and_export.py": (
        ["--tiny", "--epochs", "1", "--export-dir", os.path.join("{tmp}", "export", "1")], [
            (rf"SST-2 dev: accuracy {NUMBER}", 0, 1),
            (rf"max \|logit difference\| {NUMBER}, same label on {NUMBER}% of 40 sentences",
             0, 100),
        ]),
}


def test_every_example_is_run():
    scripts = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "examples", "*.py")))
    assert scripts == sorted(EXAMPLES)


def run_example(script, args, tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [ROOT] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "examples", script),
         *(a.replace("{tmp}", str(tmp_path)) for a in args)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    print(f"{script} {' '.join(args)}: {time.perf_counter() - start:.1f} s")
    assert result.returncode == 0, (f"{script} exited with {result.returncode}:\n"
                                    + result.stdout[-3000:] + result.stderr[-3000:])
    return result.stdout


@pytest.mark.parametrize("script", sorted(EXAMPLES))
def test_example_runs_quickly_and_prints_its_result(script, tmp_path):
    args, figures = EXAMPLES[script]
    stdout = run_example(script, args, tmp_path)
    for pattern, lowest, highest in figures:
        match = re.search(pattern, stdout)
        assert match, f"{script} printed no line matching {pattern!r}:\n{stdout[-3000:]}"
        for value in map(float, match.groups()):
            assert lowest <= value <= highest, (pattern, value)

    if script == "text_classification.py":
        assert os.path.isfile(tmp_path / "review_classifier" / "config.json")
    if script == "question_answering.py":
        exact_match, f1 = map(float, re.search(rf"'exact_match': {NUMBER}, 'f1': {NUMBER}",
                                               stdout).groups())
        assert f1 >= exact_match  # an exact match scores F1 100 on its question
    if script == "xlnet_classification.py":
        assert "reloaded logits match: True" in stdout
    if script == "glue_style_finetune_and_export.py":
        gap = float(re.search(rf"max \|logit difference\| {NUMBER}", stdout).group(1))
        assert gap <= 1e-5
        assert os.path.isfile(tmp_path / "export" / "1" / "saved_model.pb")
