"""`PipelineModel` on its own, without a model or a fit: row counting and the
batching of lists, numpy arrays, dicts and datasets through a preprocessor."""

import logging

import numpy as np
import pytest
import tensorflow as tf

from kerabert.tasks.pipeline_model import PipelineModel


def lengths(texts, y=None, sample_weight=None):
    """A stand-in preprocessor: a batch of texts -> `{"token_ids": (batch, 1)}`
    int32 (each text's length), with the labels passed through."""
    if isinstance(texts, tuple):
        texts = tf.strings.join(list(texts))
    x = {"token_ids": tf.strings.length(texts)[:, None]}
    return x if y is None else (x, y)


class Pipeline(PipelineModel):
    def __init__(self, preprocessor=lengths):
        self.preprocessor = preprocessor


def batch_sizes(dataset):
    return [int(tf.nest.flatten(element)[0].shape[0]) for element in dataset]


TEXTS = ["a", "bb", "ccc", "dddd", "eeeee"]


def test_count_rows_of_python_and_numpy_inputs():
    pipeline = Pipeline()
    assert pipeline.count_rows(TEXTS) == 5
    assert pipeline.count_rows((TEXTS, TEXTS)) == 5
    assert pipeline.count_rows(np.array(TEXTS, dtype=object)) == 5
    assert pipeline.count_rows({"token_ids": np.zeros((7, 3)), "mask": np.ones((7, 3))}) == 7
    assert pipeline.count_rows(tf.zeros((4, 2))) == 4
    assert pipeline.count_rows(tf.data.Dataset.from_tensor_slices(TEXTS)) is None
    assert pipeline.count_rows("one text") is None


def test_count_batches_reads_no_data(monkeypatch):
    pipeline = Pipeline()
    datasets = tf.data.Dataset.from_tensor_slices(TEXTS).batch(2)
    assert pipeline.count_batches(datasets) == 3
    assert pipeline.count_batches(datasets.filter(lambda t: True)) is None  # unknown length

    def no_dataset(*args, **kwargs):
        raise AssertionError("counting built a dataset")

    monkeypatch.setattr(tf.data.Dataset, "range", no_dataset)
    monkeypatch.setattr(tf.data.Dataset, "from_tensor_slices", no_dataset)
    assert pipeline.count_batches(TEXTS, batch_size=2) == 3
    assert pipeline.count_batches(TEXTS) == 1  # Keras' default batch size, 32
    assert pipeline.count_batches({"token_ids": np.zeros((65, 3))}) == 3
    assert pipeline.count_batches(iter(TEXTS)) is None


def test_uses_pipeline():
    assert Pipeline().uses_pipeline(TEXTS)
    assert Pipeline().uses_pipeline({"token_ids": np.zeros((2, 3))})
    assert not Pipeline(None).uses_pipeline({"token_ids": np.zeros((2, 3))})
    assert Pipeline(None).uses_pipeline(tf.data.Dataset.range(3))


def test_lists_are_batched_and_preprocessed():
    dataset = Pipeline().preprocess_dataset(TEXTS, np.arange(5), batch_size=2)
    assert batch_sizes(dataset) == [2, 2, 1]
    x, y = next(iter(dataset))
    assert x["token_ids"].numpy().tolist() == [[1], [2]]
    assert y.numpy().tolist() == [0, 1]
    dropped = Pipeline().preprocess_dataset(TEXTS, batch_size=2, drop_remainder=True)
    assert batch_sizes(dropped) == [2, 2]
    assert dropped.element_spec["token_ids"].shape.as_list() == [2, 1]


def test_pairs_and_one_example():
    pairs = Pipeline().preprocess_dataset((TEXTS, TEXTS), batch_size=4)
    assert [b["token_ids"].numpy().ravel().tolist() for b in pairs] == [[2, 4, 6, 8], [10]]
    one = Pipeline().preprocess_dataset("abc")
    assert [b["token_ids"].numpy().tolist() for b in one] == [[[3]]]


def test_shuffle_keeps_texts_with_their_labels():
    labels = np.array([len(t) for t in TEXTS])
    dataset = Pipeline().preprocess_dataset(TEXTS, labels, batch_size=5, shuffle=True)
    x, y = next(iter(dataset))
    assert x["token_ids"].numpy().ravel().tolist() == y.numpy().tolist()


def test_packed_dicts_skip_the_preprocessor():
    packed = {"token_ids": np.arange(10).reshape(5, 2)}
    for pipeline in (Pipeline(), Pipeline(None)):
        dataset = pipeline.preprocess_dataset(packed, batch_size=3)
        assert batch_sizes(dataset) == [3, 2]
        assert next(iter(dataset))["token_ids"].shape == (3, 2)


def test_unbatched_text_datasets_are_batched(caplog):
    single = tf.data.Dataset.from_tensor_slices(TEXTS)
    with caplog.at_level(logging.WARNING, logger="kerabert"):
        dataset = Pipeline().preprocess_dataset(single, batch_size=2)
    assert "single examples" in caplog.text
    assert batch_sizes(dataset) == [2, 2, 1]
    already = Pipeline().preprocess_dataset(single.batch(4))
    assert batch_sizes(already) == [4, 1]
    with pytest.raises(ValueError, match="inside the dataset"):
        Pipeline().preprocess_dataset(single, y=[1, 2, 3, 4, 5])


def test_padded_batches_have_one_static_shape():
    batches, count = Pipeline()._padded_batches(TEXTS, batch_size=2)
    assert count == 5
    assert batches.cardinality() == 3
    rows = [b["token_ids"].numpy().ravel().tolist() for b in batches]
    assert rows == [[1, 2], [3, 4], [5, 1]]  # filled up with the first row
    Pipeline._require_static_shapes(batches, "predict")
    # A dataset's rows are counted by reading it.
    batches, count = Pipeline()._padded_batches(
        tf.data.Dataset.from_tensor_slices(TEXTS).batch(3), batch_size=4)
    assert count == 5 and batch_sizes(batches) == [4, 4]
    with pytest.raises(ValueError, match="unknown dimensions"):
        Pipeline._require_static_shapes(Pipeline().preprocess_dataset(TEXTS, batch_size=2),
                                        "fit")


def test_seeded_batches_get_seeds_of_their_position():
    def seeded(texts, seed=None):
        return {"token_ids": tf.strings.length(texts)[:, None],
                "seed": tf.broadcast_to(seed, [tf.shape(texts)[0], 2])}

    seeded.takes_seed = True
    pipeline = Pipeline(seeded)
    first = [b["seed"].numpy()[0].tolist()
             for b in pipeline.preprocess_dataset(TEXTS, batch_size=2, seeded=True)]
    again = [b["seed"].numpy()[0].tolist()
             for b in pipeline.preprocess_dataset(TEXTS, batch_size=2, seeded=True)]
    assert first == again and len({tuple(s) for s in first}) == 3
    pipeline.preprocessing_seed().epoch.assign(1)
    other = [b["seed"].numpy()[0].tolist()
             for b in pipeline.preprocess_dataset(TEXTS, batch_size=2, seeded=True)]
    assert other != first


def test_checks_before_tracing():
    pipeline = Pipeline()
    with pytest.raises(ValueError, match="5 texts and 4 labels"):
        pipeline.check_data(TEXTS, [0, 1, 0, 1], None, "fit()")
    with pytest.raises(TypeError, match="item 1 has type int"):
        pipeline.check_data(["a", 3], None, None, "fit()")
    with pytest.raises(TypeError, match="x=None"):
        pipeline.require_input(None, "predict()")
