"""Shared preset, compile and label plumbing of the sequence classification tasks."""

import numbers
import warnings

import keras
import numpy as np
import tensorflow as tf

from kerabert.tasks.task import Task


def check_label_names(label_names, num_classes):
    """`(num_classes, label_names)` of a classifier's constructor, checked:
    `num_classes` defaults to `len(label_names)`; `label_names` is None or a
    list of distinct strings, one per class in class-id order."""
    if label_names is None:
        if num_classes is None:
            raise ValueError("num_classes is missing: pass num_classes= (1 for a regressor), or "
                             "label_names=[...] (one name per class, in class-id order).")
        return num_classes, None
    if isinstance(label_names, (str, bytes)) or not all(
            isinstance(name, str) for name in label_names):
        raise TypeError(f"label_names must be a list of strings, one per class in class-id "
                        f"order, got {label_names!r:.80}.")
    names = list(label_names)
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"label_names repeats {duplicates}: each class needs its own name.")
    if len(names) < 2:
        raise ValueError(f"label_names={names} names one class: a classifier has at least two, "
                         "and a regressor (num_classes=1) has no label names.")
    if num_classes is None:
        return len(names), names
    if num_classes != len(names):
        raise ValueError(f"num_classes={num_classes} but label_names has {len(names)} names "
                         f"{names}: pass one name per class, or leave num_classes out (it is "
                         "then len(label_names)).")
    return num_classes, names


def label_names_from_transformers(config):
    """The class names of a transformers config's `id2label`, or None when it
    holds only transformers' defaults ("LABEL_0", "LABEL_1", ...)."""
    id2label = config.get("id2label")
    if not isinstance(id2label, dict) or len(id2label) < 2:
        return None
    try:
        by_id = {int(key): str(name) for key, name in id2label.items()}
    except (TypeError, ValueError):
        return None
    names = [by_id.get(i) for i in range(len(by_id))]
    if None in names or names == [f"LABEL_{i}" for i in range(len(names))]:
        return None
    if len(set(names)) != len(names):
        warnings.warn(f"The checkpoint's id2label {id2label} repeats names; the classifier is "
                      "loaded without label_names.", stacklevel=3)
        return None
    return names


def transformers_labels(task):
    """The `id2label` / `label2id` entries of a classifier's transformers
    config: its label names, else transformers' defaults."""
    names = task.label_names or [f"LABEL_{i}" for i in range(task.num_classes)]
    return {"id2label": {str(i): name for i, name in enumerate(names)},
            "label2id": {name: i for i, name in enumerate(names)}}


def check_head(num_classes, activation):
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}.")
    if activation not in (None, "softmax"):
        raise ValueError(f"activation must be None (logits) or 'softmax', got {activation!r}.")
    if num_classes == 1 and activation is not None:
        raise ValueError("num_classes=1 is a regressor (one score per example, as STS-B): it "
                         "takes activation=None.")


class Classifier(Task):
    """A task with a `num_classes`-way head over one summary of the sequence;
    `num_classes=1` makes it a regressor (one float score per example, e.g.
    STS-B, as transformers' `num_labels=1`).

    Subclasses set `activation` (None for logits, or "softmax") and
    `num_classes`, and list in `head_options` any other head setting a saved
    head must share to be reused, with the value presets that predate it imply.
    """

    task_kind = "classifier"
    head_options = {}

    @classmethod
    def from_preset(cls, preset, *, num_classes=None, label_names=None, load_weights=True,
                    **kwargs):
        """Loads a classifier; `num_classes` (or `label_names`) is needed unless
        the preset has a head.

        A Hugging Face `*ForSequenceClassification` folder or a saved classifier
        preset of this class keeps its head (when `num_classes` is None or
        equal). A backbone-only preset gets a new head with `num_classes`
        outputs. A preset whose head has another size also gets a new head, with
        a warning that names both sizes (transformers raises there unless
        `ignore_mismatched_sizes=True`; fine-tuning a checkpoint on a task with
        other labels is common enough that kerabert warns instead).

        `label_names` (one name per class) replaces the preset's names (saved
        by kerabert, or a transformers config's `id2label`); without
        `num_classes` it sets the number of classes.
        """
        if label_names is not None:
            kwargs["label_names"] = label_names
            if num_classes is None and isinstance(label_names, (list, tuple)):
                num_classes = len(label_names)
        if num_classes is not None:
            kwargs["num_classes"] = num_classes
        return super().from_preset(preset, load_weights=load_weights, **kwargs)

    # --- labels ----------------------------------------------------------------

    def _label_hint(self, names=None):
        ids = f"class ids 0 to {self.num_classes - 1}"
        return f"{ids} or the names {names or list(self.label_names)}" if self.label_names else ids

    def check_labels(self, y, rows, method):
        """Labels held in Python (a list, a numpy array) -> a numpy array the
        loss takes: names mapped through `label_names` to int32 class ids,
        integral floats to int32; float32 scores for a regressor. Raises on a
        missing label, an unknown name, a non-integral float or an id out of
        range, naming it and its row. Labels of another shape (one-hot or soft
        targets for a loss of your own) are left as they are."""
        if y is None:
            if rows is None:
                return y
            takes = "a float score" if self.is_regressor else self._label_hint()
            raise ValueError(f"{method} got {rows} examples but no labels: pass y=, one label "
                             f"per example ({takes}).")
        if isinstance(y, tf.Tensor):
            y = y.numpy()
        if not isinstance(y, (list, tuple, np.ndarray)):
            return y
        labels = np.asarray(y, dtype=object) if not isinstance(y, np.ndarray) else y
        if labels.ndim == 2 and labels.shape[1] == 1:
            flat = labels[:, 0]
        elif labels.ndim == 1:
            flat = labels
        else:
            return y
        if flat.dtype.kind in "OUS":
            flat = self._labels_from_objects(flat)
        if flat.dtype.kind not in "biuf":
            raise TypeError(f"Labels must be numbers{'' if self.is_regressor else ' or names'}, "
                            f"got an array of dtype {flat.dtype}.")
        if self.is_regressor:
            scores = flat.astype("float32")
            bad = np.flatnonzero(~np.isfinite(scores))
            if bad.size:
                raise ValueError(f"Label {flat[bad[0]].item()!r} at row {bad[0]} is not a finite "
                                 "number: a regressor's labels are float scores.")
            return scores.reshape(labels.shape)
        if flat.dtype.kind == "f":
            bad = np.flatnonzero(~np.isfinite(flat) | (flat != np.round(flat)))
            if bad.size:
                raise ValueError(
                    f"Label {flat[bad[0]].item()!r} at row {bad[0]} is a float, but a classifier "
                    f"with num_classes={self.num_classes} takes {self._label_hint()}. For float "
                    "scores, use a regressor (num_classes=1).")
        ids = flat.astype("int64")
        bad = np.flatnonzero((ids < 0) | (ids >= self.num_classes))
        if bad.size:
            raise ValueError(f"Label {ids[bad[0]]} at row {bad[0]} is out of range: "
                             f"num_classes={self.num_classes} takes {self._label_hint()}.")
        return ids.astype("int32").reshape(labels.shape)

    def _labels_from_objects(self, flat):
        """Python objects (names, numbers, None) -> a numeric array."""
        takes = "float scores" if self.is_regressor else self._label_hint()
        for row, value in enumerate(flat):
            if value is None:
                raise ValueError(f"Label {row} is None: every text needs a label ({takes}).")
        names = [isinstance(v, (str, bytes)) for v in flat]
        if not any(names):
            for row, value in enumerate(flat):
                if not isinstance(value, numbers.Number):
                    raise TypeError(f"Label {row} is a {type(value).__name__} ({value!r:.40}): "
                                    f"labels are {takes}.")
            return np.asarray(flat.tolist())
        if not all(names):
            row = names.index(False)
            raise TypeError(f"Labels mix names and numbers: label {row} is {flat[row]!r} but "
                            f"label {names.index(True)} is {flat[names.index(True)]!r}. Pass "
                            f"{self._label_hint()}, not both.")
        if self.is_regressor:
            raise TypeError(f"Label 0 is the string {flat[0]!r}, but a regressor (num_classes=1) "
                            "takes float scores.")
        if not self.label_names:
            raise ValueError(
                f"The labels are strings ({flat[0]!r}, ...), but this classifier has no "
                "label_names: build it with label_names=[...] (the class names in class-id "
                f"order, e.g. from_preset(..., label_names=['neg', 'pos'])), or pass class ids "
                f"0 to {self.num_classes - 1}.")
        index = {name: i for i, name in enumerate(self.label_names)}
        ids = []
        for row, value in enumerate(flat):
            name = value.decode("utf-8") if isinstance(value, bytes) else str(value)
            if name not in index:
                raise ValueError(f"Label {name!r} at row {row} is not one of the label_names "
                                 f"{self.label_names}.")
            ids.append(index[name])
        return np.asarray(ids, "int64")

    def check_dataset_labels(self, dataset, method):
        """The labels of `(x, y[, sample_weight])` elements checked in the
        graph: names mapped through `label_names` (a string label without them
        is refused here, before tracing), and each batch asserted to hold
        integral class ids in range (the messages of `check_labels`)."""
        spec = dataset.element_spec
        if not isinstance(spec, tuple) or len(spec) < 2 or not isinstance(spec[1], tf.TensorSpec):
            return dataset
        label_spec = spec[1]
        if label_spec.shape.rank is not None and label_spec.shape.rank >= 2 and \
                label_spec.shape[-1] not in (1, None):
            return dataset  # one-hot or soft targets
        if label_spec.dtype == tf.string:
            if self.is_regressor:
                raise TypeError("The dataset's labels are strings, but a regressor "
                                "(num_classes=1) takes float scores.")
            if not self.label_names:
                raise ValueError(
                    "The dataset's labels are strings, but this classifier has no label_names: "
                    "build it with label_names=[...] (the class names in class-id order), or "
                    f"map the labels to class ids 0 to {self.num_classes - 1}.")
        elif not (label_spec.dtype.is_integer or label_spec.dtype.is_floating
                  or label_spec.dtype == tf.bool):
            raise TypeError(f"The dataset's labels have dtype {label_spec.dtype.name}: a "
                            f"classifier takes {self._label_hint()}.")
        if self.is_regressor:
            return dataset
        names, num_classes = list(self.label_names or ()), self.num_classes
        # TensorFlow escapes quotes in assertion messages: names go unquoted.
        shown = "[" + ", ".join(names) + "]"
        hint = self._label_hint(shown)
        table = None
        if label_spec.dtype == tf.string:
            table = tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(
                    tf.constant(names), tf.range(len(names), dtype=tf.int64)), default_value=-1)

        def first(values, bad):
            # Flattened: an unbatched dataset (batched later) has scalar labels.
            return tf.boolean_mask(tf.reshape(values, [-1]), tf.reshape(bad, [-1]))[:1]

        def check(x, y, *rest):
            if table is not None:
                ids = table.lookup(y)
                tf.debugging.Assert(tf.reduce_all(ids >= 0), [
                    f"A label is not one of the label_names {shown}; the first unknown one:",
                    first(y, ids < 0)])
                return (x, tf.cast(ids, tf.int32), *rest)
            if y.dtype.is_floating:
                integral = tf.equal(y, tf.round(y))
                tf.debugging.Assert(tf.reduce_all(integral), [
                    f"A label is a float, but a classifier with num_classes={num_classes} takes "
                    f"{hint}; for float scores, use a regressor (num_classes=1). The first "
                    "float label:", first(y, tf.logical_not(integral))])
            ids = tf.cast(y, tf.int64)
            in_range = tf.logical_and(ids >= 0, ids < num_classes)
            tf.debugging.Assert(tf.reduce_all(in_range), [
                f"A label is out of range: num_classes={num_classes} takes {hint}. The first "
                "bad label:", first(ids, tf.logical_not(in_range))])
            return (x, y, *rest)

        return dataset.map(check, num_parallel_calls=tf.data.AUTOTUNE)

    def get_config(self):
        """The task's config with the head settings every classifier has;
        a subclass adds its own."""
        config = super().get_config()
        config.update({"num_classes": self.num_classes, "dropout": self.dropout,
                       "activation": self.activation,
                       "label_names": None if self.label_names is None else list(self.label_names)})
        return config

    def predict_labels(self, x, batch_size=None, **kwargs):
        """The predicted class of each text: the argmax of `predict`'s output,
        as a list of names from `label_names`, or a (batch,) int64 array of
        class ids without them. Keywords go to `predict`. A regressor has no
        classes to pick: use `predict`."""
        if self.is_regressor:
            raise ValueError("predict_labels() picks a class, but this model is a regressor "
                             "(num_classes=1): its score is predict(x)[:, 0].")
        kwargs.setdefault("verbose", 0)
        ids = np.argmax(np.asarray(self.predict(x, batch_size=batch_size, **kwargs)), axis=-1)
        return [self.label_names[i] for i in ids] if self.label_names else ids

    @property
    def is_regressor(self):
        return self.num_classes == 1

    def _default_loss(self):
        if self.is_regressor:
            # The reference regression loss (XLNet's STS-B): mean squared error
            # of the float score, as transformers' num_labels=1 head.
            return keras.losses.MeanSquaredError()
        return keras.losses.SparseCategoricalCrossentropy(
            from_logits=self.activation != "softmax")

    def _default_metrics(self):
        if self.is_regressor:
            return [keras.metrics.RootMeanSquaredError("rmse")]
        return [keras.metrics.SparseCategoricalAccuracy("accuracy")]

    @classmethod
    def head_config_from(cls, task_config):
        return {"num_classes": task_config["num_classes"],
                "label_names": task_config.get("label_names"),
                **{k: task_config.get(k, v) for k, v in cls.head_options.items()}}

    @classmethod
    def require_head_config(cls, kwargs, saved_head, folder):
        saved_names = (saved_head or {}).get("label_names")
        if saved_names is not None and kwargs.get("label_names") == saved_names and \
                kwargs.get("num_classes") != len(saved_names):
            # A new head of another size: the saved names are not its classes.
            kwargs = {k: v for k, v in kwargs.items() if k != "label_names"}
        if kwargs.get("num_classes") is None:
            raise ValueError(
                f"num_classes is missing: {folder} holds no classification head "
                "(it is a backbone-only checkpoint), so say how many classes the new "
                "head should have, e.g. from_preset(..., num_classes=2).")
        return kwargs

    @classmethod
    def head_mismatch(cls, saved_head, task):
        keys = {"num_classes": None, **cls.head_options}
        return [(k, saved_head.get(k, default), getattr(task, k)) for k, default in keys.items()
                if saved_head.get(k, default) != getattr(task, k)]
