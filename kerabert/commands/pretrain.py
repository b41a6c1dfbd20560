"""`kerabert pretrain --config CONFIG.json`: BERT (masked LM + next sentence) or
XLNet (permutation LM) pretraining from plain text, with rich progress.

The config is one JSON object; every key but `model`, `data.files` and
`output_dir` has a default:

    {
      "model": "bert",                       # or "xlnet"
      "preset": null,                        # start from a preset / HF / TF1 folder, or
      "backbone": {"num_layers": 4, ...},    # build a fresh backbone with these arguments
      "tokenizer": {"vocabulary": "vocab.txt", "lowercase": true},   # or {"proto": "spiece.model"}
      "data": {"files": ["corpus/*.txt"],    # one sentence per line, blank line between documents
               "tfrecords": false,           # BERT: read reference-format TFRecords instead
               "sequence_length": 128, "max_predictions_per_seq": 20,          # BERT
               "seq_len": 512, "reuse_len": 256, "perm_size": 256, "num_predict": 85},   # XLNet
      "training": {"batch_size": 32, "steps_per_epoch": 1000, "epochs": 10,
                   "learning_rate": 1e-4, "optimizer": "adamw",  # or "lamb"
                   "warmup_ratio": 0.01, "weight_decay": 0.01, "dtype": "float32",
                   "strategy": "default",    # "mirrored" | "multi_worker" (TF_CONFIG)
                   "backup_dir": null,       # resume after a crash (callbacks.BackupAndRestore)
                   "backup_freq": "epoch",   # or N: back up every N optimizer steps
                   "log_dir": null,          # TensorBoard logs: loss, each metric,
                                             # learning_rate, examples_per_second
                   "log_freq": "epoch"},     # or N: also every N steps (batch_* tags)
      "output_dir": "my_pretrained"          # the trained pretrainer, a preset tasks load
    }

With `log_dir`, TensorBoard event files go to `<log_dir>/train`: epoch_loss,
epoch_<metric>, epoch_learning_rate and epoch_examples_per_second, one point
per epoch, and with `log_freq` N the same as batch_* every N optimizer steps
(keyed by the step, so a run resumed from a backup continues its curves).
Writing needs only TensorFlow; view them with `tensorboard --logdir <log_dir>`
(pip install tensorboard).
"""

import os

from kerabert.cli import add_command

DEFAULT_TRAINING = {"batch_size": 32, "steps_per_epoch": 1000, "epochs": 1,
                    "learning_rate": 1e-4, "optimizer": "adamw", "warmup_ratio": 0.01,
                    "weight_decay": 0.01, "dtype": "float32", "strategy": "default",
                    "backup_dir": None, "backup_freq": "epoch", "log_dir": None,
                    "log_freq": "epoch", "seed": 0}


def register(commands):
    parser = add_command(
        commands, "pretrain", "pretrain BERT (masked LM + next sentence) or XLNet "
        "(permutation LM) on plain text", epilog=__doc__)
    parser.add_argument("--config", required=True, help="a JSON file, described below")
    parser.set_defaults(run=run)


def load_config(path):
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Config file not found: {path}")
    from kerabert.presets import files

    config = files.read_json(path)
    if not isinstance(config, dict):
        raise ValueError(f"{path} must hold a JSON object, as described in "
                         "`kerabert pretrain --help`.")
    if config.get("model") not in ("bert", "xlnet"):
        raise ValueError(f"{path}: 'model' must be 'bert' or 'xlnet', got {config.get('model')!r}.")
    if not (config.get("data") or {}).get("files"):
        raise ValueError(f"{path}: 'data.files' (text files or globs) is required.")
    if not config.get("output_dir"):
        raise ValueError(f"{path}: 'output_dir' is required.")
    if not config.get("preset") and not config.get("backbone"):
        raise ValueError(f"{path}: give a 'preset' to start from or a 'backbone' config.")
    unknown = set(config.get("training") or {}) - set(DEFAULT_TRAINING)
    if unknown:
        raise ValueError(f"{path}: unknown training keys {sorted(unknown)}; "
                         f"known: {sorted(DEFAULT_TRAINING)}.")
    config["training"] = {**DEFAULT_TRAINING, **(config.get("training") or {})}
    for key in ("backup_freq", "log_freq"):
        value = config["training"][key]
        if value != "epoch" and (isinstance(value, bool) or not isinstance(value, int)
                                 or value < 1):
            raise ValueError(f"{path}: training.{key} must be \"epoch\" or a number of "
                             f"optimizer steps >= 1, got {value!r}.")
    return config


def _strategy(name):
    import tensorflow as tf

    strategies = {"default": tf.distribute.get_strategy,
                  "mirrored": tf.distribute.MirroredStrategy,
                  "multi_worker": tf.distribute.MultiWorkerMirroredStrategy}
    if name not in strategies:
        raise ValueError(f"training.strategy must be one of {sorted(strategies)}, got {name!r}.")
    return strategies[name]()


def _tokenizer(config, kerabert):
    if config.get("preset"):
        cls = kerabert.BertTokenizer if config["model"] == "bert" else kerabert.XLNetTokenizer
        return cls.from_preset(config["preset"])
    settings = dict(config.get("tokenizer") or {})
    if config["model"] == "bert":
        if "vocabulary" not in settings:
            raise ValueError("tokenizer.vocabulary (a vocab.txt path) is required.")
        return kerabert.BertTokenizer(**settings)
    if "proto" not in settings:
        raise ValueError("tokenizer.proto (a spiece.model path) is required.")
    return kerabert.XLNetTokenizer(**settings)


def _backbone(config, tokenizer, kerabert, dtype):
    cls = kerabert.BertBackbone if config["model"] == "bert" else kerabert.XLNetBackbone
    if config.get("preset"):
        return cls.from_preset(config["preset"], dtype=dtype, **(config.get("backbone") or {}))
    arguments = {"vocabulary_size": tokenizer.vocabulary_size(), **config["backbone"]}
    return cls(dtype=dtype, **arguments)


def build(config, strategy=None):
    """(pretrainer, dataset, steps_per_epoch) from a loaded config."""
    import kerabert
    from kerabert.data import bert_pretraining
    from kerabert.data import xlnet_pretraining

    training, data = config["training"], config["data"]
    strategy = strategy or _strategy(training["strategy"])
    batch = int(training["batch_size"])
    tokenizer = _tokenizer(config, kerabert)
    with strategy.scope():
        import keras

        keras.utils.set_random_seed(int(training["seed"]))
        backbone = _backbone(config, tokenizer, kerabert, training["dtype"])
        if config["model"] == "bert":
            preprocessor = kerabert.BertPretrainerPreprocessor(
                tokenizer, sequence_length=data.get("sequence_length", 128),
                max_predictions_per_seq=data.get("max_predictions_per_seq", 20),
                whole_word_masking=data.get("whole_word_masking", False))
            model = kerabert.BertPretrainer(backbone, preprocessor=preprocessor)
        else:
            replicas = strategy.num_replicas_in_sync
            model = kerabert.XLNetPretrainer(backbone, batch_size=batch // replicas)
        optimizer = "auto"
        if training["optimizer"] == "lamb":
            schedule = kerabert.LinearWarmupDecay(
                training["learning_rate"], training["steps_per_epoch"] * training["epochs"],
                training["warmup_ratio"])
            optimizer = kerabert.Lamb(learning_rate=schedule,
                                      weight_decay=training["weight_decay"])
        elif training["optimizer"] != "adamw":
            raise ValueError(f"training.optimizer must be 'adamw' or 'lamb', "
                             f"got {training['optimizer']!r}.")
        model.compile(optimizer=optimizer, learning_rate=training["learning_rate"],
                      weight_decay=training["weight_decay"],
                      warmup_ratio=training["warmup_ratio"],
                      num_train_steps=training["steps_per_epoch"] * training["epochs"])
    if config["model"] == "bert":
        if data.get("tfrecords"):
            dataset = bert_pretraining.read_tfrecords(
                data["files"], batch, data.get("sequence_length", 128),
                data.get("max_predictions_per_seq", 20))
        else:
            dataset = bert_pretraining.bert_pretraining_dataset(data["files"], preprocessor,
                                                                batch)
    else:
        dataset = xlnet_pretraining.xlnet_pretraining_dataset(
            data["files"], tokenizer, batch, seq_len=data.get("seq_len", 512),
            reuse_len=data.get("reuse_len", 256), perm_size=data.get("perm_size"),
            num_predict=data.get("num_predict", 85), seed=int(training["seed"]),
            bi_data=model.backbone.bi_data, num_replicas=strategy.num_replicas_in_sync)
    return model, dataset, int(training["steps_per_epoch"])


def callbacks_for(config, steps_per_epoch, console=None):
    """The `fit` callbacks a config asks for: backup (first, so it restores
    before the others start), the learning-rate and throughput logs, then
    the TensorBoard writer (after them, so it writes their values) and a
    progress bar when a `console` is given."""
    from kerabert import callbacks as kerabert_callbacks

    training = config["training"]
    every = None if training["log_freq"] == "epoch" else int(training["log_freq"])
    callbacks = []
    if training["backup_dir"]:
        callbacks.append(kerabert_callbacks.BackupAndRestore(
            training["backup_dir"], save_freq=training["backup_freq"]))
    if training["log_dir"]:
        callbacks += [
            kerabert_callbacks.LearningRateLogger(every_n_steps=every),
            kerabert_callbacks.ThroughputLogger(int(training["batch_size"]), every_n_steps=every),
            kerabert_callbacks.TensorBoardScalars(training["log_dir"],
                                                  update_freq=every or "epoch")]
    if console is not None:
        callbacks.append(kerabert_callbacks.RichProgress(console, steps_per_epoch))
    return callbacks


def train(config, console=None):
    """Builds and trains what a loaded config describes.

    Returns `(pretrainer, history)`; `console` (a `rich` console) shows a
    status line and a progress bar."""
    import contextlib

    status = console.status("Building the model and the data pipeline ...") if console \
        else contextlib.nullcontext()
    with status:
        model, dataset, steps = build(config)
        model(next(iter(dataset))[0])  # built before a backup is restored into it
    history = model.fit(dataset, steps_per_epoch=steps, epochs=int(config["training"]["epochs"]),
                        callbacks=callbacks_for(config, steps, console), verbose=0)
    return model, history


def run(args):
    from rich.console import Console
    from rich.table import Table

    console = Console()
    config = load_config(args.config)
    model, history = train(config, console)
    model.save_to_preset(config["output_dir"])
    table = Table(title=f"{config['model']} pretraining", show_header=True)
    table.add_column("epoch")
    names = list(history.history)
    for name in names:
        table.add_column(name)
    for epoch in range(len(history.history[names[0]]) if names else 0):
        # 4 significant digits: learning rates are small numbers.
        table.add_row(str(epoch + 1), *(f"{history.history[n][epoch]:.4g}" for n in names))
    console.print(table)
    if config["training"]["log_dir"]:
        # Not wrapped, so that the command can be copied.
        console.print(f"TensorBoard logs: tensorboard --logdir "
                      f"{os.path.abspath(config['training']['log_dir'])}", soft_wrap=True)
    console.print(f"Saved to {os.path.abspath(config['output_dir'])}: load the backbone with "
                  f"{'Bert' if config['model'] == 'bert' else 'XLNet'}Backbone.from_preset(...) "
                  "or fine-tune it with a task's from_preset(...).")
    return 0
