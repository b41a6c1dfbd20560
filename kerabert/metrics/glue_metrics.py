"""GLUE's metrics (what `kerabert.glue.evaluate` reports), in NumPy.

Each takes two (N,) arrays, labels then predictions, already checked and
converted: class ids for `accuracy`, `f1` and `matthews_corr`, float scores
for `pearson` and `spearman`. They match scikit-learn's `accuracy_score`,
`f1_score`, `matthews_corrcoef` and SciPy's `pearsonr`, `spearmanr`, including
their answers in degenerate cases, without depending on either.
"""

import warnings

import numpy as np


def accuracy(labels, predictions):
    """Fraction of equal entries of two (N,) arrays."""
    return float(np.mean(labels == predictions))


def f1(labels, predictions, positive=1):
    """F1 of the class `positive` (GLUE's MRPC / QQP F1); 0.0 when there are
    neither true nor predicted positives (as sklearn's `f1_score`)."""
    true_positive = np.sum((predictions == positive) & (labels == positive))
    false_positive = np.sum((predictions == positive) & (labels != positive))
    false_negative = np.sum((predictions != positive) & (labels == positive))
    denominator = 2 * true_positive + false_positive + false_negative
    return float(2 * true_positive / denominator) if denominator else 0.0


def matthews_corr(labels, predictions):
    """Matthews correlation coefficient, multi-class (Gorodkin's R_K, what
    sklearn's `matthews_corrcoef` computes); 0.0 when undefined (one class
    only in the labels or in the predictions)."""
    classes, inverse = np.unique(np.concatenate([labels, predictions]), return_inverse=True)
    n = len(labels)
    confusion = np.zeros((len(classes), len(classes)), dtype=np.float64)
    np.add.at(confusion, (inverse[:n], inverse[n:]), 1.0)
    true_counts = confusion.sum(axis=1)
    predicted_counts = confusion.sum(axis=0)
    correct = np.trace(confusion)
    numerator = correct * n - true_counts @ predicted_counts
    denominator = np.sqrt((n * n - predicted_counts @ predicted_counts)
                          * (n * n - true_counts @ true_counts))
    return float(numerator / denominator) if denominator else 0.0


def pearson(labels, predictions):
    """Pearson correlation of two (N,) float arrays; NaN (with a warning) when
    either is constant, as `scipy.stats.pearsonr`."""
    x = np.asarray(labels, np.float64) - np.mean(labels, dtype=np.float64)
    y = np.asarray(predictions, np.float64) - np.mean(predictions, dtype=np.float64)
    # Scaling by the largest deviation first keeps the sums of squares from
    # overflowing or underflowing for extreme inputs.
    x_scale, y_scale = np.max(np.abs(x)), np.max(np.abs(y))
    if x_scale == 0 or y_scale == 0:
        warnings.warn("pearson / spearman: one input is constant, the correlation is "
                      "undefined (NaN).", stacklevel=3)
        return float("nan")
    x, y = x / x_scale, y / y_scale
    r = np.sum(x * y) / np.sqrt(np.sum(x * x) * np.sum(y * y))
    return float(np.clip(r, -1.0, 1.0))


def average_ranks(values):
    """1-based ranks of an (N,) array, ties sharing the mean of their ranks
    (`scipy.stats.rankdata(method="average")`)."""
    values = np.asarray(values)
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts_run = np.concatenate([[True], ordered[1:] != ordered[:-1]])
    run = np.cumsum(starts_run) - 1
    starts = np.flatnonzero(starts_run)
    ends = np.concatenate([starts[1:], [len(values)]])
    mean_rank = (starts + ends + 1) / 2.0  # mean of the 1-based ranks start+1..end
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = mean_rank[run]
    return ranks


def spearman(labels, predictions):
    """Spearman rank correlation: Pearson of the average ranks (ties handled as
    `scipy.stats.spearmanr` does)."""
    return pearson(average_ranks(labels), average_ranks(predictions))
