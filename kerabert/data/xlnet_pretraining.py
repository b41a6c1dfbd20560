"""XLNet permutation-LM pretraining data (Model Garden's `official/nlp/xlnet` recipe).

Two stages, as in the reference:

1. `create_examples` (Python, like `create_tfrecords`): the corpus becomes one
   token stream, cut into `batch_size` parallel rows so that batch row r of
   step t+1 continues the text of row r at step t (what memory needs). Each
   example is `reused part (reuse_len) + A <sep> B <sep> <cls>` (B the real
   continuation or a random span, 50 %), with `num_predict` positions chosen
   by span masking.
2. `permute` (in-graph, mapped in `tf.data`, like the reference parser): a
   fresh factorisation order every epoch (`_local_perm`), giving `perm_mask`,
   `target_mapping`, `target` and `target_mask`.

`xlnet_pretraining_dataset` chains both.

The reference's offline path, with its files: `create_tfrecords` writes stage
1 to TFRecords in the layout of the reference's `preprocess_pretrain_data.py`
(features `input`, `target`, `seg_id`, `label`, `is_masked`; one
`record_info-*.json` per file and a `corpus_info.json`), and `read_tfrecords`
finds them through their `record_info` files and applies stage 2 as its
`data_utils.create_pretrain_dataset` parser does. Paths go through
`tf.io.gfile` (local, `gs://`, ...).
"""

import dataclasses
import json
import os
import posixpath
import random

import numpy as np
import tensorflow as tf

from kerabert.data.pipelines import without_auto_shard
from kerabert.presets.files import atomic_write

# The reference's `special_symbols` ids of <sep> and <cls> (XLNet's
# SentencePiece models), the defaults of the TFRecord reader.
SEP_ID = 4
CLS_ID = 3

# ASCII punctuation pieces also start a "word" for span masking.
_PUNCTUATION = set('!"#$%&\'()*+,-./:;?@[\\]^_`{|}~')


@dataclasses.dataclass
class XLNetExample:
    """One sequence before permutation; arrays of length `seq_len`."""

    token_ids: np.ndarray
    segment_ids: np.ndarray  # reused part and A (+ its <sep>) 0, B (+ <sep>) 1, <cls> 2
    is_masked: np.ndarray  # bool, the positions to predict
    label: int  # 1 = B continues A, 0 = B is a random span (not used by the loss)
    # The reference's `target` record feature: the next token of the stream at
    # each position (its LM target; the reader shifts it back, so a predicted
    # position's target is its own token), `<cls>` at the last two positions.
    target: np.ndarray = None


def _corpus_files(file_patterns):
    """Glob patterns (str or list) -> the sorted matching files."""
    if isinstance(file_patterns, (str, os.PathLike)):
        file_patterns = [file_patterns]
    files = sorted({f for p in file_patterns for f in tf.io.gfile.glob(os.fspath(p))})
    if not files:
        raise FileNotFoundError(f"No corpus files match {list(file_patterns)}.")
    return files


def read_corpus(file_patterns, tokenizer, use_eod=True):
    """Sentences (one per line, blank line between documents) -> `(ids, sent_ids)`.

    `sent_ids` flips at every sentence, as the reference's, so sentence
    boundaries can be found in the stream; a blank line adds `<eod>` when
    `use_eod` and the tokenizer has it, with the id of the sentence it ends
    (the reference's `_create_data`), so no A/B cut separates `<eod>` from
    that sentence.
    Every file ends a document.
    """
    return _read_files(_corpus_files(file_patterns), tokenizer, use_eod)


def _read_files(files, tokenizer, use_eod):
    """`read_corpus` of these files, in this order."""
    eod = None
    if use_eod and "<eod>" in tokenizer.get_vocabulary():
        eod = tokenizer.token_to_id("<eod>")
    lines = []
    for path in files:
        with tf.io.gfile.GFile(path, "r") as f:
            lines.extend(line.strip() for line in f)
        lines.append("")
    sentences = [line for line in lines if line]
    tokenized = iter(tokenizer.tokenize(sentences).to_list() if sentences else [])
    ids, sent_ids, flag = [], [], True
    for line in lines:
        if line:
            piece_ids = next(tokenized)
            ids.extend(piece_ids)
            sent_ids.extend([flag] * len(piece_ids))
            flag = not flag
        elif eod is not None and ids and ids[-1] != eod:
            ids.append(eod)
            sent_ids.append(sent_ids[-1])
    return np.asarray(ids, np.int32), np.asarray(sent_ids, bool)


def _split_a_and_b(data, sent_ids, begin, total, rng):
    """A from `begin` up to a sentence boundary, then B: the true continuation
    (label 1) or, half the time or when there is no boundary, a random span
    widened to sentence boundaries (label 0); the longer is cut until
    `len(A) + len(B) == total`. None when the row runs out.

    Returns `(a, b, label, a_target, b_target)`: the targets are the
    reference's `extend_target` ones, `a` shifted by one (the token after each
    of A's) and `b` plus the token after it.
    """
    length = len(data)
    if begin + total >= length:
        return None
    end = begin + 1
    cuts = []
    while end < length:
        if sent_ids[end] != sent_ids[end - 1]:
            if end - begin >= total:
                break
            cuts.append(end)
        end += 1
    a_begin = begin
    if not cuts or rng.random() < 0.5:
        label = 0
        a_end = end if not cuts else rng.choice(cuts)
        b_len = max(1, total - (a_end - a_begin))
        b_begin = rng.randint(0, length - 1 - b_len)
        b_end = b_begin + b_len
        while b_begin > 0 and sent_ids[b_begin - 1] == sent_ids[b_begin]:
            b_begin -= 1
        while b_end < length - 1 and sent_ids[b_end - 1] == sent_ids[b_end]:
            b_end += 1
    else:
        label = 1
        a_end = rng.choice(cuts)
        b_begin, b_end = a_end, end
    while (a_end - a_begin) + (b_end - b_begin) > total:
        if a_end - a_begin > b_end - b_begin:
            a_end -= 1
        else:
            b_end -= 1
    if (a_end - a_begin) + (b_end - b_begin) != total or max(a_end, b_end) >= length:
        return None
    return (data[a_begin:a_end], data[b_begin:b_end], label, data[a_begin + 1:a_end + 1],
            data[b_begin:b_end + 1])


def _sample_mask(pieces, rng, goal, max_gram=5, mask_alpha=6, mask_beta=1):
    """Span masking: n-grams of n words (P(n) ~ 1/n), each with n * alpha /
    beta context around it, then random positions until `goal` are chosen.

    The reference counts the n-gram's end with `_is_start_piece(seg[beg])`,
    which is always true, so its spans are n *pieces*; kerabert counts word
    starts at the moving end, which gives the n-word spans the comment there
    describes.
    """
    length = len(pieces)
    starts = np.array([p.startswith("\u2581") or p.startswith("<") or p in _PUNCTUATION
                       for p in pieces])
    mask = np.zeros(length, bool)
    grams = np.arange(1, max_gram + 1)
    weights = 1.0 / grams
    weights /= weights.sum()
    chosen, cursor = 0, 0
    while cursor < length and chosen < goal:
        n = min(int(rng.choice(grams, p=weights)), goal - chosen)
        context = n * mask_alpha // mask_beta
        left = int(rng.integers(context)) if context > 0 else 0
        begin = cursor + left
        while begin < length and not starts[begin]:
            begin += 1
        if begin >= length:
            break
        end, words = begin + 1, 1
        while end < length:
            if starts[end]:
                words += 1
                if words > n:
                    break
            end += 1
        if end >= length:
            break
        span = min(end - begin, goal - chosen)
        mask[begin:begin + span] = True
        chosen += span
        cursor = begin + span + (context - left)
    free = np.flatnonzero(~mask)
    if chosen < goal:
        mask[rng.choice(free, goal - chosen, replace=False)] = True
    return mask


def _rows(stream, batch_size, bi_data, num_replicas):
    """The stream as `batch_size` parallel rows (see `create_examples`)."""
    if not bi_data:
        length = len(stream) // batch_size
        return stream[:length * batch_size].reshape(batch_size, length)
    forward_rows = batch_size // 2
    length = len(stream) // forward_rows
    forward = stream[:length * forward_rows].reshape(forward_rows, length)
    per_replica = forward_rows // num_replicas
    blocks = []
    for k in range(num_replicas):
        block = forward[k * per_replica:(k + 1) * per_replica]
        blocks += [block, block[:, ::-1]]
    return np.concatenate(blocks)


def create_examples(ids, sent_ids, tokenizer, seq_len, reuse_len, batch_size, num_predict,
                    mask_alpha=6, mask_beta=1, seed=0, bi_data=False, num_replicas=1):
    """The token stream -> `XLNetExample`s in batch order.

    The stream is reshaped to `batch_size` rows; at each step every row yields
    one example (its next `reuse_len` tokens + A/B), so consecutive batches of
    `batch_size` continue each row. Half of `num_predict` is chosen in the
    reused part and half in `A <sep> B <sep> <cls>` (the reference's split).

    With `bi_data` (for a backbone built with `bi_data=True`), half the rows
    are the text and the other half the same text reversed, arranged per
    replica as the backbone expects: each replica's batch of
    `batch_size / num_replicas` rows is its forward rows, then their reversed
    copies (the reference does the same per TPU core). Spans on a reversed row
    are chosen in reading order, as the reference's `_sample_mask(reverse=True)`.
    """
    if reuse_len >= seq_len - 3:
        raise ValueError(f"reuse_len ({reuse_len}) must be < seq_len - 3 ({seq_len - 3}).")
    if bi_data and batch_size % (2 * num_replicas):
        raise ValueError(
            f"bi_data needs batch_size ({batch_size}) to be a multiple of 2 x num_replicas "
            f"({2 * num_replicas}): every replica gets forward rows and their reversed copies.")
    sep, cls = tokenizer.sep_token_id, tokenizer.cls_token_id
    vocabulary = tokenizer.get_vocabulary()
    data = _rows(ids, batch_size, bi_data, num_replicas)
    sents = _rows(sent_ids, batch_size, bi_data, num_replicas)
    rows = data.shape[1]
    if rows < seq_len + 1:
        raise ValueError(
            f"The corpus has {len(ids)} tokens: too few for {batch_size} rows of at least "
            f"{seq_len + 1}. Use a smaller batch_size or seq_len, or more text.")
    per_replica = batch_size // num_replicas
    py_rng, np_rng = random.Random(seed), np.random.default_rng(seed)
    goal_1 = num_predict // 2
    goal_0 = num_predict - goal_1
    examples, i = [], 0
    while i + seq_len <= rows:
        step = []
        for r in range(batch_size):
            split = _split_a_and_b(data[r], sents[r], i + reuse_len, seq_len - reuse_len - 3,
                                   py_rng)
            if split is None:
                return examples
            a, b, label, a_target, b_target = split
            reused = data[r, i:i + reuse_len]
            tail = np.concatenate([a, [sep], b, [sep], [cls]]).astype(np.int32)
            token_ids = np.concatenate([reused, tail]).astype(np.int32)
            target = np.concatenate([data[r, i + 1:i + reuse_len + 1], a_target, b_target,
                                     [cls, cls]]).astype(np.int32)
            reverse = bi_data and r % per_replica >= per_replica // 2

            def spans(part, goal):
                pieces = [vocabulary[t] for t in part]
                if reverse:
                    pieces = pieces[::-1]
                mask = _sample_mask(pieces, np_rng, goal, mask_alpha=mask_alpha,
                                    mask_beta=mask_beta)
                return mask[::-1] if reverse else mask

            is_masked = np.concatenate([spans(reused, goal_0), spans(tail, goal_1)])
            segment_ids = np.array([0] * (reuse_len + len(a) + 1) + [1] * (len(b) + 1) + [2],
                                   np.int32)
            step.append(XLNetExample(token_ids, segment_ids, is_masked, label, target))
        examples.extend(step)
        i += reuse_len
    return examples


def random_order(length, perm_size, seed=None):
    """The reference's random factorisation order (the rank of each position):
    positions are split into blocks of `perm_size`, and one random permutation
    of the offsets inside a block is applied to every block.

    `seed`: a (2,) int stateless seed, which fixes the order; without it the
    order is drawn from TensorFlow's stateful generator (the reference's
    `tf.random.shuffle`)."""
    offsets = tf.transpose(tf.reshape(tf.range(length), [-1, perm_size]))
    if seed is None:
        shuffled = tf.random.shuffle(offsets)
    else:
        shuffled = tf.random.experimental.stateless_shuffle(offsets, seed=seed)
    return tf.reshape(tf.transpose(shuffled), [-1])


def permutation_masks(token_ids, is_masked, order, sep_id, cls_id):
    """The reference `_local_perm` for a given factorisation `order` (rank of
    each position) -> (perm_mask (L, L) float32, targets (L,) bool).

    Non-masked ordinary tokens come first in the order (they are context for
    everyone); <sep>/<cls> are never targets but, like the masked tokens, can
    only be seen by positions later in the order.
    """
    functional = tf.logical_or(tf.equal(token_ids, sep_id), tf.equal(token_ids, cls_id))
    context = tf.logical_and(tf.logical_not(is_masked), tf.logical_not(functional))
    hidden = tf.logical_not(context)
    rank = tf.where(context, -tf.ones_like(order), order)
    targets = tf.logical_and(hidden, tf.logical_not(functional))
    # A target may not see itself; any other hidden token only from later on.
    own_rank = tf.where(targets, rank, rank + 1)
    perm_mask = tf.logical_and(own_rank[:, None] <= rank[None, :], hidden[None, :])
    return tf.cast(perm_mask, tf.float32), targets


def permute(example, seq_len, reuse_len, perm_size, num_predict, sep_id, cls_id, seed=None):
    """One example's `(x, y)` for `XLNetPretrainer`, in-graph.

    The reused part and the new part are permuted separately; the reused part
    cannot see the new part, the new part sees all of the reused part.

    `seed`: a (2,) int stateless seed of both parts' orders (see
    `random_order`); None draws them statefully.

    `example`: `token_ids`, `segment_ids`, `is_masked` (seq_len,), and
    optionally `target`, the reference's record feature (next-token targets):
    each part's targets are then that shifted back by one, as the reference's
    `_local_perm` does, which at every predicted position is its own token;
    without it, the tokens themselves.
    """
    token_ids = tf.cast(example["token_ids"], tf.int32)
    is_masked = tf.cast(example["is_masked"], tf.bool)
    new_len = seq_len - reuse_len
    target_ids = token_ids
    if "target" in example:
        lm_target = tf.cast(example["target"], tf.int32)
        target_ids = tf.concat([token_ids[:1], lm_target[:reuse_len - 1],
                             token_ids[reuse_len:reuse_len + 1], lm_target[reuse_len:-1]],
                            axis=0)
    seeds = [None, None]
    if seed is not None:  # one independent seed per part
        seeds = [tf.random.experimental.stateless_fold_in(seed, part) for part in (0, 1)]
    mask_0, targets_0 = permutation_masks(token_ids[:reuse_len], is_masked[:reuse_len],
                                          random_order(reuse_len, perm_size, seeds[0]),
                                          sep_id, cls_id)
    mask_1, targets_1 = permutation_masks(token_ids[reuse_len:], is_masked[reuse_len:],
                                          random_order(new_len, perm_size, seeds[1]),
                                          sep_id, cls_id)
    perm_mask = tf.concat([
        tf.concat([mask_0, tf.ones([reuse_len, new_len])], axis=1),
        tf.concat([tf.zeros([new_len, reuse_len]), mask_1], axis=1)], axis=0)
    targets = tf.concat([targets_0, targets_1], axis=0)
    positions = tf.boolean_mask(tf.range(seq_len), targets)[:num_predict]
    count = tf.shape(positions)[0]
    pad = num_predict - count
    target_mapping = tf.concat([tf.one_hot(positions, seq_len, dtype=tf.float32),
                                tf.zeros([pad, seq_len])], axis=0)
    target = tf.concat([tf.gather(target_ids, positions), tf.zeros([pad], tf.int32)],
                       axis=0)
    target_mask = tf.concat([tf.ones([count]), tf.zeros([pad])], axis=0)
    x = {"token_ids": tf.ensure_shape(token_ids, [seq_len]),
         "segment_ids": tf.ensure_shape(tf.cast(example["segment_ids"], tf.int32), [seq_len]),
         "perm_mask": tf.ensure_shape(perm_mask, [seq_len, seq_len]),
         "target_mapping": tf.ensure_shape(target_mapping, [num_predict, seq_len])}
    y = {"target": tf.ensure_shape(target, [num_predict]),
         "target_mask": tf.ensure_shape(target_mask, [num_predict])}
    return x, y


def _check_permutation(seq_len, reuse_len, perm_size, num_predict):
    """Checks the permutation settings; returns `perm_size` (default `reuse_len`)."""
    perm_size = perm_size or reuse_len
    new_len = seq_len - reuse_len
    if reuse_len % perm_size or new_len % perm_size:
        raise ValueError(f"perm_size ({perm_size}) must divide reuse_len ({reuse_len}) and "
                         f"seq_len - reuse_len ({new_len}).")
    if num_predict > seq_len:
        raise ValueError(f"num_predict ({num_predict}) cannot exceed seq_len ({seq_len}).")
    return perm_size


def _permuted(dataset, base, permute_fn):
    """`dataset.map(permute_fn)` with each example's factorisation orders a
    stateless function of (base, pass, its index), so that a replayed
    position (a run resumed by `BackupAndRestore`) draws the same orders.

    The index counts the examples from the start of the pass (along the whole
    stream when the dataset repeats). The pass is read from the `epoch`
    variable of the returned `PreprocessingSeed` when an iteration starts,
    which then adds one to it: successive iterations draw new orders, and
    `XLNetPretrainer.fit` sets it to the epoch when each epoch begins (before
    Keras starts the epoch's iteration), so epoch e draws the same orders in
    a resumed fit as in the uninterrupted one. Returns `(dataset, seed)`."""
    # Imported here: kerabert.tasks imports the data modules' users.
    from kerabert.tasks.preprocessing_seed import PreprocessingSeed

    seed = PreprocessingSeed(base)
    passes = tf.data.Dataset.from_tensors(tf.constant(0, tf.int64)).map(
        lambda _: seed.epoch.assign_add(1) - 1)

    def one_pass(epoch):
        start = tf.random.experimental.stateless_fold_in(
            tf.stack([seed.base.read_value(), tf.constant(0, tf.int64)]), epoch)
        return dataset.enumerate().map(
            lambda index, example: permute_fn(
                example, tf.random.experimental.stateless_fold_in(start, index)),
            num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    mapped = passes.flat_map(one_pass)
    cardinality = int(dataset.cardinality())
    if cardinality >= 0 or cardinality == tf.data.INFINITE_CARDINALITY:
        # flat_map hides it; Keras reads it for the epoch's length.
        mapped = mapped.apply(tf.data.experimental.assert_cardinality(cardinality))
    return mapped, seed


def _with_seed(dataset, seed):
    """Attaches the permutation seed to the dataset object `fit` receives."""
    dataset.permutation_seed = seed
    return dataset


def xlnet_pretraining_dataset(file_patterns, tokenizer, batch_size, seq_len=512, reuse_len=256,
                              perm_size=None, num_predict=85, mask_alpha=6, mask_beta=1,
                              seed=0, repeat=True, bi_data=False, num_replicas=1):
    """Text files -> a batched `tf.data.Dataset` of `(x, y)` for `XLNetPretrainer`.

    Batches keep row order (no shuffling) so memory continues each row's text;
    the permutation is re-sampled every time an example is read (the examples
    are cached before `permute`, as the reference caches raw records).
    `perm_size` defaults to `reuse_len` and must divide both `reuse_len` and
    `seq_len - reuse_len`. `bi_data` / `num_replicas`: see `create_examples`
    (`batch_size` is the global batch).

    `seed` seeds the A/B splits and span masks (drawn once, in Python) and the
    factorisation orders, which are stateless: example i of pass e gets the
    orders of `fold_in(fold_in([seed, 0], e), i)`, with i counted along the
    stream when `repeat` and from the start of each pass when `repeat=False`.
    The returned dataset carries that seed as `dataset.permutation_seed` (a
    `kerabert.tasks.preprocessing_seed.PreprocessingSeed`); e is its `epoch` variable when
    an iteration starts, which then counts one up, so every pass draws new
    orders. `XLNetPretrainer.fit` sets it to the epoch when each epoch begins
    and `BackupAndRestore` saves the seed, so a resumed run draws the orders
    of the uninterrupted one. A dataset transformed further no longer carries
    the attribute: `fit` then leaves the count as it is (new orders every
    pass, but a restarted process starts again from pass 0).
    """
    perm_size = _check_permutation(seq_len, reuse_len, perm_size, num_predict)
    ids, sent_ids = read_corpus(file_patterns, tokenizer)
    examples = create_examples(ids, sent_ids, tokenizer, seq_len, reuse_len, batch_size,
                               num_predict, mask_alpha, mask_beta, seed, bi_data=bi_data,
                               num_replicas=num_replicas)
    if not examples:
        raise ValueError("The corpus is too short for a single batch of examples.")
    columns = {
        "token_ids": np.stack([e.token_ids for e in examples]),
        "segment_ids": np.stack([e.segment_ids for e in examples]),
        "is_masked": np.stack([e.is_masked for e in examples]),
    }
    dataset = tf.data.Dataset.from_tensor_slices(columns).cache()
    if repeat:
        dataset = dataset.repeat()
    dataset, permutation_seed = _permuted(
        dataset, seed,
        lambda e, s: permute(e, seq_len, reuse_len, perm_size, num_predict,
                             tokenizer.sep_token_id, tokenizer.cls_token_id, seed=s))
    return _with_seed(dataset.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE),
                      permutation_seed)


# --- the reference's TFRecords (preprocess_pretrain_data.py / data_utils.py) --------


def format_filename(prefix, batch_size, seq_len, bi_data, suffix, mask_alpha=6, mask_beta=1,
                    reuse_len=None, uncased=False, num_predict=None):
    """The reference's `format_filename`: e.g. `train-0-0.bsz-8.seqlen-512.reuse-256.
    uni.alpha-6.beta-1.fnp-85.tfrecords`. The settings are part of every
    name, so the reader only finds files written with its settings."""
    reuse = "" if reuse_len is None else f"reuse-{reuse_len}."
    fnp = "" if num_predict is None else f"fnp-{num_predict}."
    return (f"{prefix}.bsz-{batch_size}.seqlen-{seq_len}.{reuse}{'uncased.' if uncased else ''}"
            f"{'bi' if bi_data else 'uni'}.alpha-{mask_alpha}.beta-{mask_beta}.{fnp}{suffix}")


def record_spec(seq_len):
    """The reference reader's `record_spec`: int64 features, `label` of one value."""
    return {
        "input": tf.io.FixedLenFeature([seq_len], tf.int64),
        "target": tf.io.FixedLenFeature([seq_len], tf.int64),
        "seg_id": tf.io.FixedLenFeature([seq_len], tf.int64),
        "label": tf.io.FixedLenFeature([1], tf.int64),
        "is_masked": tf.io.FixedLenFeature([seq_len], tf.int64),
    }


def example_to_record(example):
    """`XLNetExample` -> `tf.train.Example` with the reference's five int64
    features: `input`, `target`, `seg_id`, `is_masked` (seq_len,), `label` (1,)."""
    def ints(values):
        values = np.asarray(values).astype(np.int64).reshape(-1)
        return tf.train.Feature(int64_list=tf.train.Int64List(value=values.tolist()))

    return tf.train.Example(features=tf.train.Features(feature={
        "input": ints(example.token_ids),
        "is_masked": ints(example.is_masked),
        "target": ints(example.target),
        "seg_id": ints(example.segment_ids),
        "label": ints([example.label]),
    }))


def _write_json(path, content):
    with atomic_write(path) as f:
        json.dump(content, f)


def _join(folder, name):
    # URLs such as gs://bucket/dir use "/" on every OS.
    return posixpath.join(folder, name) if "://" in folder else os.path.join(folder, name)


def create_tfrecords(input_patterns, tokenizer, save_dir, batch_size, seq_len=512,
                     reuse_len=256, num_predict=85, mask_alpha=6, mask_beta=1, bi_data=False,
                     num_core_per_host=1, split="train", task=0, num_task=1, pass_id=0,
                     use_eod=True, uncased=None, seed=None):
    """Text files -> the reference's pretraining TFRecords (`preprocess_pretrain_data.py`).

    Writes, as the reference's task `task` of `num_task`, pass `pass_id`:
      - `save_dir/tfrecords/{split}-{task}-{pass_id}.bsz-....tfrecords`
        (`format_filename`): the examples of `create_examples`, in batch order
        (`batch_size` rows, one step of every row after the other), each with
        the int64 features `input`, `target`, `seg_id`, `is_masked`
        (seq_len,) and `label` (1,);
      - `save_dir/tfrecords/record_info-{split}-{task}-{pass_id}.bsz-....json`:
        `{"filenames": [that file's path], "num_batch": batches written}`;
      - `save_dir/corpus_info.json` (task 0, pass 0): the settings, under the
        reference's keys.
    Each file appears complete or not at all (written under a temporary name,
    then renamed); the record file is renamed before its `record_info`, which
    is what readers look for.

    Args:
      input_patterns: text files (glob patterns), one sentence per line and a
        blank line between documents; this task takes every `num_task`-th
        file from `task` on, in an order shuffled with the seed (the
        reference's shards).
      tokenizer: an `XLNetTokenizer`.
      batch_size: the per-host batch (`bsz_per_host`) the stream is cut into.
      seq_len, reuse_len, num_predict, mask_alpha, mask_beta, bi_data: as
        `create_examples`; `num_core_per_host` is its `num_replicas` (the
        per-core layout of `bi_data` rows).
      uncased: recorded in the names; default: the tokenizer's `lowercase`.
      seed: default `100 * task + pass_id` (the reference's), so each pass
        samples other random B segments and masks.
    Returns:
      the `record_info` dict written.
    """
    if num_predict is None:
        raise ValueError("num_predict is required: XLNetPretrainer predicts a fixed number "
                         "of positions per example (the reference's `fnp`).")
    if not 0 <= task < num_task:
        raise ValueError(f"task ({task}) must be in [0, num_task={num_task}).")
    if batch_size % num_core_per_host:
        raise ValueError(f"batch_size ({batch_size}) must be a multiple of num_core_per_host "
                         f"({num_core_per_host}).")
    seed = 100 * task + pass_id if seed is None else seed
    uncased = bool(getattr(tokenizer, "lowercase", False)) if uncased is None else uncased
    save_dir = os.fspath(save_dir)
    record_dir = _join(save_dir, "tfrecords")
    tf.io.gfile.makedirs(record_dir)
    settings = dict(batch_size=batch_size, seq_len=seq_len, bi_data=bi_data,
                    mask_alpha=mask_alpha, mask_beta=mask_beta, reuse_len=reuse_len,
                    uncased=uncased, num_predict=num_predict)
    if task == 0 and pass_id == 0:
        _write_json(_join(save_dir, "corpus_info.json"), {
            "vocab_size": tokenizer.vocabulary_size(), "bsz_per_host": batch_size,
            "num_core_per_host": num_core_per_host, "seq_len": seq_len,
            "reuse_len": reuse_len, "uncased": uncased, "bi_data": bi_data,
            "mask_alpha": mask_alpha, "mask_beta": mask_beta, "num_predict": num_predict,
            "use_eod": use_eod,
            # kerabert tokenizes with the tokenizer object, not a model path.
            "sp_path": "",
            "input_glob": ",".join(os.fspath(p) for p in (
                [input_patterns] if isinstance(input_patterns, (str, os.PathLike))
                else input_patterns)),
        })
    files = _corpus_files(input_patterns)[task::num_task]
    if not files:
        raise ValueError(f"Task {task} of {num_task} has no input file: there are fewer "
                         "files than tasks.")
    files = [files[i] for i in np.random.default_rng(seed).permutation(len(files))]
    ids, sent_ids = _read_files(files, tokenizer, use_eod)
    examples = create_examples(ids, sent_ids, tokenizer, seq_len, reuse_len, batch_size,
                               num_predict, mask_alpha, mask_beta, seed, bi_data=bi_data,
                               num_replicas=num_core_per_host)

    basename = f"{split}-{task}-{pass_id}"
    path = _join(record_dir, format_filename(basename, suffix="tfrecords", **settings))
    with atomic_write(path, opener=tf.io.TFRecordWriter) as writer:
        for example in examples:
            writer.write(example_to_record(example).SerializeToString())
    record_info = {"filenames": [path], "num_batch": len(examples) // batch_size}
    _write_json(_join(record_dir, format_filename(f"record_info-{basename}", suffix="json",
                                                  **settings)), record_info)
    return record_info


def find_tfrecords(record_dirs, batch_size, seq_len, reuse_len, num_predict, mask_alpha=6,
                   mask_beta=1, bi_data=False, uncased=False, split="train"):
    """The reference's `record_info` lookup: `(filenames, num_batch)` of every
    `record_info-{split}-*` file with these settings in `record_dirs`
    (comma-separated str, or list), the file names taken relative to the
    directory they were found in (as the reference does, so a moved folder
    still reads)."""
    if isinstance(record_dirs, (str, os.PathLike)):
        record_dirs = os.fspath(record_dirs).split(",")
    pattern = format_filename(f"record_info-{split}-*", batch_size, seq_len, bi_data, "json",
                              mask_alpha, mask_beta, reuse_len, uncased, num_predict)
    filenames, num_batch = [], 0
    for folder in (os.fspath(d).strip() for d in record_dirs):
        infos = sorted(tf.io.gfile.glob(_join(folder, pattern)))
        if not infos:
            present = sorted(posixpath.basename(p) for p in
                             tf.io.gfile.glob(_join(folder, "record_info-*.json")))
            raise FileNotFoundError(
                f"No {pattern} in {folder}. The reader's settings are part of the file names; "
                f"the record_info files there are: {present or 'none'}. Pass the batch_size, "
                "seq_len, reuse_len, num_predict, mask_alpha, mask_beta, bi_data and uncased "
                "the files were written with.")
        for info_path in infos:
            with tf.io.gfile.GFile(info_path, "r") as f:
                info = json.load(f)
            num_batch += info["num_batch"]
            filenames += [_join(folder, posixpath.basename(name))
                          for name in info["filenames"]]
    return filenames, num_batch


def read_tfrecords(record_dirs, batch_size, seq_len, reuse_len, num_predict, perm_size=None,
                   mask_alpha=6, mask_beta=1, bi_data=False, uncased=False, split="train",
                   input_context=None, shuffle_files=True, seed=None, repeat=True,
                   sep_id=SEP_ID, cls_id=CLS_ID):
    """The reference's pretraining TFRecords -> batched `(x, y)` for `XLNetPretrainer`.

    As the reference's `data_utils.get_pretrain_input_data`: the files are
    found through their `record_info` JSON (`find_tfrecords`), shuffled at
    file level (never within a file: batch row r must continue row r), read
    in record order and cached raw; every read draws a new factorisation order
    (`permute`, the reference's `_local_perm` per part) and batches are full.

    Args:
      record_dirs: the `tfrecords` folder(s) `create_tfrecords` (or the
        reference) wrote: comma-separated str or list.
      batch_size: the per-host batch the files were written with
        (`bsz_per_host`); batches hold that many rows, one step of every row,
        so consecutive batches continue each row (what memory needs). Under
        `input_context` each replica gets its share of it.
      seq_len, reuse_len, num_predict, mask_alpha, mask_beta, bi_data,
        uncased, split: the settings the files were written with (their names
        say them); `perm_size` defaults to `reuse_len`.
      input_context: a `tf.distribute.InputContext` (from
        `distribute_datasets_from_function`): this pipeline reads its shard of
        the files.
      shuffle_files, seed: file-order shuffling (the records are cached raw
        after the first pass, so every pass reads that first order). `seed`
        also seeds the factorisation orders, as `xlnet_pretraining_dataset`'s
        (and the returned `dataset.permutation_seed`); None draws one from
        Python's `random` (which `keras.utils.set_random_seed` seeds). For a
        `BackupAndRestore` resume to equal the uninterrupted run, pass a
        `seed` (or `shuffle_files=False`), so a restarted process reads the
        files in the same order.
      repeat: loop forever (the reference always does).
      sep_id, cls_id: `<sep>` / `<cls>` ids (XLNet's SentencePiece models'
        by default), which are never targets.
    Returns:
      a dataset of `(x, y)`: x `token_ids`, `segment_ids` (B, seq_len) int32,
      `perm_mask` (B, seq_len, seq_len) float32, `target_mapping` (B,
      num_predict, seq_len) float32; y `target` (B, num_predict) int32,
      `target_mask` (B, num_predict) float32. All shapes are static.
    """
    perm_size = _check_permutation(seq_len, reuse_len, perm_size, num_predict)
    filenames, _ = find_tfrecords(record_dirs, batch_size, seq_len, reuse_len, num_predict,
                                  mask_alpha, mask_beta, bi_data, uncased, split)
    files = tf.data.Dataset.from_tensor_slices(filenames)
    per_pipeline = batch_size
    if input_context is not None:
        pipelines = input_context.num_input_pipelines
        if pipelines > len(filenames):
            raise ValueError(f"{pipelines} input pipelines share {len(filenames)} files: each "
                             "pipeline reads whole files, so write at least one per host "
                             "(num_task).")
        files = files.shard(pipelines, input_context.input_pipeline_id)
        per_pipeline = input_context.get_per_replica_batch_size(batch_size * pipelines)
    if shuffle_files and len(filenames) > 1:
        files = files.shuffle(len(filenames), seed=seed)
    # The reference caches the raw records, not the parsed ones: each read
    # must draw a new permutation.
    dataset = tf.data.TFRecordDataset(files).cache()

    def parse(record, example_seed):
        features = tf.io.parse_single_example(record, record_spec(seq_len))
        return permute({"token_ids": features["input"], "segment_ids": features["seg_id"],
                        "is_masked": features["is_masked"], "target": features["target"]},
                       seq_len, reuse_len, perm_size, num_predict, sep_id, cls_id,
                       seed=example_seed)

    if repeat:
        # Before the enumeration, so that the index counts along the stream
        # and every pass draws new orders.
        dataset = dataset.repeat()
    base = random.randint(1, 2**31 - 1) if seed is None else seed
    dataset, permutation_seed = _permuted(dataset, base, parse)
    if input_context is not None:  # sharded by hand above
        dataset = without_auto_shard(dataset)
    return _with_seed(dataset.batch(per_pipeline, drop_remainder=True).prefetch(tf.data.AUTOTUNE),
                      permutation_seed)
