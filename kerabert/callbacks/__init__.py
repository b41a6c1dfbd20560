"""Training callbacks."""

from kerabert.callbacks.backup_and_restore import BackupAndRestore
from kerabert.callbacks.rich_progress import RichProgress
from kerabert.callbacks.squad_evaluator import SquadEvaluator
from kerabert.callbacks.tensorboard_scalars import TensorBoardScalars
from kerabert.callbacks.training_logs import LearningRateLogger
from kerabert.callbacks.training_logs import ThroughputLogger

__all__ = ["BackupAndRestore", "LearningRateLogger", "RichProgress", "SquadEvaluator",
           "TensorBoardScalars", "ThroughputLogger"]
