"""Shared preset and compile plumbing of the sequence classification tasks."""

import keras

from kerabert.tasks.task import Task


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
    def from_preset(cls, preset, *, num_classes=None, load_weights=True, **kwargs):
        """Loads a classifier; `num_classes` is needed unless the preset has a head.

        A Hugging Face `*ForSequenceClassification` folder or a saved classifier
        preset of this class keeps its head (when `num_classes` is None or
        equal). A backbone-only preset gets a new head with `num_classes`
        outputs. A preset whose head has another size also gets a new head, with
        a warning that names both sizes (transformers raises there unless
        `ignore_mismatched_sizes=True`; fine-tuning a checkpoint on a task with
        other labels is common enough that kerabert warns instead).
        """
        if num_classes is not None:
            kwargs["num_classes"] = num_classes
        return super().from_preset(preset, load_weights=load_weights, **kwargs)

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
                **{k: task_config.get(k, v) for k, v in cls.head_options.items()}}

    @classmethod
    def require_head_config(cls, kwargs, saved_head, folder):
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
