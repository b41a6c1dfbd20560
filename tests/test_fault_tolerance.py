"""SIGKILL mid-training, restart, and get exactly the uninterrupted result."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.fault_tolerant_fit import BATCHES, EPOCHS

pytestmark = pytest.mark.slow  # minutes: several processes train in turn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _start(kind, backup_dir, seconds=0.0, save_freq="epoch"):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3", USE_TF="0")
    return subprocess.Popen(
        [sys.executable, "-m", "tests.fault_tolerant_fit", kind, str(backup_dir), str(seconds),
         str(save_freq)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _result(process):
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """`uninterrupted(kind)`: the result of a run without a crash, computed once."""
    results = {}

    def run(kind):
        if kind not in results:
            results[kind] = _result(_start(kind, tmp_path_factory.mktemp("uninterrupted")))
            assert results[kind]["iterations"] == EPOCHS * BATCHES
        return results[kind]

    return run


def _kill_when(victim, metadata, ready):
    """SIGKILLs `victim` a little after its backup metadata satisfies `ready`,
    so mid-way between two backups; returns the metadata it left."""
    deadline = time.time() + 300
    while time.time() < deadline and victim.poll() is None:
        try:
            committed = json.loads(metadata.read_text()) if metadata.is_file() else None
        except FileNotFoundError:  # replaced between the two calls
            committed = None
        if committed is not None and ready(committed):
            time.sleep(0.3)  # about one batch: the next backup is further away
            break
        time.sleep(0.05)
    assert victim.poll() is None, "training finished before it could be killed"
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=60)
    assert victim.returncode == -signal.SIGKILL
    return json.loads(metadata.read_text())


# Per-epoch backups of the classifier; the mid-epoch test below covers both
# kinds (a minute each).
@pytest.mark.parametrize("kind", ["classifier"])
def test_sigkill_then_resume_equals_an_uninterrupted_run(kind, tmp_path, uninterrupted):
    reference = uninterrupted(kind)
    backup = tmp_path / "backup"
    metadata = backup / "training_metadata.json"
    victim = _start(kind, backup, seconds=0.3)
    # Kill once at least two epochs are backed up, in the middle of the next.
    backed_up = _kill_when(victim, metadata, lambda m: m["epoch"] >= 2)["epoch"]
    assert 2 <= backed_up < EPOCHS
    assert not list(backup.glob("*.tmp"))  # nothing half-written is left to read

    resumed = _result(_start(kind, backup))
    # The restart runs exactly the epochs that were not backed up ...
    assert resumed["epochs_run"] == list(range(backed_up, EPOCHS))
    # ... so every optimizer step happened once: same step count and weights.
    assert resumed["iterations"] == EPOCHS * BATCHES
    np.testing.assert_allclose(resumed["weights"], reference["weights"], rtol=1e-6, atol=1e-6)
    assert not backup.exists()  # the backup is removed once training completes


@pytest.mark.parametrize("kind", ["classifier-dropout", "pretrainer"])
def test_sigkill_mid_epoch_then_resume_with_step_backups(kind, tmp_path, uninterrupted):
    """Backups every 3 optimizer steps (4 batches an epoch), killed after a
    mid-epoch backup: the restart resumes at that batch, skipping those its
    epoch had trained on, and ends as the uninterrupted run, with dropout
    (and the pretrainer's dynamic masking) on: the restart draws the
    uninterrupted run's random masks."""
    reference = uninterrupted(kind)
    backup = tmp_path / "backup"
    metadata = backup / "training_metadata.json"
    victim = _start(kind, backup, seconds=0.3, save_freq=3)
    committed = _kill_when(victim, metadata,
                           lambda m: m["iterations"] >= 9 and 0 < m["batch"] < BATCHES)
    epoch, batch = committed["epoch"], committed["batch"]
    assert 0 < batch < BATCHES and committed["iterations"] == epoch * BATCHES + batch
    assert committed["iterations"] % 3 == 0
    assert not list(backup.glob("*.tmp"))

    resumed = _result(_start(kind, backup, save_freq=3))
    assert resumed["epochs_run"] == list(range(epoch, EPOCHS))
    everything = [[e, b] for e in range(EPOCHS) for b in range(BATCHES)]
    assert resumed["trained"] == everything[epoch * BATCHES + batch:]
    assert resumed["iterations"] == EPOCHS * BATCHES
    np.testing.assert_allclose(resumed["weights"], reference["weights"], rtol=1e-6, atol=1e-6)
    assert not backup.exists()
