"""LAMB and the warmup/polynomial-decay schedule against numpy transcriptions of
their reference formulas (LAMB: You et al. 2019, Algorithm 2 as in TF-Addons;
schedules: the BERT and XLNet `optimization.py` of Model Garden)."""

import json

import keras
import numpy as np
import pytest

from kerabert.optimizers.lamb import Lamb
from kerabert.optimizers.warmup_polynomial_decay import WarmupPolynomialDecay
from tests.conftest import ROOT
from tests.conftest import run_python


# --- numpy references --------------------------------------------------------

def reference_lamb(weights, grad_steps, decay, adapt, lr, weight_decay=0.01,
                   beta_1=0.9, beta_2=0.999, epsilon=1e-6, clipnorm=1.0):
    """Runs LAMB over `grad_steps` (a list of per-step gradient lists) in float64.

    `decay[i]` / `adapt[i]`: whether variable i gets weight decay / the trust ratio.
    """
    w = [np.asarray(x, np.float64) for x in weights]
    m = [np.zeros_like(x) for x in w]
    v = [np.zeros_like(x) for x in w]
    for t, grads in enumerate(grad_steps, start=1):
        grads = [np.asarray(g, np.float64) for g in grads]
        if clipnorm is not None:  # tf.clip_by_global_norm
            global_norm = np.sqrt(sum(np.sum(g * g) for g in grads))
            grads = [g * clipnorm / max(global_norm, clipnorm) for g in grads]
        for i, g in enumerate(grads):
            m[i] = beta_1 * m[i] + (1 - beta_1) * g
            v[i] = beta_2 * v[i] + (1 - beta_2) * g * g
            m_hat = m[i] / (1 - beta_1 ** t)
            v_hat = v[i] / (1 - beta_2 ** t)
            r = m_hat / (np.sqrt(v_hat) + epsilon)
            if decay[i]:
                r = r + weight_decay * w[i]
            ratio = 1.0
            if adapt[i]:
                w_norm, r_norm = np.linalg.norm(w[i]), np.linalg.norm(r)
                if w_norm > 0 and r_norm > 0:
                    ratio = w_norm / r_norm
            w[i] = w[i] - lr * ratio * r
    return w


def reference_polynomial_decay(step, initial, decay_steps, end, power):
    """TF's PolynomialDecay, cycle=False."""
    step = min(step, decay_steps)
    return (initial - end) * (1 - step / decay_steps) ** power + end


def reference_bert_schedule(step, peak, total, warmup, end=0.0, power=1.0):
    """official/bert/optimization.py: WarmUp(decay=PolynomialDecay(total)), decay(step)."""
    if step < warmup:
        return peak * step / warmup
    return reference_polynomial_decay(step, peak, total, end, power)


def reference_xlnet_schedule(step, peak, total, warmup, min_lr_ratio=0.0, power=1.0):
    """official/nlp/xlnet/optimization.py: decay over total - warmup, decay(step - warmup)."""
    if step < warmup:
        return peak * step / warmup
    return reference_polynomial_decay(step - warmup, peak, total - warmup,
                                      peak * min_lr_ratio, power)


# --- LAMB ----------------------------------------------------------------------

def _variables():
    rng = np.random.default_rng(0)
    with keras.name_scope("encoder"):
        with keras.name_scope("dense"):
            kernel = keras.Variable(rng.normal(size=(4, 3)).astype("float32"), name="kernel")
            bias = keras.Variable(rng.normal(size=(3,)).astype("float32"), name="bias")
        with keras.name_scope("layer_norm"):
            gamma = keras.Variable(1 + 0.1 * rng.normal(size=(3,)).astype("float32"),
                                   name="gamma")
        with keras.name_scope("head"):
            # ||w|| = 0 at the first step: the trust ratio must fall back to 1.
            zero_kernel = keras.Variable(np.zeros((3, 2), "float32"), name="kernel")
    return [kernel, bias, gamma, zero_kernel]


@pytest.mark.parametrize("steps", [1, 3])
@pytest.mark.parametrize("adaptation_exclusions", [None, ()])
def test_lamb_matches_reference(steps, adaptation_exclusions):
    variables = _variables()
    assert variables[2].path == "encoder/layer_norm/gamma"
    initial = [v.numpy().copy() for v in variables]
    rng = np.random.default_rng(1)
    # Global norm > 1 at every step so the default clip (1.0) is exercised.
    grad_steps = [[rng.normal(size=v.shape).astype("float32") for v in variables]
                  for _ in range(steps)]
    optimizer = Lamb(learning_rate=0.01, weight_decay=0.1,
                     exclude_from_layer_adaptation=adaptation_exclusions)
    for grads in grad_steps:
        optimizer.apply_gradients(zip(grads, variables))

    decay = [True, False, False, True]  # kernel, bias, layer_norm/gamma, zero kernel
    adapt = decay if adaptation_exclusions is None else [True] * 4
    expected = reference_lamb(initial, grad_steps, decay, adapt, lr=0.01, weight_decay=0.1)
    for var, want in zip(variables, expected):
        np.testing.assert_allclose(var.numpy(), want, atol=1e-6, err_msg=var.path)
    # Guard against a vacuous match: exclusions must change the result.
    other = reference_lamb(initial, grad_steps, [True] * 4, [True] * 4, lr=0.01,
                           weight_decay=0.1)
    assert np.abs(other[2] - expected[2]).max() > 1e-4


def test_lamb_without_decay_or_exclusions_equals_keras_lamb():
    """Where the definitions coincide (no weight decay, every variable adapted)
    the update equals keras.optimizers.Lamb's."""
    ours, theirs = _variables(), _variables()
    rng = np.random.default_rng(2)
    grad_steps = [[rng.normal(size=v.shape).astype("float32") for v in ours]
                  for _ in range(3)]
    lamb = Lamb(learning_rate=0.01, weight_decay=0.0, exclude_from_layer_adaptation=())
    keras_lamb = keras.optimizers.Lamb(learning_rate=0.01, epsilon=1e-6,
                                       global_clipnorm=1.0)
    for grads in grad_steps:
        lamb.apply_gradients(zip(grads, ours))
        keras_lamb.apply_gradients(zip(grads, theirs))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-7)


def test_lamb_defaults_and_serialization():
    schedule = WarmupPolynomialDecay(1e-3, total_steps=1000, warmup_steps=100)
    optimizer = Lamb(learning_rate=schedule, exclude_from_layer_adaptation=["bias"])
    assert (optimizer.beta_1, optimizer.beta_2, optimizer.epsilon) == (0.9, 0.999, 1e-6)
    assert optimizer.weight_decay == 0.01 and optimizer.global_clipnorm == 1.0
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert isinstance(restored, Lamb)
    assert restored.get_config() == optimizer.get_config()
    assert restored.adaptation_exclude_patterns == ("bias",)
    restored_schedule = restored._learning_rate
    assert isinstance(restored_schedule, WarmupPolynomialDecay)
    assert restored_schedule.get_config() == schedule.get_config()


def test_lamb_trains_a_tiny_model():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 20, size=(64, 8))
    labels = (tokens[:, 0] < 10).astype("int32")
    model = keras.Sequential([
        keras.Input((8,), dtype="int32"),
        keras.layers.Embedding(20, 16, name="embeddings"),
        keras.layers.LayerNormalization(name="layer_norm"),
        keras.layers.Flatten(),
        keras.layers.Dense(2, name="classifier"),
    ])
    schedule = WarmupPolynomialDecay(1e-2, total_steps=40, warmup_steps=4)
    model.compile(optimizer=Lamb(schedule),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(tokens, labels, batch_size=16, epochs=10, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses))
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())
    assert losses[-1] < 0.5 * losses[0]


_MIRRORED_SCRIPT = r"""
import json
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import sys
import keras
from kerabert.optimizers.adam_weight_decay import AdamWeightDecay
from kerabert.optimizers.lamb import Lamb
from tests.conftest import run_python

OPTIMIZER = {"lamb": Lamb, "adamw": AdamWeightDecay}[sys.argv[1]]

def train(strategy, clipnorm=1.0):
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([
            keras.Input((6,)),
            keras.layers.Dense(8, name="dense"),
            keras.layers.LayerNormalization(name="layer_norm"),
            keras.layers.Dense(1, name="head"),
        ])
        model.compile(optimizer=OPTIMIZER(learning_rate=0.05, global_clipnorm=clipnorm),
                      loss="mse")
    initial = [w.tolist() for w in model.get_weights()]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 6)).astype("float32")
    y = rng.normal(size=(16, 1)).astype("float32")
    model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    return {"replicas": strategy.num_replicas_in_sync, "initial": initial,
            "weights": [w.tolist() for w in model.get_weights()]}

print(json.dumps({
    "single": train(tf.distribute.get_strategy()),
    "unclipped": train(tf.distribute.get_strategy(), clipnorm=None),
    "mirrored": train(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])),
}))
"""


@pytest.mark.parametrize("optimizer", ["lamb", "adamw"])
def test_clipped_optimizers_under_mirrored_strategy_equal_single_device(optimizer):
    # Logical devices must be configured before TensorFlow initialises, which
    # this pytest process has already done: run in a fresh interpreter.
    result = run_python("-c", _MIRRORED_SCRIPT, optimizer,
                        env={"PYTHONPATH": ROOT, "TF_CPP_MIN_LOG_LEVEL": "3"}, timeout=300)
    runs = json.loads(result.stdout.strip().splitlines()[-1])
    single, mirrored = runs["single"], runs["mirrored"]
    assert single["replicas"] == 1 and mirrored["replicas"] == 2
    # Same global batch: the replicas' summed gradients are the single-device
    # gradient, and the per-replica trust ratios see identical tensors.
    for a, b, start in zip(mirrored["weights"], single["weights"], single["initial"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # The clip was active, so the check covers where it happens (Keras clips
    # before the replicas' all-reduce unless `ClipAfterAllReduce` moves it).
    assert max(np.abs(np.subtract(u, s)).max()
               for u, s in zip(runs["unclipped"]["weights"], single["weights"])) > 1e-3
    moved = max(np.abs(np.subtract(w, s)).max()
                for w, s in zip(single["weights"], single["initial"]))
    assert moved > 1e-2


# --- WarmupPolynomialDecay -------------------------------------------------------

@pytest.mark.parametrize("power", [1.0, 2.0])
def test_absolute_decay_is_the_bert_reference_with_its_jump(power):
    peak, total, warmup = 1e-4, 1000, 100
    schedule = WarmupPolynomialDecay(peak, total, warmup, power=power, decay_from="absolute")
    for step in [0, 1, 50, 99, 100, 101, 500, 999, 1000, 1500]:
        np.testing.assert_allclose(
            float(schedule(step)), reference_bert_schedule(step, peak, total, warmup,
                                                           power=power),
            rtol=1e-6, atol=1e-6 * peak, err_msg=f"step {step}")
    if power == 1.0:
        # The reference's discontinuity: 0.99 * peak, then 0.9 * peak, then 0.899 * peak.
        np.testing.assert_allclose(
            [float(schedule(s)) for s in (99, 100, 101)],
            [0.99 * peak, 0.9 * peak, 0.899 * peak], rtol=1e-6)


@pytest.mark.parametrize("min_lr_ratio,power", [(0.0, 1.0), (0.1, 1.0), (0.0, 0.5)])
def test_warmup_end_decay_is_the_xlnet_reference(min_lr_ratio, power):
    peak, total, warmup = 2e-5, 1000, 100
    schedule = WarmupPolynomialDecay(peak, total, warmup, end_learning_rate=peak * min_lr_ratio,
                                     power=power)
    for step in [0, 1, 50, 99, 100, 101, 500, 999, 1000, 1500]:
        np.testing.assert_allclose(
            float(schedule(step)),
            reference_xlnet_schedule(step, peak, total, warmup, min_lr_ratio, power),
            rtol=1e-6, atol=1e-6 * peak, err_msg=f"step {step}")
    # Continuous at the end of warmup: the peak, then a small step down.
    np.testing.assert_allclose(float(schedule(100)), peak, rtol=1e-6)
    assert 0.99 * peak < float(schedule(101)) < peak


def test_schedule_without_warmup_and_edge_cases():
    for mode in ("absolute", "warmup_end"):
        schedule = WarmupPolynomialDecay(1e-3, 100, 0, decay_from=mode)
        np.testing.assert_allclose([float(schedule(s)) for s in (0, 50, 100)],
                                   [1e-3, 0.5e-3, 0.0], rtol=1e-6, atol=1e-12)
    all_warmup = WarmupPolynomialDecay(1e-3, 10, 10, end_learning_rate=1e-4)
    np.testing.assert_allclose(float(all_warmup(5)), 0.5e-3, rtol=1e-6)
    np.testing.assert_allclose(float(all_warmup(10)), 1e-4, rtol=1e-6)
    with pytest.raises(ValueError, match="decay_from"):
        WarmupPolynomialDecay(1e-3, 100, 10, decay_from="step")
    with pytest.raises(ValueError, match="warmup_steps"):
        WarmupPolynomialDecay(1e-3, 100, 200)


def test_schedule_serialization():
    schedule = WarmupPolynomialDecay(1e-3, 1000, 100, end_learning_rate=1e-5, power=2.0,
                                     decay_from="absolute")
    restored = keras.optimizers.schedules.deserialize(
        keras.optimizers.schedules.serialize(schedule))
    assert isinstance(restored, WarmupPolynomialDecay)
    assert restored.get_config() == schedule.get_config()
    np.testing.assert_allclose(float(restored(150)), float(schedule(150)))
