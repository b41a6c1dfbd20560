import pytest

from tests.conftest import run_python


def test_demo_data_is_an_honest_split():
    from kerabert.data.demo_reviews import load_demo_reviews
    train_x, train_y = load_demo_reviews("train")
    test_x, test_y = load_demo_reviews("heldout")
    assert (len(train_x), len(test_x)) == (320, 120)
    assert sorted(set(train_y)) == [0, 1] and sum(test_y) == 60
    assert not set(train_x) & set(test_x)


@pytest.mark.slow
def test_demo_command_runs_end_to_end(tmp_path):
    """`kerabert demo` on a slice of the data: load MiniLM through the HF loader,
    fine-tune, evaluate, save and reload a preset (the full run is the README's
    first command; this checks the wiring in a fraction of the time)."""
    output = tmp_path / "preset"
    result = run_python("-m", "kerabert.cli", "demo", "--epochs", "1", "--max-train-examples",
                        "32", "--output-dir", str(output), env={"COLUMNS": "200"})
    assert "Held-out accuracy" in result.stdout
    assert "differ by at most 0.00e+00" in result.stdout
    assert (output / "task.weights.h5").is_file()
