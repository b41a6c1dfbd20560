"""BERT WordPiece tokenizer, in-graph, with character offsets."""

import os

import keras
import tensorflow as tf
import tensorflow_text as tf_text

from kerabert.tokenizers import bert_text_normalization as normalization
from kerabert.tokenizers.tokenizer import Tokenizer

VOCABULARY_FILE = "vocabulary.txt"


def read_vocabulary(path):
    """One token per line, index = line number (the reference `load_vocab`)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Vocabulary file not found: {path}")
    with open(path, encoding="utf-8") as f:
        tokens = [line.rstrip("\n").rstrip("\r") for line in f]
    # A trailing newline yields one empty last entry; the reference strips lines
    # and would keep it as "", but no real vocabulary ends with an empty token.
    while tokens and tokens[-1] == "":
        tokens.pop()
    return tokens


@keras.saving.register_keras_serializable(package="kerabert")
class BertTokenizer(Tokenizer):
    """BERT WordPiece tokenizer that runs inside the TensorFlow graph.

    Produces the same ids as the reference `FullTokenizer` (Google's
    `tokenization.py`) and HF `BertTokenizerFast` for the same vocabulary and
    flags: control characters and U+FFFD dropped, whitespace unified, CJK
    ideographs split, optional lower-casing and accent stripping, punctuation
    split, greedy longest-match WordPiece, and a word that cannot be fully matched
    (or is longer than `max_input_chars_per_word`) becomes a single `[UNK]`.

    Normalisation is a per-character table applied with integer gathers (see
    `bert_text_normalization`), followed by tensorflow-text's fused
    `FastWordpieceTokenizer`, which splits words and pieces in one pass.

    Args:
      vocabulary: path to a `vocab.txt` or a list of tokens.
      lowercase: bool. Lower-case the text (`do_lower_case`).
      strip_accents: bool or None. Remove combining marks after NFD. `None`
        follows `lowercase`, which is what the reference and HF do.
      tokenize_chinese_chars: bool. Split CJK ideographs into single tokens.
      max_input_chars_per_word: int. Words with more (normalised) characters
        become `[UNK]` (reference: 200, HF: 100).
      unknown_token, suffix_indicator: WordPiece settings.

    Call arguments / outputs:
      `tokenize(text)`: `text` is a str, a list of str, or a tf.string tensor of
      shape () or (B,). Returns int32 ids, shape (None,) or ragged (B, None).
      `tokenize_with_offsets(text)`: also returns start and end character offsets
      (int64, end exclusive) into the original strings, so that
      `text[start:end]` is the span a token came from.
    """

    def __init__(
        self,
        vocabulary=None,
        lowercase=True,
        strip_accents=None,
        tokenize_chinese_chars=True,
        max_input_chars_per_word=200,
        unknown_token="[UNK]",
        suffix_indicator="##",
        cls_token="[CLS]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        mask_token="[MASK]",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.lowercase = bool(lowercase)
        self.strip_accents = strip_accents
        self.tokenize_chinese_chars = bool(tokenize_chinese_chars)
        self.max_input_chars_per_word = int(max_input_chars_per_word)
        self.unknown_token = unknown_token
        self.suffix_indicator = suffix_indicator
        self.cls_token = cls_token
        self.sep_token = sep_token
        self.pad_token = pad_token
        self.mask_token = mask_token
        self._vocabulary = None
        self._normalizer = normalization.AlignedNormalizer(
            lowercase=self.lowercase,
            strip_accents=self.lowercase if strip_accents is None else bool(strip_accents),
            split_cjk=self.tokenize_chinese_chars,
        )
        if vocabulary is not None:
            self.set_vocabulary(vocabulary)

    # --- vocabulary -------------------------------------------------------

    def set_vocabulary(self, vocabulary):
        if isinstance(vocabulary, (str, os.PathLike)):
            vocabulary = read_vocabulary(os.fspath(vocabulary))
        vocabulary = list(vocabulary)
        if not vocabulary:
            raise ValueError("The vocabulary is empty.")
        if len(set(vocabulary)) != len(vocabulary):
            seen, dupes = set(), []
            for token in vocabulary:
                if token in seen:
                    dupes.append(token)
                seen.add(token)
            raise ValueError(f"The vocabulary has duplicate tokens: {dupes[:5]}")
        missing = [
            t
            for t in (self.unknown_token, self.cls_token, self.sep_token, self.pad_token)
            if t not in vocabulary
        ]
        if missing:
            raise ValueError(
                f"The vocabulary lacks the special tokens {missing}; BERT needs "
                "[UNK], [CLS], [SEP] and [PAD]."
            )
        self._vocabulary = vocabulary
        self._cached_index = None
        self.__dict__.pop("_traced", None)  # traced with the old vocabulary
        common = dict(
            vocab=vocabulary,
            suffix_indicator=self.suffix_indicator,
            # The character limit is applied by the normaliser; a word within it
            # has at most 4 bytes per character.
            max_bytes_per_word=4 * self.max_input_chars_per_word + 4,
            token_out_type=tf.int32,
            unknown_token=self.unknown_token,
            support_detokenization=True,
        )
        # The fused mode splits on whitespace, punctuation and CJK itself (the
        # normaliser has already isolated exactly the reference's punctuation).
        # Without CJK splitting it would still split CJK, so that case splits
        # words on whitespace first.
        self._fused = self.tokenize_chinese_chars
        self._wordpiece = tf_text.FastWordpieceTokenizer(
            no_pretokenization=not self._fused, **common
        )
        self._whitespace = tf_text.WhitespaceTokenizer()
        # Fast path for printable-ASCII text, where the whole normalisation is
        # (optional) lower-casing: the fused mode splits on ASCII whitespace and on
        # exactly the reference's ASCII punctuation, there is nothing to strip or
        # drop, and byte offsets are character offsets. Here the byte limit on
        # word length *is* the character limit.
        self._wordpiece_ascii = tf_text.FastWordpieceTokenizer(
            no_pretokenization=False,
            **{**common, "max_bytes_per_word": self.max_input_chars_per_word})
        self.cls_token_id = vocabulary.index(self.cls_token)
        self.sep_token_id = vocabulary.index(self.sep_token)
        self.pad_token_id = vocabulary.index(self.pad_token)
        self.unknown_token_id = vocabulary.index(self.unknown_token)
        self.mask_token_id = (
            vocabulary.index(self.mask_token) if self.mask_token in vocabulary else None
        )

    def check_vocabulary(self):
        if self._vocabulary is None:
            raise ValueError(
                "This BertTokenizer has no vocabulary. Pass `vocabulary=` (a vocab.txt "
                "path or a list of tokens) or use BertTokenizer.from_preset(...)."
            )

    @property
    def special_token_ids(self):
        ids = [self.cls_token_id, self.sep_token_id, self.pad_token_id, self.unknown_token_id]
        if self.mask_token_id is not None:
            ids.append(self.mask_token_id)
        return ids

    # --- tokenization -------------------------------------------------------

    def _wordpiece_with_offsets(self, normalized_text):
        if self._fused:
            return self._wordpiece.tokenize_with_offsets(normalized_text)
        words, word_starts, _ = self._whitespace.tokenize_with_offsets(normalized_text)
        ids, starts, ends = self._wordpiece.tokenize_with_offsets(words)
        word_starts = tf.cast(word_starts, starts.dtype)
        starts = (starts + tf.expand_dims(word_starts, -1)).merge_dims(1, 2)
        ends = (ends + tf.expand_dims(word_starts, -1)).merge_dims(1, 2)
        return ids.merge_dims(1, 2), starts, ends

    def _split_ascii(self, text):
        """Indices of printable-ASCII rows (tab/newline/CR allowed) and the rest."""
        simple = tf.strings.regex_full_match(text, r"[\t\n\r\x20-\x7e]*")
        return tf.where(simple)[:, 0], tf.where(~simple)[:, 0]

    def _merge(self, ascii_rows, other_rows, ascii_parts, other_parts):
        """Puts per-subset ragged results back in input order."""
        order = tf.argsort(tf.concat([ascii_rows, other_rows], 0))
        return tuple(tf.gather(tf.concat([a, b], 0), order)
                     for a, b in zip(ascii_parts, other_parts))

    def _ascii_text(self, text):
        return tf.strings.lower(text) if self.lowercase else text

    def _tokenize_other(self, text):
        normalized = self._normalizer(text, self.max_input_chars_per_word)["text"]
        if self._fused:
            return self._wordpiece.tokenize(normalized)
        return self._wordpiece.tokenize(self._whitespace.tokenize(normalized)).merge_dims(1, 2)

    def _tokenize_batch(self, text):
        # RE2 caps counted repetition at 1000, and the unfused mode needs the
        # normaliser's punctuation spacing: those cases take the general path.
        if not self._fused or self.max_input_chars_per_word >= 1000:
            return self._tokenize_other(text)
        # One normalised string per row: printable-ASCII rows only need
        # lower-casing (and a too-long word replaced by the placeholder the
        # normaliser uses, so it becomes [UNK]); the other rows go through the
        # table. One WordPiece call then covers the batch, with no ragged merge.
        ascii_rows, other_rows = self._split_ascii(text)
        fast = tf.strings.regex_replace(
            self._ascii_text(text), "[0-9A-Za-z]{%d,}" % (self.max_input_chars_per_word + 1),
            chr(normalization.LONG_WORD_PLACEHOLDER) * 2)
        other = self._normalizer(tf.gather(text, other_rows),
                                 self.max_input_chars_per_word)["text"]
        del ascii_rows
        return self._wordpiece.tokenize(
            tf.tensor_scatter_nd_update(fast, other_rows[:, None], other))

    def _tokenize_batch_with_offsets(self, text):
        # Offsets need the exact byte-to-character map, so ASCII rows keep their
        # own WordPiece (byte limit == character limit) and results are merged.
        ascii_rows, other_rows = self._split_ascii(text)
        ids, starts, ends = self._wordpiece_ascii.tokenize_with_offsets(
            self._ascii_text(tf.gather(text, ascii_rows)))
        ascii_parts = (ids, tf.cast(starts, tf.int64), tf.cast(ends, tf.int64))
        normalized = self._normalizer(tf.gather(text, other_rows), self.max_input_chars_per_word)
        ids, starts, ends = self._wordpiece_with_offsets(normalized["text"])
        starts, ends = normalization.byte_to_char_offsets(normalized, starts, ends)
        return self._merge(ascii_rows, other_rows, ascii_parts, (ids, starts, ends))

    def _detokenize_batch(self, ids):
        """Joins pieces back into text ("un ##want" -> "unwant")."""
        return self._wordpiece.detokenize(ids)

    # --- saving -----------------------------------------------------------

    def save_assets(self, dir_path):
        self.check_vocabulary()
        with open(os.path.join(dir_path, VOCABULARY_FILE), "w", encoding="utf-8") as f:
            for token in self._vocabulary:
                f.write(token + "\n")

    def load_assets(self, dir_path):
        self.set_vocabulary(os.path.join(dir_path, VOCABULARY_FILE))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary": None,  # an asset, see save_assets
                "lowercase": self.lowercase,
                "strip_accents": self.strip_accents,
                "tokenize_chinese_chars": self.tokenize_chinese_chars,
                "max_input_chars_per_word": self.max_input_chars_per_word,
                "unknown_token": self.unknown_token,
                "suffix_indicator": self.suffix_indicator,
                "cls_token": self.cls_token,
                "sep_token": self.sep_token,
                "pad_token": self.pad_token,
                "mask_token": self.mask_token,
            }
        )
        return config
