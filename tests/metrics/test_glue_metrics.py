"""kerabert.metrics.glue_metrics against scikit-learn and SciPy, including
their answers where a metric is degenerate (one class only, constant scores)."""

import warnings

import numpy as np
import pytest
import scipy.stats
import sklearn.metrics

from kerabert.metrics import glue_metrics


@pytest.mark.parametrize("seed", range(5))
def test_binary_metrics_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    n = 200 + seed
    labels = rng.integers(0, 2, n)
    predicted = (rng.normal(size=n) + 0.8 * labels > 0.4).astype(np.int64)
    assert glue_metrics.accuracy(labels, predicted) == pytest.approx(
        sklearn.metrics.accuracy_score(labels, predicted), abs=1e-12)
    assert glue_metrics.f1(labels, predicted) == pytest.approx(
        sklearn.metrics.f1_score(labels, predicted), abs=1e-12)
    assert glue_metrics.f1(labels, predicted, positive=0) == pytest.approx(
        sklearn.metrics.f1_score(labels, predicted, pos_label=0), abs=1e-12)
    assert glue_metrics.matthews_corr(labels, predicted) == pytest.approx(
        sklearn.metrics.matthews_corrcoef(labels, predicted), abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_three_class_metrics_match_sklearn(seed):
    rng = np.random.default_rng(100 + seed)
    labels = rng.integers(0, 3, 150)
    predicted = rng.dirichlet([1, 1, 1], size=150).argmax(1)
    assert glue_metrics.accuracy(labels, predicted) == pytest.approx(
        sklearn.metrics.accuracy_score(labels, predicted), abs=1e-12)
    assert glue_metrics.matthews_corr(labels, predicted) == pytest.approx(
        sklearn.metrics.matthews_corrcoef(labels, predicted), abs=1e-12)


def test_degenerate_predictions_match_sklearn():
    labels = np.array([0, 1, 1, 0, 1])
    all_negative = np.zeros(5, int)
    for y_true, y_pred in ((labels, all_negative), (labels, np.ones(5, int)),
                           (all_negative, all_negative)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn's zero-division warnings
            expected_f1 = sklearn.metrics.f1_score(y_true, y_pred)
            expected_mcc = sklearn.metrics.matthews_corrcoef(y_true, y_pred)
        assert glue_metrics.f1(y_true, y_pred) == pytest.approx(expected_f1)
        assert glue_metrics.matthews_corr(y_true, y_pred) == pytest.approx(expected_mcc)


@pytest.mark.parametrize("seed", range(5))
def test_correlations_match_scipy_with_ties(seed):
    rng = np.random.default_rng(200 + seed)
    n = 120
    # Scores on a 0.5 grid (many ties), as STS-B's gold scores are.
    labels = np.round(rng.uniform(0, 5, n) * 2) / 2
    predictions = np.round((labels + rng.normal(0, 1.2, n)) * 2) / 2
    assert glue_metrics.pearson(labels, predictions.astype(np.float32)) == pytest.approx(
        scipy.stats.pearsonr(labels, predictions.astype(np.float32)).statistic, abs=1e-6)
    assert glue_metrics.spearman(labels, predictions) == pytest.approx(
        scipy.stats.spearmanr(labels, predictions).statistic, abs=1e-12)
    untied = rng.normal(size=n)
    assert glue_metrics.pearson(labels, untied) == pytest.approx(
        scipy.stats.pearsonr(labels, untied).statistic, abs=1e-12)
    np.testing.assert_allclose(glue_metrics.average_ranks(labels),
                               scipy.stats.rankdata(labels))


def test_extreme_scores_do_not_overflow():
    labels = np.array([1e-300, 2e-300, 4e-300])
    predictions = np.array([1e300, 3e300, 2e300])
    assert glue_metrics.pearson(labels, predictions) == pytest.approx(
        scipy.stats.pearsonr(labels / 1e-300, predictions / 1e300).statistic, abs=1e-12)


def test_constant_scores_give_nan_like_scipy():
    with pytest.warns(UserWarning, match="constant"):
        assert np.isnan(glue_metrics.pearson([1.0, 2.0, 3.0], [2.0, 2.0, 2.0]))
    with pytest.warns(UserWarning, match="constant"):
        assert np.isnan(glue_metrics.spearman([1.0, 2.0, 3.0], [2.0, 2.0, 2.0]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isnan(scipy.stats.pearsonr([1.0, 2.0, 3.0], [2.0, 2.0, 2.0]).statistic)


def test_exported_from_the_package():
    import kerabert.metrics
    from kerabert.data import glue

    for name in ("accuracy", "f1", "matthews_corr", "pearson", "spearman", "average_ranks"):
        assert getattr(kerabert.metrics, name) is getattr(glue_metrics, name)
        assert getattr(glue, name) is getattr(glue_metrics, name)
