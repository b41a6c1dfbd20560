"""`keras.callbacks.BackupAndRestore` with atomic, crash-consistent backups,
per epoch or every N optimizer steps, resumed at the exact step and data
position."""

import io
import json
import os
import shutil
import tempfile
import uuid
import warnings

import keras
import numpy as np
import tensorflow as tf

from kerabert.callbacks.resumable_callback import ResumableCallback
from kerabert.callbacks.training_logs import optimizer_step
from kerabert.presets import files

METADATA_FILE = "training_metadata.json"
WEIGHTS_PATTERN = "backup-*.weights.h5"
STATE_PATTERN = "backup-*.state.npz"


class BackupAndRestore(ResumableCallback, keras.callbacks.BackupAndRestore):
    """Backs up weights, optimizer state and the training position; resumes
    after a crash exactly where the last backup was taken.

    Used like Keras' callback: pass the same callback (or one with the same
    `backup_dir`) to the `fit` that restarts the run; it restores at `fit`
    start and deletes the backup once training ends.

    Crash consistency: every backup goes to a new file
    `backup-<n>.weights.h5`, which is fsynced; then `training_metadata.json`,
    naming that file and the position, is written to a temporary file, fsynced
    and renamed into place, and the directory is fsynced. That rename is the
    commit: a process killed at any instant (SIGKILL, preemption, power loss)
    leaves the previous backup or the new one, never a truncated file or new
    weights paired with an old position. (Keras' own callback overwrites
    `latest.weights.h5` and the metadata in place, in two steps.)

    When: `save_freq="epoch"` backs up at the end of every epoch. An integer N
    backs up after every N optimizer steps, counted on
    `optimizer.iterations` (so at the same global steps in a resumed run and
    with any `steps_per_execution`).

    Resuming mid-epoch: `fit` restarts at the backed-up epoch, and the
    batches that epoch had already trained on are drawn from the data and
    discarded, not trained on again (Keras' own callback replays them). The
    metric accumulators of the epoch are restored too, so its logged loss and
    metrics are those of the uninterrupted run. With a deterministic data
    order the resumed run therefore ends with the uninterrupted run's weights
    and `optimizer.iterations`. The position restored is the batch index in
    the epoch: exact when each epoch reads the data from its start (arrays,
    or a finite dataset without `steps_per_epoch`, Keras' default). When
    `steps_per_epoch` makes Keras read one stream across epochs (an infinite
    pretraining dataset), the restarted `fit` reads the stream from its
    beginning, as any new `fit` does. Resume with the `steps_per_execution`
    of the interrupted run, or one that divides the batch index backed up.

    Randomness: a training step draws from the state of every Keras
    `SeedGenerator` of the model (dropout: the TF backend runs stateless
    dropout seeded from the generator's `state` variable, which each call
    advances). Those states are not weights (not in the weights file), so the
    metadata holds them and the restore puts them back: the resumed steps use
    the dropout masks of the uninterrupted run. Skipped batches do not train,
    so they do not advance the states, as the uninterrupted run had not after
    the backed-up step. The random choices of the preprocessing in `fit`
    (`BertPretrainerPreprocessor`'s dynamic masking) are stateless functions
    of the task's preprocessing seed, the epoch and the batch index (see
    `kerabert.tasks.preprocessing_seed.PreprocessingSeed`); the metadata holds that seed,
    so the batches skipped and those trained on are masked as in the
    uninterrupted run. XLNet pretraining data (`kerabert.data.
    xlnet_pretraining`) draws its factorisation orders the same way, from
    the dataset's `permutation_seed`, which `XLNetPretrainer.fit` makes the
    task's preprocessing seed. A backup without this state (an earlier
    kerabert's) still resumes, with a warning that randomness restarts.

    Other state: variables a model names in `backup_state_variables`
    (`XLNetPretrainer`'s Transformer-XL memory), which are not weights, go to
    `backup-<n>.state.npz` (each replica's value), written and fsynced with
    the weights before the commit and restored with them; so XLNet
    pretraining on a finite dataset (`xlnet_pretraining_dataset(...,
    repeat=False)`, or `read_xlnet_tfrecords(..., repeat=False)` with a
    `seed` or `shuffle_files=False`) resumes mid-epoch to the uninterrupted
    run's weights and memory. Not exact with `steps_per_epoch` over an
    infinite stream (`repeat=True`): the restarted `fit` reads the stream,
    and numbers its examples, from the beginning, so it trains on other
    examples with other orders than the uninterrupted run did (which a
    resume from an epoch-end backup shares).

    Args:
      backup_dir: str, a directory used by this run only (workers of a
        multi-worker job need one each); local or on a `tf.io.gfile`
        filesystem (`gs://bucket/run`), where each file is written whole and
        the metadata's rename (a copy then a delete there) is the commit.
      save_freq: "epoch", or an int N > 0: back up every N optimizer steps.
      delete_checkpoint: bool, delete `backup_dir` once training ends
        (default). With False the last backup stays, and a later `fit` with
        this directory resumes from it (a finished run then trains 0 epochs).
      keep: int >= 1, how many backups to keep on disk. The older weight files
        are deleted only after a newer backup is committed; the metadata's
        `backups` list describes the kept ones, oldest first, and the newest is
        the one restored.

    The metadata records `epoch` (the epoch to resume), `batch` (its batches
    already trained), `iterations` (the optimizer step), `weights` (the
    newest file), `backups`, `steps_per_execution`, and when they apply
    `metrics` (the epoch's metric accumulators, mid-epoch), `state` (the
    state file, for a model with `backup_state_variables`), `random` (the
    `SeedGenerator` states, in layer order, and the preprocessing seed) and
    `schedule`
    (the plan of kerabert's default learning-rate schedule, which is not in
    the weights: a `fit` retried in the same process after a crash gets it
    back, as `Task.fit` re-plans from the optimizer step the crash left).
    """

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True, keep=1):
        if isinstance(save_freq, bool) or not (
                save_freq == "epoch" or (isinstance(save_freq, int) and save_freq > 0)):
            raise ValueError(f"save_freq must be 'epoch' or a positive number of optimizer "
                             f"steps, got {save_freq!r}.")
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
            raise ValueError(f"keep must be an int >= 1 (how many backups to keep), "
                             f"got {keep!r}.")
        super().__init__(backup_dir, save_freq=save_freq, delete_checkpoint=delete_checkpoint)
        self.keep = keep
        self._metadata_path = os.path.join(backup_dir, METADATA_FILE)
        self._epoch = 0            # the epoch being trained
        self._batches_done = 0     # batches of that epoch trained (or skipped on resume)
        self._last_saved_step = 0  # optimizer step of the newest backup
        self._resume = None        # (epoch, batches to skip, metric values) after a restore
        self._skipping = None      # the wrapper installed while skipping

    # --- metadata ---------------------------------------------------------------

    def has_backup(self):
        """Whether `fit` will restore from a backup in `backup_dir` (the
        `ResumableCallback` interface: a task then keeps the saved plan of its
        learning-rate schedule instead of planning one from the data)."""
        return files.exists(self._metadata_path)

    def _read_metadata(self):
        if not files.exists(self._metadata_path):
            return None
        with files.open_file(self._metadata_path) as f:
            return json.load(f)

    # --- restore ----------------------------------------------------------------

    def on_train_begin(self, logs=None):
        self._unwrap_train_function()  # left behind by a fit that failed while skipping
        self._epoch, self._batches_done, self._resume = 0, 0, None
        metadata = self._read_metadata()
        optimizer = self.model.optimizer
        if metadata is None:
            self._last_saved_step = optimizer_step(self.model)
            return
        if not self.model.built:
            raise ValueError(
                "BackupAndRestore needs a built model to restore into: call the model on "
                "a batch (or build it) before fit().")
        epoch, batch = metadata["epoch"], metadata.get("batch", 0)
        per_call = int(getattr(self.model, "steps_per_execution", 1) or 1)
        if batch % per_call:
            raise ValueError(
                f"The backup in {self.backup_dir} was taken after batch {batch} of epoch "
                f"{epoch + 1}, which steps_per_execution={per_call} cannot reach: compile "
                f"with the steps_per_execution of the interrupted run "
                f"({metadata.get('steps_per_execution', 1)}) or one that divides {batch}.")
        stale_step = optimizer_step(self.model)
        if optimizer is not None and not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        self._load_weights(os.path.join(self.backup_dir, metadata["weights"]))
        self._restore_state_variables(metadata.get("state"))
        self._restore_random_state(metadata.get("random"))
        self.model._initial_epoch = epoch
        self._epoch = epoch
        self._last_saved_step = metadata.get("iterations", optimizer_step(self.model))
        self._restore_schedule_plan(metadata.get("schedule"), stale_step)
        if batch:
            self._resume = (epoch, batch, metadata.get("metrics"))

    def _restore_random_state(self, state):
        generators = _seed_generators(self.model)
        seed = getattr(self.model, "_preprocessing_seed", None)
        if state is None:
            if generators or seed is not None:
                warnings.warn(
                    f"The backup in {self.backup_dir} holds no random state (it was written "
                    "by an earlier kerabert): dropout and masking randomness restart from "
                    "this model's current seeds, so the resumed run will not equal an "
                    "uninterrupted one.", stacklevel=2)
            return
        saved = state.get("seed_generators", [])
        if len(saved) != len(generators):
            raise ValueError(
                f"The backup holds the states of {len(saved)} random seed generators but "
                f"the model has {len(generators)} (dropout layers and other random layers): "
                "build the model of the interrupted run (with its dropout rates), or delete "
                "the backup directory to start over.")
        for generator, value in zip(generators, saved):
            generator.state.assign(np.asarray(value, dtype=generator.state.dtype))
        if state.get("preprocessing_seed") is not None:
            if seed is None:  # fit with packed data: no seeded pipeline to feed
                return
            seed.base.assign(state["preprocessing_seed"])

    def _random_state(self):
        seed = getattr(self.model, "_preprocessing_seed", None)
        return {"seed_generators": [np.asarray(g.state).tolist()
                                    for g in _seed_generators(self.model)],
                "preprocessing_seed": None if seed is None else int(seed.base.numpy())}

    def _restore_state_variables(self, name):
        """Puts back the model's `backup_state_variables` (XLNet's memory)
        from the backup's state file, each replica's own value."""
        variables = _state_variables(self.model)
        if not variables:
            return
        if name is None:
            warnings.warn(
                f"The backup in {self.backup_dir} holds no state variables (it was written "
                "by an earlier kerabert): the model's memory restarts empty, so the resumed "
                "run will not equal an uninterrupted one.", stacklevel=2)
            return
        with files.open_file(os.path.join(self.backup_dir, name), "rb") as f:
            saved = np.load(io.BytesIO(f.read()))
            saved = [saved[f"arr_{i}"] for i in range(len(saved.files))]
        components = [c for v in variables for c in _replica_components(v)]
        if len(saved) != len(components) or any(
                tuple(a.shape) != tuple(c.shape) for a, c in zip(saved, components)):
            raise ValueError(
                f"The backup's state variables ({len(saved)} arrays) do not fit this model's "
                f"({len(components)}, one per variable and replica: the memory of each "
                "layer): build the model of the interrupted run (layers, mem_len, "
                "batch_size) under the same number of replicas, or delete the backup "
                "directory to start over.")
        for component, value in zip(components, saved):
            component.assign(value.astype(component.dtype.as_numpy_dtype), read_value=False)

    def _save_state_variables(self, path):
        """Writes the `backup_state_variables` (each replica's value) to
        `path` as one .npz, durably, before the metadata commit names it."""
        arrays = [np.asarray(c.numpy()) for v in _state_variables(self.model)
                  for c in _replica_components(v)]
        buffer = io.BytesIO()
        np.savez(buffer, *arrays)
        if files.is_remote(path):
            with files.open_file(path, "wb") as f:  # one object, whole or absent
                f.write(buffer.getvalue())
            return
        with open(path, "wb") as f:
            f.write(buffer.getvalue())
            f.flush()
            os.fsync(f.fileno())
        _fsync_directory(self.backup_dir)

    def _restore_schedule_plan(self, plan, stale_step):
        """Puts back the plan of kerabert's default schedule if `Task.fit`
        re-planned it from the optimizer step the model had before the
        restore (a `fit` retried in the same process after a crash: the
        optimizer had run past the backup, so `Task.fit` saw a finished plan).
        A fresh process plans from step 0 exactly as the interrupted run did
        (or as the user changed it), and keeps its plan."""
        planner = _schedule_planner(self.model)
        if not plan or planner is None or stale_step == 0:
            return
        if planner.restore(plan):
            # The plan is traced into the train function as constants.
            self.model.make_train_function(force=True)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch, self._batches_done = epoch, 0
        if self._resume is None or self._resume[0] != epoch:
            return
        _, batch, metrics = self._resume
        self._resume = None
        self._batches_done = batch
        self._wrap_train_function(batch, metrics)

    def _wrap_train_function(self, batches, metrics):
        """Makes the next `batches` batches of the epoch be drawn and dropped,
        and puts the epoch's metric accumulators back (`fit` has just reset
        them).

        `fit` calls `model.train_function(iterator)` once per execution
        (`steps_per_execution` batches); while skipping, the wrapper draws
        those batches from the iterator without training and returns the
        restored metric values as the step logs."""
        original = self.model.train_function
        per_call = int(getattr(self.model, "steps_per_execution", 1) or 1)
        remaining = [batches]
        pending = [metrics]
        model = self.model

        def skipping(iterator):
            drawn = 0
            try:
                for _ in range(min(per_call, remaining[0])):
                    data = next(iterator)
                    if pending[0] is not None:
                        _set_metric_values(model, pending[0], data)
                        pending[0] = None
                    drawn += 1
            except StopIteration:
                if not drawn:
                    raise
            remaining[0] -= per_call
            if remaining[0] <= 0:
                self._unwrap_train_function()
            return model.get_metrics_result()

        skipping.original = original
        self._skipping = skipping
        model.train_function = skipping

    def _unwrap_train_function(self):
        if self._skipping is not None and self.model is not None:
            if self.model.train_function is self._skipping:
                self.model.train_function = self._skipping.original
        self._skipping = None

    # --- backup -----------------------------------------------------------------

    def on_train_batch_end(self, batch, logs=None):
        if self._skipping is not None:
            return  # a skipped batch, already counted
        steps = self.params.get("steps") if self.params else None
        self._batches_done = batch + 1 if steps is None else min(batch + 1, steps)
        if self.save_freq == "epoch":
            return
        step = optimizer_step(self.model)
        if step // self.save_freq > self._last_saved_step // self.save_freq:
            self._save_model()

    def on_epoch_end(self, epoch, logs=None):
        self._epoch, self._batches_done = epoch + 1, 0
        if self.save_freq == "epoch":
            self._save_model()

    def _load_weights(self, path):
        if not files.is_remote(path):
            return self.model.load_weights(path)
        local = tempfile.mkdtemp(prefix="kerabert-backup-")
        try:  # h5py reads local files only
            copy = os.path.join(local, os.path.basename(path))
            tf.io.gfile.copy(path, copy, overwrite=True)
            return self.model.load_weights(copy)
        finally:
            shutil.rmtree(local, ignore_errors=True)

    def _save_weights(self, path):
        if files.is_remote(path):
            # Written locally, then uploaded as one object: an object store
            # shows a whole object or none, so no fsync is needed there.
            local = tempfile.mkdtemp(prefix="kerabert-backup-")
            try:
                copy = os.path.join(local, os.path.basename(path))
                self.model.save_weights(copy, overwrite=True)
                tf.io.gfile.copy(copy, path, overwrite=True)
            finally:
                shutil.rmtree(local, ignore_errors=True)
            return
        self.model.save_weights(path, overwrite=True)
        # Durable (contents and directory entry) before the commit below
        # names it, so that a power loss, not only a killed process, cannot
        # leave metadata pointing at a file that never reached the disk.
        with open(path, "rb") as f:
            os.fsync(f.fileno())
        _fsync_directory(self.backup_dir)

    def _commit_metadata(self, metadata):
        """Writes the metadata to a temporary file and renames it into place:
        the commit. Locally the file and the rename are fsynced; on an object
        store (gs://) the rename is a copy then a delete, and the copy appears
        whole or not at all, so readers see the old metadata or the new."""
        if files.is_remote(self.backup_dir):
            path = f"{self._metadata_path}.{uuid.uuid4().hex}.json.tmp"
            with files.open_file(path, "w") as f:
                f.write(json.dumps(metadata))
            files.replace(path, self._metadata_path)
            return
        fd, path = tempfile.mkstemp(dir=self.backup_dir, suffix=".json.tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(metadata, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(path, self._metadata_path)  # the commit point
        _fsync_directory(self.backup_dir)  # makes the rename itself durable

    def _save_model(self):
        tf.io.gfile.makedirs(self.backup_dir)
        previous = self._read_metadata()
        number = (previous["number"] + 1) if previous else 0
        weights_name = f"backup-{number}.weights.h5"
        weights_path = os.path.join(self.backup_dir, weights_name)
        self._save_weights(weights_path)
        step = optimizer_step(self.model)
        entry = {"weights": weights_name, "epoch": self._epoch, "batch": self._batches_done,
                 "iterations": step}
        if _state_variables(self.model):
            entry["state"] = f"backup-{number}.state.npz"
            self._save_state_variables(os.path.join(self.backup_dir, entry["state"]))
        kept = [b for b in (previous or {}).get("backups", [])
                if files.exists(os.path.join(self.backup_dir, b["weights"]))]
        kept = (kept + [entry])[-self.keep:]
        metadata = {**entry, "number": number, "backups": kept,
                    "steps_per_execution": int(getattr(self.model, "steps_per_execution", 1)
                                               or 1)}
        if self._batches_done:
            metadata["metrics"] = [np.asarray(v).tolist()
                                   for v in self.model.metrics_variables]
        metadata["random"] = self._random_state()
        planner = _schedule_planner(self.model)
        if planner is not None:
            metadata["schedule"] = planner.state()
        self._commit_metadata(metadata)
        self._last_saved_step = step
        names = {b[key] for b in kept for key in ("weights", "state") if key in b}
        for pattern in (WEIGHTS_PATTERN, STATE_PATTERN):
            for stale in tf.io.gfile.glob(os.path.join(self.backup_dir, pattern)):
                if os.path.basename(stale) not in names:
                    tf.io.gfile.remove(stale)
        for stale in tf.io.gfile.glob(os.path.join(self.backup_dir, "*.json.tmp")):
            tf.io.gfile.remove(stale)

    def on_train_end(self, logs=None):
        self._unwrap_train_function()
        # Keras keeps the restored epoch on the model, where it would make a
        # later, unrelated `fit` start at that epoch.
        self.model._initial_epoch = None
        super().on_train_end(logs)  # deletes backup_dir when delete_checkpoint


def _schedule_planner(model):
    """The `SchedulePlanner` of a kerabert task's default schedule, or None
    (another optimizer, or a model that is not a kerabert task)."""
    return getattr(model, "schedule_planner", None)


def _set_metric_values(model, values, data_batch):
    """Assigns the metric accumulators saved by a mid-epoch backup.

    Without a distribution strategy Keras creates the compiled metrics'
    variables when it first traces the train function, which a resumed epoch
    has not done yet; they are built here from `data_batch` (one batch of the
    epoch, as `fit` builds them under a strategy)."""
    if values is None:
        return
    if len(model.metrics_variables) != len(values) and not any(
            isinstance(v, tf.distribute.DistributedValues) for v in tf.nest.flatten(data_batch)):
        model._symbolic_build(data_batch=data_batch)
    variables = model.metrics_variables
    if len(variables) != len(values):
        raise ValueError(
            f"The backup holds {len(values)} metric variables but the model has "
            f"{len(variables)}: compile the model with the metrics of the interrupted run, "
            "or delete the backup directory to start over.")
    for variable, value in zip(variables, values):
        variable.assign(np.asarray(value, dtype=variable.dtype))


def _seed_generators(model):
    """The model's Keras `SeedGenerator`s, each once, in layer order (the
    order of construction, the same in a restarted process)."""
    seen, generators = set(), []
    for layer in model._flatten_layers(include_self=True, recursive=True):
        for generator in getattr(layer, "_seed_generators", ()):
            if id(generator) not in seen:
                seen.add(id(generator))
                generators.append(generator)
    return generators


def _state_variables(model):
    """The model's variables that are state but not weights, which it names
    in `backup_state_variables` (XLNetPretrainer's memory)."""
    return list(getattr(model, "backup_state_variables", None) or ())


def _replica_components(variable):
    """A per-replica (on-read) variable's value on each replica, in replica
    order; a plain variable itself."""
    if isinstance(variable, tf.distribute.DistributedValues):
        return list(variable.values)
    return [variable]


def _fsync_directory(path):
    """Flushes a directory's entries (new files, renames) to disk (POSIX)."""
    if os.name != "posix":
        return  # Windows cannot open a directory; NTFS journals renames
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
