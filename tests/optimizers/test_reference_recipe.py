"""The default fine-tuning recipe against a numpy transcription of the reference
`AdamWeightDecay` + warmup/decay (Model Garden's `official/bert/optimization.py`)."""

import keras
import numpy as np
import pytest

import kerabert


def reference_adamw_step(var, grad, m, v, step, lr, weight_decay, decay,
                         beta_1=0.9, beta_2=0.999, epsilon=1e-6):
    """One step of the reference: decoupled decay `var -= lr * wd * var` first,
    then Keras-style Adam with bias correction folded into the step size."""
    if decay:
        var = var - lr * weight_decay * var
    m = beta_1 * m + (1 - beta_1) * grad
    v = beta_2 * v + (1 - beta_2) * grad * grad
    alpha = lr * np.sqrt(1 - beta_2 ** step) / (1 - beta_1 ** step)
    return var - alpha * m / (np.sqrt(v) + epsilon), m, v


def test_schedule_warmup_then_continuous_linear_decay():
    schedule = kerabert.LinearWarmupDecay(1e-3, total_steps=100, warmup_ratio=0.1)
    values = [float(schedule(s)) for s in range(101)]
    np.testing.assert_allclose(values[5], 0.5e-3, rtol=1e-6)
    np.testing.assert_allclose(values[10], 1e-3, rtol=1e-6)  # peak, no jump down
    np.testing.assert_allclose(values[55], 0.5e-3, rtol=1e-6)
    assert values[100] == 0.0
    assert max(values) == pytest.approx(1e-3)


def test_unsized_schedule_explains_itself():
    with pytest.raises(ValueError, match="steps_per_epoch"):
        kerabert.LinearWarmupDecay(1e-3)(0)


def test_adamw_matches_reference_and_excludes_layer_norm_and_bias():
    keras.utils.set_random_seed(0)
    backbone = kerabert.BertBackbone(vocabulary_size=20, num_layers=1, num_heads=2,
                                     hidden_dim=4, intermediate_dim=8)
    optimizer = kerabert.AdamWeightDecay(learning_rate=0.01, weight_decay=0.1,
                                         global_clipnorm=None)
    variables = backbone.trainable_variables
    optimizer.build(variables)
    rng = np.random.default_rng(0)
    grads = [rng.normal(size=v.shape).astype("float32") for v in variables]
    before = [v.numpy().copy() for v in variables]
    optimizer.apply_gradients(zip(grads, variables))
    decayed = 0
    for var, old, grad in zip(variables, before, grads):
        decay = not ("layer_norm" in var.path or var.path.endswith("bias"))
        decayed += decay
        expected, _, _ = reference_adamw_step(old, grad, 0.0, 0.0, 1, 0.01, 0.1, decay)
        np.testing.assert_allclose(var.numpy(), expected, rtol=1e-5, atol=1e-7,
                                   err_msg=var.path)
    assert 0 < decayed < len(variables)


def test_global_norm_clipping_is_on_by_default():
    optimizer = kerabert.AdamWeightDecay()
    assert optimizer.global_clipnorm == 1.0
    assert optimizer.epsilon == 1e-6
    assert optimizer.weight_decay == 0.01


def test_classifier_default_compile_is_the_recipe():
    backbone = kerabert.BertBackbone(vocabulary_size=20, num_layers=1, num_heads=2,
                                     hidden_dim=4, intermediate_dim=8)
    classifier = kerabert.BertClassifier(backbone, num_classes=2)
    assert isinstance(classifier.optimizer, kerabert.AdamWeightDecay)
    schedule = classifier.optimizer._learning_rate
    assert isinstance(schedule, kerabert.LinearWarmupDecay)
    assert schedule.peak_learning_rate == 2e-5 and schedule.warmup_ratio == 0.1


@pytest.mark.parametrize("layer_decay_rate", [1.0, 0.8])
def test_fused_update_equals_keras_adamw_arithmetic(monkeypatch, layer_decay_rate):
    """The one-op-per-variable TensorFlow update against Keras' own AdamW code
    (the same class with fusion off), over steps with a warmup schedule,
    clipping, weight-decay exclusions, layer-wise decay and a sparse
    (embedding) gradient."""
    import tensorflow as tf

    def run(fused):
        monkeypatch.setattr(kerabert.AdamWeightDecay, "_fused", lambda self: fused)
        keras.utils.set_random_seed(0)
        backbone = kerabert.BertBackbone(vocabulary_size=20, num_layers=2, num_heads=2,
                                         hidden_dim=4, intermediate_dim=8)
        optimizer = kerabert.AdamWeightDecay(
            learning_rate=kerabert.LinearWarmupDecay(0.01, total_steps=4, warmup_ratio=0.5),
            weight_decay=0.1, layer_decay_rate=layer_decay_rate, num_layers=2)
        inputs = {"token_ids": np.array([[1, 5, 7, 2]], "int32"),
                  "segment_ids": np.zeros((1, 4), "int32"),
                  "padding_mask": np.ones((1, 4), "int32")}

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(backbone(inputs)["pooled_output"] ** 2)
            variables = backbone.trainable_variables
            optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))

        initial = {v.path: v.numpy() for v in backbone.trainable_variables}
        for _ in range(3):
            step()
        return initial, {v.path: v.numpy() for v in backbone.trainable_variables}

    (initial, fused), (_, keras_) = run(True), run(False)
    for path, value in keras_.items():
        np.testing.assert_allclose(fused[path], value, rtol=1e-5, atol=1e-7, err_msg=path)
    assert min(np.abs(fused[p] - initial[p]).max() for p in fused) > 0  # every variable moved
