"""`kerabert squad train|predict|evaluate`."""

import json


def register(commands):
    parser = commands.add_parser("squad", help="train, predict and evaluate SQuAD v1.1/v2.0")
    actions = parser.add_subparsers(dest="action", required=True)

    train = actions.add_parser("train", help="fine-tune a BertQuestionAnswerer on a SQuAD file")
    train.add_argument("--preset", required=True, help="a kerabert preset or HF BERT folder")
    train.add_argument("--train-file", required=True)
    train.add_argument("--output-dir", required=True, help="where the trained preset is saved")
    train.add_argument("--epochs", type=int, default=2)
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--learning-rate", type=float, default=5e-5)
    _window_arguments(train)

    predict = actions.add_parser("predict", help="write predictions.json, nbest, null odds")
    predict.add_argument("--preset", required=True)
    predict.add_argument("--predict-file", required=True)
    predict.add_argument("--output-dir", required=True)
    predict.add_argument("--batch-size", type=int, default=32)
    predict.add_argument("--n-best-size", type=int, default=20)
    predict.add_argument("--max-answer-length", type=int, default=30)
    predict.add_argument("--null-score-diff-threshold", type=float, default=0.0)
    _window_arguments(predict)

    evaluate = actions.add_parser("evaluate", help="official EM / F1 of a predictions file")
    evaluate.add_argument("--data-file", required=True)
    evaluate.add_argument("--predictions", required=True)
    evaluate.add_argument("--null-odds", default=None)
    parser.set_defaults(run=run)


def _window_arguments(parser):
    parser.add_argument("--max-seq-length", type=int, default=384)
    parser.add_argument("--doc-stride", type=int, default=128)
    parser.add_argument("--max-query-length", type=int, default=64)


def _load(args):
    import kerabert

    return kerabert.BertQuestionAnswerer.from_preset(
        args.preset, sequence_length=args.max_seq_length, doc_stride=args.doc_stride,
        max_query_length=args.max_query_length)


def run(args):
    from rich.console import Console
    from rich.table import Table

    import kerabert

    console = Console()
    if args.action == "train":
        with console.status("Reading data and building the model"):
            data = kerabert.squad.load(args.train_file)
            qa = _load(args)
            qa.compile(learning_rate=args.learning_rate)
        console.print(f"Training on {len(data)} questions")
        qa.fit(data, epochs=args.epochs, batch_size=args.batch_size)
        qa.save_to_preset(args.output_dir)
        console.print(f"Saved the trained preset to {args.output_dir}")
    elif args.action == "predict":
        with console.status("Predicting"):
            qa = _load(args)
            qa.predict_squad(args.predict_file, batch_size=args.batch_size,
                             n_best_size=args.n_best_size,
                             max_answer_length=args.max_answer_length,
                             null_score_diff_threshold=args.null_score_diff_threshold,
                             output_dir=args.output_dir)
        console.print(f"Wrote predictions to {args.output_dir}")
    else:
        with open(args.predictions, encoding="utf-8") as f:
            predictions = json.load(f)
        null_odds = None
        if args.null_odds:
            with open(args.null_odds, encoding="utf-8") as f:
                null_odds = json.load(f)
        result = kerabert.squad.evaluate(args.data_file, predictions, null_odds)
        table = Table("metric", "value")
        for key, value in result.items():
            if key != "missing":
                table.add_row(key, f"{value:.2f}" if isinstance(value, float) else str(value))
        console.print(table)
        if result["missing"]:
            console.print(f"[yellow]{len(result['missing'])} questions have no prediction[/yellow]")
        print(json.dumps({k: v for k, v in result.items() if k != "missing"}))
    return 0
