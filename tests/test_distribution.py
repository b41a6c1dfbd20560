import json

import numpy as np
import pytest

from tests.conftest import ROOT
from tests.conftest import run_python

pytestmark = pytest.mark.slow


def _run(mode, script="tests.distributed_fit"):
    result = run_python("-m", script, mode, env={"PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "3"})
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


def test_pretrainers_under_mirrored_strategy_equal_single_device():
    single = _run("single", "tests.distributed_pretraining")
    mirrored = _run("mirrored", "tests.distributed_pretraining")
    # BertPretrainer and XLNetPretrainer have their own train steps: each
    # replica's loss is divided by the replica count before the gradients are
    # summed, and XLNet's memory is kept per replica (each holds its half of
    # the batch rows). Both must follow the single-device path.
    for name in ("bert", "xlnet"):
        assert single[name]["replicas"] == 1 and mirrored[name]["replicas"] == 2
        np.testing.assert_allclose(mirrored[name]["loss"], single[name]["loss"], rtol=1e-4,
                                   atol=1e-5)
        np.testing.assert_allclose(mirrored[name]["weights"], single[name]["weights"],
                                   rtol=1e-4, atol=1e-4)
        moved = np.abs(np.subtract(single[name]["weights"], single[name]["initial"])).max()
        assert moved > 1e-3, name
