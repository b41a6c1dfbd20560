"""kerabert.data.classification_tfrecords: the reference BERT / XLNet schemas.

Records written from kerabert preprocessors are read back and compared with the
preprocessors' own output; records built by hand with the feature names and
dtypes the reference scripts write (create_finetuning_data.py for BERT,
preprocess_classification_data.py for XLNet) check the reader's mapping,
including XLNet's inverted float `input_mask`.
"""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

import kerabert
from kerabert.data import classification_tfrecords as ct
from kerabert.data import glue
from tests.conftest import TINY_VOCAB

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures")
XLNET_MODEL = os.path.join(FIXTURES, "xlnet_digit_comma_unigram_800.model")
L = 16

SENTENCES_A = ["the quick brown fox", "a cat sat on the mat .", "good movie !", "bad dog",
               "the lazy dog was not good , the cat was not bad , the fox jumps over"]
SENTENCES_B = ["the dog", "a mat", "not bad", "the cat sat on the mat , the dog sat",
               "run"]
LABELS = np.array([2, 0, 1, 1, 0], np.int32)


@pytest.fixture(scope="module")
def bert_preprocessor():
    return kerabert.BertPreprocessor(kerabert.BertTokenizer(TINY_VOCAB), sequence_length=L)


@pytest.fixture(scope="module")
def xlnet_preprocessor():
    return kerabert.XLNetPreprocessor(kerabert.XLNetTokenizer(proto=XLNET_MODEL),
                                      sequence_length=L)


def _records(path):
    return [tf.train.Example.FromString(r.numpy()) for r in tf.data.TFRecordDataset(path)]


def _kind_and_values(example, name):
    feature = example.features.feature[name]
    kind = feature.WhichOneof("kind")
    return kind, list(getattr(feature, kind).value)


def _collect(dataset):
    inputs, labels = {}, []
    for x, y in dataset:
        for key, value in x.items():
            inputs.setdefault(key, []).append(value.numpy())
        labels.append(y.numpy())
    return {k: np.stack(v) for k, v in inputs.items()}, np.array(labels)


def _assert_same_inputs(read, packed):
    assert set(read) == {"token_ids", "segment_ids", "padding_mask"}
    for key in read:
        assert read[key].dtype == np.int32
        np.testing.assert_array_equal(read[key], np.asarray(packed[key]))


# --- kerabert -> file -> kerabert ----------------------------------------------------


def test_bert_pairs_round_trip_and_file_schema(tmp_path, bert_preprocessor):
    path = str(tmp_path / "train.tf_record")
    x = (SENTENCES_A, SENTENCES_B)
    meta = ct.write_classification_tfrecords(path, bert_preprocessor, x, LABELS,
                                             num_labels=3, batch_size=2)
    assert meta == {"task_type": "bert_classification", "processor_type": None,
                    "num_labels": 3, "train_data_size": 5, "max_seq_length": L}
    packed = bert_preprocessor(x)
    records = _records(path)
    assert len(records) == 5
    for row, example in enumerate(records):
        assert set(example.features.feature) == {"input_ids", "input_mask", "segment_ids",
                                                 "label_ids", "is_real_example"}
        assert _kind_and_values(example, "input_ids") == (
            "int64_list", packed["token_ids"][row].numpy().tolist())
        assert _kind_and_values(example, "input_mask") == (
            "int64_list", packed["padding_mask"][row].numpy().tolist())
        assert _kind_and_values(example, "segment_ids") == (
            "int64_list", packed["segment_ids"][row].numpy().tolist())
        assert _kind_and_values(example, "label_ids") == ("int64_list", [int(LABELS[row])])
        assert _kind_and_values(example, "is_real_example") == ("int64_list", [1])
    read, labels = _collect(ct.read_classification_tfrecords(path, L))
    _assert_same_inputs(read, packed)
    assert labels.dtype == np.int32 and labels.tolist() == LABELS.tolist()


def test_xlnet_round_trip_inverts_the_mask(tmp_path, xlnet_preprocessor):
    path = str(tmp_path / "xlnet.tf_record")
    ct.write_classification_tfrecords(path, xlnet_preprocessor, (SENTENCES_A, SENTENCES_B),
                                      LABELS, num_labels=3)
    packed = xlnet_preprocessor((SENTENCES_A, SENTENCES_B))
    mask = packed["padding_mask"].numpy()
    assert mask.min() == 0  # some rows are padded, so the inversion is exercised
    for row, example in enumerate(_records(path)):
        kind, values = _kind_and_values(example, "input_mask")
        assert kind == "float_list"
        # The XLNet reference's mask: 1.0 for padding, 0.0 for real tokens.
        assert values == [0.0 if m else 1.0 for m in mask[row]]
        assert _kind_and_values(example, "segment_ids")[1] == \
            packed["segment_ids"][row].numpy().tolist()
        assert _kind_and_values(example, "label_ids") == ("int64_list", [int(LABELS[row])])
    read, labels = _collect(ct.read_classification_tfrecords(path, L, schema="xlnet"))
    _assert_same_inputs(read, packed)
    assert labels.tolist() == LABELS.tolist()


def test_single_sentences_and_regression_labels(tmp_path, bert_preprocessor,
                                                xlnet_preprocessor):
    scores = np.array([4.75, 0.0, 3.8, 2.6, 5.0], np.float32)
    for preprocessor, schema in ((bert_preprocessor, "bert"), (xlnet_preprocessor, "xlnet")):
        path = str(tmp_path / f"{schema}.tf_record")
        meta = ct.write_classification_tfrecords(path, preprocessor, SENTENCES_A, scores)
        assert meta["num_labels"] == 1
        for row, example in enumerate(_records(path)):
            kind, values = _kind_and_values(example, "label_ids")
            assert kind == "float_list"
            assert np.float32(values[0]) == scores[row]
        dataset = ct.read_classification_tfrecords(path, L, schema=schema, regression=True)
        read, labels = _collect(dataset)
        _assert_same_inputs(read, preprocessor(SENTENCES_A))
        assert labels.dtype == np.float32
        np.testing.assert_array_equal(labels, scores)


def test_glue_data_feeds_the_writer(tmp_path, bert_preprocessor):
    data = glue.load("mnli", os.path.join(FIXTURES, "glue", "MNLI"), "train")
    path = str(tmp_path / "mnli.tf_record")
    meta = ct.write_classification_tfrecords(
        path, bert_preprocessor, data.x, data.y, num_labels=data.num_labels,
        meta_path=str(tmp_path / "meta.json"), processor_type="MNLI")
    assert meta["train_data_size"] == len(data) and meta["num_labels"] == 3
    read, labels = _collect(ct.read_classification_tfrecords(path, L))
    _assert_same_inputs(read, bert_preprocessor(data.x))
    assert labels.tolist() == data.y.tolist()


def test_unlabelled_data_gets_label_zero(tmp_path, bert_preprocessor):
    path = str(tmp_path / "test.tf_record")
    ct.write_classification_tfrecords(path, bert_preprocessor, SENTENCES_A)
    assert [_kind_and_values(e, "label_ids") for e in _records(path)] == \
        [("int64_list", [0])] * len(SENTENCES_A)


# --- records as the reference scripts write them -------------------------------------


def _int(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=values))


def _float(values):
    return tf.train.Feature(float_list=tf.train.FloatList(value=values))


def _write_examples(path, examples):
    with tf.io.TFRecordWriter(path) as writer:
        for features in examples:
            writer.write(tf.train.Example(
                features=tf.train.Features(feature=features)).SerializeToString())


def test_reference_bert_records(tmp_path):
    # [CLS] A [SEP] B [SEP], right-padded with 0; input_mask 1 for real tokens.
    ids = [2, 5, 6, 3, 12, 3] + [0] * 10
    mask = [1] * 6 + [0] * 10
    segments = [0, 0, 0, 0, 1, 1] + [0] * 10
    path = str(tmp_path / "bert_reference.tf_record")
    _write_examples(path, [{"input_ids": _int(ids), "input_mask": _int(mask),
                            "segment_ids": _int(segments), "label_ids": _int([1]),
                            "is_real_example": _int([1])}])
    ((x, y),) = list(ct.read_classification_tfrecords(path, L))
    assert x["token_ids"].numpy().tolist() == ids
    assert x["padding_mask"].numpy().tolist() == mask
    assert x["segment_ids"].numpy().tolist() == segments
    assert y.dtype == tf.int32 and int(y) == 1


def test_reference_xlnet_records_and_eval_padding(tmp_path):
    # A <sep> B <sep> <cls>, LEFT-padded with id 0 and segment 4; input_mask is
    # float, 1.0 for padding. The eval file ends with a padding example
    # (ids 0, mask all 1.0, is_real_example 0).
    pad = 11
    ids = [0] * pad + [17, 4, 23, 4, 3]
    mask = [1.0] * pad + [0.0] * 5
    segments = [4] * pad + [0, 0, 1, 1, 2]
    path = str(tmp_path / "spiece.model.len-16.dev.eval.tf_record")
    _write_examples(path, [
        {"input_ids": _int(ids), "input_mask": _float(mask), "segment_ids": _int(segments),
         "label_ids": _int([2]), "is_real_example": _int([1])},
        {"input_ids": _int([0] * L), "input_mask": _float([1.0] * L),
         "segment_ids": _int([0] * L), "label_ids": _int([0]), "is_real_example": _int([0])},
    ])
    examples = list(ct.read_classification_tfrecords(path, L, schema="xlnet"))
    assert len(examples) == 1
    x, y = examples[0]
    assert x["token_ids"].numpy().tolist() == ids
    assert x["padding_mask"].numpy().tolist() == [0] * pad + [1] * 5
    assert x["segment_ids"].numpy().tolist() == segments
    assert int(y) == 2
    kept = list(ct.read_classification_tfrecords(path, L, schema="xlnet",
                                                 keep_padding_examples=True))
    assert [float(w) for _, _, w in kept] == [1.0, 0.0]
    assert kept[1][0]["padding_mask"].numpy().tolist() == [0] * L


def test_from_reference_features():
    features = {"input_word_ids": np.array([[5, 6, 0]]), "input_mask": np.array([[1, 1, 0]]),
                "input_type_ids": np.array([[0, 1, 0]])}
    mapped = ct.from_reference_features(features)
    assert {k: v.numpy().tolist() for k, v in mapped.items()} == {
        "token_ids": [[5, 6, 0]], "segment_ids": [[0, 1, 0]], "padding_mask": [[1, 1, 0]]}
    assert all(v.dtype == tf.int32 for v in mapped.values())
    xlnet = ct.from_reference_features(
        {"input_ids": np.array([0, 9, 3]), "input_mask": np.array([1.0, 0.0, 0.0], np.float32),
         "segment_ids": np.array([4, 0, 2])}, schema="xlnet")
    assert xlnet["padding_mask"].numpy().tolist() == [0, 1, 1]
    with pytest.raises(KeyError, match="none of"):
        ct.from_reference_features({"input_mask": np.array([1])})


def test_batched_dataset_feeds_a_classifier_without_preprocessor(tmp_path,
                                                                 bert_preprocessor):
    import keras

    path = str(tmp_path / "train.tf_record")
    ct.write_classification_tfrecords(path, bert_preprocessor, (SENTENCES_A, SENTENCES_B),
                                      LABELS, num_labels=3)
    dataset = ct.read_classification_tfrecords(path, L, batch_size=2, drop_remainder=True,
                                               shuffle=True, seed=1, repeat=True)
    x_spec, y_spec = dataset.element_spec
    assert {k: (v.shape.as_list(), v.dtype) for k, v in x_spec.items()} == {
        k: ([2, L], tf.int32) for k in ("token_ids", "segment_ids", "padding_mask")}
    assert y_spec.shape.as_list() == [2] and y_spec.dtype == tf.int32
    keras.utils.set_random_seed(0)
    backbone = kerabert.BertBackbone(vocabulary_size=len(TINY_VOCAB), num_layers=1,
                                     num_heads=2, hidden_dim=8, intermediate_dim=16)
    classifier = kerabert.BertClassifier(backbone, num_classes=3, preprocessor=None)
    classifier.compile(learning_rate=1e-3, jit_compile=False)
    history = classifier.fit(dataset, steps_per_epoch=2, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


@pytest.mark.filterwarnings("ignore:Your input ran out of data")
def test_reference_xlnet_records_give_the_raw_text_logits(tmp_path, xlnet_preprocessor):
    """Records as the XLNet reference writes them (pad id 0, float mask with
    1.0 = padding) predict exactly what the same classifier predicts from the
    raw text."""
    import keras

    x = (SENTENCES_A, SENTENCES_B)
    packed = {k: v.numpy() for k, v in xlnet_preprocessor(x).items()}
    path = str(tmp_path / "reference.tf_record")
    _write_examples(path, [
        {"input_ids": _int(np.where(packed["padding_mask"][i] == 1,
                                    packed["token_ids"][i], 0).tolist()),
         "input_mask": _float((1.0 - packed["padding_mask"][i]).tolist()),
         "segment_ids": _int(packed["segment_ids"][i].tolist()),
         "label_ids": _int([int(LABELS[i])]), "is_real_example": _int([1])}
        for i in range(len(SENTENCES_A))])
    keras.utils.set_random_seed(0)
    backbone = kerabert.XLNetBackbone(vocabulary_size=800, num_layers=1, num_heads=2,
                                      hidden_dim=8, intermediate_dim=16)
    classifier = kerabert.XLNetClassifier(backbone, num_classes=3,
                                          preprocessor=xlnet_preprocessor)
    expected = classifier.predict(x, batch_size=8, verbose=0)
    dataset = ct.read_classification_tfrecords(path, L, schema="xlnet", batch_size=8)
    np.testing.assert_allclose(classifier.predict(dataset, verbose=0), expected, atol=1e-6)


# --- meta data -------------------------------------------------------------------------


def test_meta_json_as_the_reference_writes_it(tmp_path, bert_preprocessor):
    meta_path = str(tmp_path / "meta" / "mrpc_meta_data")
    ct.write_classification_tfrecords(
        str(tmp_path / "train.tf_record"), bert_preprocessor, SENTENCES_A, LABELS % 2,
        num_labels=2, meta_path=meta_path, processor_type="MRPC", eval_data_size=408)
    expected = {"task_type": "bert_classification", "processor_type": "MRPC",
                "num_labels": 2, "train_data_size": 5, "max_seq_length": L,
                "eval_data_size": 408}
    with open(meta_path, encoding="utf-8") as f:
        text = f.read()
    assert text == json.dumps(expected, indent=4) + "\n"
    assert ct.read_meta(meta_path) == expected


@pytest.mark.parametrize("content,message", [
    ("{not json", "is not a meta data JSON file"),
    ("[1, 2]", "must be a JSON object, got list"),
    ('{"task_type": "bert_classification", "num_labels": 2, "max_seq_length": 128}',
     "lacks 'train_data_size'"),
    ('{"task_type": "bert_classification", "num_labels": "2", "train_data_size": 5, '
     '"max_seq_length": 128}', "'num_labels' must be an int, got '2'"),
    ('{"task_type": "bert_squad", "num_labels": 2, "train_data_size": 5, '
     '"max_seq_length": 384}', "task_type is 'bert_squad'"),
    ('{"task_type": "bert_classification", "num_labels": 0, "train_data_size": 5, '
     '"max_seq_length": 128}', "must be positive"),
    ('{"task_type": "bert_classification", "num_labels": 2, "train_data_size": 5, '
     '"max_seq_length": 128, "eval_data_size": 1.5}', "'eval_data_size' must be an int"),
])
def test_read_meta_errors(tmp_path, content, message):
    path = tmp_path / "meta.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        ct.read_meta(str(path))


def test_read_meta_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="Meta data file not found"):
        ct.read_meta(str(tmp_path / "nothing.json"))


# --- ram:// and atomic writes ------------------------------------------------------------


def test_ram_round_trip(xlnet_preprocessor):
    path = "ram://kerabert_ct_test/records/train.tf_record"
    meta_path = "ram://kerabert_ct_test/records/meta.json"
    ct.write_classification_tfrecords(path, xlnet_preprocessor, SENTENCES_A, LABELS,
                                      num_labels=3, meta_path=meta_path, processor_type="X")
    read, labels = _collect(ct.read_classification_tfrecords(
        "ram://kerabert_ct_test/records/*.tf_record", L, schema="xlnet"))
    _assert_same_inputs(read, xlnet_preprocessor(SENTENCES_A))
    assert labels.tolist() == LABELS.tolist()
    assert ct.read_meta(meta_path)["train_data_size"] == 5
    assert sorted(tf.io.gfile.listdir("ram://kerabert_ct_test/records")) == [
        "meta.json", "train.tf_record"]


def test_failed_write_leaves_no_partial_file(tmp_path, bert_preprocessor):
    path = tmp_path / "train.tf_record"
    path.write_bytes(b"previous")
    calls = []

    class Failing:
        sequence_length = L

        def __call__(self, x):
            calls.append(len(x))
            if len(calls) == 2:
                raise RuntimeError("tokenizer crashed")
            return bert_preprocessor(x)

    with pytest.raises(RuntimeError, match="tokenizer crashed"):
        ct.write_classification_tfrecords(str(path), Failing(), SENTENCES_A, LABELS,
                                          schema="bert", batch_size=2)
    assert os.listdir(tmp_path) == ["train.tf_record"]
    assert path.read_bytes() == b"previous"


# --- errors --------------------------------------------------------------------------------


def test_reader_reports_schema_and_length_mismatches(tmp_path, bert_preprocessor,
                                                     xlnet_preprocessor):
    bert_path = str(tmp_path / "bert.tf_record")
    xlnet_path = str(tmp_path / "xlnet.tf_record")
    ct.write_classification_tfrecords(bert_path, bert_preprocessor, SENTENCES_A, LABELS)
    ct.write_classification_tfrecords(xlnet_path, xlnet_preprocessor, SENTENCES_A, LABELS)
    with pytest.raises(ValueError, match="BERT records: pass schema='bert'"):
        ct.read_classification_tfrecords(bert_path, L, schema="xlnet")
    with pytest.raises(ValueError, match="XLNET records: pass schema='xlnet'"):
        ct.read_classification_tfrecords(xlnet_path, L)
    with pytest.raises(ValueError, match="the records hold 16 tokens, but sequence_length is "
                                         "128; pass sequence_length=16"):
        ct.read_classification_tfrecords(bert_path, 128)
    with pytest.raises(ValueError, match="label_ids are ints: class ids; pass regression=False"):
        ct.read_classification_tfrecords(bert_path, L, regression=True)
    scores_path = str(tmp_path / "scores.tf_record")
    ct.write_classification_tfrecords(scores_path, bert_preprocessor, SENTENCES_A,
                                      LABELS.astype(np.float32) / 2)
    with pytest.raises(ValueError, match="label_ids are floats.*pass regression=True"):
        ct.read_classification_tfrecords(scores_path, L)
    with pytest.raises(FileNotFoundError, match="does not match any files"):
        ct.read_classification_tfrecords(str(tmp_path / "missing-*.tf_record"), L)
    with pytest.raises(ValueError, match="schema must be 'bert' or 'xlnet'"):
        ct.read_classification_tfrecords(bert_path, L, schema="roberta")
    other = str(tmp_path / "other.tf_record")
    _write_examples(other, [{"input_ids": _int([1] * L)}])
    with pytest.raises(ValueError, match="the records lack 'input_mask'"):
        ct.read_classification_tfrecords(other, L)


def test_writer_errors(tmp_path, bert_preprocessor):
    path = str(tmp_path / "x.tf_record")
    with pytest.raises(ValueError, match="meta_path needs num_labels"):
        ct.write_classification_tfrecords(path, bert_preprocessor, SENTENCES_A, LABELS,
                                          meta_path=str(tmp_path / "m.json"))
    with pytest.raises(ValueError, match=r"class ids outside 0\.\.1"):
        ct.write_classification_tfrecords(path, bert_preprocessor, SENTENCES_A, LABELS,
                                          num_labels=2)
    with pytest.raises(ValueError, match=r"one label per example, shape \(5,\)"):
        ct.write_classification_tfrecords(path, bert_preprocessor, SENTENCES_A, LABELS[:3])
    with pytest.raises(ValueError, match="differ in length"):
        ct.write_classification_tfrecords(path, bert_preprocessor,
                                          (SENTENCES_A, SENTENCES_B[:2]), LABELS)
    with pytest.raises(ValueError, match="x is one str"):
        ct.write_classification_tfrecords(path, bert_preprocessor, "one sentence")
    with pytest.raises(ValueError, match="map label names to ids first"):
        ct.write_classification_tfrecords(path, bert_preprocessor, SENTENCES_A,
                                          np.array(["a"] * 5))
    with pytest.raises(ValueError, match="Cannot tell the schema of a object"):
        ct.write_classification_tfrecords(path, object(), SENTENCES_A, LABELS)
    with pytest.raises(ValueError, match="Regression data has one output"):
        ct.write_classification_tfrecords(path, bert_preprocessor, SENTENCES_A,
                                          np.ones(5, np.float32), num_labels=3)
    assert not os.path.exists(path)
