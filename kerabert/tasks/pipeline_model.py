"""Raw inputs -> the batched, preprocessed `tf.data` pipeline a task runs on.

`PipelineModel` is the part of a kerabert task that turns what `fit` /
`evaluate` / `predict` are given (Python lists of texts, numpy arrays, dicts
of columns, a `tf.data.Dataset`) into batches of model inputs through the
task's preprocessor, and checks them before anything is traced.
"""

import logging
import math
import random

import keras
import numpy as np
import tensorflow as tf

from kerabert.tasks.preprocessing_seed import PreprocessingSeed
from kerabert.tokenizers.tokenizer import check_encodable

AUTOTUNE = tf.data.AUTOTUNE
logger = logging.getLogger("kerabert")


def _is_packed(dataset):
    """Whether a dataset already yields model inputs (a dict with `token_ids`),
    e.g. from `kerabert.data.bert_pretraining`, so the preprocessor is skipped."""
    spec = dataset.element_spec
    x = spec[0] if isinstance(spec, tuple) else spec
    return isinstance(x, dict) and "token_ids" in x


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


class PipelineModel:
    """The raw-input pipeline of a kerabert task (a mixin of `keras.Model`
    subclasses that set `self.preprocessor`, a callable or None).

    Public hooks, each with one meaning, that a task overrides for inputs of
    its own (as `QuestionAnswerer` does for `SquadData`):

    - `uses_pipeline(x)`: whether `x` goes through `preprocess_dataset`
      before Keras sees it (else Keras takes it as it is);
    - `preprocess_dataset(x, ...)`: `x` -> the batched, preprocessed
      `tf.data.Dataset` the model runs on;
    - `count_rows(x)`: how many rows `preprocess_dataset` makes of `x`, or
      None when only reading the data tells.

    `count_batches(x, batch_size)` combines them into the length of an
    epoch without building a dataset for arrays Keras batches itself.
    """

    # --- checks of the data, before anything is traced -------------------------

    def input_description(self):
        """What `fit` / `evaluate` / `predict` take as `x`, for error messages."""
        if self.preprocessor is not None:
            return ("a string, a list of strings, a pair (tuple) of two lists of strings, or a "
                    "tf.data.Dataset of them")
        return "a dict of packed inputs (token_ids, segment_ids, ...) or a tf.data.Dataset"

    def require_input(self, x, method):
        if x is None:
            raise TypeError(f"{method} got x=None: x takes {self.input_description()}.")

    def check_labels(self, y, rows, method):
        """Labels held in Python -> the labels to train on (a classifier maps
        names to class ids); raises a clear error on labels the loss cannot
        take. `rows`: the number of examples, None when unknown. The base
        task takes them as they are."""
        return y

    def check_dataset_labels(self, dataset, method):
        """A `tf.data.Dataset` of `(x, y[, sample_weight])` -> the same with
        the labels checked (or mapped) in the graph. The base task keeps it."""
        return dataset

    def check_data(self, x, y, sample_weight, method):
        """`(x, y, sample_weight)` of `fit` / `evaluate`, checked before any
        tracing: labels and sample weights as long as the texts, and the
        task's own label checks (`check_labels`, `check_dataset_labels`)."""
        self.require_input(x, method)
        if isinstance(x, tf.data.Dataset):
            return (self.check_dataset_labels(x, method) if y is None else x), y, sample_weight
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
        return x, self.check_labels(y, rows, method), sample_weight

    def check_validation_data(self, validation_data):
        if isinstance(validation_data, tf.data.Dataset):
            return self.check_dataset_labels(validation_data, "fit(validation_data=...)")
        if isinstance(validation_data, tuple) and len(validation_data) in (2, 3):
            return self.check_data(*keras.utils.unpack_x_y_sample_weight(
                tuple(validation_data)), "fit(validation_data=...)")
        return validation_data

    # --- batching and preprocessing --------------------------------------------

    def preprocess_dataset(self, x, y=None, sample_weight=None, batch_size=None, shuffle=False,
                           drop_remainder=False, seeded=False):
        """Raw text, packed arrays or a `tf.data.Dataset` -> the batched,
        preprocessed dataset the model trains or predicts on (elements `x`,
        `(x, y)` or `(x, y, sample_weight)`, `x` a dict of model inputs with
        a leading batch dimension). Arrays are
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

    def count_rows(self, x):
        """How many rows (examples, each one row of a batch) `preprocess_dataset`
        makes of `x`: the length of the first column of texts or arrays held
        in Python (a list, a pair of lists, numpy arrays, a dict of columns),
        an int; None for a `tf.data.Dataset`, or anything only reading tells."""
        return _rows_of(x)

    def count_batches(self, x, batch_size=None):
        """The batches an epoch of `fit(x, batch_size=...)` runs, an int, or
        None when unknown: a dataset's (`uses_pipeline(x)` makes `x` one)
        cardinality, else the rows counted (`count_rows`) in batches of
        `batch_size` (default 32), as Keras batches them."""
        if isinstance(x, tf.data.Dataset):
            cardinality = int(x.cardinality())
            return cardinality if cardinality >= 0 else None
        rows = self.count_rows(x)
        return None if rows is None else math.ceil(rows / (batch_size or 32))

    def _padded_batches(self, x, batch_size):
        """`x` as batches of exactly `batch_size` rows, and how many rows are real.

        The rows (preprocessed: packed inputs, or a question answerer's
        windows) are re-batched; the last batch is filled up with copies of the
        first row, whose outputs the caller drops. Copies, not zeros: a real
        row is a valid input (a row with no tokens would attend to nothing).
        """
        if _is_one_example(x):
            x, _, _ = _batch_of_one(x, None, None)
        rows = self.preprocess_dataset(x, batch_size=batch_size).unbatch()
        count = self.count_rows(x)
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

    def uses_pipeline(self, x):
        """Whether `fit` / `evaluate` / `predict` pass `x` through
        `preprocess_dataset` (raw text for the preprocessor, or a
        `tf.data.Dataset`) rather than giving it to Keras as it is (packed
        arrays of a task without a preprocessor)."""
        return self.preprocessor is not None or isinstance(x, tf.data.Dataset)

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
