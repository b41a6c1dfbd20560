"""The `kerabert` command line. Each subcommand is a module in `kerabert/commands/`
with `register(subparsers)`, which sets `run(args) -> exit code`."""

import argparse
import importlib
import os
import sys

# Subcommand modules, in the order `kerabert --help` lists them.
COMMANDS = ["demo", "squad", "pretrain", "presets", "convert"]


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = argparse.ArgumentParser(prog="kerabert", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"kerabert.commands.{name}").register(commands)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
