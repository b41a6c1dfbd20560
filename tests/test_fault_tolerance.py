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


def _start(kind, backup_dir, seconds=0.0):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3", USE_TF="0")
    return subprocess.Popen(
        [sys.executable, "-m", "tests.fault_tolerant_fit", kind, str(backup_dir), str(seconds)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _result(process):
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize("kind", ["classifier", "pretrainer"])
def test_sigkill_then_resume_equals_an_uninterrupted_run(kind, tmp_path):
    reference = _result(_start(kind, tmp_path / "uninterrupted"))
    assert reference["iterations"] == EPOCHS * BATCHES

    backup = tmp_path / "backup"
    metadata = backup / "training_metadata.json"
    victim = _start(kind, backup, seconds=0.3)
    deadline = time.time() + 300
    # Kill once at least two epochs are backed up, in the middle of the next.
    while time.time() < deadline and victim.poll() is None:
        if metadata.is_file() and json.loads(metadata.read_text())["epoch"] >= 2:
            time.sleep(0.5)
            break
        time.sleep(0.05)
    assert victim.poll() is None, "training finished before it could be killed"
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=60)
    assert victim.returncode == -signal.SIGKILL
    backed_up = json.loads(metadata.read_text())["epoch"]
    assert 2 <= backed_up < EPOCHS
    assert not list(backup.glob("*.tmp"))  # nothing half-written is left to read

    resumed = _result(_start(kind, backup))
    # The restart runs exactly the epochs that were not backed up ...
    assert resumed["epochs_run"] == list(range(backed_up, EPOCHS))
    # ... so every optimizer step happened once: same step count and weights.
    assert resumed["iterations"] == EPOCHS * BATCHES
    np.testing.assert_allclose(resumed["weights"], reference["weights"], rtol=1e-6, atol=1e-6)
    assert not backup.exists()  # the backup is removed once training completes
