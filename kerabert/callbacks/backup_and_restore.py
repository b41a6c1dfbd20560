"""`keras.callbacks.BackupAndRestore` with atomic, crash-consistent backups."""

import glob
import json
import os
import tempfile

import keras

METADATA_FILE = "training_metadata.json"


class BackupAndRestore(keras.callbacks.BackupAndRestore):
    """Backs up weights, optimizer state and the epoch counter; resumes after a crash.

    Used like Keras' callback (restore at `fit` start, backup deleted when
    training ends), but every backup is crash-consistent. The weights go to a
    new file `backup-<n>.weights.h5`; then `training_metadata.json`, naming
    that file and the epoch, is written to a temporary file and renamed into
    place. That rename is the commit: a process killed at any instant
    (SIGKILL, preemption) leaves the previous backup or the new one, never a
    truncated file or new weights paired with an old epoch counter. (Keras'
    own callback overwrites `latest.weights.h5` and the metadata in place, in
    two steps.)

    Backups are taken at the end of every epoch (`save_freq="epoch"`, the
    only mode: Keras restarts an epoch from its first batch on restore, so a
    mid-epoch backup would replay batches). A resumed run restarts at the
    first epoch not backed up, from exactly the weights and optimizer state it
    began with: no optimizer step is lost or applied twice. Keep epochs short
    with `steps_per_epoch` to lose little work.

    Workers of a multi-worker job on a shared filesystem need their own
    `backup_dir` each.
    """

    def __init__(self, backup_dir, delete_checkpoint=True):
        super().__init__(backup_dir, save_freq="epoch", delete_checkpoint=delete_checkpoint)
        self._metadata_path = os.path.join(backup_dir, METADATA_FILE)

    def _read_metadata(self):
        if not os.path.isfile(self._metadata_path):
            return None
        with open(self._metadata_path, encoding="utf-8") as f:
            return json.load(f)

    def on_train_begin(self, logs=None):
        metadata = self._read_metadata()
        if metadata is None:
            return
        if not self.model.built:
            raise ValueError(
                "BackupAndRestore needs a built model to restore into: call the model on "
                "a batch (or build it) before fit().")
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        self.model.load_weights(os.path.join(self.backup_dir, metadata["weights"]))
        self.model._initial_epoch = metadata["epoch"]

    def _save_model(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        previous = self._read_metadata()
        number = (previous["number"] + 1) if previous else 0
        weights_name = f"backup-{number}.weights.h5"
        weights_path = os.path.join(self.backup_dir, weights_name)
        self.model.save_weights(weights_path, overwrite=True)
        # Durable (contents and directory entry) before the commit below
        # names it, so that a power loss, not only a killed process, cannot
        # leave metadata pointing at a file that never reached the disk.
        with open(weights_path, "rb") as f:
            os.fsync(f.fileno())
        _fsync_directory(self.backup_dir)
        fd, path = tempfile.mkstemp(dir=self.backup_dir, suffix=".json.tmp")
        with os.fdopen(fd, "w") as f:
            json.dump({"epoch": self._current_epoch, "weights": weights_name,
                       "number": number}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(path, self._metadata_path)  # the commit point
        _fsync_directory(self.backup_dir)  # makes the rename itself durable
        for stale in glob.glob(os.path.join(self.backup_dir, "backup-*.weights.h5")):
            if os.path.basename(stale) != weights_name:
                os.remove(stale)
        for stale in glob.glob(os.path.join(self.backup_dir, "*.json.tmp")):
            os.remove(stale)


def _fsync_directory(path):
    """Flushes a directory's entries (new files, renames) to disk (POSIX)."""
    if os.name != "posix":
        return  # Windows cannot open a directory; NTFS journals renames
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
