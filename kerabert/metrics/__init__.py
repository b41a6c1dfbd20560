"""Scoring rules: GLUE's (`glue_metrics`, what `kerabert.glue.evaluate`
reports) and SQuAD's (`squad_metrics`, what `kerabert.squad.evaluate` reports)."""

from kerabert.metrics.glue_metrics import accuracy
from kerabert.metrics.glue_metrics import average_ranks
from kerabert.metrics.glue_metrics import f1
from kerabert.metrics.glue_metrics import matthews_corr
from kerabert.metrics.glue_metrics import pearson
from kerabert.metrics.glue_metrics import spearman

__all__ = ["accuracy", "average_ranks", "f1", "matthews_corr", "pearson", "spearman"]
