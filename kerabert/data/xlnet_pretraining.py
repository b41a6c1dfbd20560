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
"""

import dataclasses
import glob
import random

import numpy as np
import tensorflow as tf

# ASCII punctuation pieces also start a "word" for span masking.
_PUNCTUATION = set('!"#$%&\'()*+,-./:;?@[\\]^_`{|}~')


@dataclasses.dataclass
class XLNetExample:
    """One sequence before permutation; arrays of length `seq_len`."""

    token_ids: np.ndarray
    segment_ids: np.ndarray  # reused part and A (+ its <sep>) 0, B (+ <sep>) 1, <cls> 2
    is_masked: np.ndarray  # bool, the positions to predict
    label: int  # 1 = B continues A, 0 = B is a random span (not used by the loss)


def read_corpus(file_patterns, tokenizer, use_eod=True):
    """Sentences (one per line, blank line between documents) -> `(ids, sent_ids)`.

    `sent_ids` flips at every sentence, as the reference's, so sentence
    boundaries can be found in the stream; a blank line adds `<eod>` when
    `use_eod` and the tokenizer has it.
    """
    if isinstance(file_patterns, str):
        file_patterns = [file_patterns]
    files = sorted(f for p in file_patterns for f in glob.glob(p))
    if not files:
        raise FileNotFoundError(f"No corpus files match {list(file_patterns)}.")
    eod = tokenizer.token_to_id("<eod>") if use_eod and "<eod>" in tokenizer.get_vocabulary() else None
    lines = []
    for path in files:
        with open(path, encoding="utf-8") as f:
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
            sent_ids.append(flag)
            flag = not flag
    return np.asarray(ids, np.int32), np.asarray(sent_ids, bool)


def _split_a_and_b(data, sent_ids, begin, total, rng):
    """A from `begin` up to a sentence boundary, then B: the true continuation
    (label 1) or, half the time or when there is no boundary, a random span
    widened to sentence boundaries (label 0); the longer is cut until
    `len(A) + len(B) == total`. None when the row runs out."""
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
    if (a_end - a_begin) + (b_end - b_begin) != total:
        return None
    return data[a_begin:a_end], data[b_begin:b_end], label


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
            a, b, label = split
            reused = data[r, i:i + reuse_len]
            tail = np.concatenate([a, [sep], b, [sep], [cls]]).astype(np.int32)
            token_ids = np.concatenate([reused, tail]).astype(np.int32)
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
            step.append(XLNetExample(token_ids, segment_ids, is_masked, label))
        examples.extend(step)
        i += reuse_len
    return examples


def random_order(length, perm_size):
    """The reference's random factorisation order (the rank of each position):
    positions are split into blocks of `perm_size`, and one random permutation
    of the offsets inside a block is applied to every block."""
    return tf.reshape(tf.transpose(tf.random.shuffle(
        tf.transpose(tf.reshape(tf.range(length), [-1, perm_size])))), [-1])


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


def permute(example, seq_len, reuse_len, perm_size, num_predict, sep_id, cls_id):
    """One example's `(x, y)` for `XLNetPretrainer`, in-graph.

    The reused part and the new part are permuted separately; the reused part
    cannot see the new part, the new part sees all of the reused part.
    """
    token_ids = tf.cast(example["token_ids"], tf.int32)
    is_masked = tf.cast(example["is_masked"], tf.bool)
    new_len = seq_len - reuse_len
    mask_0, targets_0 = permutation_masks(token_ids[:reuse_len], is_masked[:reuse_len],
                                          random_order(reuse_len, perm_size), sep_id, cls_id)
    mask_1, targets_1 = permutation_masks(token_ids[reuse_len:], is_masked[reuse_len:],
                                          random_order(new_len, perm_size), sep_id, cls_id)
    perm_mask = tf.concat([
        tf.concat([mask_0, tf.ones([reuse_len, new_len])], axis=1),
        tf.concat([tf.zeros([new_len, reuse_len]), mask_1], axis=1)], axis=0)
    targets = tf.concat([targets_0, targets_1], axis=0)
    positions = tf.boolean_mask(tf.range(seq_len), targets)[:num_predict]
    count = tf.shape(positions)[0]
    pad = num_predict - count
    target_mapping = tf.concat([tf.one_hot(positions, seq_len, dtype=tf.float32),
                                tf.zeros([pad, seq_len])], axis=0)
    target = tf.concat([tf.gather(token_ids, positions), tf.zeros([pad], tf.int32)], axis=0)
    target_mask = tf.concat([tf.ones([count]), tf.zeros([pad])], axis=0)
    x = {"token_ids": tf.ensure_shape(token_ids, [seq_len]),
         "segment_ids": tf.ensure_shape(tf.cast(example["segment_ids"], tf.int32), [seq_len]),
         "perm_mask": tf.ensure_shape(perm_mask, [seq_len, seq_len]),
         "target_mapping": tf.ensure_shape(target_mapping, [num_predict, seq_len])}
    y = {"target": tf.ensure_shape(target, [num_predict]),
         "target_mask": tf.ensure_shape(target_mask, [num_predict])}
    return x, y


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
    """
    perm_size = perm_size or reuse_len
    new_len = seq_len - reuse_len
    if reuse_len % perm_size or new_len % perm_size:
        raise ValueError(f"perm_size ({perm_size}) must divide reuse_len ({reuse_len}) and "
                         f"seq_len - reuse_len ({new_len}).")
    if num_predict > seq_len:
        raise ValueError(f"num_predict ({num_predict}) cannot exceed seq_len ({seq_len}).")
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
    dataset = dataset.map(
        lambda e: permute(e, seq_len, reuse_len, perm_size, num_predict,
                          tokenizer.sep_token_id, tokenizer.cls_token_id),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return dataset.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
