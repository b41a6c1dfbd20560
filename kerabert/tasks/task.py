"""Base class of kerabert tasks: backbone + head + optional preprocessor.

A task is a functional Keras model over the backbone's inputs. When it owns a
preprocessor, `fit` / `evaluate` / `predict` accept raw text (Python lists,
numpy arrays or a `tf.data.Dataset`) and map the preprocessor over the data
in-graph; with `preprocessor=None` they take the packed dicts directly.
"""

import logging
import math
import random
import warnings

import keras
import numpy as np
import tensorflow as tf

from kerabert import keras_compat
from kerabert.optimizers.adam_weight_decay import AdamWeightDecay
from kerabert.optimizers.linear_warmup_decay import LinearWarmupDecay
from kerabert.tokenizers.tokenizer import check_encodable

AUTOTUNE = tf.data.AUTOTUNE
logger = logging.getLogger("kerabert")

# Keras `compile` arguments that say how steps run, not what they compute: the
# default recipe keeps them (and a `.keras` file remembers them with it).
EXECUTION_OPTIONS = ("jit_compile", "steps_per_execution", "run_eagerly")


def _is_packed(dataset):
    """Whether a dataset already yields model inputs (a dict with `token_ids`),
    e.g. from `kerabert.data.bert_pretraining`, so the preprocessor is skipped."""
    spec = dataset.element_spec
    x = spec[0] if isinstance(spec, tuple) else spec
    return isinstance(x, dict) and "token_ids" in x


class PreprocessingSeed:
    """The seed of a preprocessor's random choices in `fit` (BERT's dynamic
    masking): two int64 scalar variables on the CPU, `base` (drawn once per
    task from Python's `random`, which `keras.utils.set_random_seed` seeds)
    and `epoch` (set when each epoch begins).

    Batch i of epoch e is preprocessed with the stateless seed
    `fold_in(fold_in([base, 0], e), i)`: a function of its position, not of
    how many batches were drawn before it, which thread of the parallel map
    ran it or how far `prefetch` had read ahead. So the batches that a resumed
    `BackupAndRestore` run draws and discards, and those it trains on, get the
    masks of the uninterrupted run (the backup saves `base`). With
    `steps_per_epoch` Keras reads one stream across the epochs of a `fit`: i
    then counts along the stream and e is the fit's first epoch.

    A plain object, so the variables are neither task weights nor part of a
    saved model or an export.
    """

    def __init__(self, base):
        with tf.init_scope(), tf.device("/CPU:0"):
            self.base = tf.Variable(base, dtype=tf.int64, trainable=False,
                                    name="preprocessing_seed")
            self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False,
                                     name="preprocessing_epoch")

    def batch_seed(self, index):
        """(2,) int64 stateless seed of the batch at `index` (int64 scalar)."""
        seed = tf.stack([self.base.read_value(), tf.constant(0, tf.int64)])
        seed = tf.random.experimental.stateless_fold_in(seed, self.epoch.read_value())
        return tf.random.experimental.stateless_fold_in(seed, index)


class _SetPreprocessingEpoch(keras.callbacks.Callback):
    """Gives the training pipeline the epoch before Keras makes the epoch's
    iterator (which it does after `on_epoch_begin`)."""

    def __init__(self, seed, every_epoch):
        super().__init__()
        self.seed, self.every_epoch, self._set = seed, every_epoch, False

    def on_train_begin(self, logs=None):
        self._set = False

    def on_epoch_begin(self, epoch, logs=None):
        if self.every_epoch or not self._set:
            self.seed.epoch.assign(epoch)
            self._set = True


def _is_unbatched_text(dataset):
    """Whether a dataset of raw text yields single examples (a scalar string
    somewhere in its elements), as tensorflow-datasets returns them by default;
    a batched one's strings have a batch dimension."""
    return any(isinstance(spec, tf.TensorSpec) and spec.dtype == tf.string
               and spec.shape.rank == 0 for spec in tf.nest.flatten(dataset.element_spec))


def _is_one_example(x):
    """A single string, or a tuple of single strings (one sentence pair)."""
    text = (str, bytes)
    return isinstance(x, text) or (
        isinstance(x, tuple) and len(x) > 0 and all(isinstance(s, text) for s in x))


def _batch_of_one(x, y, sample_weight):
    """`predict("one string")` is a batch of one, as `predict(["one string"])`."""
    x = tuple([s] for s in x) if isinstance(x, tuple) else [x]

    def expand(value):
        return None if value is None else keras.tree.map_structure(
            lambda v: np.expand_dims(np.asarray(v), 0), value)

    return x, expand(y), expand(sample_weight)


def _check_texts(x):
    """Raw texts held in Python (a list, or a pair of lists) must be strings,
    at least one, and a pair's columns equally long: tf.data would otherwise
    fail far from the cause ("mixed types", or an empty list read as floats)."""
    columns = list(x) if isinstance(x, tuple) else [x]
    if not all(isinstance(c, list) or (isinstance(c, np.ndarray) and c.dtype == object)
               for c in columns):
        return  # tensors, datasets, dicts of packed inputs, numeric arrays
    lengths = [len(c) for c in columns]
    if len(set(lengths)) > 1:
        raise ValueError(f"The two text columns of the pairs have {lengths[0]} and {lengths[1]} "
                         "rows: pass one second text per first text.")
    if lengths[0] == 0:
        raise ValueError("Got an empty list of texts: pass at least one string.")
    for column in columns:
        for i, text in enumerate(column):
            if not isinstance(text, (str, bytes)):
                raise TypeError(f"Texts must be strings, but item {i} has type "
                                f"{type(text).__name__} ({text!r:.40}): convert it with str() "
                                "or leave it out.")
        # tf.constant would fail on a lone surrogate without naming the text.
        check_encodable(column, "The task")


def _rows_of(x):
    """How many examples raw texts or packed arrays held in Python hold (the
    length of their first column), or None for anything else (a dataset, a
    `SquadData`, a generator)."""
    column = x
    while isinstance(column, (tuple, dict)) and column:
        column = next(iter(column.values())) if isinstance(column, dict) else column[0]
    if isinstance(column, (list, np.ndarray, tf.Tensor)) and np.ndim(column) > 0:
        return len(column)
    return None


def _label_columns(value):
    """The per-example columns of labels or sample weights: one array or list,
    or the values of a tuple or dict of them (a task with several outputs)."""
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, tuple):
        return list(value)
    return [value]


def select_features(x, y, features, label="label"):
    """Records with named columns (tfds-style dict elements, or a dict of
    columns) -> `(text or (text_a, text_b), label)`, what a task's
    preprocessor takes.

    Args:
      x: a `tf.data.Dataset` of dicts, or a dict of equal-length columns.
      y: labels given separately (used when the records have no `label`).
      features: the text column, or the two of a pair, e.g.
        ("sentence1", "sentence2") for GLUE MRPC as tensorflow-datasets loads it.
      label: the label column (ignored where the records lack it).
    Returns `(x, y)`.
    """
    names = (features,) if isinstance(features, str) else tuple(features)
    if not 1 <= len(names) <= 2:
        raise ValueError(f"features names one text column or the two of a pair, got {names}.")

    def pick(record):
        return record[names[0]] if len(names) == 1 else tuple(record[n] for n in names)

    if isinstance(x, tf.data.Dataset):
        columns = x.element_spec
        if not isinstance(columns, dict):
            raise TypeError("features= selects columns of dict elements; this dataset yields "
                            f"{type(columns).__name__}s.")
    elif isinstance(x, dict):
        columns = x
    else:
        raise TypeError(f"features= selects columns of a dict or of a tf.data.Dataset of dicts, "
                        f"got a {type(x).__name__}.")
    missing = [name for name in names if name not in columns]
    if missing:
        raise KeyError(f"features={list(names)}: the records have no {missing}; their columns "
                       f"are {sorted(columns)}.")
    if isinstance(x, dict):
        return pick(x), (x[label] if y is None and label in x else y)
    if label in columns:
        return x.map(lambda r: (pick(r), r[label]), num_parallel_calls=AUTOTUNE), y
    return x.map(pick, num_parallel_calls=AUTOTUNE), y


class TaskMixin:
    """Everything a kerabert task adds to a Keras model (presets, the reference
    compile recipe, raw-text fit/predict). Kept out of the `keras.Model`
    hierarchy because Keras rewrites the bases of a `Model` subclass to
    `Functional` the first time one is built functionally, which would turn
    every later subclass (even a subclassed one, such as `XLNetPretrainer`)
    into a functional model."""

    backbone_cls = None
    preprocessor_cls = None
    task_kind = None
    # Backbone layers this task never uses (so they get no gradient); `fit`
    # silences Keras' warning about them, which would repeat on every fit.
    unused_weights = ()

    # --- construction helpers used by subclasses and the preset loader --------

    def _set_backbone(self, backbone, preprocessor):
        """Checks and stores the backbone and the preprocessor (every task
        constructor's first step)."""
        if preprocessor is not None:
            length = getattr(preprocessor, "sequence_length", None)
            limit = getattr(backbone, "max_sequence_length", None)
            if length and limit and length > limit:
                raise ValueError(
                    f"The preprocessor's sequence_length ({length}) exceeds the backbone's "
                    f"max_sequence_length ({limit}); pass sequence_length<={limit}.")
        self._check_backbone_strategy(backbone)
        self.backbone = backbone
        self.preprocessor = preprocessor
        # The backbone's policy: under mixed_float16 Keras then wraps the
        # optimizer in a LossScaleOptimizer at compile time.
        self.dtype_policy = backbone.dtype_policy

    @staticmethod
    def _check_backbone_strategy(backbone):
        """Under a `tf.distribute` strategy scope, the backbone's variables must
        be that strategy's: otherwise the task builds, and only the first
        `fit` fails, deep in the optimizer ("colocate_vars_with must only be
        passed a variable created in this tf.distribute.Strategy.scope()")."""
        if not tf.distribute.has_strategy():
            return
        strategy = tf.distribute.get_strategy()
        foreign = [v for v in backbone.weights
                   if not strategy.extended.variable_created_in_scope(v.value)]
        if foreign:
            raise ValueError(
                f"The backbone's variables (e.g. {foreign[0].path}) were created outside "
                f"this {type(strategy).__name__}'s scope, so the task cannot train under it. "
                "Build the backbone (or call from_preset) inside `with strategy.scope():` too.")

    @property
    def head_weights(self):
        """Variables of the task that are not the backbone's."""
        backbone_ids = {id(v) for v in self.backbone.weights}
        return [v for v in self.weights if id(v) not in backbone_ids]

    @classmethod
    def head_config_from(cls, task_config):
        """The head-size entries of a saved task config (e.g. `num_classes`)."""
        return {}

    @classmethod
    def require_head_config(cls, kwargs, saved_head, folder):
        return kwargs

    @classmethod
    def head_mismatch(cls, saved_head, task):
        """`[(setting, saved value, this task's value)]` for each head setting
        in which a saved head (`head_config_from`) differs from `task`'s; a
        saved head loads only when there is none."""
        return []

    # --- presets ---------------------------------------------------------------

    @classmethod
    def from_preset(cls, preset, load_weights=True, **kwargs):
        """Builds the task from any preset kerabert reads.

        Each keyword argument goes to the first of these whose constructor
        takes it: the task (e.g. `num_classes`, `dropout`), the preprocessor
        (`sequence_length`, `truncate`, `doc_stride`, ...) and its tokenizer
        (`lowercase`, `strip_accents`, ...), the backbone (`dtype`, ...).
        `preprocessor=None` builds the task without a preprocessor;
        `ignore_unused_weights=True` loads a checkpoint with tensors the model
        has no place for. Any other keyword raises a `TypeError` that lists the
        valid ones. Head weights load when the preset holds the same kind of
        head with the same size.
        """
        from kerabert.presets import loader

        return loader.load_task(cls, preset, load_weights=load_weights, **kwargs)

    def save_to_preset(self, preset_dir):
        """Writes backbone, tokenizer, preprocessor and head into one folder."""
        from kerabert.presets import saver

        with saver.PresetWriter(preset_dir) as writer:
            writer.write_task(self)

    def push_to_hub(self, repo_id, private=False, token=None, commit_message=None, *,
                    metrics=None, base_model=None):
        """Saves this task as a preset and uploads it to the Hugging Face Hub, with a
        model card (`metrics`: dict `{name: value}`; `base_model`: the Hub repo or
        kerabert preset name it was tuned from). See `Backbone.push_to_hub`."""
        from kerabert.presets import hub

        return hub.push_to_hub(self, repo_id, private=private, token=token,
                               commit_message=commit_message, metrics=metrics,
                               base_model=base_model)

    def export_to_keras_hub(self, folder, tokenizer=None, allow_numerical_change=False):
        """Writes a keras-hub preset folder that `keras_hub.models.*.from_preset`
        loads: a `BertClassifier` as `BertTextClassifier` (with its
        preprocessor), a `BertPretrainer` as `BertMaskedLM` (keras-hub has no
        next-sentence head; it is left out, with a warning). keras-hub's BERT
        always uses the tanh GELU: a model it cannot reproduce (e.g. the exact
        GELU of transformers checkpoints) is refused with the measured output
        difference, unless `allow_numerical_change=True` (then it warns with
        it). The tokenizer defaults to the preprocessor's. Returns the folder's
        absolute path."""
        from kerabert.presets import keras_hub_export

        return keras_hub_export.export_to_keras_hub(self, folder, tokenizer,
                                                    allow_numerical_change)

    def export_to_transformers(self, folder, tokenizer=None):
        """Writes a `transformers` folder (`BertForSequenceClassification`,
        `BertForQuestionAnswering`, `BertForPreTraining`,
        `XLNetForSequenceClassification`, `XLNetForQuestionAnswering`,
        `XLNetLMHeadModel`) that `transformers` loads with the class
        named in its config (for XLNet QA use `XLNetForQuestionAnswering`:
        `AutoModelForQuestionAnswering` builds the *Simple* head instead) and
        `AutoTokenizer.from_pretrained(folder)`. The tokenizer defaults to
        the preprocessor's. Returns the folder's absolute path."""
        from kerabert.presets import transformers_export

        return transformers_export.export_to_transformers(self, folder, tokenizer)

    def export(self, filepath, format="tf_saved_model", verbose=None, input_signature=None,
               **kwargs):
        """Writes a SavedModel whose signatures take raw strings (TF Serving,
        Vertex AI, `tf.saved_model.load` with only TensorFlow and
        tensorflow-text imported): for a classifier, `serving_default(text)` and
        `serving_pairs(text, text_pair)` -> `logits`, `probabilities`; for a
        question answerer, `serving_default(question, context)` -> `answer`,
        `start`, `end`, `score`, windowing long contexts in the graph (options:
        `handle_impossible_answer`, `max_seq_len`, `doc_stride`,
        `max_answer_len`, `max_question_len`, `align_to_words`, `batch_size`).
        See `kerabert.serving.export_task`.

        A task without a preprocessor, another `format`, or an explicit
        `input_signature` get Keras' own `Model.export` (token-id inputs).
        """
        if format != "tf_saved_model" or input_signature is not None or self.preprocessor is None:
            return keras.Model.export(self, filepath, format=format, verbose=verbose,
                                      input_signature=input_signature, **kwargs)
        from kerabert import serving

        return serving.export_task(self, filepath, verbose=bool(verbose), **kwargs)

    # --- checks of the data, before anything is traced -------------------------

    def _x_description(self):
        """What `fit` / `evaluate` / `predict` take as `x`, for error messages."""
        if self.preprocessor is not None:
            return ("a string, a list of strings, a pair (tuple) of two lists of strings, or a "
                    "tf.data.Dataset of them")
        return "a dict of packed inputs (token_ids, segment_ids, ...) or a tf.data.Dataset"

    def _require_x(self, x, method):
        if x is None:
            raise TypeError(f"{method} got x=None: x takes {self._x_description()}.")

    def _check_labels(self, y, rows, method):
        """Labels held in Python -> the labels to train on (a classifier maps
        names to class ids); raises a clear error on labels the loss cannot
        take. `rows`: the number of examples, None when unknown. The base
        task takes them as they are."""
        return y

    def _check_dataset_labels(self, dataset, method):
        """A `tf.data.Dataset` of `(x, y[, sample_weight])` -> the same with
        the labels checked (or mapped) in the graph. The base task keeps it."""
        return dataset

    def _checked_data(self, x, y, sample_weight, method):
        """`(x, y, sample_weight)` of `fit` / `evaluate`, checked before any
        tracing: labels and sample weights as long as the texts, and the
        task's own label checks (`_check_labels`, `_check_dataset_labels`)."""
        self._require_x(x, method)
        if isinstance(x, tf.data.Dataset):
            return (self._check_dataset_labels(x, method) if y is None else x), y, sample_weight
        if _is_one_example(x):
            x, y, sample_weight = _batch_of_one(x, y, sample_weight)
        if self.preprocessor is not None:
            _check_texts(x)
        rows = _rows_of(x)
        row = "text" if self.preprocessor is not None else "input row"
        for name, value in (("label", y), ("sample weight", sample_weight)):
            if rows is None or value is None:
                continue
            for column in _label_columns(value):
                count = _rows_of(column)
                if count is not None and count != rows:
                    raise ValueError(f"{method} got {rows} {row}s and {count} {name}s: pass "
                                     f"one {name} per {row}.")
        return x, self._check_labels(y, rows, method), sample_weight

    def _checked_validation_data(self, validation_data):
        if isinstance(validation_data, tf.data.Dataset):
            return self._check_dataset_labels(validation_data, "fit(validation_data=...)")
        if isinstance(validation_data, tuple) and len(validation_data) in (2, 3):
            return self._checked_data(*keras.utils.unpack_x_y_sample_weight(
                tuple(validation_data)), "fit(validation_data=...)")
        return validation_data

    # --- compile / fit ---------------------------------------------------------

    def _default_loss(self):
        raise NotImplementedError

    def _default_metrics(self):
        return None

    def _default_loss_weights(self):
        return None

    # The optimizer recipe of `compile()`: the BERT reference's AdamWeightDecay
    # (decay 0.01, epsilon 1e-6); XLNet tasks override it with the XLNet
    # fine-tuning scripts' (no decay, epsilon 1e-8).
    recipe = {"weight_decay": 0.01, "epsilon": 1e-6}

    def compile(self, optimizer="auto", loss="auto", *, metrics="auto",
                learning_rate=2e-5, weight_decay=None, warmup_ratio=0.1,
                num_train_steps=None, layer_decay_rate=1.0, **kwargs):
        """Compiles with the reference fine-tuning recipe by default.

        `optimizer="auto"` is `AdamWeightDecay` (global-norm clipping 1.0,
        no decay on LayerNorm and bias) on a `LinearWarmupDecay` schedule (10 %
        warmup, linear decay to 0) peaking at `learning_rate`. BERT tasks use
        weight decay 0.01 and epsilon 1e-6, XLNet tasks 0.0 and 1e-8 (`recipe`).
        `layer_decay_rate` < 1 scales layer l's learning rate by
        `rate ** (num_layers - 1 - l)` (XLNet's layer-wise decay).

        The schedule is planned once: from `num_train_steps` when given, else
        from the data of the first `fit` (its epochs times its steps per
        epoch). A later `fit` within the plan continues it (e.g. a run resumed
        with `initial_epoch` from a `.keras` file). A later `fit` that would run
        past the plan's end, where the rate is 0, plans again from the current
        step: linear decay from `learning_rate` to 0 over that fit's steps,
        without a second warmup (the optimizer's moment estimates are already
        warm), and logs that it did. So every `fit` call trains.

        Other keywords go to Keras' `compile`; `jit_compile=True` (XLA, as TPUs
        need), `steps_per_execution` and `run_eagerly` keep the recipe, and a
        `.keras` file restores them with it.
        """
        if weight_decay is None:
            weight_decay = self.recipe["weight_decay"]
        self._auto_schedule = None
        self._auto_compile_args = None
        if optimizer == loss == metrics == "auto" and set(kwargs) <= set(EXECUTION_OPTIONS):
            # Remembered so a `.keras` file recompiles with the same recipe
            # (and runs the same way: `jit_compile=True` for a TPU run).
            self._auto_compile_args = dict(learning_rate=learning_rate, weight_decay=weight_decay,
                                           warmup_ratio=warmup_ratio,
                                           num_train_steps=num_train_steps,
                                           layer_decay_rate=layer_decay_rate, **kwargs)
        if optimizer == "auto":
            schedule = LinearWarmupDecay(learning_rate, num_train_steps, warmup_ratio)
            optimizer = AdamWeightDecay(
                learning_rate=schedule, weight_decay=weight_decay,
                epsilon=self.recipe["epsilon"],
                exclude_from_weight_decay=self.recipe.get(
                    "exclude_from_weight_decay", ("LayerNorm", "layer_norm", "bias")),
                layer_decay_rate=layer_decay_rate, num_layers=self.backbone.num_layers)
            self._auto_schedule = schedule
        if loss == "auto":
            loss = self._default_loss()
            if "loss_weights" not in kwargs and self._default_loss_weights() is not None:
                kwargs["loss_weights"] = self._default_loss_weights()
        if metrics == "auto":
            metrics = self._default_metrics()
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)

    def get_compile_config(self):
        if getattr(self, "_auto_compile_args", None) is not None:
            schedule = self._auto_schedule
            # The plan goes with the optimizer state, so that a run resumed
            # from a `.keras` file continues the same schedule.
            plan = {k: getattr(schedule, k) for k in ("start_step", "total_steps", "warmup_ratio")}
            return {"kerabert_recipe": self._auto_compile_args, "kerabert_schedule": plan}
        return super().get_compile_config()

    def compile_from_config(self, config):
        if "kerabert_recipe" not in config:
            return super().compile_from_config(config)
        self.compile(**config["kerabert_recipe"])
        for key, value in config.get("kerabert_schedule", {}).items():
            setattr(self._auto_schedule, key, value)
        if self.built:
            # Build the optimizer so a `.keras` file's optimizer state loads.
            self.optimizer.build(self.trainable_variables)

    def _to_dataset(self, x, y=None, sample_weight=None, batch_size=None, shuffle=False,
                    drop_remainder=False, seeded=False):
        """Raw text, packed arrays or a `tf.data.Dataset` -> the batched,
        preprocessed dataset the model trains or predicts on. Arrays are
        batched here (`batch_size`, default 32; `drop_remainder=True` leaves
        out the last partial batch, so every batch has the same static shape);
        a dataset keeps its own batching, except that one of raw text yielding
        single examples is batched here too (with a logged notice), since the
        preprocessor takes batches. `seeded`: pass each batch's seed
        (`PreprocessingSeed`) to a preprocessor that `takes_seed`."""
        if isinstance(x, tf.data.Dataset):
            if y is not None or sample_weight is not None:
                raise ValueError(
                    "When x is a tf.data.Dataset, y and sample_weight must be inside "
                    "the dataset (elements (x, y) or (x, y, sample_weight)).")
            dataset = x
            if self.preprocessor is not None and _is_unbatched_text(dataset):
                logger.warning(
                    "kerabert: the dataset yields single examples, not batches; batching it "
                    "by %d (batch_size=). Call .batch(n) on it to batch it yourself.",
                    batch_size or 32)
                dataset = dataset.batch(batch_size or 32, drop_remainder=drop_remainder)
        else:
            if _is_one_example(x):
                x, y, sample_weight = _batch_of_one(x, y, sample_weight)
            if self.preprocessor is not None:
                _check_texts(x)
            data = keras.utils.pack_x_y_sample_weight(x, y, sample_weight)
            dataset = tf.data.Dataset.from_tensor_slices(data)
            if shuffle:
                dataset = dataset.shuffle(max(int(dataset.cardinality()), 1),
                                          reshuffle_each_iteration=True)
            dataset = dataset.batch(batch_size or 32, drop_remainder=drop_remainder)
        if self.preprocessor is not None and not _is_packed(dataset):
            if seeded:
                seed, preprocessor = self.preprocessing_seed(), self.preprocessor
                dataset = dataset.enumerate().map(
                    lambda index, data: preprocessor(
                        *(data if isinstance(data, tuple) else (data,)),
                        seed=seed.batch_seed(index)),
                    num_parallel_calls=AUTOTUNE)
            else:
                dataset = dataset.map(self.preprocessor, num_parallel_calls=AUTOTUNE)
        return dataset.prefetch(AUTOTUNE)

    def preprocessing_seed(self):
        """The task's `PreprocessingSeed`, made on first use."""
        if getattr(self, "_preprocessing_seed", None) is None:
            self._preprocessing_seed = PreprocessingSeed(random.randint(1, 2**31 - 1))
        return self._preprocessing_seed

    def _num_rows(self, x):
        """How many rows the batches of `x` (not a dataset) hold: one per
        example, or None when that is only known by reading them."""
        column = x  # a list of texts, a pair of lists, or a dict of arrays
        while isinstance(column, (tuple, dict)):
            column = next(iter(column.values())) if isinstance(column, dict) else column[0]
        return len(column)

    def _padded_batches(self, x, batch_size):
        """`x` as batches of exactly `batch_size` rows, and how many rows are real.

        The rows (preprocessed: packed inputs, or a question answerer's
        windows) are re-batched; the last batch is filled up with copies of the
        first row, whose outputs the caller drops. Copies, not zeros: a real
        row is a valid input (a row with no tokens would attend to nothing).
        """
        if _is_one_example(x):
            x, _, _ = _batch_of_one(x, None, None)
        rows = self._to_dataset(x, batch_size=batch_size).unbatch()
        count = None if isinstance(x, tf.data.Dataset) else self._num_rows(x)
        if count is None:
            count = int(rows.reduce(np.int64(0), lambda n, _: n + 1))
        if count == 0:
            raise ValueError("predict(static_shapes=True) got no examples.")
        rows = rows.concatenate(rows.take(1).repeat((-count) % batch_size))
        batches = rows.batch(batch_size, drop_remainder=True)
        # Re-batching loses the length, which Keras wants (else it warns that
        # the data ran out).
        batches = batches.apply(tf.data.experimental.assert_cardinality(
            -(-count // batch_size)))
        return batches.prefetch(AUTOTUNE), count

    @staticmethod
    def _require_static_shapes(dataset, method):
        """Raises unless every tensor of every element has one known shape
        (what XLA on TPUs compiles for), naming the ones that do not."""
        specs = keras.tree.flatten_with_path(dataset.element_spec)
        dynamic = {"/".join(map(str, path)) or "element": spec.shape
                   for path, spec in specs if not spec.shape.is_fully_defined()}
        if dynamic:
            raise ValueError(
                f"{method}(static_shapes=True) needs batches of one static shape, but the "
                f"dataset's elements have unknown dimensions: {dynamic}. Batch the dataset "
                "with drop_remainder=True and pad every sequence to a fixed length (or pass "
                "raw text or arrays with batch_size=, which kerabert batches this way).")

    def _uses_python_pipeline(self, x):
        return self.preprocessor is not None or isinstance(x, tf.data.Dataset)

    def _plan_schedule(self, dataset, epochs, steps_per_epoch, initial_epoch=0, callbacks=()):
        """Plans the default recipe's warmup/decay for this `fit` (see `compile`)."""
        schedule = getattr(self, "_auto_schedule", None)
        if schedule is None:
            return
        if schedule.total_steps is not None and any(
                getattr(c, "has_backup", lambda: False)() for c in callbacks or ()):
            return  # resuming: BackupAndRestore puts back the plan it saved
        if steps_per_epoch is None:
            cardinality = int(dataset.cardinality())
            if cardinality < 0:
                if schedule.total_steps is not None:
                    return  # planned by compile(num_train_steps=...)
                raise ValueError(
                    "The default optimizer's warmup/decay schedule needs the number "
                    "of steps, but the dataset's length is unknown. Pass "
                    "steps_per_epoch= to fit, or compile(num_train_steps=...).")
            steps_per_epoch = cardinality
        steps = steps_per_epoch * max(epochs - initial_epoch, 0)
        current = int(self.optimizer.iterations.numpy())
        if schedule.total_steps is None:
            # The first plan. A fresh optimizer warms up; one that has already
            # stepped (a model loaded from a file saved without a plan) has warm
            # moment estimates and only decays.
            plan = (current, steps, schedule.warmup_ratio if current == 0 else 0.0)
        elif current + steps > schedule.start_step + schedule.total_steps:
            plan = (current, steps, 0.0)
            logger.warning(
                "kerabert: this fit runs optimizer steps %d to %d, past the learning-rate "
                "schedule planned for steps %d to %d (where the rate is 0). Planning it "
                "again: linear decay from %g to 0 over this fit's %d steps.",
                current, current + steps, schedule.start_step,
                schedule.start_step + schedule.total_steps, schedule.peak_learning_rate, steps)
        else:
            return
        schedule.start_step, schedule.total_steps, schedule.warmup_ratio = plan
        self.train_function = None  # retrace with the new plan

    def _build_optimizer(self):
        """Creates the optimizer's variables now, eagerly. Without a distribution
        strategy Keras leaves this to the trace of the first train step, where
        each variable costs several times more (BERT with 4 layers: 2.3 s there,
        0.4 s here), which lengthens the first step of `fit`."""
        if self.optimizer is not None and not self.optimizer.built and self.built:
            with self.distribute_strategy.scope():
                self.optimizer.build(self.trainable_variables)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        if iterator is not None and keras_compat.is_multi_worker(self):
            return keras_compat.symbolic_build_from_local_batch(self, iterator)
        return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def _replica_logs(self, logs):
        return keras_compat.replica_logs(self, logs)

    def _minimize(self, loss_fn):
        """One optimizer step for tasks whose loss Keras' `compile` cannot express.

        `loss_fn()` returns this replica's mean loss, or a tuple whose first item
        is it. Keras sums gradients over replicas, so the loss is divided by
        their number: the step follows the gradient of the global-batch mean.
        Loss scaling (`mixed_float16`) goes through the optimizer. Returns what
        `loss_fn` returned.
        """
        with tf.GradientTape() as tape:
            result = loss_fn()
            loss = result[0] if isinstance(result, tuple) else result
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            scaled = self.optimizer.scale_loss(loss / replicas)
        gradients = tape.gradient(scaled, self.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights))
        return result

    def train_step(self, data):
        return self._replica_logs(super().train_step(data))

    def test_step(self, data):
        return self._replica_logs(super().test_step(data))

    def fit(self, x=None, y=None, batch_size=None, epochs=1, validation_data=None,
            sample_weight=None, shuffle=True, steps_per_epoch=None, *, features=None,
            label="label", static_shapes=False, **kwargs):
        """Keras' `fit` on raw text, packed dicts or `tf.data`.

        `features` (and `label`): for records with named columns (tfds-style
        dict elements such as GLUE MRPC's `{"sentence1", "sentence2", "label"}`,
        or a dict of columns), the text column or the pair of columns to read,
        e.g. `fit(ds, features=("sentence1", "sentence2"))`; validation data of
        the same shape is read the same way (see `select_features`).

        `static_shapes=True` (for TPUs, or XLA without recompiling): every
        training batch has the same fully static shape. Raw text and arrays
        are batched with `drop_remainder=True` (the last `n % batch_size`
        examples of an epoch are left out; with `shuffle` a different few each
        epoch) and the preprocessor pads to its `sequence_length`; a
        `tf.data.Dataset` must already be batched that way, else a
        `ValueError` says which tensors have unknown dimensions. Validation
        data is batched as usual.
        """
        if features is not None:
            x, y = select_features(x, y, features, label)
            if isinstance(validation_data, (dict, tf.data.Dataset)):
                validation_data = select_features(validation_data, None, features, label)
                validation_data = (validation_data if validation_data[1] is not None
                                   else validation_data[0])
        x, y, sample_weight = self._checked_data(x, y, sample_weight, "fit()")
        if validation_data is not None:
            validation_data = self._checked_validation_data(validation_data)
        seeded = getattr(self.preprocessor, "takes_seed", False)
        if static_shapes or self._uses_python_pipeline(x):
            dataset = self._to_dataset(x, y, sample_weight, batch_size, shuffle=shuffle,
                                       drop_remainder=static_shapes,
                                       **({"seeded": True} if seeded else {}))
            if static_shapes:
                self._require_static_shapes(dataset, "fit")
            if isinstance(validation_data, tuple):
                validation_data = self._to_dataset(
                    *keras.utils.unpack_x_y_sample_weight(validation_data),
                    batch_size=batch_size)
            elif validation_data is not None:
                validation_data = self._to_dataset(validation_data, batch_size=batch_size)
            x, y, sample_weight, batch_size, shuffle = dataset, None, None, None, False
        else:
            n = len(keras.tree.flatten(x)[0])
            dataset = tf.data.Dataset.range(math.ceil(n / (batch_size or 32)))
        self._plan_schedule(dataset, epochs, steps_per_epoch, kwargs.get("initial_epoch", 0),
                            kwargs.get("callbacks"))
        if seeded and getattr(self, "_preprocessing_seed", None) is not None:
            setter = _SetPreprocessingEpoch(self._preprocessing_seed,
                                            every_epoch=steps_per_epoch is None)
            callbacks = kwargs.get("callbacks")
            if isinstance(callbacks, keras.callbacks.CallbackList):
                kwargs["callbacks"] = keras.callbacks.CallbackList(
                    list(callbacks.callbacks) + [setter], model=self)
            else:
                kwargs["callbacks"] = list(callbacks or []) + [setter]
        self._build_optimizer()
        with warnings.catch_warnings():
            for name in self.unused_weights:
                warnings.filterwarnings("ignore", message=f".*{name}.*")
            return super().fit(x=x, y=y, batch_size=batch_size, epochs=epochs,
                               validation_data=validation_data, sample_weight=sample_weight,
                               shuffle=shuffle, steps_per_epoch=steps_per_epoch, **kwargs)

    def evaluate(self, x=None, y=None, batch_size=None, sample_weight=None, *, features=None,
                 label="label", **kwargs):
        if features is not None:
            x, y = select_features(x, y, features, label)
        if not kwargs.get("_use_cached_eval_dataset"):
            x, y, sample_weight = self._checked_data(x, y, sample_weight, "evaluate()")
        # Keras' fit calls evaluate on the validation data it was given, which
        # fit has already preprocessed.
        if self._uses_python_pipeline(x) and not kwargs.get("_use_cached_eval_dataset"):
            x = self._to_dataset(x, y, sample_weight, batch_size)
            y = sample_weight = batch_size = None
        return super().evaluate(x=x, y=y, batch_size=batch_size,
                                sample_weight=sample_weight, **kwargs)

    def predict(self, x, batch_size=None, *, features=None, static_shapes=False, **kwargs):
        """Keras' `predict` on raw text, packed dicts or `tf.data`.

        `static_shapes=True` (for TPUs, or XLA without recompiling): the model
        only sees batches of exactly `batch_size` rows (default 32; a finite
        `tf.data.Dataset` is re-batched to it): the last batch is filled up
        with copies of the first row and their outputs are dropped, so the
        result has one row per input row, equal to an ordinary `predict`.
        """
        if features is not None:
            x, _ = select_features(x, None, features)
        self._require_x(x, "predict()")
        if static_shapes:
            dataset, count = self._padded_batches(x, batch_size or 32)
            self._require_static_shapes(dataset, "predict")
            outputs = super().predict(dataset, **kwargs)
            return keras.tree.map_structure(lambda a: a[:count], outputs)
        if self._uses_python_pipeline(x):
            packed = self._pack_in_memory(x)
            rows = None if packed is None else len(next(iter(packed.values())))
            if packed is not None and rows <= (batch_size or 32) and not kwargs.get("callbacks"):
                # One batch: without Keras' per-call data adapter and iterator.
                return self.predict_on_batch(packed)
            if packed is not None:
                return super().predict(packed, batch_size=batch_size, **kwargs)
            x = self._to_dataset(x, batch_size=batch_size)
            batch_size = None
        return super().predict(x, batch_size=batch_size, **kwargs)

    # Rows tokenized per call of the traced preprocessor in `_pack_in_memory`.
    _PACK_CHUNK = 4096

    def _pack_in_memory(self, x):
        """Raw texts held in Python (a string, a list, a pair of lists) ->
        the packed model inputs as numpy arrays, or None for other inputs.

        The preprocessor runs in one `tf.function` kept on the task, traced
        once for all later calls. Building a `tf.data` pipeline instead costs
        a new trace of the preprocessor on every `predict` (about a second,
        whatever the model's size), which made `predict` on a few texts
        hundreds of times slower than the model."""
        if self.preprocessor is None or isinstance(x, (tf.data.Dataset, dict)):
            return None
        if _is_one_example(x):
            x, _, _ = _batch_of_one(x, None, None)
        _check_texts(x)
        columns = list(x) if isinstance(x, tuple) else [x]
        if not all(isinstance(c, (list, np.ndarray)) and len(c) == len(columns[0])
                   and all(isinstance(s, (str, bytes)) for s in c) for c in columns):
            return None
        function = getattr(self, "_traced_preprocessor", None)
        if function is None or function[0] is not self.preprocessor:
            function = (self.preprocessor,
                        tf.function(self.preprocessor.__call__, reduce_retracing=True))
            self._traced_preprocessor = function
        rows, chunks = len(columns[0]), []
        for start in range(0, rows, self._PACK_CHUNK):
            part = [tf.constant(list(c[start:start + self._PACK_CHUNK]), tf.string)
                    for c in columns]
            out = function[1](tuple(part) if isinstance(x, tuple) else part[0])
            if not isinstance(out, dict) or any(
                    not isinstance(v, tf.Tensor) or v.shape[:1] != (len(part[0]),)
                    for v in out.values()):
                return None  # not plain packed inputs (e.g. a pretrainer's (x, y))
            chunks.append({k: v.numpy() for k, v in out.items()})
        if not chunks or any(c[k].shape[1:] != chunks[0][k].shape[1:]
                             for c in chunks for k in c):
            return None
        return {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}

    def get_config(self):
        return {
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "preprocessor": keras.saving.serialize_keras_object(self.preprocessor)
            if self.preprocessor is not None else None,
            "name": self.name,
            "trainable": self.trainable,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("backbone", "preprocessor"):
            if isinstance(config.get(key), dict):
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


class Task(TaskMixin, keras.Model):
    """Base class of the functional kerabert tasks.

    A subclass constructor builds its head layers, wires the functional graph
    from `backbone.input`, calls `super().__init__(backbone, preprocessor,
    inputs=..., outputs=...)`, sets its config, and compiles the default recipe
    unless `compile=False` (as keras-hub tasks do).
    """

    def __init__(self, backbone, preprocessor=None, *, inputs, outputs, **kwargs):
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self._set_backbone(backbone, preprocessor)
