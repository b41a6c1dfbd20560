"""`kerabert glue train|evaluate|predict`: GLUE-style classification from the
official file layouts (GLUE, XNLI, IMDB, Yelp-5), with BERT or XLNet.

  train     fine-tune on the train split, score the dev split, save the model
  evaluate  score a split with GLUE's metrics (metrics.json)
  predict   write the GLUE server's submission file for the test split
"""

import json
import os

from kerabert.cli import add_command


def register(commands):
    parser = add_command(commands, "glue", "fine-tune, evaluate and predict GLUE, XNLI, IMDB "
                         "and Yelp-5 from their official file layouts", description=__doc__)
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    train = add_command(actions, "train", "fine-tune on a task's train split, score its dev "
                        "split and save the model as a preset")
    _common(train)
    train.add_argument("--output-dir", required=True,
                       help="folder the fine-tuned model (a preset) and metrics.json go to")
    train.add_argument("--epochs", type=int, default=3, help="passes over the training data")
    train.add_argument("--batch-size", type=int, default=32, help="examples per step")
    train.add_argument("--learning-rate", type=float, default=2e-5,
                       help="peak learning rate of the warmup/linear-decay schedule")
    train.add_argument("--sequence-length", type=int, default=128,
                       help="tokens per example (the reference's max_seq_length)")
    train.add_argument("--max-train-examples", type=int, default=None,
                       help="train on the first N examples only (default: all)")

    evaluate = add_command(actions, "evaluate", "score a split with the metrics GLUE reports")
    _common(evaluate)
    evaluate.add_argument("--split", default="dev",
                          help="the split to score (MNLI: dev_matched, dev_mismatched)")
    evaluate.add_argument("--output-dir", default=None,
                          help="folder metrics.json is written to (default: only printed)")
    evaluate.add_argument("--batch-size", type=int, default=64, help="examples per model call")

    predict = add_command(actions, "predict", "write the GLUE server's submission TSV for a "
                          "test split")
    _common(predict)
    predict.add_argument("--split", default="test",
                         help="the split to predict (MNLI: test_matched, test_mismatched)")
    predict.add_argument("--output-dir", required=True,
                         help="folder the submission file (e.g. MRPC.tsv) is written to")
    predict.add_argument("--batch-size", type=int, default=64, help="examples per model call")
    parser.set_defaults(run=run)


def _common(parser):
    parser.add_argument("--task", required=True,
                        help="cola, sst-2, mrpc, sts-b, qqp, mnli, qnli, rte, wnli, ax, xnli, "
                             "imdb or yelp5 (case and '-' do not matter)")
    parser.add_argument("--data-dir", required=True,
                        help="the task's folder as downloaded, e.g. glue_data/MRPC")
    parser.add_argument("--preset", required=True,
                        help="the model: a kerabert preset, a Hugging Face or TF checkpoint "
                             "folder, hf://owner/repo or a built-in name (BERT or XLNet)")
    parser.add_argument("--language", default=None, help="XNLI only: the language, e.g. de")


def _load(args, split):
    from kerabert import glue

    options = {"language": args.language} if args.language else {}
    return glue.load(args.task, args.data_dir, split, **options)


def _classifier(args, data, **kwargs):
    from kerabert.commands import models

    cls = models.task_class(args.preset, "classifier")
    return cls.from_preset(args.preset, num_classes=data.num_labels, **kwargs)


def _scores(args, classifier, data):
    from kerabert import glue

    predictions = classifier.predict(data.x, batch_size=args.batch_size, verbose=0)
    return glue.evaluate(args.task, data.y, predictions), predictions


def _print_metrics(console, task, split, metrics):
    from rich.table import Table

    table = Table(f"{task} {split}", "value")
    for name, value in metrics.items():
        table.add_row(name, f"{value:.4f}")
    console.print(table)


def _write_metrics(folder, metrics, task, split):
    import tensorflow as tf

    from kerabert.presets import files

    tf.io.gfile.makedirs(folder)
    path = os.path.join(folder, "metrics.json")
    files.write_json(path, {"task": task, "split": split, **metrics}, sort_keys=False)
    return path


def run(args):
    from rich.console import Console

    from kerabert import glue

    console = Console()
    task = glue.get_task(args.task).name
    if args.action == "train":
        from kerabert.callbacks import RichProgress

        with console.status("Reading the data and building the model"):
            train, dev = _load(args, "train"), _load(args, "dev")
            if args.max_train_examples:
                train = train.head(args.max_train_examples)
            classifier = _classifier(args, train, sequence_length=args.sequence_length)
            classifier.compile(learning_rate=args.learning_rate)
        console.print(f"{type(classifier).__name__} on {task}: {len(train)} training examples, "
                      f"{len(dev)} dev examples")
        classifier.fit(train.x, train.y, batch_size=args.batch_size, epochs=args.epochs,
                       verbose=0, callbacks=[RichProgress(console)])
        classifier.save_to_preset(args.output_dir)
        metrics, _ = _scores(args, classifier, dev)
        _print_metrics(console, task, "dev", metrics)
        path = _write_metrics(args.output_dir, metrics, task, "dev")
        console.print(f"Saved the model and {os.path.basename(path)} to {args.output_dir}")
        return 0
    with console.status("Reading the data and building the model"):
        data = _load(args, args.split)
        classifier = _classifier(args, data)
    if args.action == "evaluate":
        if data.y is None:
            raise ValueError(f"The {data.split} split of {task} has no labels to score; use "
                             "`kerabert glue predict` for a submission file.")
        metrics, _ = _scores(args, classifier, data)
        _print_metrics(console, task, data.split, metrics)
        if args.output_dir:
            console.print(f"Wrote {_write_metrics(args.output_dir, metrics, task, data.split)}")
        print(json.dumps(metrics))
        return 0
    predictions = classifier.predict(data.x, batch_size=args.batch_size, verbose=0)
    path = os.path.join(args.output_dir, glue.submission_filename(args.task, data.split))
    os.makedirs(args.output_dir, exist_ok=True)
    glue.write_submission(args.task, data.ids, predictions, path)
    console.print(f"Wrote {len(data)} predictions to {path}")
    return 0
