"""`kerabert demo`."""


def register(commands):
    parser = commands.add_parser(
        "demo", help="fine-tune MiniLM on bundled reviews, evaluate, save and reload")
    parser.add_argument("--output-dir", default="kerabert_demo_preset")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--sequence-length", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--max-train-examples", type=int, default=None,
                        help="use only the first N training sentences (quick check)")
    parser.set_defaults(run=run)


def run(args):
    from kerabert import demo

    demo.run(output_dir=args.output_dir, epochs=args.epochs, batch_size=args.batch_size,
             sequence_length=args.sequence_length, learning_rate=args.learning_rate,
             max_train_examples=args.max_train_examples)
    return 0
