"""The `kerabert` command line: version, help without TensorFlow, help texts,
one-line errors, and `squad` for XLNet models."""

import argparse
import json

import pytest

from kerabert import cli
from kerabert.version import __version__
from tests.conftest import run_python
from tests.conftest import save_tiny_hf_xlnet
from tests.test_squad_cli import SQUAD
HELP_PATHS = [[], ["demo"], ["glue"], ["glue", "train"], ["glue", "evaluate"], ["glue", "predict"],
              ["squad"], ["squad", "train"], ["squad", "predict"], ["squad", "evaluate"],
              ["pretrain"], ["convert"], ["export"], ["presets"]]


def _parsers(parser, path=()):
    """(path, parser) for the main parser and every subcommand parser."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, path + (name,))


def test_version(capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main(["--version"])
    assert exit.value.code == 0
    assert capsys.readouterr().out.strip() == f"kerabert {__version__}"


def test_help_does_not_import_tensorflow():
    code = ("import sys, json\nfrom kerabert import cli\nout = {}\n"
            f"for path in {HELP_PATHS!r}:\n"
            "    try:\n        cli.main(path + ['--help'])\n    except SystemExit as e:\n"
            "        out[' '.join(path)] = e.code\n"
            "print(json.dumps({'codes': out, 'heavy': sorted(m for m in ('tensorflow', 'keras', "
            "'keras_hub', 'torch', 'transformers') if m in sys.modules)}))")
    result = run_python("-c", code, timeout=120)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["heavy"] == []
    assert set(report["codes"].values()) == {0} and len(report["codes"]) == len(HELP_PATHS)


def test_every_option_has_help_and_shows_its_default():
    for path, parser in _parsers(cli.build_parser()):
        assert parser.description, path
        text = parser.format_help()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            assert action.help, (path, action.dest)
            shown = action.default not in (None, argparse.SUPPRESS) and not isinstance(
                action.default, bool)
            if shown:
                assert f"(default: {action.default})" in " ".join(text.split()), (
                    path, action.dest)


@pytest.mark.parametrize("argv, message", [
    (["convert", "/no/such/checkpoint", "out"], "Preset '/no/such/checkpoint' was not found"),
    (["squad", "evaluate", "--data-file", "/no/such.json", "--predictions", "/no/p.json"],
     "No such file"),
    (["pretrain", "--config", "/no/such/config.json"], "Config file not found"),
])
def test_errors_are_one_line_on_stderr(argv, message, capsys, tmp_path):
    assert cli.main(argv) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], captured.err
    assert lines[0].startswith(f"kerabert {argv[0]}: error: ")
    assert "Traceback" not in captured.err + captured.out


def test_debug_shows_the_traceback(capsys):
    assert cli.main(["--debug", "convert", "/no/such/checkpoint", "out"]) == 1
    assert "Traceback (most recent call last)" in capsys.readouterr().err
    assert cli.main(["convert", "/no/such/checkpoint", "out", "--debug"]) == 1
    assert "Traceback (most recent call last)" in capsys.readouterr().err


def test_squad_picks_the_xlnet_task_and_its_defaults(tmp_path, capsys):
    model_dir = str(tmp_path / "hf_xlnet")
    save_tiny_hf_xlnet(model_dir, "XLNetForQuestionAnswering", seed=3)
    data = tmp_path / "squad.json"
    data.write_text(json.dumps(SQUAD))
    window = ["--max-seq-length", "48", "--doc-stride", "16"]
    assert cli.main(["squad", "train", "--preset", model_dir, "--train-file", str(data),
                     "--output-dir", str(tmp_path / "trained"), "--epochs", "1",
                     "--batch-size", "2", *window]) == 0
    assert "XLNetQuestionAnswerer" in capsys.readouterr().out
    out_dir = tmp_path / "out"
    assert cli.main(["squad", "predict", "--preset", str(tmp_path / "trained"),
                     "--predict-file", str(data), "--output-dir", str(out_dir), *window]) == 0
    nbest = json.loads((out_dir / "nbest_predictions.json").read_text())
    # The XLNet reference keeps 5 candidates (BERT's keeps 20).
    assert set(nbest) == {"q1", "q2"} and 1 <= max(len(v) for v in nbest.values()) <= 5
    assert (out_dir / "null_odds.json").is_file()
    assert cli.main(["squad", "predict", "--preset", str(tmp_path / "trained"),
                     "--predict-file", str(data), "--output-dir", str(out_dir),
                     "--null-score-diff-threshold", "1.0", *window]) == 1
    assert "for BERT models" in capsys.readouterr().err
