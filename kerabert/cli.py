"""The `kerabert` command line."""

import argparse
import os
import sys


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = argparse.ArgumentParser(prog="kerabert", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser(
        "demo", help="fine-tune MiniLM on bundled reviews, evaluate, save and reload")
    demo.add_argument("--output-dir", default="kerabert_demo_preset")
    demo.add_argument("--epochs", type=int, default=5)
    demo.add_argument("--batch-size", type=int, default=16)
    demo.add_argument("--sequence-length", type=int, default=64)
    demo.add_argument("--learning-rate", type=float, default=1e-4)
    demo.add_argument("--max-train-examples", type=int, default=None,
                      help="use only the first N training sentences (quick check)")

    args = parser.parse_args(argv)
    if args.command == "demo":
        from kerabert import demo as demo_module

        demo_module.run(output_dir=args.output_dir, epochs=args.epochs,
                        batch_size=args.batch_size, sequence_length=args.sequence_length,
                        learning_rate=args.learning_rate,
                        max_train_examples=args.max_train_examples)
    return 0


if __name__ == "__main__":
    sys.exit(main())
