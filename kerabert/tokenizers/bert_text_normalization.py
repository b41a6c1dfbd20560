"""In-graph BERT text normalisation that remembers where every character came from.

The reference `BasicTokenizer` (Google's `tokenization.py`, also in Model Garden) cleans,
pads CJK ideographs with spaces, lower-cases, strips accents (NFD, drop `Mn`) and
splits punctuation. Every one of those steps acts on one code point at a time, so
the whole pipeline is a function `code point -> string` (possibly empty, possibly
several code points). We tabulate that function once in Python over all of Unicode,
and apply it in the graph with integer gathers:

    text  --unicode_decode-->  code points  --table-->  normalised code points
                                                         (each knows its source index)

The normalised text is what `FastWordpieceTokenizer` sees; because each
normalised code point carries the index of the original character it came from,
token byte offsets in the normalised text map back to exact *character* offsets
in the original string (what `context[start:end]` needs for question answering).

Conventions where the references disagree (documented so the choice is visible):

- Control characters: the reference drops categories `Cc` and `Cf` (not `\\t \\n \\r`,
  which are whitespace). HF's Rust normaliser also drops private-use `Co`; we follow
  the reference: private-use code points are kept (and
  usually become `[UNK]`).
- Lower-casing is applied per code point, like HF `tokenizers`. Python's `str.lower`
  on a whole word maps a final capital sigma to `ς`; per code point it is `σ`.
"""

import functools
import unicodedata

import numpy as np
import tensorflow as tf

# Row values in the expansion table: SELF stands for "the input code point itself".
SELF = -1
SPACE = 32

# Fixed rows of the expansion table; rows >= NUM_FIXED_ROWS are exceptions.
_ROW_IDENTITY = 0  # [SELF]
_ROW_DROP = 1  # []
_ROW_SPACE = 2  # [" "]
_ROW_ISOLATE = 3  # [" ", SELF, " "]
_NUM_FIXED_ROWS = 4

_MAX_CODE_POINT = 0x110000

# Stands in for the characters of a word longer than the word-length limit. A
# private-use code point is in no WordPiece vocabulary, so the word becomes one
# [UNK]; it is neither space nor punctuation, so the word stays one word.
LONG_WORD_PLACEHOLDER = 0xE000


def is_control(char):
    """Reference `_is_control`: categories Cc and Cf, except tab/newline/CR."""
    if char in "\t\n\r":
        return False
    return unicodedata.category(char) in ("Cc", "Cf")


def is_whitespace(char):
    """Reference `_is_whitespace`, plus what `str.split()` splits on.

    The reference maps " ", \\t, \\n, \\r and category Zs to a space, and later splits
    with `str.split()`, which also splits on U+2028/U+2029 (and on Cc characters that
    were already dropped). Treating all of them as a space gives the same words.
    """
    return char in " \t\n\r" or unicodedata.category(char) == "Zs" or char.isspace()


def is_punctuation(char):
    """Reference `_is_punctuation`: ASCII non-alphanumerics and Unicode P*."""
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


_CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)


def is_cjk_ideograph(cp):
    """Reference `_is_chinese_char`: CJK ideograph blocks (not Hangul or kana)."""
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


def normalize_char(char, lowercase, strip_accents, split_cjk):
    """The reference pipeline applied to one character; returns a string."""
    cp = ord(char)
    if cp == 0 or cp == 0xFFFD or is_control(char):
        return ""
    if is_whitespace(char):
        return " "
    isolate = split_cjk and is_cjk_ideograph(cp)
    text = char.lower() if lowercase else char
    if strip_accents:
        text = unicodedata.normalize("NFD", text)
        text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    pieces = []
    for c in text:
        if isolate or is_punctuation(c):
            pieces.append(" " + c + " ")
        else:
            pieces.append(c)
    return "".join(pieces)


@functools.lru_cache(maxsize=8)
def build_normalization_table(lowercase, strip_accents, split_cjk):
    """Tabulate `normalize_char` over all of Unicode.

    Returns `(row_of, rows)`: `row_of[cp]` is the row of `rows` (a list of int
    lists, `SELF` meaning the code point itself) that `cp` expands to. Built once
    per flag combination (about half a second) and cached.
    """
    row_of = np.zeros(_MAX_CODE_POINT, dtype=np.int32)
    rows = [[SELF], [], [SPACE], [SPACE, SELF, SPACE]]
    for cp in range(_MAX_CODE_POINT):
        if 0xD800 <= cp <= 0xDFFF:  # surrogates never come out of valid UTF-8
            continue
        char = chr(cp)
        out = normalize_char(char, lowercase, strip_accents, split_cjk)
        if out == char:
            continue
        if out == "":
            row_of[cp] = _ROW_DROP
        elif out == " ":
            row_of[cp] = _ROW_SPACE
        elif out == " " + char + " ":
            row_of[cp] = _ROW_ISOLATE
        else:
            row_of[cp] = len(rows)
            rows.append([ord(c) for c in out])
    return row_of, rows


class AlignedNormalizer:
    """Applies a normalisation table in the graph, keeping character alignment.

    Not a Keras layer: a small helper owned by `BertTokenizer`. The tables are
    held as constants so the normaliser works inside `tf.data` and SavedModels.
    """

    def __init__(self, lowercase, strip_accents, split_cjk):
        row_of, rows = build_normalization_table(lowercase, strip_accents, split_cjk)
        lengths = np.array([len(r) for r in rows], dtype=np.int64)
        self._row_of = tf.constant(row_of, dtype=tf.int32)
        self._row_length = tf.constant(lengths)
        self._row_start = tf.constant(np.cumsum(lengths) - lengths)
        self._row_values = tf.constant([v for r in rows for v in r], dtype=tf.int32)

    def __call__(self, text, max_chars_per_word=None):
        """Normalises a 1-D string tensor.

        A word (run of non-space normalised characters) longer than
        `max_chars_per_word` is replaced by two `LONG_WORD_PLACEHOLDER`s that
        carry the source indices of its first and last characters, so WordPiece
        maps it to one [UNK] spanning the whole word. (tensorflow-text's own limit
        counts UTF-8 bytes; the reference and HF count characters.)

        Returns a dict:
          `text`: normalised strings, shape (B,).
          `code_points`: normalised code points, ragged (B, None) int32.
          `source_index`: for each normalised code point, the index of the
             character of the *original* string it came from, ragged (B, None).
        Invalid UTF-8 bytes become U+FFFD and are then dropped, as the reference
        decodes with `errors="ignore"`.

        Written with flat gathers and segment ops only: under `tf.data` every op
        has a fixed cost, and `tf.repeat`, `tf.boolean_mask` and ragged gathers
        each expand into many ops.
        """
        chars = tf.strings.unicode_decode(
            text, "UTF-8", errors="replace", replacement_char=0xFFFD
        )
        flat = chars.flat_values
        char_splits = chars.row_splits
        row = tf.gather(self._row_of, tf.clip_by_value(flat, 0, _MAX_CODE_POINT - 1))
        counts = tf.gather(self._row_length, row)
        # out_splits[c] is where input char c's expansion starts in the output.
        out_splits = tf.concat([[0], tf.cumsum(counts)], 0)
        src = tf.ragged.row_splits_to_segment_ids(out_splits)  # output -> input char
        position = tf.range(out_splits[-1]) - tf.gather(out_splits, src)
        values = tf.gather(self._row_values,
                           tf.gather(tf.gather(self._row_start, row), src) + position)
        out = tf.where(values == SELF, tf.gather(flat, src), values)
        sentence_splits = tf.gather(out_splits, char_splits)
        sentence = tf.ragged.row_splits_to_segment_ids(sentence_splits)
        source = src - tf.gather(char_splits, sentence)  # char index within its sentence
        if max_chars_per_word is not None:
            out, source, sentence, sentence_splits = _collapse_long_words(
                out, source, sentence, sentence_splits, max_chars_per_word)
        code_points = tf.RaggedTensor.from_row_splits(out, sentence_splits, validate=False)
        source_index = tf.RaggedTensor.from_row_splits(source, sentence_splits, validate=False)
        normalized = tf.strings.unicode_encode(code_points, "UTF-8")
        return {
            "text": normalized,
            "code_points": code_points,
            "source_index": source_index,
        }


def _collapse_long_words(out, source, sentence, sentence_splits, limit):
    """See `AlignedNormalizer.__call__`; works on the flat code-point stream.

    `sentence` is the sentence id of each flat code point; words never span two
    sentences.
    """
    is_char = out != SPACE
    same_sentence_as_previous = tf.concat([[False], sentence[1:] == sentence[:-1]], 0)
    previous_is_char = tf.concat([[False], is_char[:-1]], 0) & same_sentence_as_previous
    next_is_char = tf.concat([is_char[1:] & same_sentence_as_previous[1:], [False]], 0)
    word_start = is_char & ~previous_is_char
    word_end = is_char & ~next_is_char
    word_id = tf.cumsum(tf.cast(word_start, tf.int64))  # 1-based; spaces share a word id
    word_length = tf.math.segment_sum(tf.cast(is_char, tf.int64), word_id)
    in_long_word = is_char & (tf.gather(word_length, word_id) > limit)
    keep = tf.where(~in_long_word | word_start | word_end)[:, 0]
    out = tf.gather(tf.where(in_long_word, LONG_WORD_PLACEHOLDER, out), keep)
    sentence = tf.gather(sentence, keep)
    kept_per_sentence = tf.math.unsorted_segment_sum(
        tf.ones_like(sentence), sentence, tf.size(sentence_splits, out_type=tf.int64) - 1)
    sentence_splits = tf.concat([[0], tf.cumsum(kept_per_sentence)], 0)
    return out, tf.gather(source, keep), sentence, sentence_splits


def utf8_byte_lengths(code_points):
    """UTF-8 length in bytes of each code point (int tensor in, int64 out)."""
    cp = tf.cast(code_points, tf.int64)
    one = tf.ones_like(cp)
    return (
        one
        + tf.cast(cp >= 0x80, tf.int64)
        + tf.cast(cp >= 0x800, tf.int64)
        + tf.cast(cp >= 0x10000, tf.int64)
    )


def byte_to_char_offsets(normalized, starts, ends):
    """Maps token byte offsets in normalised text to original character offsets.

    Args:
      normalized: the dict returned by `AlignedNormalizer`.
      starts, ends: ragged (B, None) byte offsets into `normalized["text"]`,
        end exclusive.
    Returns:
      `(char_starts, char_ends)`, ragged (B, None) int64, end exclusive, in
      characters (code points) of the original strings.
    """
    code_points = normalized["code_points"]
    source = normalized["source_index"].flat_values
    byte_len = utf8_byte_lengths(code_points.flat_values)
    # Global byte position where each normalised code point ends.
    cum_end = tf.cumsum(byte_len)
    row_byte_start = tf.concat(
        [[0], tf.cumsum(tf.math.unsorted_segment_sum(
            byte_len, code_points.value_rowids(), code_points.nrows()))], 0
    )[:-1]
    token_rows = starts.value_rowids()
    base = tf.gather(row_byte_start, token_rows)
    first_byte = tf.cast(starts.flat_values, tf.int64) + base
    last_byte = tf.cast(ends.flat_values, tf.int64) + base - 1
    first_cp = tf.searchsorted(cum_end, first_byte, side="right")
    last_cp = tf.searchsorted(cum_end, last_byte, side="right")
    char_start = tf.gather(source, first_cp)
    char_end = tf.gather(source, last_cp) + 1
    return starts.with_flat_values(char_start), ends.with_flat_values(char_end)
