import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(mode):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
    # `-m` from the repo root: running the file directly would put tests/ first on
    # sys.path, where tests/tokenizers shadows the `tokenizers` package.
    result = subprocess.run([sys.executable, "-m", "tests.distributed_fit", mode], cwd=ROOT,
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_mirrored_strategy_fit_equals_single_device():
    single = _run("single")
    mirrored = _run("mirrored")
    assert single["replicas"] == 1 and mirrored["replicas"] == 2
    # Same global batch, same data order: the replicas' averaged gradients equal
    # the single-device gradient, so training follows the same path.
    np.testing.assert_allclose(mirrored["loss"], single["loss"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(mirrored["weights"], single["weights"], rtol=1e-4, atol=1e-4)
    # ... and that path really moved the weights.
    assert np.abs(np.subtract(single["weights"], single["initial_weights"])).max() > 1e-3
