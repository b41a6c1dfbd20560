"""The `kerabert` command line.

Each subcommand is a module in `kerabert/commands/` with `register(commands)`,
which adds its parser (with `add_command` below) and sets `run(args) -> exit
code`. Command modules import TensorFlow and kerabert's models inside `run`,
so `kerabert --help` and every `--help` answer at once.
"""

import argparse
import importlib
import os
import sys
import textwrap
import traceback

# Subcommand modules, in the order `kerabert --help` lists them.
COMMANDS = ["demo", "glue", "squad", "pretrain", "convert", "export", "presets"]

DESCRIPTION = """\
Fine-tune, evaluate and convert BERT and XLNet models.

Models load from kerabert presets, Hugging Face folders, original Google TF1
checkpoints, TF Model Garden checkpoints, hf://owner/repo handles and the
built-in names of `kerabert presets`.
"""

EPILOG = """\
examples:
  kerabert demo                                      fine-tune a small BERT on bundled reviews
  kerabert presets                                   list the built-in model names
  kerabert convert uncased_L-12_H-768_A-12 my_bert   a TF1 release -> a kerabert preset
  kerabert squad train --preset my_bert --train-file train-v1.1.json --output-dir my_qa

Run `kerabert COMMAND --help` for a command's options.
"""


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows each option's default, and keeps descriptions and epilogs as written.
    Options without a value to show (None, flags) explain their default in
    their help text instead."""

    def _get_help_string(self, action):
        if action.default is None or isinstance(action.default, bool):
            return action.help
        return super()._get_help_string(action)


def add_command(commands, name, help, description=None, epilog=None):
    """Adds a subcommand parser with kerabert's help layout and `--debug`."""
    description = description or help[:1].upper() + help[1:] + "."
    if "\n" not in description.strip():
        description = textwrap.fill(description, 79)
    parser = commands.add_parser(name, help=help, epilog=epilog, formatter_class=HelpFormatter,
                                 description=description)
    # SUPPRESS: unless given here, `kerabert --debug COMMAND` decides.
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="on an error, show the full Python traceback")
    return parser


def build_parser():
    from kerabert.version import __version__

    parser = argparse.ArgumentParser(prog="kerabert", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"kerabert {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="on an error, show the full Python traceback")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"kerabert.commands.{name}").register(commands)
    return parser


def error_line(error):
    """An exception as one line: its message, newlines folded."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("kerabert: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # every failure: one line, unless --debug
        if args.debug:
            traceback.print_exc()
        else:
            print(f"kerabert {args.command}: error: {error_line(error)} "
                  "(run with --debug for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
