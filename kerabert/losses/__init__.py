"""Losses of the reference training recipes."""

from kerabert.losses.weighted_sparse_categorical_crossentropy import per_example_loss
from kerabert.losses.weighted_sparse_categorical_crossentropy import (
    weighted_sparse_categorical_crossentropy,
)

__all__ = ["per_example_loss", "weighted_sparse_categorical_crossentropy"]
