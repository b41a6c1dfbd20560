"""Training callbacks."""

from kerabert.callbacks.backup_and_restore import BackupAndRestore  # noqa: F401
