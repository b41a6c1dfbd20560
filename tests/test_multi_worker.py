"""Two MultiWorkerMirroredStrategy workers on 127.0.0.1 train like one process."""

import json
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # minutes: several processes train in turn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _env(tf_config=None):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3", USE_TF="0")
    env.pop("TF_CONFIG", None)
    if tf_config is not None:
        env["TF_CONFIG"] = json.dumps(tf_config)
    return env


def _start(mode, env):
    return subprocess.Popen([sys.executable, "-m", "tests.multi_worker_fit", mode], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _result(process):
    try:
        out, err = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def test_two_workers_equal_one_process():
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    processes = [_start("worker", _env({"cluster": {"worker": workers},
                                        "task": {"type": "worker", "index": i}}))
                 for i in range(2)]
    try:
        results = [_result(p) for p in processes]
    finally:
        for p in processes:  # never leave a worker waiting for its peer
            if p.poll() is None:
                p.kill()
    single = _result(_start("single", _env()))
    # A task with Keras' train step and one with kerabert's (the pretrainer).
    for name in ("classifier", "pretrainer"):
        assert single[name]["replicas"] == 1
        for result in results:
            assert result[name]["replicas"] == 2
            # Each worker computes half of every global batch; the all-reduced
            # gradient is the one-process gradient, so training is the same.
            np.testing.assert_allclose(result[name]["loss"], single[name]["loss"], rtol=1e-4,
                                       atol=1e-5)
            np.testing.assert_allclose(result[name]["weights"], single[name]["weights"],
                                       rtol=1e-4, atol=1e-4)
        # ... and that path really moved the weights.
        assert np.abs(np.subtract(single[name]["weights"], single[name]["initial"])).max() > 1e-3
