"""Shared pieces of the SavedModel export tests: calling an export from a fresh
process (`saved_model_client.py`) and the tiny models to export."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

CLIENT = os.path.join(os.path.dirname(__file__), "saved_model_client.py")


def strings(texts):
    """A string input of `call_in_fresh_process`."""
    return {"dtype": "string", "hex": [t.encode("utf-8").hex() for t in texts]}


def ints(value, dtype="int32"):
    return {"dtype": dtype, "value": np.asarray(value).tolist()}


def _decode(output):
    if output["dtype"] == "string":
        texts = [bytes.fromhex(h).decode("utf-8") for h in output["hex"]]
        return np.array(texts, dtype=object).reshape(output["shape"])
    return np.array(output["value"], dtype=output["dtype"]).reshape(output["shape"])


def call_in_fresh_process(path, calls, mode="kernels", tmp_path=None):
    """Loads the SavedModel at `path` in a new Python process with TensorFlow and
    the tensorflow-text kernels only (see saved_model_client.py for `mode`), runs
    `calls` (a list of `(signature, {input: strings(...) | ints(...)})`) and
    returns `(signatures, results)`: each signature's input / output dtypes and
    shapes, and per call a dict of numpy outputs (strings as str).

    Also checks what the process imported: nothing from Keras, kerabert or
    keras-hub in "kernels" mode; nothing beyond what `import tensorflow,
    tensorflow_text` imports, and never kerabert or keras-hub, otherwise."""
    request = {"path": str(path), "mode": mode,
               "calls": [{"signature": s, "inputs": i} for s, i in calls]}
    request_path = os.path.join(str(tmp_path or path), f"request_{mode}.json")
    with open(request_path, "w") as f:
        json.dump(request, f)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ""}
    # Not the repository root: `import kerabert` must have nothing to find there.
    run = subprocess.run([sys.executable, CLIENT, request_path], capture_output=True,
                         text=True, env=env, cwd=os.path.dirname(request_path), timeout=600)
    assert run.returncode == 0, run.stderr[-4000:]
    reply = json.loads(run.stdout.strip().splitlines()[-1])
    modules = reply["modules"]
    if mode == "kernels":
        assert modules["before_load"] == modules["after_calls"] == []
    else:
        assert modules["after_calls"] == modules["before_load"]
        ours = [m for m in modules["after_calls"] if m.split(".")[0] in ("kerabert", "keras_hub")]
        assert not ours
    results = [{k: _decode(v) for k, v in r.items()} for r in reply["results"]]
    return reply["signatures"], results


def spec(dtype, shape):
    """A signature entry as `call_in_fresh_process` reports it."""
    return {"dtype": dtype, "shape": list(shape)}


@pytest.fixture(scope="session")
def hf_models(tmp_path_factory):
    """Tiny random transformers checkpoints, one folder each:
    `bert_classifier` (3 labels), `bert_qa`, `xlnet_classifier` (3 labels), `xlnet_qa`."""
    from tests.conftest import save_tiny_hf_bert
    from tests.conftest import save_tiny_hf_xlnet

    root = tmp_path_factory.mktemp("serving_models")
    folders = {name: str(root / name) for name in
               ("bert_classifier", "bert_qa", "xlnet_classifier", "xlnet_qa")}
    save_tiny_hf_bert(folders["bert_classifier"], "BertForSequenceClassification", seed=1,
                      num_labels=3)
    save_tiny_hf_bert(folders["bert_qa"], "BertForQuestionAnswering", seed=3)
    save_tiny_hf_xlnet(folders["xlnet_classifier"], "XLNetForSequenceClassification", seed=4,
                       num_labels=3)
    save_tiny_hf_xlnet(folders["xlnet_qa"], "XLNetForQuestionAnswering", seed=2)
    return folders
