"""Calls a SavedModel from a process that has TensorFlow and tensorflow-text only.

    python saved_model_client.py REQUEST.json

REQUEST: {"path": SavedModel dir, "mode": "kernels" | "tensorflow_text",
          "calls": [{"signature": name, "inputs": {name: INPUT}}]}
INPUT: {"dtype": "string", "hex": [UTF-8 (or any) bytes as hex, ...]} or
       {"dtype": "int32" | ..., "value": nested list}.

Modes:
- "kernels" (strict): `keras`, `kerabert`, `keras_hub` and `tf_keras` are made
  unimportable before TensorFlow loads, as if not installed, and the
  tensorflow-text kernels are registered with `tf.load_op_library` (what
  `import tensorflow_text` does underneath, without its Keras layers).
- "tensorflow_text": `import tensorflow, tensorflow_text`, the documented
  server setup. Both import Keras themselves (TensorFlow pre-loads
  `keras.src.optimizers`, tensorflow-text subclasses `tf.keras.layers.Layer`),
  so this mode checks that loading and calling imports no *further* Keras
  module, and never kerabert or keras_hub.

Prints one JSON object: `signatures` (inputs and outputs of every signature:
dtype and shape, as `saved_model_cli show --all` lists them), `results` (one
dict of outputs per call; strings as hex) and `modules` (what was imported).
Imports nothing from this repository.
"""

import glob
import importlib.util
import json
import os
import sys

BLOCKED = ("keras", "kerabert", "keras_hub", "tf_keras")


def _loaded(prefixes):
    return sorted(name for name, module in sys.modules.items()
                  if module is not None and name.split(".")[0] in prefixes)


def _import_tensorflow(mode):
    if mode == "kernels":
        for name in BLOCKED:
            sys.modules[name] = None  # `import name` now raises ModuleNotFoundError
        import tensorflow as tf

        package = os.path.dirname(importlib.util.find_spec("tensorflow_text").origin)
        for library in sorted(glob.glob(os.path.join(package, "python", "ops", "*.so"))):
            tf.load_op_library(library)
        return tf
    if mode == "tensorflow_text":
        import tensorflow as tf

        importlib.import_module("tensorflow_text")  # registers the tokenizer kernels
        return tf
    raise ValueError(f"unknown mode {mode!r}")


def _spec(spec):
    return {"dtype": spec.dtype.name, "shape": spec.shape.as_list()}


def _tensor(tf, value):
    if value["dtype"] == "string":
        texts = [bytes.fromhex(h) for h in value["hex"]]
        return tf.constant(texts, tf.string, shape=[len(texts)])
    return tf.constant(value["value"], dtype=value["dtype"])


def _output(tensor):
    array = tensor.numpy()
    if tensor.dtype.name == "string":
        return {"dtype": "string", "shape": list(array.shape),
                "hex": [b.hex() for b in array.reshape(-1).tolist()]}
    return {"dtype": tensor.dtype.name, "shape": list(array.shape), "value": array.tolist()}


def main(request_path):
    with open(request_path) as f:
        request = json.load(f)
    tf = _import_tensorflow(request["mode"])
    before = _loaded(BLOCKED)
    model = tf.saved_model.load(request["path"])
    signatures = {}
    for name, fn in model.signatures.items():
        _, inputs = fn.structured_input_signature
        signatures[name] = {"inputs": {k: _spec(s) for k, s in inputs.items()},
                            "outputs": {k: _spec(s) for k, s in fn.structured_outputs.items()}}
    results = []
    for call in request["calls"]:
        fn = model.signatures[call["signature"]]
        outputs = fn(**{k: _tensor(tf, v) for k, v in call["inputs"].items()})
        results.append({k: _output(v) for k, v in outputs.items()})
    print(json.dumps({
        "signatures": signatures,
        "results": results,
        "modules": {"before_load": before, "after_calls": _loaded(BLOCKED)},
    }))


if __name__ == "__main__":
    main(sys.argv[1])
