"""BERT pretraining examples, in-graph: pack a segment pair and mask it dynamically."""

import keras
import tensorflow as tf

from kerabert.preprocessors.bert_preprocessor import BertPreprocessor
from kerabert.preprocessors.preprocessor import Preprocessor
from kerabert.preprocessors.preprocessor import tokenize_segments
from kerabert.tokenizers.bert_tokenizer import BertTokenizer


def _as_ragged(ids):
    if isinstance(ids, tf.RaggedTensor):
        return tf.cast(ids, tf.int32)
    if isinstance(ids, (list, tuple)):
        return tf.ragged.constant(ids, dtype=tf.int32, ragged_rank=1)
    return tf.RaggedTensor.from_tensor(tf.cast(ids, tf.int32))


@keras.saving.register_keras_serializable(package="kerabert")
class BertPretrainerPreprocessor(Preprocessor):
    """Packs `[CLS] A [SEP] B [SEP]` and applies BERT's masked-LM corruption.

    Masking is dynamic (new masks every time an example is seen, as in RoBERTa;
    the reference precomputed them offline in `create_pretraining_data.py`) but
    follows the reference procedure:

    - candidates are the real tokens other than `[CLS]`, `[SEP]` and `[PAD]`;
    - `num_to_predict = min(max_predictions_per_seq, max(1, round(n * mask_rate)))`
      with n the number of real tokens, `[CLS]`/`[SEP]` included (the
      reference's `len(tokens)`; `round` is half-to-even, as Python's), and at
      most the number of candidates;
    - candidate words are visited in random order and a word is taken when it
      still fits in `num_to_predict` (otherwise skipped). Without
      `whole_word_masking` every wordpiece is its own word; with it a `##`
      continuation piece belongs to the word before it (a `##` piece right
      after `[CLS]`/`[SEP]` starts a word), so words are masked whole;
    - each chosen token becomes `[MASK]` with probability `mask_token_rate`, a
      uniformly random vocabulary id with `random_token_rate`, and stays
      unchanged otherwise (80/10/10).

    Truncation and packing are `BertPreprocessor.pack`'s (the reference
    `_truncate_seq_pair`).

    Randomness: with a `seed`, the masks are a function of the batch and the
    seed alone (stateless random ops), so the same batch with the same seed is
    masked the same way in any process, in any order and under a parallel
    `tf.data` map. `Task.fit` passes one derived from the task's
    preprocessing seed, the epoch and the batch's index in it, which
    `BackupAndRestore` puts back on resume. Without a seed, TensorFlow's
    stateful random ops draw fresh masks on every call.

    Args:
      tokenizer: a `BertTokenizer` whose vocabulary has `[MASK]`.
      sequence_length: L.
      mask_rate: fraction of tokens to predict (0.15).
      max_predictions_per_seq: P, the number of prediction slots (20).
      mask_token_rate, random_token_rate: 0.8 and 0.1.
      whole_word_masking: mask all wordpieces of a word together.
      truncate: "round_robin" (reference) or "waterfall", as `BertPreprocessor`.

    Call arguments:
      x: a string batch (B,), or a tuple `(a, b)` of string batches (a single
        string / pair of strings gives one unbatched example).
      y: optional (B,) int next-sentence labels: 0 = B follows A ("IsNext"),
        1 = B is a random segment (the reference's `next_sentence_labels` and
        HF's `next_sentence_label`).
      sample_weight: passed through.
      seed: optional (2,) int32/int64 tensor, the stateless seed of the masks.
    Returns:
      `(x, y)` (plus sample_weight when given) with
      x = {`token_ids`, `segment_ids` (A and its [SEP] 0, B 1), `padding_mask`
      (1 = real): (B, L) int32, `masked_positions` (B, P) int32 (ascending,
      padding slots 0)}, and
      y = {`masked_ids` (B, P) int32 (original ids, 0 in padding slots),
      `masked_weights` (B, P) float32 (1 = real prediction, 0 = padding slot),
      `next_sentence_labels` (B,) int32 when labels were given}.
    """

    tokenizer_cls = BertTokenizer
    # `Task.fit` passes a `seed` to `call` (see Randomness above).
    takes_seed = True

    def __init__(self, tokenizer, sequence_length=128, mask_rate=0.15, max_predictions_per_seq=20,
                 mask_token_rate=0.8, random_token_rate=0.1, whole_word_masking=False,
                 truncate="round_robin", **kwargs):
        super().__init__(tokenizer, **kwargs)
        if not 0.0 < mask_rate <= 1.0:
            raise ValueError(f"mask_rate must be in (0, 1], got {mask_rate}.")
        if int(max_predictions_per_seq) < 1:
            raise ValueError(
                f"max_predictions_per_seq must be at least 1, got {max_predictions_per_seq}.")
        if (min(mask_token_rate, random_token_rate) < 0
                or mask_token_rate + random_token_rate > 1.0 + 1e-9):
            raise ValueError(
                "mask_token_rate and random_token_rate must be >= 0 with a sum <= 1, got "
                f"{mask_token_rate} and {random_token_rate}.")
        self._packer = BertPreprocessor(tokenizer, sequence_length=sequence_length,
                                        truncate=truncate)
        self.sequence_length = self._packer.sequence_length
        self.truncate = truncate
        self.mask_rate = float(mask_rate)
        self.max_predictions_per_seq = int(max_predictions_per_seq)
        self.mask_token_rate = float(mask_token_rate)
        self.random_token_rate = float(random_token_rate)
        self.whole_word_masking = bool(whole_word_masking)

    # --- entry points ----------------------------------------------------------

    def call(self, x, y=None, sample_weight=None, seed=None):
        tokens, unbatched = tokenize_segments(self.tokenizer, x, type(self).__name__)
        if unbatched and y is not None:
            y = tf.reshape(y, [1])
        features, labels = self.mask_and_pack(
            tokens[0], tokens[1] if len(tokens) > 1 else None, next_sentence_labels=y,
            seed=seed)
        if unbatched:
            features = {k: v[0] for k, v in features.items()}
            labels = {k: v[0] for k, v in labels.items()}
        if sample_weight is None:
            return features, labels
        return features, labels, sample_weight

    def mask_and_pack(self, a_ids, b_ids=None, next_sentence_labels=None, seed=None):
        """Packs and masks already tokenized segments.

        Args:
          a_ids: ragged (B, None) int token ids of segment A (no [CLS]/[SEP]).
          b_ids: optional ragged (B, None) ids of segment B.
          next_sentence_labels: optional (B,) or (B, 1) int.
          seed: optional (2,) int32/int64 stateless seed (see the class).
        Returns:
          `(x, y)` dicts as `call`.
        """
        if self.tokenizer.mask_token_id is None:
            raise ValueError(
                f"The tokenizer's vocabulary has no mask token {self.tokenizer.mask_token!r}, "
                "which masked-LM pretraining needs.")
        segments = [_as_ragged(a_ids)] + ([_as_ragged(b_ids)] if b_ids is not None else [])
        token_ids, segment_ids = self._packer.pack(segments, self.sequence_length)
        padding_mask = tf.cast(token_ids != self.tokenizer.pad_token_id, tf.int32)
        token_ids, masked_positions, masked_ids, masked_weights = self._mask(
            token_ids, padding_mask, seed)
        features = {"token_ids": token_ids, "segment_ids": segment_ids,
                    "padding_mask": padding_mask, "masked_positions": masked_positions}
        labels = {"masked_ids": masked_ids, "masked_weights": masked_weights}
        if next_sentence_labels is not None:
            labels["next_sentence_labels"] = tf.reshape(
                tf.cast(next_sentence_labels, tf.int32), [-1])
        return features, labels

    # --- masking -----------------------------------------------------------------

    def _continuation_table(self):
        """(V,) bool: which vocabulary entries are `##` continuation pieces."""
        suffix = self.tokenizer.suffix_indicator
        return tf.constant([t.startswith(suffix) for t in self.tokenizer.get_vocabulary()],
                           tf.bool)

    def _choose_words(self, lengths, target):
        """Greedy choice over words in random order: (B, W) lengths (0 = no word)
        -> (B, W) bool, taking each word that still fits in `target` (B,)."""
        if not self.whole_word_masking:
            # Every word is one token, so the greedy choice is a prefix.
            return (tf.cumsum(lengths, axis=1) <= target[:, None]) & (lengths > 0)

        def step(count, length):
            take = (length > 0) & (count + length <= target)
            return count + tf.where(take, length, 0)

        counts = tf.transpose(tf.scan(step, tf.transpose(lengths),
                                      initializer=tf.zeros_like(target)))
        previous = tf.pad(counts[:, :-1], [[0, 0], [1, 0]])
        return counts > previous

    def _mask(self, token_ids, padding_mask, seed=None):
        tokenizer = self.tokenizer
        # One independent stream per draw below.
        seeds = (None if seed is None else
                 tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 3))

        def uniform(draw, shape, **kwargs):
            if seeds is None:
                return tf.random.uniform(shape, **kwargs)
            return tf.random.stateless_uniform(shape, seed=seeds[draw], **kwargs)

        length, slots = self.sequence_length, self.max_predictions_per_seq
        batch = tf.shape(token_ids)[0]
        real = padding_mask > 0
        candidate = real
        for special in (tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id):
            candidate &= token_ids != special

        # The reference's num_to_predict, in float64 so round() matches Python's.
        n_real = tf.cast(tf.reduce_sum(tf.cast(real, tf.int32), axis=1), tf.float64)
        target = tf.cast(tf.round(n_real * self.mask_rate), tf.int32)
        target = tf.clip_by_value(target, 1, slots)
        target = tf.minimum(target, tf.reduce_sum(tf.cast(candidate, tf.int32), axis=1))

        # Word w of a row is the run of candidates from its w-th word start.
        if self.whole_word_masking:
            continuation = tf.gather(self._continuation_table(), token_ids)
            after_candidate = tf.pad(candidate[:, :-1], [[0, 0], [1, 0]])
            starts = candidate & ~(continuation & after_candidate)
        else:
            starts = candidate
        word = tf.maximum(tf.cumsum(tf.cast(starts, tf.int32), axis=1) - 1, 0)
        n_words = tf.reduce_sum(tf.cast(starts, tf.int32), axis=1)
        word_length = tf.reshape(tf.math.unsorted_segment_sum(
            tf.reshape(tf.cast(candidate, tf.int32), [-1]),
            tf.reshape(word + tf.range(batch)[:, None] * length, [-1]),
            batch * length), [batch, length])

        # Words in random order (real words first); chosen ones back to word order.
        index = tf.range(length)[None, :]
        keys = tf.where(index < n_words[:, None], uniform(0, [batch, length]), 2.0)
        order = tf.argsort(keys, axis=1)
        chosen = self._choose_words(tf.gather(word_length, order, batch_dims=1), target)
        chosen = tf.gather(chosen, tf.argsort(order, axis=1), batch_dims=1)
        selected = candidate & tf.gather(chosen, word, batch_dims=1)

        # The selected positions, ascending, in P slots.
        first = tf.argsort(tf.where(selected, index, index + length), axis=1)
        first = first[:, :slots]
        if slots > length:
            first = tf.pad(first, [[0, 0], [0, slots - length]])
        weights = tf.gather(selected, first, batch_dims=1)
        if slots > length:
            weights &= tf.range(slots)[None, :] < length
        masked_positions = tf.where(weights, first, 0)
        masked_ids = tf.where(weights, tf.gather(token_ids, masked_positions, batch_dims=1), 0)

        # 80 % [MASK], 10 % a random id, 10 % unchanged.
        draw = uniform(1, [batch, length])
        random_ids = uniform(2, [batch, length], minval=0, maxval=tokenizer.vocabulary_size(),
                             dtype=tf.int32)
        replacement = tf.where(
            draw < self.mask_token_rate, tokenizer.mask_token_id,
            tf.where(draw < self.mask_token_rate + self.random_token_rate, random_ids, token_ids))
        token_ids = tf.where(selected, replacement, token_ids)
        return (token_ids, tf.cast(masked_positions, tf.int32), masked_ids,
                tf.cast(weights, tf.float32))

    def get_config(self):
        config = super().get_config()
        config.update({
            "sequence_length": self.sequence_length,
            "mask_rate": self.mask_rate,
            "max_predictions_per_seq": self.max_predictions_per_seq,
            "mask_token_rate": self.mask_token_rate,
            "random_token_rate": self.random_token_rate,
            "whole_word_masking": self.whole_word_masking,
            "truncate": self.truncate,
        })
        return config
