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


def test_an_error_of_a_command_that_loads_tensorflow_is_one_line_on_stderr(tmp_path):
    """TensorFlow's C++ libraries log on their own when loaded (CUDA stubs,
    device probing); `python -m kerabert` keeps stderr to kerabert's line.
    TF_CPP_MIN_LOG_LEVEL is unset, as a user's shell has it."""
    missing = str(tmp_path / "no_such_model")
    result = run_python("-m", "kerabert", "export", missing, str(tmp_path / "out"),
                        check=False, unset=("TF_CPP_MIN_LOG_LEVEL",), timeout=300)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 1
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("kerabert export: error: Preset ") and missing in lines[0]


def test_native_log_lines_are_filtered_out_of_stderr():
    """Lines in absl's C++ log format go; everything else (fatal lines too)
    reaches stderr, in order."""
    code = ("import os, sys\nfrom kerabert import cli\nwith cli.NativeLogFilter():\n"
            "    os.write(2, b'WARNING: All log messages before absl::InitializeLog() is "
            "called are written to STDERR\\n')\n"
            "    os.write(2, b'I0000 00:00:1796689577.253579   18599 cudart_stub.cc:31] no "
            "cuda\\nfirst\\n')\n"
            "    print('second', file=sys.stderr)\n"
            "    os.write(2, b'E0000 00:00:1796688121.919458    4927 cuda_platform.cc:52] "
            "failed call to cuInit\\n')\n"
            "    os.write(2, b'F0000 00:00:1.5 7 check.cc:3] Check failed\\n')\n"
            "    sys.stderr.write('partial')\n"
            "print(' and after', file=sys.stderr)\n")
    result = run_python("-c", code, timeout=60)
    assert result.stderr == ("first\nsecond\nF0000 00:00:1.5 7 check.cc:3] Check failed\n"
                             "partial and after\n")


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
