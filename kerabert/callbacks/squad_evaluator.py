"""Official SQuAD EM / F1 on a dev set during `fit`."""

import inspect

import keras

from kerabert.callbacks.training_logs import _EveryNSteps
from kerabert.callbacks.training_logs import optimizer_step

# The scores `kerabert.squad.evaluate` returns that are logged (percentages,
# and for the best-threshold search the null-odds threshold). `total` and
# `missing` are bookkeeping, not scores.
_SCORES = ("exact_match", "f1", "HasAns_exact", "HasAns_f1", "NoAns_exact", "NoAns_f1",
           "best_exact", "best_exact_thresh", "best_f1", "best_f1_thresh")


class SquadEvaluator(keras.callbacks.Callback):
    """Scores a question answerer on SQuAD dev data while it trains.

    At each epoch end (and, with `every_n_steps=N`, every N optimizer steps)
    runs the task's `predict_squad` on `data` and the official scoring
    (`kerabert.squad.evaluate`), and writes the scores into the logs with
    `prefix`: `val_exact_match`, `val_f1` and, for SQuAD 2.0 data,
    `val_HasAns_*`, `val_NoAns_*` and the best-threshold search on the null
    odds (`val_best_exact`, `val_best_f1` and their `_thresh`). All are
    percentages except the thresholds. Epoch scores go to the epoch logs
    (`History`, `TensorBoard`'s `epoch_*` under its validation writer);
    step scores to the batch logs. Put this callback before `TensorBoard` so
    that it sees them. Every evaluation is also kept in `self.evaluations`
    as `(optimizer step, scores dict)`.

    Works with `BertQuestionAnswerer` and `XLNetQuestionAnswerer` (any task
    with `predict_squad` and `last_squad_outputs`).

    Args:
      data: a SQuAD file path, a parsed SQuAD dict or a
        `kerabert.squad.SquadData`; read once.
      every_n_steps: None, or an int N: also evaluate every N optimizer steps.
      null_score_diff_threshold: float, BERT's v2.0 rule (predict "" when the
        null score beats the best span by more than this). XLNet's
        `predict_squad` has no such rule (its null odds are only thresholded
        by the best-threshold search), so it must stay 0.0 there.
      batch_size: int, windows per prediction batch.
      prefix: str, put before every score's name.
      **predict_kwargs: more arguments of the task's `predict_squad`
        (`n_best_size`, `max_answer_length`, ...).
    """

    def __init__(self, data, every_n_steps=None, null_score_diff_threshold=0.0, batch_size=32,
                 prefix="val_", **predict_kwargs):
        super().__init__()
        from kerabert.data import squad

        self.data = data if isinstance(data, squad.SquadData) else squad.load(data)
        self.every_n_steps = every_n_steps
        self._clock = _EveryNSteps(every_n_steps)
        self.null_score_diff_threshold = null_score_diff_threshold
        self.batch_size = batch_size
        self.prefix = prefix
        self.predict_kwargs = predict_kwargs
        self.evaluations = []

    def _predict_arguments(self):
        predict = getattr(self.model, "predict_squad", None)
        if predict is None:
            raise TypeError(f"SquadEvaluator needs a question answerer with predict_squad "
                            f"(BertQuestionAnswerer, XLNetQuestionAnswerer); got a "
                            f"{type(self.model).__name__}.")
        accepted = inspect.signature(predict).parameters
        arguments = {"batch_size": self.batch_size, **self.predict_kwargs}
        if "null_score_diff_threshold" in accepted:
            arguments["null_score_diff_threshold"] = self.null_score_diff_threshold
        elif self.null_score_diff_threshold != 0.0:
            raise ValueError(
                f"{type(self.model).__name__}.predict_squad has no null_score_diff_threshold "
                "(its null odds only feed the best-threshold search); leave it at 0.0.")
        unknown = sorted(set(arguments) - set(accepted))
        if unknown:
            raise TypeError(f"{type(self.model).__name__}.predict_squad takes no {unknown}; "
                            f"it takes {sorted(accepted)}.")
        return arguments

    def on_train_begin(self, logs=None):
        self._arguments = self._predict_arguments()  # fails before any training
        self._clock.reset(optimizer_step(self.model))

    def evaluate(self):
        """Predicts `data` and scores it now; returns the scores dict (the
        keys of `kerabert.squad.evaluate`, without `total` and `missing`)."""
        from kerabert.data import squad

        arguments = getattr(self, "_arguments", None) or self._predict_arguments()
        predictions = self.model.predict_squad(self.data, **arguments)
        null_odds = None
        if self.data.version.startswith("2"):
            null_odds = (getattr(self.model, "last_squad_outputs", None) or {}).get("null_odds")
        result = squad.evaluate(self.data, predictions, null_odds)
        scores = {k: float(result[k]) for k in _SCORES if k in result}
        self.evaluations.append((optimizer_step(self.model), scores))
        return scores

    def _log(self, logs, scores):
        if logs is not None:
            logs.update({self.prefix + k: v for k, v in scores.items()})

    def on_train_batch_end(self, batch, logs=None):
        if self.every_n_steps is not None and self._clock.due(optimizer_step(self.model)):
            self._log(logs, self.evaluate())

    def on_epoch_end(self, epoch, logs=None):
        step = optimizer_step(self.model)
        if self.evaluations and self.evaluations[-1][0] == step:
            scores = self.evaluations[-1][1]  # evaluated at this very step already
        else:
            scores = self.evaluate()
        self._log(logs, scores)
