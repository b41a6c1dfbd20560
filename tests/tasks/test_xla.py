"""TPU readiness, checked on CPU: every task's train step compiles with XLA
(`compile(jit_compile=True)`) and trains as it does without XLA; the training
data kerabert builds has static shapes (`fit(static_shapes=True)`); and
`predict(static_shapes=True)` pads the last batch and drops the padding."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerabert
from kerabert.data import squad
from tests import harness

STEPS = 3
# Large enough that every weight moves visibly in three steps (a missing or
# wrong update is then far outside the tolerance below).
LEARNING_RATE = 1e-2

TEXTS = ["the quick brown fox", "a lazy dog was not good", "good movie !", "a cat sat",
         "the mat was bad", "not a good dog", "the fox jumps over the lazy dog"]
LABELS = np.array([0, 1, 2, 1, 0, 2, 1])
SQUAD = squad.SquadData([
    squad.SquadExample(f"q{i}", question, context, answer, context.find(answer),
                       [answer] if answer else [], not answer)
    for i, (question, context, answer) in enumerate([
        ("what jumps ?", "the quick brown fox jumps over the lazy dog .", "fox"),
        ("who sat ?", "a cat sat on the mat .", "a cat"),
        ("what was good ?", "the movie was good , not bad .", "the movie"),
        ("where did the cat sit ?", "a cat sat on the mat .", "on the mat"),
        ("who is lazy ?", "the quick brown fox jumps over the lazy dog .", "the lazy dog"),
        ("what is bad ?", "a good movie .", ""),
        ("what runs ?", "the dog runs on the mat .", "the dog"),
    ])], "2.0")

# Weights on which the loss does not depend: a constant added to every
# position's start or end logit cancels in the softmax over positions (the
# span layers' biases, and the LayerNorm beta that feeds the end-logit layer
# the same vector at every position). Their gradient is zero up to float
# noise, which Adam normalises into steps of up to the learning rate, so XLA's
# reordering changes them visibly; `_check_loss_independent_of` proves that
# they do not matter.
LOSS_INVARIANT = {"span_logits/bias", "span_head/start_logits/bias",
                  "span_head/end_logits_layer_norm/beta", "span_head/end_logits_dense_1/bias"}


def _task(cls):
    """A tiny `cls` (tests/harness.py sizes) without dropout, so two runs can
    be compared, with the same initial weights every time."""
    name = harness.family(cls)
    memory = {"mem_len": 4} if cls is kerabert.XLNetPretrainer else {}
    backbone = harness.tiny_backbone(name, 0, dropout=0.0, attention_dropout=0.0, **memory)
    preprocessor = None
    if cls.preprocessor_cls is not None:
        preprocessor = cls.preprocessor_cls(harness.tiny_tokenizer(name), sequence_length=32)
    kwargs = dict(harness.TASK_KWARGS.get(cls, {}))
    if cls in (kerabert.BertClassifier, kerabert.XLNetClassifier, kerabert.XLNetQuestionAnswerer):
        kwargs["dropout"] = 0.0
    return cls(backbone, preprocessor=preprocessor, compile=False, **kwargs)


def _pretraining_batches(task):
    """`STEPS` batches of two packed examples with targets (pretrainers take
    packed inputs here: the BERT preprocessor's masking is random)."""
    x = harness.task_inputs(task)
    x = {k: np.concatenate([v] * STEPS) for k, v in x.items()}
    rng = np.random.default_rng(1)
    rows, predictions = 2 * STEPS, 3
    if isinstance(task, kerabert.BertPretrainer):
        y = {"masked_ids": rng.integers(5, 30, (rows, predictions)).astype("int32"),
             "masked_weights": (rng.random((rows, predictions)) < 0.8).astype("float32"),
             "next_sentence_labels": rng.integers(0, 2, rows).astype("int32")}
    else:
        y = {"target": rng.integers(7, 800, (rows, predictions)).astype("int32"),
             "target_mask": np.ones((rows, predictions), "float32")}
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(2, drop_remainder=True)


def _data(task):
    """fit / evaluate arguments, in batches of two. Raw text and SQuAD go
    through kerabert's own batching, which `static_shapes=True` makes full
    batches only: of 7 examples (or an odd number of SQuAD windows) the last
    is left out."""
    if task.task_kind == "pretrainer":
        return {"x": _pretraining_batches(task)}
    if task.task_kind == "question_answerer":
        return {"x": SQUAD, "batch_size": 2}
    return {"x": TEXTS, "y": LABELS, "batch_size": 2}


def _steps(task):
    """Full batches of two in `_data`: a context may make more than one window."""
    if task.task_kind != "question_answerer":
        return STEPS
    return task.preprocessor.count_windows([e.question for e in SQUAD],
                                           [e.context for e in SQUAD]) // 2


def _train(cls, jit_compile):
    task = _task(cls)
    task.compile(jit_compile=jit_compile, learning_rate=LEARNING_RATE,
                 num_train_steps=_steps(task))
    initial = {w.path: w.numpy() for w in task.weights}
    losses = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: losses.append(float(logs["loss"])))
    task.fit(**_data(task), shuffle=False, static_shapes=True, verbose=0, callbacks=[record])
    # Keras falls back to no XLA (with a warning) for layers that cannot
    # compile; this task must not have any.
    assert task.jit_compile is jit_compile
    assert len(losses) == _steps(task)
    return task, losses, initial, {w.path: w.numpy() for w in task.weights}


def _evaluate(task):
    if isinstance(task, kerabert.XLNetPretrainer):
        task.reset_memory()
    data = _data(task)
    return task.evaluate(data.pop("x"), verbose=0, return_dict=True, **data)["loss"]


def _check_loss_independent_of(task, names, values):
    """Setting these weights to `values` leaves the loss as it was (to float
    rounding): the weights are ones the loss does not depend on."""
    before = _evaluate(task)
    for weight in task.weights:
        if weight.path in names:
            weight.assign(values[weight.path])
    np.testing.assert_allclose(_evaluate(task), before, rtol=1e-6)


@pytest.mark.slow  # 30-60 s a task on 2 cores: two fits, one of them compiled by XLA
@pytest.mark.parametrize("cls", harness.TASKS, ids=lambda cls: cls.__name__)
def test_train_step_compiles_with_xla_and_matches_the_graph_run(cls):
    plain, plain_losses, initial, plain_weights = _train(cls, jit_compile=False)
    xla, xla_losses, _, xla_weights = _train(cls, jit_compile=True)

    # XLA fuses ops and reorders float32 sums (matmul accumulation, softmax,
    # LayerNorm): each op differs from TensorFlow's by a few ulps (~1e-7
    # relative), and three steps of a 2-layer model keep that near 1e-7
    # (measured); 1e-5 leaves room for other CPUs and oneDNN builds.
    np.testing.assert_allclose(xla_losses, plain_losses, rtol=1e-5)

    # Adam moves a weight by up to ~LEARNING_RATE a step (and the weights did
    # move that much); the runs agree to 1e-5, a thousandth of a step
    # (measured: below 5e-7), except on weights the loss does not depend on.
    moved = max(np.max(np.abs(plain_weights[k] - initial[k])) for k in initial)
    assert moved > 0.5 * LEARNING_RATE
    differing = {k for k in plain_weights
                 if not np.allclose(xla_weights[k], plain_weights[k], rtol=0, atol=1e-5)}
    assert differing <= LOSS_INVARIANT, differing

    # The predict step compiles too: XLA on padded static batches predicts what
    # the plain run predicts on its own batches (tolerance: the weights' 1e-5).
    inputs = harness.task_inputs(plain)
    expected = plain.predict(inputs, batch_size=3, verbose=0)
    outputs = xla.predict(inputs, batch_size=3, static_shapes=True, verbose=0)
    for ours, theirs in zip(keras.tree.flatten(outputs), keras.tree.flatten(expected)):
        assert ours.shape == theirs.shape
        # Beam indices are left out: a near tie may order two candidates
        # either way, with log-probabilities equal within the tolerance.
        if np.issubdtype(theirs.dtype, np.floating):
            np.testing.assert_allclose(ours, theirs, atol=1e-4)

    if differing:
        _check_loss_independent_of(plain, differing, xla_weights)


# --- static shapes --------------------------------------------------------------


def _spy(task, method):
    """Records the static shapes `task.<method>` is traced with (the shapes
    the compiled step, and XLA, sees)."""
    traced = []
    original = getattr(task, method)

    def spy(data):
        traced.append(tf.nest.map_structure(lambda t: tuple(t.shape), data))
        return original(data)

    setattr(task, method, spy)
    return traced


def _shapes(structure):
    """The shape tuples in a structure of shape tuples (leaves are tuples of
    ints or None, which `tf.nest` would flatten into their dims)."""
    if isinstance(structure, dict):
        return [s for v in structure.values() for s in _shapes(v)]
    if isinstance(structure, (list, tuple)) and structure and \
            not all(d is None or isinstance(d, int) for d in structure):
        return [s for v in structure for s in _shapes(v)]
    return [structure]


def _spec_shapes(dataset):
    return [tuple(spec.shape) for spec in tf.nest.flatten(dataset.element_spec)]


@pytest.mark.parametrize("cls", [kerabert.BertClassifier, kerabert.XLNetClassifier],
                         ids=lambda cls: cls.__name__)
def test_fit_static_shapes_batches_raw_text_with_fixed_shapes(cls):
    task = harness.tiny_task(cls)
    pairs = (TEXTS, TEXTS[::-1])
    # The dataset kerabert builds from raw text: (3, 32) everywhere, no None.
    dataset = task.preprocess_dataset(pairs, LABELS, batch_size=3, drop_remainder=True)
    assert _spec_shapes(dataset) == [(3, 32)] * 3 + [(3,)]
    assert None in _spec_shapes(task.preprocess_dataset(pairs, LABELS, batch_size=3))[0]

    traced = _spy(task, "train_step")
    history = task.fit(pairs, LABELS, batch_size=3, epochs=2, static_shapes=True, verbose=0)
    # 7 examples make two full batches; the seventh is left out.
    assert len(history.history["loss"]) == 2
    assert traced and all(s == (3, 32) for t in traced for s in _shapes(t[0]))
    assert all(s == (3,) for t in traced for s in _shapes(t[1]))


@pytest.mark.parametrize("cls", [kerabert.BertQuestionAnswerer, kerabert.XLNetQuestionAnswerer],
                         ids=lambda cls: cls.__name__)
def test_squad_training_windows_are_untrimmed_full_batches(cls):
    task = harness.tiny_task(cls)
    for chunk in (task.stream_chunk_size, 3):  # featurized at once, and streamed
        task.stream_chunk_size = chunk
        dataset = task._squad_dataset(SQUAD, 2, shuffle=False, drop_remainder=True)
        shapes = _spec_shapes(dataset)
        assert all(None not in s and s[0] == 2 for s in shapes), shapes
        # Training windows keep the preprocessor's full length, however short
        # the texts (prediction trims them; training must not).
        assert (2, 32) in shapes
        windows = task.preprocessor.count_windows([e.question for e in SQUAD],
                                                  [e.context for e in SQUAD])
        assert len(list(dataset)) == windows // 2
    traced = _spy(task, "train_step")
    task.fit(SQUAD, batch_size=2, static_shapes=True, verbose=0)
    assert traced and all(None not in s for t in traced for s in _shapes(t))


def test_fit_static_shapes_rejects_a_dataset_with_a_partial_batch():
    task = harness.tiny_task(kerabert.BertClassifier)
    dataset = tf.data.Dataset.from_tensor_slices((TEXTS, LABELS)).batch(2)
    with pytest.raises(ValueError, match="drop_remainder=True"):
        task.fit(dataset, static_shapes=True, verbose=0)
    # Batched with drop_remainder it trains.
    task.fit(tf.data.Dataset.from_tensor_slices((TEXTS, LABELS)).batch(2, drop_remainder=True),
             static_shapes=True, verbose=0)


@pytest.mark.parametrize("cls", harness.TASKS, ids=lambda cls: cls.__name__)
def test_predict_static_shapes_pads_the_last_batch_and_drops_it(cls):
    task = harness.tiny_task(cls)
    inputs = harness.task_inputs(task)  # 2 or 4 packed rows
    expected = task.predict(inputs, batch_size=3, verbose=0)
    task.predict_function = None  # retrace, to see the shapes
    traced = _spy(task, "predict_step")
    outputs = task.predict(inputs, batch_size=3, static_shapes=True, verbose=0)
    rows = len(inputs["token_ids"])
    keras.tree.assert_same_structure(outputs, expected)
    for ours, theirs in zip(keras.tree.flatten(outputs), keras.tree.flatten(expected)):
        assert ours.shape[0] == rows
        np.testing.assert_allclose(ours, theirs, atol=1e-6)
    assert traced and all(s[0] == 3 and None not in s for t in traced for s in _shapes(t))


def test_predict_static_shapes_on_raw_text():
    task = harness.tiny_task(kerabert.BertClassifier)
    pairs = (TEXTS[:5], TEXTS[2:7])
    for x in (TEXTS, pairs, tf.data.Dataset.from_tensor_slices(TEXTS).batch(3)):
        expected = task.predict(x, batch_size=2, verbose=0)
        outputs = task.predict(x, batch_size=2, static_shapes=True, verbose=0)
        assert outputs.shape == expected.shape
        np.testing.assert_allclose(outputs, expected, atol=1e-6)
    one = task.predict("good movie !", batch_size=4, static_shapes=True, verbose=0)
    np.testing.assert_allclose(one, task.predict(["good movie !"], verbose=0), atol=1e-6)
    with pytest.raises(ValueError, match="no examples"):
        task.predict(tf.data.Dataset.from_tensor_slices(TEXTS).batch(2).take(0),
                     static_shapes=True, verbose=0)


def test_jit_compile_keeps_the_recipe_through_a_keras_file(tmp_path):
    task = harness.tiny_task(kerabert.BertClassifier)
    task.compile(jit_compile=True, learning_rate=1e-3)
    task.fit(TEXTS, LABELS, batch_size=2, static_shapes=True, verbose=0)
    path = str(tmp_path / "model.keras")
    task.save(path)
    loaded = keras.saving.load_model(path)
    # The same recipe, run by XLA, with its optimizer state and schedule plan.
    assert loaded.jit_compile is True
    assert isinstance(loaded.optimizer, kerabert.AdamWeightDecay)
    assert int(loaded.optimizer.iterations) == int(task.optimizer.iterations) == 3
    np.testing.assert_allclose(float(loaded.optimizer.learning_rate),
                               float(task.optimizer.learning_rate))
    for ours, theirs in zip(loaded.optimizer.variables, task.optimizer.variables):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
