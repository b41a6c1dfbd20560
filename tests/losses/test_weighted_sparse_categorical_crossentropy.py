"""The reference's weighted sparse categorical cross-entropy, against its golden
values (Model Garden's `weighted_sparse_categorical_crossentropy_test.py`)."""

import numpy as np
import pytest

import kerabert.losses
from kerabert.losses import per_example_loss
from kerabert.losses import weighted_sparse_categorical_crossentropy

# "The empirical output of a masked LM": batch 3, vocabulary 5, 2 predictions.
LM_LOG_PROBS = np.array(
    [[[-2.5286622, -1.0963473, -1.4925185, -2.4451098, -1.2923571],
      [-2.7117882, -1.1205841, -4.02187, -0.9966936, -1.5119683]],
     [[-2.5379114, -0.82479054, -2.287932, -1.3747153, -2.053741],
      [-2.5379114, -0.82479054, -2.287932, -1.3747153, -2.053741]],
     [[-2.7760355, -1.8219438, -3.0924666, -1.0779881, -0.9407509],
      [-2.7760355, -1.8219438, -3.0924666, -1.0779881, -0.9407509]]])
LM_LABELS = np.array([[4, 0], [2, 2], [2, 1]])

# "The empirical output of a classifier": batch 2, 3 classes.
CLS_LOG_PROBS = np.array([[-1.6094601e-03, -1.0966038e+01, -6.4434357e+00],
                          [-1.6975292e-03, -6.4009643e+00, -1.0226612e+01]])
CLS_LABELS = np.array([2, 1])


def test_legacy_lm_loss_golden_values():
    np.testing.assert_allclose(per_example_loss(LM_LABELS, LM_LOG_PROBS),
                               [[1.2923571, 2.7117882], [2.287932, 2.287932],
                                [3.0924666, 1.8219438]], rtol=1e-6)
    weights = np.array([[1, 0], [0, 0], [0, 0]])
    loss = weighted_sparse_categorical_crossentropy(LM_LABELS, LM_LOG_PROBS, weights)
    np.testing.assert_allclose(loss, 1.2923441, rtol=1e-6)
    assert kerabert.losses.weighted_sparse_categorical_crossentropy is (
        weighted_sparse_categorical_crossentropy)


def test_legacy_classification_loss_golden_values():
    np.testing.assert_allclose(per_example_loss(CLS_LABELS, CLS_LOG_PROBS),
                               [6.4434357, 6.4009643], rtol=1e-6)
    np.testing.assert_allclose(
        weighted_sparse_categorical_crossentropy(CLS_LABELS, CLS_LOG_PROBS), 6.4222, rtol=1e-4)


def test_weights_scale_per_example_loss_and_all_zero_weights_give_zero():
    weights = np.array([[1, 0], [1, 1], [0, 1]], "float32")
    np.testing.assert_allclose(per_example_loss(LM_LABELS, LM_LOG_PROBS, weights),
                               per_example_loss(LM_LABELS, LM_LOG_PROBS) * weights)
    assert float(weighted_sparse_categorical_crossentropy(
        LM_LABELS, LM_LOG_PROBS, np.zeros((3, 2)))) == 0.0


def test_trailing_label_axis_is_squeezed_and_ranks_are_checked():
    np.testing.assert_allclose(per_example_loss(CLS_LABELS[:, None], CLS_LOG_PROBS),
                               per_example_loss(CLS_LABELS, CLS_LOG_PROBS))
    with pytest.raises(ValueError, match="same rank"):
        weighted_sparse_categorical_crossentropy(LM_LABELS, LM_LOG_PROBS, np.ones(3))
    with pytest.raises(ValueError, match="rank"):
        per_example_loss(np.zeros((3,), "int32"), LM_LOG_PROBS)


def test_minus_infinity_elsewhere_is_not_nan():
    log_probs = np.array([[0.0, -np.inf]], "float32")
    assert float(weighted_sparse_categorical_crossentropy([0], log_probs)) == 0.0
