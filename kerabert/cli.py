"""The `kerabert` command line.

Each subcommand is a module in `kerabert/commands/` with `register(commands)`,
which adds its parser (with `add_command` below) and sets `run(args) -> exit
code`. Command modules import TensorFlow and kerabert's models inside `run`,
so `kerabert --help` and every `--help` answer at once.
"""

import argparse
import importlib
import os
import re
import sys
import textwrap
import threading
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


VERBOSE_HELP = "show TensorFlow's and absl's own log lines, which are hidden by default"

# A line of the C++ logging of TensorFlow and XLA ("I0000 00:00:1796 4927
# cudart_stub.cc:31] Could not find cuda drivers ..."), or absl's notice
# before the first of them. Some of these libraries log through absl directly,
# which TF_CPP_MIN_LOG_LEVEL does not reach. Fatal (F) lines are not matched.
_NATIVE_LOG_LINE = re.compile(
    rb"[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^\s\]]+:\d+\] "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called")


class NativeLogFilter:
    """While active, what is written to file descriptor 2 (by Python and by
    C++ libraries alike) reaches the real stderr without the INFO, WARNING
    and ERROR lines of C++ logging, so that an error stays one line. Lines
    pass on as soon as they end (at a newline or a carriage return)."""

    def __enter__(self):
        sys.stderr.flush()
        try:
            self._stderr = os.dup(2)
        except OSError:  # no stderr at all: nothing to filter
            self._stderr = None
            return self
        read, write = os.pipe()
        os.dup2(write, 2)
        os.close(write)
        self._thread = threading.Thread(target=self._forward, args=(read,), daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        if self._stderr is None:
            return
        sys.stderr.flush()
        os.dup2(self._stderr, 2)  # closes the pipe's write end: the reader sees its end
        # Bounded: a child process that outlives the command may hold the pipe open.
        self._thread.join(timeout=5)
        os.close(self._stderr)

    def _forward(self, read):
        pending = b""
        with os.fdopen(read, "rb", buffering=0) as pipe:
            while chunk := pipe.read(65536):
                *lines, pending = re.split(rb"(?<=[\r\n])", pending + chunk)
                self._write(lines)
        self._write([pending])

    def _write(self, lines):
        kept = b"".join(line for line in lines if line and not _NATIVE_LOG_LINE.match(line))
        try:
            while kept:
                kept = kept[os.write(self._stderr, kept):]
        except OSError:
            pass  # stderr closed under us: nothing left to show it on


def quiet_native_logs():
    """Hides the log lines TensorFlow and absl print on their own (device
    probing, CUDA stubs), unless the user chose a TF_CPP_MIN_LOG_LEVEL. Only the
    command line does this: `import kerabert` leaves the environment alone."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import absl.logging
    except ImportError:
        pass
    else:
        absl.logging.set_verbosity(absl.logging.ERROR)


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
    parser.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                        help=VERBOSE_HELP)
    return parser


def build_parser():
    from kerabert.version import __version__

    parser = argparse.ArgumentParser(prog="kerabert", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"kerabert {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="on an error, show the full Python traceback")
    parser.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"kerabert.commands.{name}").register(commands)
    return parser


def error_line(error):
    """An exception as one line: its message, newlines folded."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.verbose:
        return _run(args)
    quiet_native_logs()
    with NativeLogFilter():
        return _run(args)


def _run(args):
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
