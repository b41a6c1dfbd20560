"""`kerabert squad train|predict|evaluate`: SQuAD v1.1 / v2.0 with BERT or XLNet."""

import json

from kerabert.cli import add_command

# Post-processing defaults of each reference's SQuAD script, by model family.
PREDICT_DEFAULTS = {
    "bert": {"n_best_size": 20, "max_answer_length": 30},
    "xlnet": {"n_best_size": 5, "max_answer_length": 64},
}


def register(commands):
    parser = add_command(
        commands, "squad", "fine-tune, predict and evaluate extractive question answering "
        "on SQuAD v1.1 / v2.0 files",
        description="Fine-tune, predict and evaluate SQuAD v1.1 / v2.0 question answering. The "
        "model family (BERT or XLNet) is read from the preset.")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    train = add_command(actions, "train", "fine-tune a question answerer on a SQuAD file and "
                        "save it as a preset")
    _preset_argument(train)
    train.add_argument("--train-file", required=True, help="SQuAD JSON file to train on")
    train.add_argument("--output-dir", required=True,
                       help="folder the trained question answerer is saved to (a preset)")
    train.add_argument("--epochs", type=int, default=2, help="passes over the training data")
    train.add_argument("--batch-size", type=int, default=32, help="windows per training step")
    train.add_argument("--learning-rate", type=float, default=5e-5,
                       help="peak learning rate of the warmup/linear-decay schedule")
    _window_arguments(train)

    predict = add_command(actions, "predict", "answer every question of a SQuAD file; writes "
                          "predictions.json, nbest_predictions.json and null_odds.json")
    _preset_argument(predict)
    predict.add_argument("--predict-file", required=True, help="SQuAD JSON file to answer")
    predict.add_argument("--output-dir", required=True, help="folder the JSON files go to")
    predict.add_argument("--batch-size", type=int, default=32, help="windows per model call")
    predict.add_argument("--n-best-size", type=int, default=None,
                         help="candidate answers kept per question (default: 20 for BERT, "
                              "5 for XLNet, as their reference scripts)")
    predict.add_argument("--max-answer-length", type=int, default=None,
                         help="longest answer in tokens (default: 30 for BERT, 64 for XLNet)")
    predict.add_argument("--null-score-diff-threshold", type=float, default=None,
                         help="BERT, SQuAD 2.0: answer \"\" when the null score beats the best "
                              "span by more than this (default: 0.0). XLNet always predicts its "
                              "best span and leaves the threshold to `evaluate --null-odds`")
    _window_arguments(predict)

    evaluate = add_command(actions, "evaluate", "score a predictions file with the official "
                           "SQuAD exact match and F1")
    evaluate.add_argument("--data-file", required=True, help="the SQuAD JSON file with answers")
    evaluate.add_argument("--predictions", required=True,
                          help="predictions.json ({question id: answer text})")
    evaluate.add_argument("--null-odds", default=None,
                          help="null_odds.json, for SQuAD 2.0's best-threshold scores")
    parser.set_defaults(run=run)


def _preset_argument(parser):
    parser.add_argument("--preset", required=True,
                        help="the model: a kerabert preset, a Hugging Face or TF checkpoint "
                             "folder, hf://owner/repo or a built-in name (BERT or XLNet)")


def _window_arguments(parser):
    parser.add_argument("--max-seq-length", type=int, default=384,
                        help="tokens per window (question + context + special tokens)")
    parser.add_argument("--doc-stride", type=int, default=128,
                        help="tokens between the starts of a long context's windows")
    parser.add_argument("--max-query-length", type=int, default=64,
                        help="questions are cut to this many tokens")


def _load(args):
    from kerabert.commands import models

    cls = models.task_class(args.preset, "question_answerer")
    return cls.from_preset(args.preset, sequence_length=args.max_seq_length,
                           doc_stride=args.doc_stride, max_query_length=args.max_query_length)


def _predict_options(args, qa):
    from kerabert.commands import models

    family = models.family(qa)
    options = {key: getattr(args, key) if getattr(args, key) is not None else default
               for key, default in PREDICT_DEFAULTS[family].items()}
    if args.null_score_diff_threshold is not None:
        if family != "bert":
            raise ValueError(
                "--null-score-diff-threshold is for BERT models; an XLNet question answerer "
                "predicts its best span and writes null_odds.json, which `kerabert squad "
                "evaluate --null-odds` thresholds.")
        options["null_score_diff_threshold"] = args.null_score_diff_threshold
    return options


def run(args):
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if args.action == "evaluate":
        return _evaluate(args, console, Table)
    import kerabert
    from kerabert.callbacks import RichProgress

    with console.status("Reading the data and building the model"):
        qa = _load(args)
        data = kerabert.squad.load(args.train_file if args.action == "train"
                                   else args.predict_file)
    console.print(f"{type(qa).__name__} from {args.preset}: {len(data)} questions")
    if args.action == "train":
        qa.compile(learning_rate=args.learning_rate)
        qa.fit(data, epochs=args.epochs, batch_size=args.batch_size, verbose=0,
               callbacks=[RichProgress(console)])
        qa.save_to_preset(args.output_dir)
        console.print(f"Saved the trained preset to {args.output_dir}")
    else:
        qa.predict_squad(data, batch_size=args.batch_size, output_dir=args.output_dir,
                         callbacks=[RichProgress(console)], **_predict_options(args, qa))
        console.print(f"Wrote predictions to {args.output_dir}")
    return 0


def _evaluate(args, console, Table):
    import kerabert
    from kerabert.presets import files

    predictions = files.read_json(args.predictions)
    null_odds = files.read_json(args.null_odds) if args.null_odds else None
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
