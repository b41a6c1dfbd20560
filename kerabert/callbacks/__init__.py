"""Training callbacks."""

from kerabert.callbacks.backup_and_restore import BackupAndRestore
from kerabert.callbacks.rich_progress import RichProgress

__all__ = ["BackupAndRestore", "RichProgress"]
