"""BERT masked-LM + next-sentence pretraining data (Model Garden's record format).

Two ways to feed `BertPretrainer`:

1. Offline, as google-research/bert `create_pretraining_data.py` (Model Garden
   only has readers): `read_documents` -> `create_instances` (NSP pairs
   and static masks, `dupe_factor` copies) -> `write_tfrecords` in the
   reference schema; `read_tfrecords` reads those files, or files made by the
   reference, as a batched `tf.data.Dataset`.
   `create_pretraining_tfrecords` chains the writing steps.
2. Online, `bert_pretraining_dataset`: documents are tokenized once, sentence
   pairs are re-sampled every epoch and `BertPretrainerPreprocessor` masks them
   in-graph (a new mask every epoch).

Both produce `(x, y)` with x = {`token_ids`, `segment_ids`, `padding_mask`
(B, L) int32, `masked_positions` (B, P) int32} and y = {`masked_ids` (B, P)
int32, `masked_weights` (B, P) float32, `next_sentence_labels` (B,) int32,
1 = B is a random segment}. Records written with `next_sentence=False` (the
masked-LM-only files Model Garden's `MaskedLMTask` reads with
`use_next_sentence_label=False`) have no `next_sentence_labels`; their y has
none either and `BertPretrainer` trains on the masked-LM loss alone.

Batches are full by default (`drop_remainder=True`), so every element has a
static shape (B, L) / (B, P), as TPUs need.
"""

import dataclasses
import os
import random

import tensorflow as tf

from kerabert.data.pipelines import expand_file_patterns
from kerabert.data.pipelines import without_auto_shard
from kerabert.presets.files import atomic_writes

# Sentences go through the in-graph tokenizer this many at a time.
_TOKENIZE_BATCH = 2048


@dataclasses.dataclass
class PretrainingInstance:
    """One `[CLS] A [SEP] B [SEP]` example with its static mask.

    All fields are Python ints / lists of ints (unpadded):
      token_ids: (n,) ids after masking, n <= max_seq_length.
      segment_ids: (n,) 0 for [CLS], A and the first [SEP]; 1 for B and the
        last [SEP].
      is_random_next: True when B comes from another document (label 1).
      masked_positions: (k,) ascending positions that were chosen for
        prediction, k <= max_predictions_per_seq.
      masked_ids: (k,) the original ids at those positions (the labels).
    """

    token_ids: list
    segment_ids: list
    is_random_next: bool
    masked_positions: list
    masked_ids: list


# --- reading text -----------------------------------------------------------


def read_documents(file_patterns):
    """Text files -> documents, each a list of sentences (str).

    Format as the reference: one sentence per line, a blank line between
    documents. Unlike the reference, which keeps appending to the last document
    across files, every file also starts a new document (a file that does not
    end with a blank line must not merge with the next one). Empty documents
    are dropped.
    """
    documents = []
    for path in expand_file_patterns(file_patterns):
        with tf.io.gfile.GFile(path, "r") as f:
            current = []
            for line in f:
                line = line.strip()
                if line:
                    current.append(line)
                elif current:
                    documents.append(current)
                    current = []
            if current:
                documents.append(current)
    return documents


SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def frequency_vocabulary(file_patterns, num_words=300, lowercase=True):
    """A small WordPiece vocabulary for experiments on a new corpus: the special
    tokens, every ASCII letter, digit and punctuation mark, their "##"
    continuations and a few common suffixes, then the `num_words` most frequent
    words. Any ASCII text tokenizes without [UNK]; rare words split into pieces
    (what whole-word masking works on). Not a trained WordPiece vocabulary.
    """
    import collections
    import re
    import string

    counts = collections.Counter()
    for document in read_documents(file_patterns):
        for sentence in document:
            counts.update(re.findall(r"[a-z]+" if lowercase else r"[A-Za-z]+",
                                     sentence.lower() if lowercase else sentence))
    letters = string.ascii_lowercase if lowercase else string.ascii_letters
    characters = list(letters + string.digits + string.punctuation)
    pieces = ["##" + c for c in letters + string.digits]
    pieces += ["##s", "##ed", "##ing", "##ly", "##er"]
    words = [w for w, _ in counts.most_common(num_words)]
    return list(dict.fromkeys(list(SPECIAL_TOKENS) + characters + pieces + words))


def tokenize_documents(documents, tokenizer):
    """Documents of sentences (str) -> documents of token-id lists.

    Sentences are tokenized in batches by the in-graph tokenizer. Sentences
    with no tokens and then empty documents are dropped (the reference's
    `if tokens:` and "Remove empty documents"). A document whose sentences are
    already id lists is kept as is.
    """
    sentences = [s for doc in documents for s in doc if isinstance(s, str)]
    ids = []
    for start in range(0, len(sentences), _TOKENIZE_BATCH):
        ids.extend(tokenizer.tokenize(sentences[start:start + _TOKENIZE_BATCH]).to_list())
    ids = iter(ids)
    result = []
    for doc in documents:
        segments = [next(ids) if isinstance(s, str) else [int(t) for t in s] for s in doc]
        segments = [s for s in segments if s]
        if segments:
            result.append(segments)
    return result


# --- instance creation (the create_pretraining_data.py recipe) -------------------


def truncate_seq_pair(tokens_a, tokens_b, max_num_tokens, rng):
    """Shortens the lists in place to `len(a) + len(b) <= max_num_tokens`.

    One token at a time from the longer list (B on ties), from its front or
    its back with equal probability, so that truncation does not always cut
    the same end of the text.
    """
    while len(tokens_a) + len(tokens_b) > max_num_tokens:
        longer = tokens_a if len(tokens_a) > len(tokens_b) else tokens_b
        if rng.random() < 0.5:
            del longer[0]
        else:
            longer.pop()


def _document_pairs(documents, document_index, max_num_tokens, short_seq_prob, rng):
    """Yields `(tokens_a, tokens_b, is_random_next)` for one document.

    Segments (sentences) are accumulated until a target length (usually
    `max_num_tokens`, with `short_seq_prob` a uniform length in
    [2, max_num_tokens] so the model also sees short inputs) or the end of the
    document; the chunk is split at a random segment boundary into A and B.
    B is the rest of the chunk, or (half the time, and always for a one-segment
    chunk) text from a random other document, in which case the chunk's unused
    segments are put back to start the next chunk. The pair is truncated with
    `truncate_seq_pair`.

    `rng` is consumed in the reference's order, and a caller that draws from
    `rng` between two yields (masking) keeps that order too.
    """
    document = documents[document_index]
    target_length = max_num_tokens
    if rng.random() < short_seq_prob:
        target_length = rng.randint(2, max_num_tokens)
    chunk, chunk_length, i = [], 0, 0
    while i < len(document):
        chunk.append(document[i])
        chunk_length += len(document[i])
        if i == len(document) - 1 or chunk_length >= target_length:
            a_end = rng.randint(1, len(chunk) - 1) if len(chunk) >= 2 else 1
            tokens_a = [t for segment in chunk[:a_end] for t in segment]
            tokens_b = []
            if len(chunk) == 1 or rng.random() < 0.5:
                is_random_next = True
                target_b_length = target_length - len(tokens_a)
                # Ten tries to avoid the same document; with a tiny corpus it
                # may still be chosen (as the reference).
                for _ in range(10):
                    other_index = rng.randint(0, len(documents) - 1)
                    if other_index != document_index:
                        break
                other = documents[other_index]
                for segment in other[rng.randint(0, len(other) - 1):]:
                    tokens_b.extend(segment)
                    if len(tokens_b) >= target_b_length:
                        break
                i -= len(chunk) - a_end
            else:
                is_random_next = False
                tokens_b = [t for segment in chunk[a_end:] for t in segment]
            truncate_seq_pair(tokens_a, tokens_b, max_num_tokens, rng)
            yield tokens_a, tokens_b, is_random_next
            chunk, chunk_length = [], 0
        i += 1


def _check_recipe(max_seq_length, short_seq_prob, masked_lm_prob=0.15,
                  max_predictions_per_seq=1):
    if max_seq_length < 5:
        # [CLS] A [SEP] B [SEP] with at least one token in A and in B, and the
        # short target length is drawn from [2, max_seq_length - 3].
        raise ValueError(f"max_seq_length must be at least 5, got {max_seq_length}.")
    if not 0.0 <= short_seq_prob <= 1.0:
        raise ValueError(f"short_seq_prob must be in [0, 1], got {short_seq_prob}.")
    if not 0.0 < masked_lm_prob <= 1.0:
        raise ValueError(f"masked_lm_prob must be in (0, 1], got {masked_lm_prob}.")
    if max_predictions_per_seq < 1:
        raise ValueError(
            f"max_predictions_per_seq must be at least 1, got {max_predictions_per_seq}.")


def _mask_tokens(token_ids, special_ids, is_continuation, vocab_size, mask_id, masked_lm_prob,
                 max_predictions_per_seq, whole_word_masking, rng):
    """The reference `create_masked_lm_predictions` on ids.

    Returns `(masked token ids, positions ascending, original ids)`. The number
    to predict is `min(max_predictions_per_seq, max(1, round(n * prob)))` with
    n including [CLS]/[SEP]; candidate words are visited in random order and a
    whole word that would overshoot that number is skipped, so whole-word
    masking can predict fewer. Each chosen token becomes [MASK] (80 %), stays
    (10 %) or becomes a uniformly random vocabulary id (10 %).
    """
    candidates = []
    for index, token in enumerate(token_ids):
        if token in special_ids:
            continue
        if whole_word_masking and candidates and is_continuation(token):
            candidates[-1].append(index)
        else:
            candidates.append([index])
    rng.shuffle(candidates)
    num_to_predict = min(max_predictions_per_seq,
                         max(1, int(round(len(token_ids) * masked_lm_prob))))
    output = list(token_ids)
    chosen = []
    for word in candidates:
        if len(chosen) >= num_to_predict:
            break
        if len(chosen) + len(word) > num_to_predict:
            continue
        for index in word:
            if rng.random() < 0.8:
                output[index] = mask_id
            elif rng.random() < 0.5:
                pass
            else:
                output[index] = rng.randint(0, vocab_size - 1)
            chosen.append(index)
    chosen.sort()
    return output, chosen, [token_ids[i] for i in chosen]


def create_instances(documents, tokenizer, max_seq_length=128, short_seq_prob=0.1,
                     masked_lm_prob=0.15, max_predictions_per_seq=20, dupe_factor=10,
                     whole_word_masking=False, seed=12345):
    """Documents -> shuffled list of `PretrainingInstance` (the reference recipe).

    Args:
      documents: list of documents, each a list of sentences, either str
        (tokenized here with `tokenizer`) or lists of token ids.
      tokenizer: a `BertTokenizer` (needs [CLS], [SEP] and [MASK]).
      max_seq_length: L, the longest `[CLS] A [SEP] B [SEP]`.
      short_seq_prob: probability of a shorter target length.
      masked_lm_prob, max_predictions_per_seq: masking budget.
      dupe_factor: passes over the corpus, each with new pairs and masks.
      whole_word_masking: mask a word's "##" pieces together.
      seed: seeds one `random.Random` that drives everything (document
        shuffle, pairs, masks, final shuffle), so the output is a function of
        the seed.
    """
    _check_recipe(max_seq_length, short_seq_prob, masked_lm_prob, max_predictions_per_seq)
    if dupe_factor < 1:
        raise ValueError(f"dupe_factor must be at least 1, got {dupe_factor}.")
    if tokenizer.mask_token_id is None:
        raise ValueError(f"The vocabulary has no mask token {tokenizer.mask_token!r}.")
    rng = random.Random(seed)
    documents = tokenize_documents(documents, tokenizer)
    if not documents:
        raise ValueError("No documents with any tokens to make instances from.")
    rng.shuffle(documents)

    vocabulary = tokenizer.get_vocabulary()
    suffix = getattr(tokenizer, "suffix_indicator", "##")
    continuation_ids = {i for i, t in enumerate(vocabulary) if t.startswith(suffix)}
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    special_ids = {cls_id, sep_id}
    instances = []
    for _ in range(dupe_factor):
        for index in range(len(documents)):
            for tokens_a, tokens_b, is_random_next in _document_pairs(
                    documents, index, max_seq_length - 3, short_seq_prob, rng):
                token_ids = [cls_id] + tokens_a + [sep_id] + tokens_b + [sep_id]
                segment_ids = [0] * (len(tokens_a) + 2) + [1] * (len(tokens_b) + 1)
                token_ids, positions, labels = _mask_tokens(
                    token_ids, special_ids, continuation_ids.__contains__, len(vocabulary),
                    tokenizer.mask_token_id, masked_lm_prob, max_predictions_per_seq,
                    whole_word_masking, rng)
                instances.append(PretrainingInstance(
                    token_ids, segment_ids, is_random_next, positions, labels))
    rng.shuffle(instances)
    return instances


# --- TFRecords ---------------------------------------------------------------


def _int_feature(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))


def _float_feature(values):
    return tf.train.Feature(float_list=tf.train.FloatList(value=list(values)))


def instance_to_example(instance, max_seq_length, max_predictions_per_seq,
                        next_sentence=True):
    """`PretrainingInstance` -> `tf.train.Example` in the reference schema.

    `input_ids`, `input_mask`, `segment_ids` int64 [L]; `masked_lm_positions`,
    `masked_lm_ids` int64 [P]; `masked_lm_weights` float [P] (1.0 real, 0.0
    padding); `next_sentence_labels` int64 [1] (1 = random next), left out
    when `next_sentence` is False (masked-LM-only records). Padding is 0
    everywhere, as the reference writes it.
    """
    n, k = len(instance.token_ids), len(instance.masked_positions)
    if n > max_seq_length or len(instance.segment_ids) != n:
        raise ValueError(f"Instance of {n} tokens does not fit max_seq_length={max_seq_length} "
                         f"(or has {len(instance.segment_ids)} segment ids).")
    if k > max_predictions_per_seq or len(instance.masked_ids) != k:
        raise ValueError(f"Instance with {k} predictions does not fit "
                         f"max_predictions_per_seq={max_predictions_per_seq}.")
    seq_pad, pred_pad = [0] * (max_seq_length - n), [0] * (max_predictions_per_seq - k)
    features = {
        "input_ids": _int_feature(list(instance.token_ids) + seq_pad),
        "input_mask": _int_feature([1] * n + seq_pad),
        "segment_ids": _int_feature(list(instance.segment_ids) + seq_pad),
        "masked_lm_positions": _int_feature(list(instance.masked_positions) + pred_pad),
        "masked_lm_ids": _int_feature(list(instance.masked_ids) + pred_pad),
        "masked_lm_weights": _float_feature([1.0] * k + [0.0] * len(pred_pad)),
    }
    if next_sentence:
        features["next_sentence_labels"] = _int_feature([int(bool(instance.is_random_next))])
    return tf.train.Example(features=tf.train.Features(feature=features))


def write_tfrecords(instances, output_files, max_seq_length, max_predictions_per_seq,
                    next_sentence=True):
    """Writes instances round-robin over `output_files` (str or list), with
    their `next_sentence_labels` unless `next_sentence` is False.

    Each file is written to a temporary name next to it and renamed only once
    every file is complete; on any error the temporary files are removed, so a
    failed run never leaves a truncated file under an output name (an existing
    file there is kept until the rename replaces it).

    Returns the number of examples written to each file (list of int).
    """
    if isinstance(output_files, (str, os.PathLike)):
        output_files = [output_files]
    output_files = [os.fspath(f) for f in output_files]
    if not output_files:
        raise ValueError("No output files given.")
    if len(set(output_files)) != len(output_files):
        raise ValueError(f"Duplicate output files: {output_files}.")
    counts = [0] * len(output_files)
    with atomic_writes(output_files, opener=tf.io.TFRecordWriter) as writers:
        for i, instance in enumerate(instances):
            slot = i % len(writers)
            example = instance_to_example(instance, max_seq_length, max_predictions_per_seq,
                                          next_sentence)
            writers[slot].write(example.SerializeToString())
            counts[slot] += 1
    return counts


def create_pretraining_tfrecords(input_patterns, tokenizer, output_files, next_sentence=True,
                                 **recipe):
    """Text files -> TFRecords: `read_documents`, `create_instances(**recipe)`,
    `write_tfrecords`. Returns the number of instances written.

    `next_sentence=False` writes masked-LM-only records (no
    `next_sentence_labels`). The sentence pairs are made by the same recipe,
    random next segments included: only the label is left out, as when Model
    Garden's `MaskedLMTask` reads the reference's files with
    `use_next_sentence_label=False`.
    """
    instances = create_instances(read_documents(input_patterns), tokenizer, **recipe)
    write_tfrecords(instances, output_files, recipe.get("max_seq_length", 128),
                    recipe.get("max_predictions_per_seq", 20), next_sentence=next_sentence)
    return len(instances)


def feature_spec(max_seq_length, max_predictions_per_seq, next_sentence=True):
    """The reference pretraining `parse_single_example` spec (`pretrain_dataloader.py`);
    without `next_sentence_labels` when `next_sentence` is False."""
    L, P = max_seq_length, max_predictions_per_seq
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
    return spec


def has_next_sentence_labels(file_patterns):
    """Whether the first record of the first file has `next_sentence_labels`
    (how `read_tfrecords` tells NSP records from masked-LM-only ones)."""
    first = expand_file_patterns(file_patterns)[0]
    for record in tf.data.TFRecordDataset(first).take(1):
        example = tf.train.Example.FromString(record.numpy())
        return "next_sentence_labels" in example.features.feature
    raise ValueError(f"{first} holds no records, so whether the files have "
                     "next_sentence_labels is unknown; pass use_next_sentence_label=.")


def _to_kerabert(record):
    """Parsed reference features (batched) -> kerabert `(x, y)`."""
    as_int = lambda name: tf.cast(record[name], tf.int32)  # noqa: E731
    x = {
        "token_ids": as_int("input_ids"),
        "segment_ids": as_int("segment_ids"),
        "padding_mask": as_int("input_mask"),
        "masked_positions": as_int("masked_lm_positions"),
    }
    y = {
        "masked_ids": as_int("masked_lm_ids"),
        "masked_weights": tf.cast(record["masked_lm_weights"], tf.float32),
    }
    if "next_sentence_labels" in record:
        y["next_sentence_labels"] = tf.reshape(as_int("next_sentence_labels"), [-1])
    return x, y


def read_tfrecords(file_patterns, batch_size, max_seq_length, max_predictions_per_seq,
                   shuffle=True, repeat=True, seed=None, input_context=None,
                   shuffle_buffer_size=1000, cycle_length=8, use_next_sentence_label=None,
                   drop_remainder=True):
    """Pretraining TFRecords (written here or by the reference) -> batched `(x, y)`.

    Args:
      file_patterns: str or list; comma-separated glob patterns.
      batch_size: the global batch size; with `input_context` each pipeline
        batches `input_context.get_per_replica_batch_size(batch_size)`.
      max_seq_length, max_predictions_per_seq: L and P the files were written
        with.
      shuffle: shuffle file order and records (buffer `shuffle_buffer_size`).
      repeat: loop forever.
      seed: seed for the shuffles.
      input_context: a `tf.distribute.InputContext`; this pipeline then reads
        only its shard (whole files when there are at least as many files as
        pipelines, else every n-th record).
      use_next_sentence_label: read `next_sentence_labels` (True), or not
        (False: masked-LM-only records, as Model Garden's option of that name);
        None looks at the first record.
      drop_remainder: full batches only (the default: static shapes, as TPUs
        need); False keeps a last partial batch, e.g. to evaluate every record
        once with `repeat=False`.
    Returns:
      dataset of `(x, y)` as in the module docstring, y without
      `next_sentence_labels` for masked-LM-only records.
    """
    files = expand_file_patterns(file_patterns)
    if use_next_sentence_label is None:
        use_next_sentence_label = has_next_sentence_labels(files)
    pipelines, pipeline_id = 1, 0
    if input_context is not None:
        pipelines, pipeline_id = input_context.num_input_pipelines, input_context.input_pipeline_id
        batch_size = input_context.get_per_replica_batch_size(batch_size)
    shard_files = pipelines > 1 and len(files) >= pipelines

    if len(files) > 1 and (pipelines == 1 or shard_files):
        dataset = tf.data.Dataset.from_tensor_slices(files)
        if shard_files:
            dataset = dataset.shard(pipelines, pipeline_id)
        if shuffle:
            dataset = dataset.shuffle(len(files), seed=seed)
        if repeat:
            dataset = dataset.repeat()
        dataset = dataset.interleave(
            tf.data.TFRecordDataset, cycle_length=min(cycle_length, len(files)),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=not shuffle or seed is not None)
    else:
        # Record-level sharding needs the same record order in every pipeline,
        # so the files are read in sequence, unshuffled.
        dataset = tf.data.TFRecordDataset(files)
        if pipelines > 1:
            dataset = dataset.shard(pipelines, pipeline_id)
        if repeat:
            dataset = dataset.repeat()
    if input_context is not None:  # sharded by hand above
        dataset = without_auto_shard(dataset)
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer_size, seed=seed)
    spec = feature_spec(max_seq_length, max_predictions_per_seq, use_next_sentence_label)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    dataset = dataset.map(lambda records: _to_kerabert(tf.io.parse_example(records, spec)),
                          num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return dataset.prefetch(tf.data.AUTOTUNE)


# --- dynamic masking ---------------------------------------------------------


def bert_pretraining_dataset(file_patterns, preprocessor, batch_size, max_seq_length=None,
                             short_seq_prob=0.1, seed=None, repeat=True, drop_remainder=True):
    """Text files -> batched `(x, y)` with pairs and masks re-drawn every epoch.

    Documents are read and tokenized once (in-graph tokenizer, in batches).
    Every epoch a Python generator shuffles the documents and samples A/B pairs
    as `create_instances` does (same chunking, random next, truncation), then
    shuffles the epoch's pairs; `preprocessor.mask_and_pack` is mapped on each
    ragged batch, so masking is in-graph and new each epoch.

    Args:
      file_patterns: as `read_documents`.
      preprocessor: a `BertPretrainerPreprocessor` (its `tokenizer` tokenizes;
        its `sequence_length` is the default `max_seq_length`).
      batch_size: examples per batch (full batches only).
      max_seq_length: the pair budget incl. [CLS]/[SEP]/[SEP]; at most
        `preprocessor.sequence_length`.
      short_seq_prob: as `create_instances`.
      seed: pair sampling of epoch e uses `random.Random(f"{seed}-{e}")`
        (None: fresh randomness). In-graph masking is not seeded by this.
      repeat: loop over epochs forever.
      drop_remainder: full batches only (the default: static shapes, as TPUs
        need); False keeps an epoch's last partial batch.
    """
    max_seq_length = int(max_seq_length or preprocessor.sequence_length)
    if max_seq_length > preprocessor.sequence_length:
        raise ValueError(f"max_seq_length ({max_seq_length}) exceeds the preprocessor's "
                         f"sequence_length ({preprocessor.sequence_length}).")
    _check_recipe(max_seq_length, short_seq_prob)
    documents = tokenize_documents(read_documents(file_patterns), preprocessor.tokenizer)
    if not documents:
        raise ValueError(f"No documents with any tokens in {file_patterns!r}.")
    epoch = [0]

    def pairs():
        rng = random.Random(None if seed is None else f"{seed}-{epoch[0]}")
        epoch[0] += 1
        order = list(range(len(documents)))
        rng.shuffle(order)
        shuffled = [documents[i] for i in order]
        samples = [pair for index in range(len(shuffled))
                   for pair in _document_pairs(shuffled, index, max_seq_length - 3,
                                               short_seq_prob, rng)]
        rng.shuffle(samples)
        for tokens_a, tokens_b, is_random_next in samples:
            yield tokens_a, tokens_b, int(is_random_next)

    dataset = tf.data.Dataset.from_generator(pairs, output_signature=(
        tf.TensorSpec([None], tf.int32), tf.TensorSpec([None], tf.int32),
        tf.TensorSpec([], tf.int32)))
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.ragged_batch(batch_size, drop_remainder=drop_remainder)
    dataset = dataset.map(preprocessor.mask_and_pack, num_parallel_calls=tf.data.AUTOTUNE,
                          deterministic=True)
    return dataset.prefetch(tf.data.AUTOTUNE)
