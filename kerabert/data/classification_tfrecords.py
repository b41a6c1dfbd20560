"""Classification TFRecords in the schema of the reference BERT and XLNet scripts.

Files written by the reference (`create_finetuning_data.py` for BERT,
`preprocess_classification_data.py` for XLNet) feed a kerabert classifier built
with `preprocessor=None`:

    dataset = read_classification_tfrecords("mrpc_train.tf_record", 128,
                                            batch_size=32)
    classifier = kerabert.BertClassifier(backbone, num_classes=2, preprocessor=None)
    classifier.fit(dataset)

and `write_classification_tfrecords` writes the same files from a kerabert
preprocessor, e.g. to tokenize once for many runs.

Schemas (one `tf.train.Example` per example, L = max_seq_length):

    feature          BERT                      XLNet
    input_ids        int64 [L]                 int64 [L]
    input_mask       int64 [L], 1 = real       float [L], 1.0 = PADDING, 0.0 = real
    segment_ids      int64 [L], A 0, B 1       int64 [L], A 0, B 1, <cls> 2, pad 4
    label_ids        int64 [1] (float [1] for regression, e.g. STS-B)
    is_real_example  int64 [1], 1; 0 marks the reference's XLNet eval padding

BERT pads on the right, XLNet on the left with <cls> last; both layouts are the
preprocessors' own. kerabert's inputs are `token_ids`, `segment_ids` and
`padding_mask` (int32, 1 = real token); `from_reference_features` maps the
reference names (and inverts XLNet's mask).
"""

import json
import os

import numpy as np
import tensorflow as tf

from kerabert.data.pipelines import expand_file_patterns
from kerabert.presets.files import atomic_write

SCHEMAS = ("bert", "xlnet")

# The reference meta data file's task type for classification data.
TASK_TYPE = "bert_classification"

# Examples go through the preprocessor this many at a time.
_BATCH = 256


def _check_schema(schema):
    if schema not in SCHEMAS:
        raise ValueError(f"schema must be 'bert' or 'xlnet', got {schema!r}.")


def feature_spec(sequence_length, schema="bert", regression=False):
    """The `tf.io.parse_example` spec of the reference files.

    `is_real_example` defaults to 1 so that files without it parse too.
    """
    _check_schema(schema)
    L = int(sequence_length)
    return {
        "input_ids": tf.io.FixedLenFeature([L], tf.int64),
        "input_mask": tf.io.FixedLenFeature([L], tf.float32 if schema == "xlnet" else tf.int64),
        "segment_ids": tf.io.FixedLenFeature([L], tf.int64),
        "label_ids": tf.io.FixedLenFeature([1], tf.float32 if regression else tf.int64),
        "is_real_example": tf.io.FixedLenFeature([1], tf.int64, default_value=[1]),
    }


def from_reference_features(features, schema="bert"):
    """Reference feature dict -> kerabert inputs.

    Args:
      features: dict with `input_ids` (or `input_word_ids`, the Model Garden
        name), `input_mask`, and `segment_ids` (or `input_type_ids`); tensors
        or arrays of shape (L,) or (B, L).
      schema: "bert" (`input_mask` 1 = real token) or "xlnet" (`input_mask`
        1.0 = padding, as the XLNet reference writes it; inverted here).
    Returns:
      dict of int32 `token_ids`, `segment_ids`, `padding_mask` (1 = real
      token), same shapes as the inputs.
    """
    _check_schema(schema)

    def pick(*names):
        for name in names:
            if name in features:
                return features[name]
        raise KeyError(f"The features have none of {names}; they have {sorted(features)}.")

    mask = tf.convert_to_tensor(pick("input_mask"))
    if schema == "xlnet":
        padding_mask = 1 - tf.cast(tf.round(tf.cast(mask, tf.float32)), tf.int32)
    else:
        padding_mask = tf.cast(mask, tf.int32)
    return {
        "token_ids": tf.cast(pick("input_ids", "input_word_ids"), tf.int32),
        "segment_ids": tf.cast(pick("segment_ids", "input_type_ids"), tf.int32),
        "padding_mask": padding_mask,
    }


# --- writing ----------------------------------------------------------------------


def _int_feature(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(v) for v in values]))


def _float_feature(values):
    return tf.train.Feature(float_list=tf.train.FloatList(value=[float(v) for v in values]))


def _schema_of(preprocessor, schema):
    if schema is not None:
        _check_schema(schema)
        return schema
    from kerabert.preprocessors.bert_preprocessor import BertPreprocessor
    from kerabert.preprocessors.xlnet_preprocessor import XLNetPreprocessor

    if isinstance(preprocessor, XLNetPreprocessor):
        return "xlnet"
    if isinstance(preprocessor, BertPreprocessor):
        return "bert"
    raise ValueError(f"Cannot tell the schema of a {type(preprocessor).__name__}; pass "
                     "schema='bert' or schema='xlnet'.")


def _as_segments(x):
    """x -> list of segments (each a list of str) and the example count."""
    if isinstance(x, tuple):
        segments = [list(s) for s in x]
        if len(segments) not in (1, 2):
            raise ValueError(f"x is a tuple of {len(segments)} lists; pass a list of str "
                             "or a tuple (list_a, list_b) of two.")
        if len(segments) == 2 and len(segments[0]) != len(segments[1]):
            raise ValueError(f"x's two lists differ in length ({len(segments[0])} and "
                             f"{len(segments[1])}); they must be sentence pairs.")
    elif isinstance(x, str):
        raise ValueError("x is one str; pass a list of str (or a tuple of two lists).")
    else:
        segments = [list(x)]
    return segments, len(segments[0])


def _labels(y, n, regression, num_labels):
    if y is None:
        return None, bool(regression)
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"y has shape {y.shape}; it must hold one label per example, "
                         f"shape ({n},).")
    if y.dtype.kind not in "biuf":
        raise ValueError(f"y must be class ids or scores, got dtype {y.dtype} (map label "
                         "names to ids first, e.g. with kerabert.glue.load).")
    if regression is None:
        regression = y.dtype.kind == "f"
    if regression:
        if not np.all(np.isfinite(y)):
            raise ValueError("y holds NaN or infinite scores.")
        return y.astype(np.float64), True
    if y.dtype.kind == "f" and np.any(y != np.round(y)):
        raise ValueError("y holds non-integer floats; pass regression=True for scores "
                         "(STS-B) or int class ids.")
    y = y.astype(np.int64)
    if n and (y.min() < 0 or (num_labels is not None and y.max() >= num_labels)):
        allowed = f"0..{num_labels - 1}" if num_labels is not None else "0 and up"
        raise ValueError(f"y holds class ids outside {allowed} (min {y.min()}, max "
                         f"{y.max()}); num_labels is {num_labels}.")
    return y, False


def write_classification_tfrecords(path, preprocessor, x, y=None, *, schema=None,
                                   regression=None, num_labels=None, meta_path=None,
                                   processor_type=None, eval_data_size=None,
                                   batch_size=_BATCH):
    """Tokenizes and packs `x` with `preprocessor` and writes the reference schema.

    Args:
      path: output TFRecord file (local, `gs://`, `ram://`). Written to a
        temporary file next to it and renamed when complete, so a crash never
        leaves a truncated file under `path`.
      preprocessor: a `kerabert.BertPreprocessor` or `kerabert.XLNetPreprocessor`
        (its `sequence_length` is L).
      x: list of N str, or a tuple `(list_a, list_b)` (`GlueData.x`).
      y: (N,) class ids or (N,) float scores (`GlueData.y`); None writes label
        0 for every example, as the reference does for unlabelled test sets.
      schema: "bert" or "xlnet"; None: from the preprocessor's class.
      regression: write `label_ids` as floats; None: when y is a float array.
      num_labels: number of classes (`GlueData.num_labels`); labels are checked
        against it. Needed for the meta file (1 for regression).
      meta_path: if given, also write the reference meta data JSON:
        {"task_type": "bert_classification", "processor_type", "num_labels",
        "train_data_size": N, "max_seq_length": L[, "eval_data_size"]},
        indented by 4 with a trailing newline, as `create_finetuning_data.py`.
      processor_type: the reference's name of the task ("MRPC", "MNLI", "COLA",
        "XNLI"); required with `meta_path`.
      eval_data_size: optional; added to the meta data as the reference does
        when it also writes an eval file.
      batch_size: examples per preprocessor call.
    Returns:
      the meta data dict (also when `meta_path` is None).

    Unlike the reference, padding ids are the preprocessor's (XLNet's <pad> is
    5 where the XLNet reference writes 0; models never attend to padding) and
    examples are written in order, once (the XLNet reference shuffles train
    examples and pads eval files to a multiple of the eval batch size).
    """
    schema = _schema_of(preprocessor, schema)
    segments, n = _as_segments(x)
    labels, regression = _labels(y, n, regression, num_labels)
    if regression:
        if num_labels not in (None, 1):
            raise ValueError(f"Regression data has one output; num_labels is {num_labels}.")
        num_labels = 1
    if meta_path is not None and (num_labels is None or processor_type is None):
        raise ValueError("meta_path needs num_labels (e.g. GlueData.num_labels) and "
                         "processor_type (the reference's task name, e.g. 'MRPC').")
    sequence_length = None
    with atomic_write(path, opener=tf.io.TFRecordWriter) as writer:
        for start in range(0, n, int(batch_size)):
            chunk = [s[start:start + batch_size] for s in segments]
            packed = preprocessor(tuple(chunk) if len(chunk) == 2 else chunk[0])
            missing = {"token_ids", "segment_ids", "padding_mask"} - set(packed)
            if missing:
                raise ValueError(f"The preprocessor's output lacks {sorted(missing)}; pass "
                                 "a BertPreprocessor or XLNetPreprocessor.")
            token_ids = np.asarray(packed["token_ids"])
            segment_ids = np.asarray(packed["segment_ids"])
            padding_mask = np.asarray(packed["padding_mask"])
            sequence_length = token_ids.shape[1]
            for row in range(token_ids.shape[0]):
                if schema == "xlnet":
                    mask = _float_feature(1.0 - padding_mask[row])
                else:
                    mask = _int_feature(padding_mask[row])
                label = 0 if labels is None else labels[start + row]
                features = {
                    "input_ids": _int_feature(token_ids[row]),
                    "input_mask": mask,
                    "segment_ids": _int_feature(segment_ids[row]),
                    "label_ids": _float_feature([label]) if regression else _int_feature([label]),
                    "is_real_example": _int_feature([1]),
                }
                example = tf.train.Example(features=tf.train.Features(feature=features))
                writer.write(example.SerializeToString())
    meta = {
        "task_type": TASK_TYPE,
        "processor_type": processor_type,
        "num_labels": num_labels,
        "train_data_size": n,
        "max_seq_length": int(sequence_length or preprocessor.sequence_length),
    }
    if eval_data_size is not None:
        meta["eval_data_size"] = int(eval_data_size)
    if meta_path is not None:
        write_meta(meta_path, meta)
    return meta


# --- meta data ----------------------------------------------------------------------


_META_TYPES = {"task_type": str, "num_labels": int, "train_data_size": int,
               "max_seq_length": int}


def write_meta(path, meta):
    """Writes the meta data JSON (indent 4, trailing newline), atomically."""
    with atomic_write(path) as f:
        f.write(json.dumps(meta, indent=4) + "\n")
    return path


def read_meta(path):
    """Reads a classification meta data JSON written by the reference's
    `create_finetuning_data.py` or by `write_classification_tfrecords`.

    Returns the dict; `num_labels`, `train_data_size`, `max_seq_length` are
    ints, `eval_data_size` too when present.
    """
    path = os.fspath(path)
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"Meta data file not found: {path}")
    with tf.io.gfile.GFile(path, "rb") as f:
        raw = f.read()
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is not a meta data JSON file ({error}).") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{path}: the meta data must be a JSON object, got "
                         f"{type(meta).__name__}.")
    for key, kind in _META_TYPES.items():
        if key not in meta:
            raise ValueError(f"{path}: the meta data lacks {key!r}; a classification meta "
                             f"file has {sorted(_META_TYPES)} (and processor_type).")
        value = meta[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ValueError(f"{path}: {key!r} must be a{'n int' if kind is int else ' str'}, "
                             f"got {value!r}.")
    if "eval_data_size" in meta and (not isinstance(meta["eval_data_size"], int)
                                     or isinstance(meta["eval_data_size"], bool)):
        raise ValueError(f"{path}: 'eval_data_size' must be an int, got "
                         f"{meta['eval_data_size']!r}.")
    if meta["task_type"] != TASK_TYPE:
        raise ValueError(f"{path}: task_type is {meta['task_type']!r}; this reads "
                         f"{TASK_TYPE!r} meta data (SQuAD files have their own).")
    if meta["num_labels"] < 1 or meta["max_seq_length"] < 1 or meta["train_data_size"] < 0:
        raise ValueError(f"{path}: num_labels and max_seq_length must be positive and "
                         f"train_data_size not negative, got {meta}.")
    return meta


# --- reading ------------------------------------------------------------------------


_KINDS = {tf.int64: "int64_list", tf.float32: "float_list"}


def _check_first_record(path, spec, schema, regression):
    """Compares the first record with the expected schema, so that a wrong
    schema / regression / sequence_length gets a clear error here rather than
    a parse error inside tf.data."""
    for record in tf.data.TFRecordDataset(path).take(1):
        try:
            example = tf.train.Example.FromString(record.numpy())
        except Exception as error:  # noqa: BLE001 - protobuf's DecodeError
            raise ValueError(f"{path} does not hold tf.train.Example records ({error}).") \
                from None
        features = example.features.feature
        for name, wanted in spec.items():
            if name not in features:
                if wanted.default_value is not None:
                    continue
                raise ValueError(f"{path}: the records lack {name!r}; they have "
                                 f"{sorted(features)}. Classification records hold "
                                 f"{sorted(spec)}.")
            kind = features[name].WhichOneof("kind")
            if kind != _KINDS[wanted.dtype]:
                if name == "input_mask":
                    other = "xlnet" if schema == "bert" else "bert"
                    hint = (f"input_mask is {kind.split('_')[0]} in the file, so these are "
                            f"{other.upper()} records: pass schema={other!r}.")
                elif name == "label_ids":
                    hint = ("label_ids are floats: regression data (STS-B); pass "
                            "regression=True." if kind == "float_list" else
                            "label_ids are ints: class ids; pass regression=False.")
                else:
                    hint = f"{name} should be {_KINDS[wanted.dtype]}."
                raise ValueError(f"{path}: {hint}")
            length = len(getattr(features[name], kind).value)
            if length != wanted.shape[0]:
                if name in ("input_ids", "input_mask", "segment_ids"):
                    raise ValueError(f"{path}: the records hold {length} tokens, but "
                                     f"sequence_length is {wanted.shape[0]}; pass "
                                     f"sequence_length={length} (the meta data's "
                                     "max_seq_length).")
                raise ValueError(f"{path}: {name} has {length} values, expected "
                                 f"{wanted.shape[0]}.")


def read_classification_tfrecords(file_pattern, sequence_length, *, schema="bert",
                                  regression=False, batch_size=None, shuffle=False,
                                  shuffle_buffer_size=10000, seed=None, repeat=False,
                                  drop_remainder=False, keep_padding_examples=False):
    """Reference classification TFRecords -> `tf.data.Dataset` of `(inputs, label)`.

    Args:
      file_pattern: str or list; comma-separated glob patterns (local, `gs://`,
        `ram://`), read in sorted order.
      sequence_length: L the files were written with (the meta data's
        `max_seq_length`).
      schema: "bert" or "xlnet" (see the module docstring); a mismatch with the
        files is reported when the dataset is made.
      regression: the labels are float scores (STS-B).
      batch_size: None for unbatched examples.
      shuffle, shuffle_buffer_size, seed: shuffle the records.
      repeat: loop forever.
      drop_remainder: drop a last partial batch (static batch size).
      keep_padding_examples: the XLNet reference pads eval files with all-zero
        records marked `is_real_example` 0. False drops them; True keeps them
        and yields `(inputs, label, sample_weight)` with `is_real_example` as
        a float32 weight, so metrics ignore them.
    Returns:
      dataset of `(inputs, label)`: inputs = {`token_ids`, `segment_ids`,
      `padding_mask`} int32 (L,) or (B, L) with L static, `padding_mask` 1 =
      real token; label int32 () / (B,) class ids, or float32 for regression.
      This is what a kerabert classifier built with `preprocessor=None` takes.
      TFRecord datasets have no known length: give `fit` `steps_per_epoch`
      (e.g. the meta data's `train_data_size // batch_size`) or compile with
      `num_train_steps`.
    """
    _check_schema(schema)
    files = expand_file_patterns(file_pattern)
    spec = feature_spec(sequence_length, schema, regression)
    _check_first_record(files[0], spec, schema, regression)
    dataset = tf.data.TFRecordDataset(files)
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer_size, seed=seed)
    if repeat:
        dataset = dataset.repeat()

    def parse(record):
        features = tf.io.parse_single_example(record, spec)
        inputs = from_reference_features(features, schema)
        label = tf.reshape(features["label_ids"], [])
        label = tf.cast(label, tf.float32 if regression else tf.int32)
        weight = tf.cast(tf.reshape(features["is_real_example"], []), tf.float32)
        return inputs, label, weight

    dataset = dataset.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if not keep_padding_examples:
        dataset = dataset.filter(lambda inputs, label, weight: weight > 0)
        dataset = dataset.map(lambda inputs, label, weight: (inputs, label))
    if batch_size is not None:
        dataset = dataset.batch(int(batch_size), drop_remainder=drop_remainder)
    return dataset.prefetch(tf.data.AUTOTUNE)
