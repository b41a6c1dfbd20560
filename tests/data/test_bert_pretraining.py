"""BERT pretraining data: the create_pretraining_data recipe, TFRecords, readers."""

import collections
import glob
import os
import random

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerabert
from kerabert.data import bert_pretraining as bp
from kerabert.tokenizers.bert_tokenizer import BertTokenizer

BOTCHAN = os.path.join(os.path.dirname(__file__), "..", "fixtures", "botchan.txt")
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
L, P = 64, 10


def _botchan_lines():
    with open(BOTCHAN, encoding="utf-8-sig") as f:
        return [line.strip() for line in f if line.strip()]


def _write_corpus(path, lines, lines_per_document):
    """Each line is a "sentence"; a blank line every `lines_per_document`."""
    with open(path, "w", encoding="utf-8") as f:
        for i, line in enumerate(lines):
            if i and i % lines_per_document == 0:
                f.write("\n")
            f.write(line + "\n")


@pytest.fixture(scope="module")
def tokenizer():
    # Only the 300 most frequent words are whole tokens, so most other words
    # split into "##" pieces (what whole-word masking is about).
    return BertTokenizer(bp.frequency_vocabulary(BOTCHAN, num_words=300))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("corpus") / "botchan.txt")
    _write_corpus(path, _botchan_lines()[:2400], 24)
    return path


@pytest.fixture(scope="module")
def documents(corpus):
    return bp.read_documents(corpus)


@pytest.fixture(scope="module")
def instances(documents, tokenizer):
    return bp.create_instances(documents, tokenizer, max_seq_length=L,
                               max_predictions_per_seq=P, dupe_factor=2, seed=7)


def _restore(instance):
    ids = list(instance.token_ids)
    for position, original in zip(instance.masked_positions, instance.masked_ids):
        ids[position] = original
    return ids


def test_read_documents(tmp_path):
    (tmp_path / "a.txt").write_text("one.\ntwo.\n\n\nthree.\n")
    (tmp_path / "b.txt").write_text("four.\n\nfive.\nsix.\n\n")
    assert bp.read_documents(str(tmp_path / "*.txt")) == [
        ["one.", "two."], ["three."], ["four."], ["five.", "six."]]
    with pytest.raises(ValueError, match="does not match any files"):
        bp.read_documents(str(tmp_path / "missing*.txt"))


def test_instance_invariants(instances, tokenizer, documents):
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    assert len(instances) > 300
    lengths = []
    for inst in instances:
        n = len(inst.token_ids)
        lengths.append(n)
        assert n <= L and len(inst.segment_ids) == n
        original = _restore(inst)
        a_len = inst.segment_ids.count(0) - 2
        b_len = inst.segment_ids.count(1) - 1
        assert a_len >= 1 and b_len >= 1
        assert inst.segment_ids == [0] * (a_len + 2) + [1] * (b_len + 1)
        assert original[0] == cls and original[a_len + 1] == sep and original[-1] == sep
        assert original.count(cls) == 1 and original.count(sep) == 2
        # [CLS]/[SEP] are never chosen for prediction.
        assert not {0, a_len + 1, n - 1} & set(inst.masked_positions)
        assert inst.masked_positions == sorted(set(inst.masked_positions))
        assert len(inst.masked_positions) == min(P, max(1, int(round(n * 0.15))))
    # Most pairs fill the budget; short_seq_prob gives some short ones.
    assert np.mean(np.array(lengths) >= L - 5) > 0.6
    assert min(lengths) < L // 2
    random_next = np.mean([inst.is_random_next for inst in instances])
    assert 0.42 < random_next < 0.62, random_next


def test_actual_next_continues_the_document(tokenizer):
    # Without random next, A + B must be consecutive sentences of one document
    # whenever nothing was truncated.
    documents = [[f"the cat sat {w}." for w in ("on", "a", "mat", "and", "was", "good")]
                 for _ in range(3)]
    stream = [t for s in bp.tokenize_documents(documents, tokenizer)[0] for t in s]
    found = 0
    for inst in bp.create_instances(documents, tokenizer, max_seq_length=L, dupe_factor=4,
                                    seed=3):
        if inst.is_random_next:
            continue
        original = _restore(inst)
        pair = [t for t in original[1:-1] if t != tokenizer.sep_token_id]
        text = " ".join(map(str, stream))
        assert " ".join(map(str, pair)) in text
        found += 1
    assert found > 0


def test_mask_split_80_10_10(tokenizer):
    tokens = [tokenizer.cls_token_id] + list(range(5, 105)) + [tokenizer.sep_token_id]
    rng = random.Random(0)
    mask, kept, other, total = 0, 0, 0, 0
    for _ in range(400):
        output, positions, labels = bp._mask_tokens(
            tokens, {tokenizer.cls_token_id, tokenizer.sep_token_id}, lambda t: False,
            tokenizer.vocabulary_size(), tokenizer.mask_token_id, 0.15, 100, False, rng)
        assert len(positions) == round(len(tokens) * 0.15) == 15
        assert labels == [tokens[p] for p in positions]
        chosen = set(positions)
        assert all(output[i] == tokens[i] for i in range(len(tokens)) if i not in chosen)
        for p in positions:
            total += 1
            if output[p] == tokenizer.mask_token_id:
                mask += 1
            elif output[p] == tokens[p]:
                kept += 1
            else:
                other += 1
    assert abs(mask / total - 0.8) < 0.02
    assert abs(kept / total - 0.1) < 0.015
    assert abs(other / total - 0.1) < 0.015


def test_whole_word_masking(documents, tokenizer):
    vocabulary = tokenizer.get_vocabulary()
    specials = {tokenizer.cls_token_id, tokenizer.sep_token_id}

    def broken_words(whole_word_masking):
        broken, predictions = 0, 0
        for inst in bp.create_instances(documents[:40], tokenizer, max_seq_length=L,
                                        max_predictions_per_seq=P, dupe_factor=2, seed=5,
                                        whole_word_masking=whole_word_masking):
            original = _restore(inst)
            chosen = set(inst.masked_positions)
            n = len(original)
            assert len(chosen) <= min(P, max(1, int(round(n * 0.15))))
            predictions += len(chosen)
            for p in chosen:
                # A continuation piece goes with the piece before it, and a
                # word's next "##" piece goes with it.
                if vocabulary[original[p]].startswith("##") and original[p - 1] not in specials:
                    broken += (p - 1) not in chosen
                if p + 1 < n and vocabulary[original[p + 1]].startswith("##"):
                    broken += (p + 1) not in chosen
        return broken, predictions

    broken, predictions = broken_words(True)
    assert broken == 0 and predictions > 500
    assert broken_words(False)[0] > 50  # the check above is not vacuous


def test_deterministic_with_seed(documents, tokenizer):
    make = lambda seed: bp.create_instances(  # noqa: E731
        documents[:30], tokenizer, max_seq_length=L, dupe_factor=2, seed=seed)
    first = make(11)
    assert first == make(11)
    assert first != make(12)


def test_dupe_factor_copies_differ_in_masks(tokenizer):
    # Two sentences per document and no short targets: every "actual next"
    # pair is the same A/B in every copy, so only the mask can differ.
    documents = [[f"the {w} cat sat on the mat .", f"a good dog was not {w} ."]
                 for w in ("quick", "brown", "lazy", "bad", "old", "big")]
    instances = bp.create_instances(documents, tokenizer, max_seq_length=L, short_seq_prob=0.0,
                                    dupe_factor=10, seed=1)
    # 60 chunks; a random next puts the second sentence back, which then makes
    # a (random-next) pair of its own.
    assert len(instances) == 60 + sum(i.is_random_next for i in instances) // 2
    groups = collections.defaultdict(list)
    for inst in instances:
        if not inst.is_random_next:
            groups[tuple(_restore(inst))].append(inst)
    repeated = [g for g in groups.values() if len(g) >= 2]
    assert repeated
    for group in repeated:
        masks = {(tuple(i.masked_positions), tuple(i.token_ids)) for i in group}
        assert len(masks) > 1


def _reference_parse(path, next_sentence=True):
    """Parses like the reference `input_pipeline` / `pretrain_dataloader`; with
    `next_sentence=False` as Model Garden's dataloader with
    `use_next_sentence_label=False`, whose spec has no `next_sentence_labels`."""
    spec = {
        "input_ids": tf.io.FixedLenFeature([L], tf.int64),
        "input_mask": tf.io.FixedLenFeature([L], tf.int64),
        "segment_ids": tf.io.FixedLenFeature([L], tf.int64),
        "masked_lm_positions": tf.io.FixedLenFeature([P], tf.int64),
        "masked_lm_ids": tf.io.FixedLenFeature([P], tf.int64),
        "masked_lm_weights": tf.io.FixedLenFeature([P], tf.float32),
    }
    if next_sentence:
        spec["next_sentence_labels"] = tf.io.FixedLenFeature([1], tf.int64)
    return [tf.io.parse_single_example(r, spec) for r in tf.data.TFRecordDataset(path)]


def test_tfrecord_round_trip(instances, tmp_path):
    subset = instances[:40]
    files = [str(tmp_path / "out" / f"part-{i}.tfrecord") for i in range(2)]
    assert bp.write_tfrecords(subset, files, L, P) == [20, 20]
    assert sorted(os.listdir(tmp_path / "out")) == ["part-0.tfrecord", "part-1.tfrecord"]
    for shard, path in enumerate(files):
        records = _reference_parse(path)
        for record, inst in zip(records, subset[shard::2]):
            n, k = len(inst.token_ids), len(inst.masked_positions)
            assert record["input_ids"].dtype == tf.int64
            assert record["masked_lm_weights"].dtype == tf.float32
            np.testing.assert_array_equal(record["input_ids"], inst.token_ids + [0] * (L - n))
            np.testing.assert_array_equal(record["input_mask"], [1] * n + [0] * (L - n))
            np.testing.assert_array_equal(record["segment_ids"],
                                          inst.segment_ids + [0] * (L - n))
            np.testing.assert_array_equal(record["masked_lm_positions"],
                                          inst.masked_positions + [0] * (P - k))
            np.testing.assert_array_equal(record["masked_lm_ids"],
                                          inst.masked_ids + [0] * (P - k))
            np.testing.assert_array_equal(record["masked_lm_weights"], [1] * k + [0] * (P - k))
            assert record["next_sentence_labels"].numpy().tolist() == [int(inst.is_random_next)]

    dataset = bp.read_tfrecords(str(tmp_path / "out" / "part-*.tfrecord"), 8, L, P,
                                shuffle=False, repeat=False)
    batches = list(dataset)
    assert len(batches) == 5
    x, y = batches[0]
    assert {k: (v.dtype, tuple(v.shape)) for k, v in x.items()} == {
        "token_ids": (tf.int32, (8, L)), "segment_ids": (tf.int32, (8, L)),
        "padding_mask": (tf.int32, (8, L)), "masked_positions": (tf.int32, (8, P))}
    assert {k: (v.dtype, tuple(v.shape)) for k, v in y.items()} == {
        "masked_ids": (tf.int32, (8, P)), "masked_weights": (tf.float32, (8, P)),
        "next_sentence_labels": (tf.int32, (8,))}
    # Interleaving the two round-robin files restores the written order.
    rows = [(tuple(x["token_ids"][i].numpy()[x["padding_mask"][i].numpy() > 0]),
             tuple(x["masked_positions"][i].numpy()[y["masked_weights"][i].numpy() > 0]),
             tuple(y["masked_ids"][i].numpy()[y["masked_weights"][i].numpy() > 0]),
             int(y["next_sentence_labels"][i]))
            for x, y in batches for i in range(8)]
    assert rows == [(tuple(i.token_ids), tuple(i.masked_positions), tuple(i.masked_ids),
                     int(i.is_random_next)) for i in subset]
    # Shuffled and repeated: still full static batches.
    shuffled = bp.read_tfrecords(files, 16, L, P, seed=0)
    assert shuffled.element_spec[0]["token_ids"].shape.as_list() == [16, L]
    assert len(list(shuffled.take(4))) == 4


def test_write_is_atomic(instances, tmp_path):
    path = tmp_path / "data.tfrecord"
    path.write_bytes(b"old")
    too_long = bp.PretrainingInstance([1] * (L + 1), [0] * (L + 1), False, [1], [1])

    def stream():
        yield from instances[:7]
        yield too_long

    with pytest.raises(ValueError, match="max_seq_length"):
        bp.write_tfrecords(stream(), [str(path), str(tmp_path / "new.tfrecord")], L, P)
    assert sorted(os.listdir(tmp_path)) == ["data.tfrecord"]
    assert path.read_bytes() == b"old"

    def crashing():
        yield from instances[:3]
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        bp.write_tfrecords(crashing(), str(path), L, P)
    assert sorted(os.listdir(tmp_path)) == ["data.tfrecord"]


@pytest.mark.parametrize("num_files", [1, 4])
def test_read_sharded_with_input_context(instances, tmp_path, num_files):
    subset = instances[:48]
    files = [str(tmp_path / f"shard-{i}.tfrecord") for i in range(num_files)]
    bp.write_tfrecords(subset, files, L, P)
    seen = []
    for pipeline in range(2):
        context = tf.distribute.InputContext(num_input_pipelines=2, input_pipeline_id=pipeline,
                                             num_replicas_in_sync=2)
        dataset = bp.read_tfrecords(files, 8, L, P, shuffle=False, repeat=False,
                                    input_context=context)
        rows = []
        for x, _ in dataset:
            assert x["token_ids"].shape == (4, L)  # the per-replica batch
            rows += [tuple(r) for r in x["token_ids"].numpy()]
        assert len(rows) == 24
        seen.append(collections.Counter(rows))
    everything = collections.Counter(tuple(i.token_ids + [0] * (L - len(i.token_ids)))
                                     for i in subset)
    assert seen[0] + seen[1] == everything


def test_create_pretraining_tfrecords(corpus, tokenizer, tmp_path):
    out = str(tmp_path / "pretrain.tfrecord")
    count = bp.create_pretraining_tfrecords(corpus, tokenizer, [out], max_seq_length=L,
                                            max_predictions_per_seq=P, dupe_factor=1, seed=2)
    assert count > 100
    assert len(_reference_parse(out)) == count
    assert not glob.glob(out + ".tmp-*")


def test_dynamic_pretraining_dataset(tmp_path, tokenizer):
    preprocessor = kerabert.BertPretrainerPreprocessor(
        tokenizer, sequence_length=L, max_predictions_per_seq=P)
    path = str(tmp_path / "small.txt")
    _write_corpus(path, _botchan_lines()[:480], 12)
    dataset = bp.bert_pretraining_dataset(path, preprocessor, batch_size=16, seed=0,
                                          repeat=False)
    x, y = next(iter(dataset))
    assert {k: (v.dtype, tuple(v.shape)) for k, v in x.items()} == {
        "token_ids": (tf.int32, (16, L)), "segment_ids": (tf.int32, (16, L)),
        "padding_mask": (tf.int32, (16, L)), "masked_positions": (tf.int32, (16, P))}
    assert y["next_sentence_labels"].shape == (16,)
    assert y["masked_weights"].dtype == tf.float32

    def epoch():
        tokens, labels, positions = [], [], []
        for x, y in dataset:
            np.testing.assert_array_equal(x["token_ids"][:, 0], tokenizer.cls_token_id)
            tokens.append(x["token_ids"].numpy())
            positions.append(x["masked_positions"].numpy())
            labels.append(y["next_sentence_labels"].numpy())
        return np.concatenate(tokens), np.concatenate(positions), np.concatenate(labels)

    tokens_1, positions_1, labels_1 = epoch()
    tokens_2, positions_2, labels_2 = epoch()
    assert 0.4 < labels_1.mean() < 0.65
    # Pairs and masks are drawn anew each epoch.
    assert tokens_1.shape[0] > 16
    assert not np.array_equal(labels_1[:len(labels_2)], labels_2[:len(labels_1)])
    assert not np.array_equal(positions_1[:16], positions_2[:16])


def test_entry_points_are_exported_from_kerabert_data():
    import kerabert

    assert kerabert.data.bert_pretraining_dataset is bp.bert_pretraining_dataset
    assert kerabert.data.read_tfrecords is bp.read_tfrecords
    assert kerabert.data.xlnet_pretraining_dataset.__module__ == "kerabert.data.xlnet_pretraining"


# --- masked-LM-only records, static shapes, tf.io.gfile paths --------------------


def test_mlm_only_tfrecords_round_trip(instances, tmp_path):
    subset = instances[:24]
    path = str(tmp_path / "mlm.tfrecord")
    assert bp.write_tfrecords(subset, path, L, P, next_sentence=False) == [24]
    for raw in tf.data.TFRecordDataset(path):
        features = tf.train.Example.FromString(raw.numpy()).features.feature
        assert set(features) == {"input_ids", "input_mask", "segment_ids", "masked_lm_positions",
                                 "masked_lm_ids", "masked_lm_weights"}
    for record, inst in zip(_reference_parse(path, next_sentence=False), subset):
        n, k = len(inst.token_ids), len(inst.masked_positions)
        np.testing.assert_array_equal(record["input_ids"], inst.token_ids + [0] * (L - n))
        np.testing.assert_array_equal(record["masked_lm_positions"],
                                      inst.masked_positions + [0] * (P - k))
        np.testing.assert_array_equal(record["masked_lm_weights"], [1] * k + [0] * (P - k))
    assert not bp.has_next_sentence_labels(path)

    # Detected from the first record: y has no next_sentence_labels.
    dataset = bp.read_tfrecords(path, 8, L, P, shuffle=False, repeat=False)
    assert set(dataset.element_spec[1]) == {"masked_ids", "masked_weights"}
    rows = [tuple(x["token_ids"][i].numpy()[x["padding_mask"][i].numpy() > 0])
            for x, _ in dataset for i in range(8)]
    assert rows == [tuple(inst.token_ids) for inst in subset]
    with pytest.raises(tf.errors.InvalidArgumentError, match="next_sentence_labels"):
        next(iter(bp.read_tfrecords(path, 8, L, P, use_next_sentence_label=True)))

    # Records with labels read as masked-LM-only when asked, as Model Garden's option.
    nsp = str(tmp_path / "nsp.tfrecord")
    bp.write_tfrecords(subset, nsp, L, P)
    assert bp.has_next_sentence_labels(nsp)
    assert "next_sentence_labels" in bp.read_tfrecords(nsp, 8, L, P).element_spec[1]
    assert "next_sentence_labels" not in bp.read_tfrecords(
        nsp, 8, L, P, use_next_sentence_label=False).element_spec[1]


def test_pretrainer_fits_on_mlm_only_records(corpus, tokenizer, tmp_path):
    path = str(tmp_path / "mlm.tfrecord")
    count = bp.create_pretraining_tfrecords(corpus, tokenizer, path, next_sentence=False,
                                            max_seq_length=L, max_predictions_per_seq=P,
                                            dupe_factor=1, seed=4)
    assert count == len(_reference_parse(path, next_sentence=False))
    dataset = bp.read_tfrecords(path, 4, L, P, shuffle=False)
    x, y = next(iter(dataset))

    keras.utils.set_random_seed(0)
    backbone = kerabert.BertBackbone(vocabulary_size=tokenizer.vocabulary_size(), num_layers=1,
                                     num_heads=2, hidden_dim=16, intermediate_dim=32,
                                     max_sequence_length=L, dropout=0.0, attention_dropout=0.0)
    pretrainer = kerabert.BertPretrainer(backbone)
    # The masked-LM loss alone, by hand from the untrained model's outputs: the
    # loss of the first step.
    log_probs = pretrainer(x)["mlm_log_probs"].numpy()
    weights = y["masked_weights"].numpy()
    picked = np.take_along_axis(log_probs, y["masked_ids"].numpy()[..., None], -1)[..., 0]
    expected = -(picked * weights).sum() / (weights.sum() + 1e-5)

    history = pretrainer.fit(dataset, steps_per_epoch=1, verbose=0)
    np.testing.assert_allclose(history.history["loss"], [expected], rtol=1e-5)
    np.testing.assert_allclose(history.history["lm_example_loss"], [expected], rtol=1e-5)
    assert history.history["next_sentence_loss"] == [0.0]  # never updated


def test_training_datasets_have_static_shapes(instances, tokenizer, corpus, tmp_path):
    path = str(tmp_path / "data.tfrecord")
    bp.write_tfrecords(instances[:20], path, L, P)

    def shapes(dataset):
        x, y = dataset.element_spec
        return {k: tuple(spec.shape) for k, spec in {**x, **y}.items()}

    static = {"token_ids": (8, L), "segment_ids": (8, L), "padding_mask": (8, L),
              "masked_positions": (8, P), "masked_ids": (8, P), "masked_weights": (8, P),
              "next_sentence_labels": (8,)}
    assert shapes(bp.read_tfrecords(path, 8, L, P)) == static
    # Evaluating every record once keeps the last partial batch: not static.
    last = bp.read_tfrecords(path, 8, L, P, shuffle=False, repeat=False, drop_remainder=False)
    assert [len(x["token_ids"]) for x, _ in last] == [8, 8, 4]
    assert all(shape[0] is None for shape in shapes(last).values())

    preprocessor = kerabert.BertPretrainerPreprocessor(
        tokenizer, sequence_length=L, max_predictions_per_seq=P)
    dynamic = bp.bert_pretraining_dataset(corpus, preprocessor, batch_size=8, seed=0)
    assert shapes(dynamic) == static
    partial = bp.bert_pretraining_dataset(corpus, preprocessor, batch_size=8, seed=0,
                                          repeat=False, drop_remainder=False)
    assert all(shape[0] is None for shape in shapes(partial).values())
    sizes = [len(x["token_ids"]) for x, _ in partial]
    assert set(sizes[:-1]) == {8} and 0 < sizes[-1] <= 8


def test_tfrecords_through_gfile_paths(tokenizer):
    # ram:// is a TensorFlow filesystem that no Python `open` or `os` call
    # reaches: the round trip works only if every access goes through tf.io.gfile.
    with tf.io.gfile.GFile("ram://bert_corpus/part-0.txt", "w") as f:
        f.write("\n".join(_botchan_lines()[:240:2]) + "\n\n" + "\n".join(_botchan_lines()[1:240:2]))
    outputs = [f"ram://bert_out/{i}.tfrecord" for i in range(2)]
    count = bp.create_pretraining_tfrecords("ram://bert_corpus/*.txt", tokenizer, outputs,
                                            max_seq_length=L, max_predictions_per_seq=P,
                                            dupe_factor=1, seed=1)
    assert sorted(tf.io.gfile.listdir("ram://bert_out")) == ["0.tfrecord", "1.tfrecord"]
    dataset = bp.read_tfrecords("ram://bert_out/*.tfrecord", 2, L, P, shuffle=False,
                                repeat=False, drop_remainder=False)
    assert sum(len(x["token_ids"]) for x, _ in dataset) == count > 10
