"""Checks every layer test runs: config and `keras.saving` round trips, and
mixed precision against float32, on the same weights."""

import keras
import numpy as np


def _numpy(outputs):
    return keras.tree.map_structure(
        lambda x: None if x is None else np.asarray(keras.ops.cast(x, "float32")), outputs)


def assert_round_trips(layer, call):
    """`from_config(get_config())` and `serialize_keras_object` ->
    `deserialize_keras_object` rebuild a layer that, given `layer`'s weights,
    gives `call(layer)`'s outputs. `call(layer)` runs the layer on fixed inputs."""
    expected = _numpy(call(layer))
    config = layer.get_config()
    clones = [type(layer).from_config(config),
              keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))]
    for clone in clones:
        assert type(clone) is type(layer)
        assert clone.get_config() == config
        call(clone)  # builds it
        clone.set_weights(layer.get_weights())
        actual = _numpy(call(clone))
        keras.tree.assert_same_structure(expected, actual)
        for e, a in zip(keras.tree.flatten(expected), keras.tree.flatten(actual)):
            np.testing.assert_array_equal(a, e)
    return expected


def assert_mixed_close(make, call, policy="mixed_bfloat16", rtol=2e-2, atol=2e-2,
                       output_dtype=None):
    """`make(dtype)` builds a layer; under `policy` with the float32 layer's
    weights its outputs stay within tolerance of float32 and have
    `output_dtype` (default: the policy's compute dtype); its variables stay
    float32."""
    reference = make("float32")
    expected = _numpy(call(reference))
    mixed = make(policy)
    call(mixed)
    mixed.set_weights(reference.get_weights())
    assert all(v.dtype == "float32" for v in mixed.weights)
    outputs = call(mixed)
    dtype = output_dtype or keras.dtype_policies.get(policy).compute_dtype
    for out in keras.tree.flatten(outputs):
        assert keras.backend.standardize_dtype(out.dtype) == dtype
    actual = _numpy(outputs)
    for e, a in zip(keras.tree.flatten(expected), keras.tree.flatten(actual)):
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol)
    return expected, actual


def layer_norm(x, gamma, beta, epsilon):
    mean = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + epsilon) * gamma + beta


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)
