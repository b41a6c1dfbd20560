"""XLNet permutation-LM data and XLNetPretrainer (as Model Garden's `official/nlp/xlnet`)."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
import torch

import kerabert
from kerabert.data import xlnet_pretraining
from kerabert.tasks.xlnet_pretrainer import XLNetPretrainer
from tests.conftest import XLNET_SPIECE
from tests.conftest import save_tiny_hf_xlnet

BOTCHAN = os.path.join(os.path.dirname(__file__), "..", "fixtures", "botchan.txt")
SEP, CLS = 4, 3


def reference_local_perm(inputs, is_masked, index):
    """The reference `_local_perm` (official/nlp/xlnet/data_utils.py) in numpy,
    with the shuffled `index` given."""
    non_func = ~((inputs == SEP) | (inputs == CLS))
    non_mask = ~is_masked & non_func
    masked_or_func = ~non_mask
    rev_index = np.where(non_mask, -1, index)
    target_tokens = masked_or_func & non_func
    self_rev_index = np.where(target_tokens, rev_index, rev_index + 1)
    perm_mask = (self_rev_index[:, None] <= rev_index[None, :]) & masked_or_func
    return perm_mask.astype("float32"), target_tokens


def test_permutation_masks_match_the_reference():
    rng = np.random.default_rng(0)
    for _ in range(20):
        inputs = rng.integers(0, 30, 16).astype("int32")
        inputs[rng.integers(0, 16, 3)] = SEP
        inputs[-1] = CLS
        is_masked = rng.random(16) < 0.3
        order = xlnet_pretraining.random_order(16, 4).numpy()
        assert sorted(order) == list(range(16))
        # Every block of 4 is permuted with the same offsets.
        assert len({tuple(order[i:i + 4] - i) for i in range(0, 16, 4)}) == 1
        ours, targets = xlnet_pretraining.permutation_masks(
            tf.constant(inputs), tf.constant(is_masked), tf.constant(order), SEP, CLS)
        expected, expected_targets = reference_local_perm(inputs, is_masked, order)
        np.testing.assert_array_equal(ours.numpy(), expected)
        np.testing.assert_array_equal(targets.numpy(), expected_targets)
        assert not targets.numpy()[(inputs == SEP) | (inputs == CLS)].any()


@pytest.fixture(scope="module")
def tokenizer():
    return kerabert.XLNetTokenizer(proto=XLNET_SPIECE)


def test_examples_follow_the_reference_layout(tokenizer):
    ids, sent_ids = xlnet_pretraining.read_corpus(BOTCHAN, tokenizer)
    examples = xlnet_pretraining.create_examples(
        ids, sent_ids, tokenizer, seq_len=32, reuse_len=16, batch_size=4, num_predict=6)
    assert len(examples) >= 40 and len(examples) % 4 == 0
    labels = [e.label for e in examples]
    assert 0.2 < np.mean(labels) < 0.8  # real continuation about half the time
    for e in examples:
        assert e.token_ids.shape == e.segment_ids.shape == e.is_masked.shape == (32,)
        assert e.token_ids[-1] == CLS and e.segment_ids[-1] == 2
        seps = np.flatnonzero(e.token_ids[16:] == SEP) + 16
        assert len(seps) == 2 and seps[1] == 30
        assert (e.segment_ids[:seps[0] + 1] == 0).all()
        assert (e.segment_ids[seps[0] + 1:31] == 1).all()
        assert e.is_masked.sum() == 6 and e.is_masked[:16].sum() == 3
    # Row r of consecutive batches continues the same stream.
    first, second = examples[0], examples[4]
    rows = len(ids) // 4
    np.testing.assert_array_equal(first.token_ids[:16], ids[:16])
    np.testing.assert_array_equal(second.token_ids[:16], ids[16:32])
    assert rows > 32


def test_dataset_and_pretrainer_loss_falls(tokenizer, tmp_path):
    keras.utils.set_random_seed(0)
    dataset = xlnet_pretraining.xlnet_pretraining_dataset(
        BOTCHAN, tokenizer, batch_size=4, seq_len=32, reuse_len=16, perm_size=8, num_predict=8)
    x, y = next(iter(dataset))
    assert x["perm_mask"].shape == (4, 32, 32) and x["target_mapping"].shape == (4, 8, 32)
    mapped = tf.einsum("bpl,bl->bp", x["target_mapping"], tf.cast(x["token_ids"], tf.float32))
    np.testing.assert_array_equal(mapped.numpy() * y["target_mask"].numpy(),
                                  y["target"].numpy() * y["target_mask"].numpy())
    # The reused half never sees the new half.
    assert (x["perm_mask"].numpy()[:, :16, 16:] == 1).all()

    backbone = kerabert.XLNetBackbone(
        vocabulary_size=tokenizer.vocabulary_size(), num_layers=2, num_heads=2, hidden_dim=32,
        intermediate_dim=64, dropout=0.0, attention_dropout=0.0, mem_len=16, reuse_len=16)
    pretrainer = XLNetPretrainer(backbone, batch_size=4)
    pretrainer.compile(learning_rate=3e-3, num_train_steps=120, warmup_ratio=0.05)
    history = pretrainer.fit(dataset, steps_per_epoch=40, epochs=3, verbose=0)
    losses = history.history["lm_loss"]
    # Chance is log(800) = 6.68 nats; the first epoch already learns the
    # unigram distribution, later ones must keep improving.
    assert losses[-1] < losses[0] - 0.4 and losses[-1] < losses[1], losses
    assert any(np.abs(m.numpy()).max() > 0 for m in pretrainer._memory)
    pretrainer.save_to_preset(str(tmp_path / "pretrainer"))
    reloaded = kerabert.XLNetPretrainer.from_preset(str(tmp_path / "pretrainer"))
    np.testing.assert_array_equal(reloaded.lm_bias.numpy(), pretrainer.lm_bias.numpy())
    # ... and the backbone fine-tunes from the same folder.
    classifier = kerabert.XLNetClassifier.from_preset(str(tmp_path / "pretrainer"),
                                                      num_classes=2, preprocessor=None)
    np.testing.assert_array_equal(classifier.backbone.token_embedding.embeddings.numpy(),
                                  backbone.token_embedding.embeddings.numpy())


def test_lm_head_and_memory_match_transformers(tmp_path):
    hf = save_tiny_hf_xlnet(str(tmp_path), "XLNetLMHeadModel", mem_len=6)
    pretrainer = kerabert.XLNetPretrainer.from_preset(str(tmp_path), batch_size=2)
    np.testing.assert_array_equal(pretrainer.lm_bias.numpy(), hf.lm_loss.bias.detach().numpy())
    rng = np.random.default_rng(0)
    ids = rng.integers(8, 800, (2, 8)).astype("int32")
    segments = np.zeros((2, 8), "int32")
    perm = (rng.random((2, 8, 8)) < 0.4).astype("float32")
    mapping = np.zeros((2, 3, 8), "float32")
    for b in range(2):
        mapping[b, np.arange(3), rng.choice(8, 3, replace=False)] = 1
    x = {"token_ids": ids, "segment_ids": segments, "perm_mask": perm, "target_mapping": mapping}
    ours = pretrainer(x)["lm_log_probs"].numpy()
    with torch.no_grad():
        theirs = hf(input_ids=torch.tensor(ids, dtype=torch.long),
                    token_type_ids=torch.tensor(segments, dtype=torch.long),
                    perm_mask=torch.tensor(perm), target_mapping=torch.tensor(mapping))
    np.testing.assert_allclose(ours, torch.log_softmax(theirs.logits, -1).numpy(), atol=1e-5)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_pretraining(tokenizer, policy):
    dataset = xlnet_pretraining.xlnet_pretraining_dataset(
        BOTCHAN, tokenizer, batch_size=2, seq_len=16, reuse_len=8, perm_size=4, num_predict=4)
    backbone = kerabert.XLNetBackbone(
        vocabulary_size=tokenizer.vocabulary_size(), num_layers=1, num_heads=2, hidden_dim=16,
        intermediate_dim=32, mem_len=8, dtype=policy)
    pretrainer = XLNetPretrainer(backbone, batch_size=2)
    if policy == "mixed_float16":
        assert isinstance(pretrainer.optimizer, keras.optimizers.LossScaleOptimizer)
    history = pretrainer.fit(dataset, steps_per_epoch=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert all(np.isfinite(w.numpy()).all() for w in pretrainer.trainable_weights)


def test_bi_data_rows_are_reversed_copies_per_replica(tokenizer):
    stream = np.arange(48)
    rows = xlnet_pretraining._rows(stream, batch_size=8, bi_data=True, num_replicas=2)
    # Replica 0 gets forward rows 0-1 and their reversals, replica 1 rows 2-3.
    forward = stream.reshape(4, 12)
    np.testing.assert_array_equal(rows[:4], np.concatenate([forward[:2], forward[:2, ::-1]]))
    np.testing.assert_array_equal(rows[4:], np.concatenate([forward[2:], forward[2:, ::-1]]))
    with pytest.raises(ValueError, match="bi_data"):
        xlnet_pretraining.create_examples(stream, np.zeros(48, bool), tokenizer, 8, 4, 6, 2,
                                          bi_data=True, num_replicas=2)

    keras.utils.set_random_seed(1)
    dataset = xlnet_pretraining.xlnet_pretraining_dataset(
        BOTCHAN, tokenizer, batch_size=4, seq_len=16, reuse_len=8, perm_size=4, num_predict=4,
        bi_data=True)
    backbone = kerabert.XLNetBackbone(
        vocabulary_size=tokenizer.vocabulary_size(), num_layers=1, num_heads=2, hidden_dim=16,
        intermediate_dim=32, mem_len=8, bi_data=True)
    history = XLNetPretrainer(backbone, batch_size=4).fit(dataset, steps_per_epoch=3, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_seeded_orders_are_uniform_block_permutations():
    """A stateless seed fixes the order; over seeds, each of the 4! offset
    permutations of a block is about equally likely (as tf.random.shuffle's),
    and every block uses the same one (the reference's constraint)."""
    seeds = [[7, i] for i in range(1200)]
    counts = {}
    for seed in seeds:
        order = xlnet_pretraining.random_order(12, 4, seed=seed).numpy()
        assert sorted(order) == list(range(12))
        offsets = {tuple(order[i:i + 4] - i) for i in range(0, 12, 4)}
        assert len(offsets) == 1
        key = offsets.pop()
        counts[key] = counts.get(key, 0) + 1
    assert len(counts) == 24
    expected = len(seeds) / 24
    chi2 = sum((c - expected) ** 2 / expected for c in counts.values())
    assert chi2 < 49.7  # the 0.999 quantile of chi-square with 23 degrees of freedom
    np.testing.assert_array_equal(xlnet_pretraining.random_order(12, 4, seed=[7, 3]),
                                  xlnet_pretraining.random_order(12, 4, seed=[7, 3]))


def _perm_masks(dataset):
    return np.stack([x["perm_mask"].numpy() for x, _ in dataset])


def test_permutations_are_a_function_of_seed_epoch_and_position(tokenizer, tmp_path):
    """Each pass of a finite dataset draws new orders, and a pass replayed
    (the same seed and pass number) the same ones; another seed others; a
    repeated dataset new ones along the stream."""
    corpus = tmp_path / "corpus.txt"
    with open(BOTCHAN, encoding="utf-8") as f:
        corpus.write_text("\n".join(f.read().splitlines()[:8]) + "\n", encoding="utf-8")

    def dataset(**kwargs):
        return xlnet_pretraining.xlnet_pretraining_dataset(
            str(corpus), tokenizer, batch_size=2, seq_len=16, reuse_len=8, perm_size=4,
            num_predict=4, **kwargs)

    finite = dataset(repeat=False)
    first = _perm_masks(finite)  # pass 0
    assert (first[:, :, :8, 8:] == 1).all()  # the reused part never sees the new part
    second = _perm_masks(finite)  # pass 1: new orders
    assert np.mean([(a != b).any() for a, b in zip(first.reshape(-1, 16, 16),
                                                    second.reshape(-1, 16, 16))]) > 0.8
    finite.permutation_seed.epoch.assign(0)  # a replayed pass ...
    np.testing.assert_array_equal(_perm_masks(finite), first)
    np.testing.assert_array_equal(_perm_masks(dataset(repeat=False)), first)  # ... or dataset
    finite.permutation_seed.epoch.assign(1)
    np.testing.assert_array_equal(_perm_masks(finite), second)
    other_seed = _perm_masks(dataset(repeat=False, seed=1))
    assert (other_seed != first).any()
    stream = np.stack([x["perm_mask"].numpy() for x, _ in dataset().take(2 * len(first))])
    np.testing.assert_array_equal(stream[:len(first)], first)
    assert (stream[len(first):] != first).any()


def test_fit_sets_the_permutation_epoch(tokenizer, tmp_path):
    """`XLNetPretrainer.fit` makes each epoch of a finite dataset draw new
    orders (sets the dataset's epoch) and adopts its seed for backups."""
    corpus = tmp_path / "corpus.txt"
    with open(BOTCHAN, encoding="utf-8") as f:
        corpus.write_text("\n".join(f.read().splitlines()[:6]) + "\n", encoding="utf-8")
    dataset = xlnet_pretraining.xlnet_pretraining_dataset(
        str(corpus), tokenizer, batch_size=2, seq_len=16, reuse_len=8, perm_size=4,
        num_predict=4, repeat=False)
    backbone = kerabert.XLNetBackbone(
        vocabulary_size=tokenizer.vocabulary_size(), num_layers=1, num_heads=2, hidden_dim=16,
        intermediate_dim=32, mem_len=8)
    pretrainer = XLNetPretrainer(backbone, batch_size=2)
    seen = []

    class Epochs(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == 0:
                seen.append(int(dataset.permutation_seed.epoch.numpy()))

    pretrainer.fit(dataset, epochs=3, verbose=0, callbacks=[Epochs()])
    assert seen == [0, 1, 2]
    assert pretrainer._preprocessing_seed is dataset.permutation_seed
