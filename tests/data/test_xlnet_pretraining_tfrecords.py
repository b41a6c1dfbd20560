"""XLNet's offline pretraining files: the reference's `preprocess_pretrain_data.py`
layout (`record_info-*.json`, `corpus_info.json`, TFRecords with `input`,
`target`, `seg_id`, `label`, `is_masked`), written and read back."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerabert
from kerabert.data import xlnet_pretraining as xp
from tests.conftest import XLNET_SPIECE
from tests.data.test_xlnet_pretraining import reference_local_perm

BOTCHAN = os.path.join(os.path.dirname(__file__), "..", "fixtures", "botchan.txt")
SEP, CLS = 4, 3
BSZ, SEQ, REUSE, NUM_PREDICT, PERM = 4, 32, 16, 8, 8
NAME = "bsz-4.seqlen-32.reuse-16.uni.alpha-6.beta-1.fnp-8"
# The reference's `corpus_info` keys (`preprocess_pretrain_data.create_data`).
CORPUS_INFO_KEYS = {"vocab_size", "bsz_per_host", "num_core_per_host", "seq_len", "reuse_len",
                    "uncased", "bi_data", "mask_alpha", "mask_beta", "num_predict", "use_eod",
                    "sp_path", "input_glob"}


def reference_parse(path):
    """Every record of a file, parsed with the reference reader's `record_spec`
    (`data_utils.create_pretrain_dataset`), as numpy."""
    spec = {
        "input": tf.io.FixedLenFeature([SEQ], tf.int64),
        "target": tf.io.FixedLenFeature([SEQ], tf.int64),
        "seg_id": tf.io.FixedLenFeature([SEQ], tf.int64),
        "label": tf.io.FixedLenFeature([1], tf.int64),
        "is_masked": tf.io.FixedLenFeature([SEQ], tf.int64),
    }
    return [{k: v.numpy() for k, v in tf.io.parse_single_example(r, spec).items()}
            for r in tf.data.TFRecordDataset(path)]


@pytest.fixture(scope="module")
def tokenizer():
    return kerabert.XLNetTokenizer(proto=XLNET_SPIECE)


@pytest.fixture(scope="module")
def corpus():
    """Two thirds of botchan in two files under ram://, a filesystem only
    `tf.io.gfile` reaches (no Python `open` or `os` call would find them)."""
    with open(BOTCHAN, encoding="utf-8-sig") as f:
        lines = [line.strip() for line in f if line.strip()][:1200]
    for part in range(2):
        with tf.io.gfile.GFile(f"ram://xlnet_corpus/part-{part}.txt", "w") as f:
            for i, line in enumerate(lines[part * 600:(part + 1) * 600]):
                f.write(line + ("\n\n" if i % 40 == 39 else "\n"))
    return "ram://xlnet_corpus/*.txt"


@pytest.fixture(scope="module")
def written(corpus, tokenizer):
    """Pretraining files of two tasks (one input file each), under ram://."""
    infos = [xp.create_tfrecords(corpus, tokenizer, "ram://xlnet_out", batch_size=BSZ,
                                 seq_len=SEQ, reuse_len=REUSE, num_predict=NUM_PREDICT,
                                 task=task, num_task=2)
             for task in range(2)]
    return infos


def test_files_and_record_info_follow_the_reference(written, tokenizer):
    assert sorted(tf.io.gfile.listdir("ram://xlnet_out")) == ["corpus_info.json", "tfrecords"]
    assert sorted(tf.io.gfile.listdir("ram://xlnet_out/tfrecords")) == sorted(
        [f"record_info-train-{t}-0.{NAME}.json" for t in range(2)]
        + [f"train-{t}-0.{NAME}.tfrecords" for t in range(2)])
    for task, info in enumerate(written):
        path = f"ram://xlnet_out/tfrecords/record_info-train-{task}-0.{NAME}.json"
        with tf.io.gfile.GFile(path) as f:
            on_disk = json.load(f)
        assert on_disk == info
        assert set(on_disk) == {"filenames", "num_batch"}
        assert on_disk["filenames"] == [
            f"ram://xlnet_out/tfrecords/train-{task}-0.{NAME}.tfrecords"]
        records = reference_parse(on_disk["filenames"][0])
        # Whole batches only: num_batch batches of bsz_per_host records.
        assert len(records) == on_disk["num_batch"] * BSZ and on_disk["num_batch"] > 20
    with tf.io.gfile.GFile("ram://xlnet_out/corpus_info.json") as f:
        corpus_info = json.load(f)
    assert set(corpus_info) == CORPUS_INFO_KEYS
    assert (corpus_info["bsz_per_host"], corpus_info["seq_len"], corpus_info["reuse_len"],
            corpus_info["num_predict"], corpus_info["vocab_size"]) == (
        BSZ, SEQ, REUSE, NUM_PREDICT, tokenizer.vocabulary_size())


def test_records_have_the_reference_layout(written, tokenizer):
    # Task 1 read the second file: its token stream, as the reference's
    # `batchify` cuts it into bsz_per_host rows.
    ids, _ = xp.read_corpus("ram://xlnet_corpus/part-1.txt", tokenizer)
    length = len(ids) // BSZ
    rows = ids[:length * BSZ].reshape(BSZ, length)
    records = reference_parse(written[1]["filenames"][0])
    continuations = 0
    for index, record in enumerate(records):
        step, row = divmod(index, BSZ)
        inputs, target, seg_id = record["input"], record["target"], record["seg_id"]
        # Reused part: the row's next reuse_len tokens; its targets: the same
        # shifted by one (the reference's `tgt = data[i + 1:i + reuse_len + 1]`).
        start = step * REUSE
        np.testing.assert_array_equal(inputs[:REUSE], rows[row, start:start + REUSE])
        np.testing.assert_array_equal(target[:REUSE], rows[row, start + 1:start + REUSE + 1])
        # A <sep> B <sep> <cls>, segments 0 / 1 / 2.
        seps = np.flatnonzero(inputs[REUSE:] == SEP) + REUSE
        assert len(seps) == 2 and seps[1] == SEQ - 2 and inputs[-1] == CLS
        a_len, b_len = seps[0] - REUSE, SEQ - 3 - REUSE - (seps[0] - REUSE)
        assert a_len >= 1 and b_len >= 1
        np.testing.assert_array_equal(
            seg_id, [0] * (REUSE + a_len + 1) + [1] * (b_len + 1) + [2])
        # A's targets are A shifted by one; B's are B from its first token on;
        # the last two are <cls> (padding, as the reference writes them).
        a_start, b_start = REUSE, REUSE + a_len + 1
        np.testing.assert_array_equal(target[a_start:a_start + a_len - 1],
                                      inputs[a_start + 1:a_start + a_len])
        np.testing.assert_array_equal(target[a_start + a_len:a_start + a_len + b_len],
                                      inputs[b_start:b_start + b_len])
        np.testing.assert_array_equal(target[-2:], [CLS, CLS])
        # A is the row's text after the reused part; its last target is the
        # token after it in the row.
        a_end = start + REUSE + a_len
        np.testing.assert_array_equal(inputs[a_start:a_start + a_len],
                                      rows[row, a_end - a_len:a_end])
        assert target[a_start + a_len - 1] == rows[row, a_end]
        if record["label"][0] == 1:
            # B continues the row after A (A may have been cut on the right).
            b = inputs[b_start:b_start + b_len]
            assert any(np.array_equal(rows[row, p:p + b_len], b)
                       for p in range(a_end, a_end + SEQ - REUSE))
            continuations += 1
        # num_predict positions, half (rounded up) in the reused part.
        mask = record["is_masked"]
        assert set(np.unique(mask)) <= {0, 1}
        assert mask.sum() == NUM_PREDICT and mask[:REUSE].sum() == NUM_PREDICT - NUM_PREDICT // 2
    assert 0.25 < continuations / len(records) < 0.75


def _is_local_perm(tokens, is_masked, perm_mask):
    """Whether `perm_mask` is the reference's `_local_perm` mask for some
    factorisation order: the order of the hidden tokens (masked or <sep>/<cls>)
    is recovered from how many of them each one sees, then the reference
    algorithm is run with it."""
    hidden = np.flatnonzero(is_masked | (tokens == SEP) | (tokens == CLS))
    sees = {i: sum(perm_mask[i, j] == 0 for j in hidden if j != i) for i in hidden}
    order = np.zeros(len(tokens), np.int64)
    order[sorted(hidden, key=sees.get)] = np.arange(len(hidden))
    expected, targets = reference_local_perm(tokens, is_masked, order)
    return np.array_equal(perm_mask, expected), targets


def test_read_back_batches_are_what_the_reference_reader_makes(written):
    records = reference_parse(written[0]["filenames"][0])
    dataset = xp.read_tfrecords("ram://xlnet_out/tfrecords", BSZ, SEQ, REUSE, NUM_PREDICT,
                                perm_size=PERM, shuffle_files=False)
    spec = {k: (tuple(v.shape), v.dtype) for part in dataset.element_spec for k, v in part.items()}
    assert spec == {"token_ids": ((BSZ, SEQ), tf.int32), "segment_ids": ((BSZ, SEQ), tf.int32),
                    "perm_mask": ((BSZ, SEQ, SEQ), tf.float32),
                    "target_mapping": ((BSZ, NUM_PREDICT, SEQ), tf.float32),
                    "target": ((BSZ, NUM_PREDICT), tf.int32),
                    "target_mask": ((BSZ, NUM_PREDICT), tf.float32)}
    # Unshuffled, the files come in record_info order: task 0's first.
    for step, (x, y) in enumerate(dataset.take(6)):
        for row in range(BSZ):
            record = records[step * BSZ + row]
            tokens, is_masked = record["input"], record["is_masked"].astype(bool)
            np.testing.assert_array_equal(x["token_ids"][row], tokens)
            np.testing.assert_array_equal(x["segment_ids"][row], record["seg_id"])
            perm_mask = x["perm_mask"][row].numpy()
            # The reused part never sees the new part; the new part sees it all.
            assert (perm_mask[:REUSE, REUSE:] == 1).all() and (perm_mask[REUSE:, :REUSE] == 0).all()
            part_targets = []
            for part in (slice(0, REUSE), slice(REUSE, SEQ)):
                ok, chosen = _is_local_perm(tokens[part], is_masked[part], perm_mask[part, part])
                assert ok
                part_targets.append(chosen)
            targets = np.flatnonzero(np.concatenate(part_targets))
            # The reference's targets: masked positions that are not <sep>/<cls>.
            np.testing.assert_array_equal(
                targets, np.flatnonzero(is_masked & (tokens != SEP) & (tokens != CLS)))
            mapping, mask = x["target_mapping"][row].numpy(), y["target_mask"][row].numpy()
            count = len(targets)
            # One-hot rows on the targets in position order, then zero padding.
            np.testing.assert_array_equal(mask, [1] * count + [0] * (NUM_PREDICT - count))
            np.testing.assert_array_equal(mapping.sum(axis=1), mask)
            np.testing.assert_array_equal(mapping[:count].argmax(axis=1), targets)
            # Never <sep> or <cls>; each target is its position's own token.
            assert not np.isin(tokens[targets], [SEP, CLS]).any()
            np.testing.assert_array_equal(y["target"][row][:count], tokens[targets])
            np.testing.assert_array_equal(y["target"][row][count:], 0)
            # A target cannot see itself (the query stream predicts it).
            assert (perm_mask[targets, targets] == 1).all()


def test_permutations_are_new_at_every_read(written):
    dataset = xp.read_tfrecords("ram://xlnet_out/tfrecords", BSZ, SEQ, REUSE, NUM_PREDICT,
                                shuffle_files=False, repeat=False)
    steps = sum(info["num_batch"] for info in written)
    first = [x["perm_mask"].numpy() for x, _ in dataset]
    second = [x["perm_mask"].numpy() for x, _ in dataset]
    assert len(first) == len(second) == steps
    assert not all(np.array_equal(a, b) for a, b in zip(first, second))


def test_sharded_reading_gives_each_pipeline_its_files(written):
    seen = []
    for pipeline in range(2):
        context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=pipeline,
                                             num_replicas_in_sync=4)
        dataset = xp.read_tfrecords("ram://xlnet_out/tfrecords", BSZ, SEQ, REUSE, NUM_PREDICT,
                                    input_context=context, repeat=False)
        # Two replicas per pipeline share its batch of 4 rows.
        first = [x["token_ids"].numpy() for x, _ in dataset.take(2)]
        assert first[0].shape == (2, SEQ)
        seen.append(np.concatenate(first))
    expected = [np.stack([r["input"] for r in reference_parse(info["filenames"][0])[:BSZ]])
                for info in written]
    for rows in seen:  # each pipeline starts at the first batch of one file
        assert any(np.array_equal(rows, e) for e in expected)
    assert not np.array_equal(seen[0], seen[1])


def test_wrong_settings_name_the_files_there(written):
    with pytest.raises(FileNotFoundError, match=r"record_info-train-0-0\.bsz-4\.seqlen-32"):
        xp.read_tfrecords("ram://xlnet_out/tfrecords", 8, SEQ, REUSE, NUM_PREDICT)


def test_pretrainer_trains_on_the_records(written, tokenizer):
    dataset = xp.read_tfrecords("ram://xlnet_out/tfrecords", BSZ, SEQ, REUSE, NUM_PREDICT,
                                perm_size=PERM, seed=0)
    keras.utils.set_random_seed(0)
    backbone = kerabert.XLNetBackbone(
        vocabulary_size=tokenizer.vocabulary_size(), num_layers=1, num_heads=2, hidden_dim=16,
        intermediate_dim=32, mem_len=REUSE, reuse_len=REUSE)
    pretrainer = kerabert.XLNetPretrainer(backbone, batch_size=BSZ)
    before = [w.numpy() for w in pretrainer.trainable_weights]
    history = pretrainer.fit(dataset, steps_per_epoch=2, verbose=0)
    # An untrained model is close to uniform over the 800 pieces.
    assert abs(history.history["lm_loss"][0] - np.log(800)) < 0.5
    after = [w.numpy() for w in pretrainer.trainable_weights]
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))
    assert any(np.abs(m.numpy()).max() > 0 for m in pretrainer._memory)
