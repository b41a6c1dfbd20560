"""XLNet SentencePiece tokenizer, in-graph, with character offsets."""

import functools
import hashlib
import os
import unicodedata

import keras
import numpy as np
import tensorflow as tf
import tensorflow_text as tf_text
from tensorflow_text.python.ops import sentencepiece_tokenizer

from kerabert.tokenizers.bert_text_normalization import utf8_byte_lengths
from kerabert.tokenizers.tokenizer import Tokenizer

PROTO_FILE = "spiece.model"
SPIECE_UNDERLINE = "\u2581"


def _char_class(predicate):
    """An RE2 character class of every code point for which `predicate` holds."""
    ranges, start, prev = [], None, None
    for c in range(0x110000):
        if predicate(chr(c)):
            if start is None:
                start = c
            elif c != prev + 1:
                ranges.append((start, prev))
                start = c
            prev = c
    if start is not None:
        ranges.append((start, prev))
    parts = [
        "\\x{%X}" % a if a == b else "\\x{%X}-\\x{%X}" % (a, b) for a, b in ranges
    ]
    return "[" + "".join(parts) + "]"


@functools.lru_cache(maxsize=None)
def whitespace_class():
    # Exactly Python's `str.split()` / `str.strip()` whitespace (str.isspace).
    return _char_class(str.isspace)


@functools.lru_cache(maxsize=None)
def combining_class():
    # Exactly `unicodedata.combining(c) != 0` (canonical combining class), which is
    # what the reference drops; `\p{Mn}` differs (Mn marks with class 0, e.g. Thai
    # U+0E31, are kept by the reference; a few Mc marks with a class are dropped).
    return _char_class(lambda ch: unicodedata.combining(ch) != 0)


_MAX_CODE_POINT = 0x110000

# Rows of the per-code-point expansion table used for offsets. A row lists the
# code points one input code point becomes; _SELF stands for the input itself.
_SELF = -1
_ROW_IDENTITY, _ROW_DROP, _ROW_SPACE, _ROW_QUOTE = 0, 1, 2, 3
_FIXED_ROWS = [[_SELF], [], [ord(" ")], [ord('"')]]

# How a piece produced by the digit-comma rule takes its share of the span of
# the piece it came from: all of it, characters [lo, hi) of it, or the comma.
_WHOLE, _HEAD, _TAIL = 0, 1, 2


@functools.lru_cache(maxsize=None)
def whitespace_code_points():
    """Sorted int32 code points of `whitespace_class()`."""
    return np.array([c for c in range(_MAX_CODE_POINT) if chr(c).isspace()], np.int32)


@functools.lru_cache(maxsize=4)
def expansion_table(lowercase, keep_accents):
    """Steps 3-4 of `XLNetTokenizer.preprocess` tabulated per code point.

    Returns int32/int64 numpy arrays `(row_of, row_start, row_length, row_values)`:
    code point `c` becomes `row_values[row_start[r]:row_start[r] + row_length[r]]`
    with `r = row_of[c]` (`_SELF` = `c` itself).

    Computed once (about half a second) with the very ops `preprocess` runs (ICU
    NFKD from tensorflow-text, the same combining-class regex, `tf.strings.lower`),
    so table and `preprocess` cannot disagree about a character. Applying them per
    code point equals applying them to a whole string: NFKD decomposes each code
    point on its own and only reorders marks of non-zero combining class, which
    are then dropped; `tf.strings.lower` maps code point by code point.
    """
    code_points = np.arange(_MAX_CODE_POINT, dtype=np.int32)
    valid = code_points[(code_points < 0xD800) | (code_points > 0xDFFF)]
    row_of = np.zeros(_MAX_CODE_POINT, np.int32)
    rows = list(_FIXED_ROWS)
    if lowercase or not keep_accents:
        text = tf.strings.unicode_encode(tf.constant(valid[:, None]), "UTF-8")
        if not keep_accents:
            text = tf_text.normalize_utf8(text, "NFKD")
            text = tf.strings.regex_replace(text, combining_class(), "")
        if lowercase:
            text = tf.strings.lower(text, encoding="utf-8")
        out = tf.strings.unicode_decode(text, "UTF-8")
        lengths = out.row_lengths().numpy()
        values = out.flat_values.numpy()
        splits = np.concatenate([[0], np.cumsum(lengths)])
        first = values[np.minimum(splits[:-1], max(len(values) - 1, 0))] if len(values) else 0
        same = (lengths == 1) & (first == valid)
        # NUL: `tf.strings.lower` stops at it, `preprocess` keeps it.
        same |= valid == 0
        row_of[valid[(lengths == 0) & ~same]] = _ROW_DROP
        changed = np.nonzero((lengths > 0) & ~same)[0]
        row_of[valid[changed]] = len(rows) + np.arange(len(changed), dtype=np.int32)
        rows.extend(values[splits[i]:splits[i + 1]].tolist() for i in changed)
    row_length = np.array([len(r) for r in rows], np.int64)
    row_start = np.cumsum(row_length) - row_length
    row_values = np.array([v for r in rows for v in r], np.int32)
    return row_of, row_start, row_length, row_values


def invisible_code_points(processor):
    """Sorted int32 code points that `processor`'s own normaliser turns into a
    space or removes (for XLNet's models: controls, U+200B, U+FEFF, ...).

    SentencePiece counts such a character into the span of the piece after it;
    offsets skip them at the start of a span, like spaces. Only characters that
    can plausibly vanish are probed (a few thousand; milliseconds).
    """
    space, gone = processor.normalize("# #"), processor.normalize("##")
    found = [c for c in _vanishing_candidates()
             if processor.normalize("#" + chr(c) + "#") in (space, gone)]
    return np.union1d(np.array(found, np.int32), whitespace_code_points()).astype(np.int32)


@functools.lru_cache(maxsize=None)
def _vanishing_candidates():
    return [c for c in range(_MAX_CODE_POINT) if not 0xD800 <= c <= 0xDFFF and (
        unicodedata.category(chr(c)) in ("Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me")
        or chr(c).isspace() or c in (0x2581, 0xFFFD))]


def _is_in(values, sorted_set):
    """Elementwise membership of int32 `values` in a sorted 1-D int32 tensor."""
    position = tf.searchsorted(sorted_set, values, side="left", out_type=tf.int64)
    position = tf.minimum(position, tf.size(sorted_set, out_type=tf.int64) - 1)
    return tf.gather(sorted_set, position) == values


class _SharedSentencepieceModel(sentencepiece_tokenizer._SentencepieceModelResource):
    """tensorflow-text's SentencePiece model resource, but not owned by its kernel.

    tensorflow-text creates the model with an empty `shared_name`, so the
    resource belongs to the op kernel that made it. `tf.random.set_seed` (and
    so `keras.utils.set_random_seed`) clears TensorFlow's eager kernel cache,
    which deletes that kernel and the model with it: every later call, in eager
    code or an already-built `tf.data` pipeline, fails with "Resource ...
    SentencepieceOp ... does not exist". A `shared_name` keeps the model in the
    resource manager for the life of the process instead. The name is the
    model's SHA-256, so two models never share one: not in this process, and not
    in a server that loads SavedModels exported by different processes.
    """

    def __init__(self, model, name):
        self.shared_name = "kerabert_sentencepiece_" + hashlib.sha256(model).hexdigest()[:32]
        super().__init__(model, name)

    def _create_resource(self):
        return sentencepiece_tokenizer.gen_sentencepiece_tokenizer.sentencepiece_op(
            model=self._model, shared_name=self.shared_name)


def read_proto(proto):
    if isinstance(proto, (bytes, bytearray)):
        return bytes(proto)
    if isinstance(proto, (str, os.PathLike)):
        path = os.fspath(proto)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"SentencePiece model file not found: {path}")
        with open(path, "rb") as f:
            return f.read()
    raise TypeError(
        "`proto` must be a path to a SentencePiece `.model` file or its serialized "
        f"bytes, got {type(proto).__name__}."
    )


@keras.saving.register_keras_serializable(package="kerabert")
class XLNetTokenizer(Tokenizer):
    """XLNet SentencePiece tokenizer that runs inside the TensorFlow graph.

    Produces the ids of the reference `preprocess_text` + `encode_ids`
    (official/nlp/xlnet/preprocess_utils.py) and of HF `XLNetTokenizer`
    (`encode(text, add_special_tokens=False)`) for the same model and flags:

    1. `remove_space`: strip and collapse runs of whitespace to one space
       (Python's `str.split()` whitespace, exactly).
    2. "``" and "''" become '"'.
    3. Unless `keep_accents`: NFKD (tensorflow-text / ICU), then drop every
       character with a non-zero canonical combining class (Python's
       `unicodedata.combining`, exactly).
    4. `lowercase`: `tf.strings.lower(encoding="utf-8")` (per-code-point; unlike
       Python's `str.lower()` it maps a word-final "Σ" to "σ" and "İ" to "i").
    5. SentencePiece (`tensorflow_text.SentencepieceTokenizer`, no BOS/EOS).
    6. The digit-comma rule: a piece longer than one character that ends with ","
       preceded by a digit (e.g. "▁1990,") is re-encoded without the comma, a
       leading "▁" that the original piece did not have is removed, and "," is
       appended as its own piece. The result depends only on the piece, so it is
       precomputed in Python for every vocabulary id (with the `sentencepiece`
       package, exactly as HF's `_tokenize` does) and applied in-graph as a ragged
       id -> ids lookup. It therefore works in `tf.data` and `tf.function`.

    `tokenize_with_offsets` returns the same ids with the span of *original*
    characters (code points) each piece came from; see its docstring.

    Args:
      proto: path to a SentencePiece `.model` file or its serialized bytes. The
        model is saved as the asset `spiece.model`, never in the config.
      lowercase, remove_space, keep_accents: the reference `preprocess_text` flags.

    `tokenize(text)`: `text` is a str, a list of str, or a tf.string tensor of
    shape () or (B,). Returns int32 ids, shape (None,) or ragged (B, None).
    `tokenize_with_offsets(text)`: also int64 start and end character offsets
    (end exclusive), same shapes.
    """

    def __init__(self, proto=None, lowercase=False, remove_space=True,
                 keep_accents=False, **kwargs):
        super().__init__(**kwargs)
        self.lowercase = bool(lowercase)
        self.remove_space = bool(remove_space)
        self.keep_accents = bool(keep_accents)
        self._proto = None
        if proto is not None:
            self.set_proto(proto)

    # --- model ------------------------------------------------------------

    def set_proto(self, proto):
        import sentencepiece

        proto = read_proto(proto)
        processor = sentencepiece.SentencePieceProcessor()
        try:
            processor.LoadFromSerializedProto(proto)
        except Exception as error:  # sentencepiece raises RuntimeError/OSError
            raise ValueError(f"Not a valid SentencePiece model: {error}") from None
        self._proto = proto
        self._processor = processor
        self._vocabulary = [processor.id_to_piece(i) for i in range(processor.get_piece_size())]
        self._cached_index = None
        self.__dict__.pop("_traced", None)
        self._sentencepiece = tf_text.SentencepieceTokenizer(
            model=proto, out_type=tf.int32, add_bos=False, add_eos=False)
        self._sentencepiece._model_resource = _SharedSentencepieceModel(proto, None)
        self._split_table, self._split_spans = self._digit_comma_table(processor)
        # Pieces with text of their own; a bare "▁" (a word boundary whose space
        # was already used) may have an empty span.
        self._visible = tf.constant(
            [piece.replace(SPIECE_UNDERLINE, "") != "" for piece in self._vocabulary])
        self.__dict__.pop("_offset_constants", None)
        index = self._token_index()
        get = lambda token: index.get(token)  # noqa: E731
        self.unknown_token_id = processor.unk_id()
        self.bos_token_id = get("<s>")
        self.eos_token_id = get("</s>")
        self.cls_token_id = get("<cls>")
        self.sep_token_id = get("<sep>")
        self.pad_token_id = get("<pad>")
        self.mask_token_id = get("<mask>")

    def _digit_comma_table(self, processor):
        """The ids each vocabulary id becomes after the rule, ragged int32
        [V, None], and for each of those ids `(lo, hi, kind)`, ragged int64
        [V, None, 3]: which characters of the original piece it covers (see
        `_tokenize_batch_with_offsets`)."""
        rows, spans, changed = [], [], 0
        for token_id, piece in enumerate(self._vocabulary):
            if (len(piece) > 1 and piece[-1] == "," and piece[-2].isdigit()
                    and not processor.is_control(token_id)
                    and not processor.is_unknown(token_id)):
                # HF XLNetTokenizer._tokenize, line by line.
                cur = processor.EncodeAsPieces(piece[:-1].replace(SPIECE_UNDERLINE, ""))
                if piece[0] != SPIECE_UNDERLINE and cur and cur[0][0] == SPIECE_UNDERLINE:
                    cur = cur[1:] if len(cur[0]) == 1 else [cur[0][1:]] + cur[1:]
                cur.append(piece[-1])
                rows.append([processor.piece_to_id(p) for p in cur])
                span, lo = [], 0
                for p in cur[:-1]:
                    hi = lo + len(p.replace(SPIECE_UNDERLINE, ""))
                    span.append([lo, hi, _HEAD])
                    lo = hi
                spans.append(span + [[lo, lo + 1, _TAIL]])
                changed += 1
            else:
                rows.append([token_id])
                spans.append([[0, 0, _WHOLE]])
        self._has_digit_comma = changed > 0
        return (tf.ragged.constant(rows, dtype=tf.int32, ragged_rank=1),
                tf.ragged.constant(spans, dtype=tf.int64, ragged_rank=1, inner_shape=(3,)))

    def tf_resources(self):
        """The SentencePiece model resource (named after the model's bytes, so a
        server that loads several exports never mixes two models up)."""
        self.check_vocabulary()
        return [self._sentencepiece._model_resource]

    @property
    def proto(self):
        """The serialized SentencePiece model (bytes), as in a `spiece.model` file."""
        self.check_vocabulary()
        return self._proto

    def check_vocabulary(self):
        """Raises a clear error when the tokenizer has no model yet."""
        if self._proto is None:
            raise ValueError(
                "This XLNetTokenizer has no SentencePiece model. Pass `proto=` (a "
                "`.model` path or its bytes) or use XLNetTokenizer.from_preset(...).")

    @property
    def special_token_ids(self):
        ids = [self.cls_token_id, self.sep_token_id, self.pad_token_id,
               self.mask_token_id, self.unknown_token_id]
        return [i for i in ids if i is not None]

    # --- tokenization -------------------------------------------------------

    def preprocess(self, text):
        """The reference `preprocess_text`, in-graph, on a string tensor."""
        if self.remove_space:
            text = tf.strings.regex_replace(text, whitespace_class() + "+", " ")
            text = tf.strings.regex_replace(text, "^ | $", "")
        text = tf.strings.regex_replace(text, "``", '"')
        text = tf.strings.regex_replace(text, "''", '"')
        if not self.keep_accents:
            text = tf_text.normalize_utf8(text, "NFKD")
            text = tf.strings.regex_replace(text, combining_class(), "")
        if self.lowercase:
            # tf.strings.lower stops at a NUL byte (C string); lower the parts
            # between NULs and join them back.
            # (reduce_join's `separator` is a C string too, so the NUL is appended
            # as a tensor, and the last one is cut off.)
            parts = tf.strings.split(text, "\x00")
            parts = tf.ragged.map_flat_values(
                lambda p: tf.strings.lower(p, encoding="utf-8") + tf.constant("\x00"), parts)
            text = tf.strings.reduce_join(parts, axis=-1)
            length = tf.strings.length(text)
            text = tf.strings.substr(text, tf.zeros_like(length), length - 1)
        return text

    def _tokenize_batch(self, text):
        # Invalid UTF-8 reads as U+FFFD, as in `tokenize_with_offsets`: raw bytes
        # would reach SentencePiece, which makes other pieces of them.
        text = tf.strings.unicode_transcode(text, "UTF-8", "UTF-8", errors="replace",
                                            replacement_char=0xFFFD)
        ids = self._sentencepiece.tokenize(self.preprocess(text))
        if not self._has_digit_comma:
            return ids
        # Each id becomes its (usually one-element) row of the split table.
        return tf.gather(self._split_table, ids).merge_dims(1, 2)

    def _offset_tables(self):
        """The `expansion_table` and code-point sets as constants, made on first
        use (eagerly, so any graph that traces this can capture them)."""
        tables = self.__dict__.get("_offset_constants")
        if tables is None:
            with tf.init_scope():
                row_of, row_start, row_length, row_values = expansion_table(
                    self.lowercase, self.keep_accents)
                tables = {
                    "row_of": tf.constant(row_of),
                    "row_start": tf.constant(row_start),
                    "row_length": tf.constant(row_length),
                    "row_values": tf.constant(row_values),
                    "whitespace": tf.constant(whitespace_code_points()),
                    "invisible": tf.constant(invisible_code_points(self._processor)),
                }
            self.__dict__["_offset_constants"] = tables
        return tables

    def _aligned_preprocess(self, text):
        """`preprocess` on the code points of `text`, remembering their origin.

        Args: `text`, (B,) strings.
        Returns a dict of flat tensors (`n` input code points, `m` output ones):
          `code_points`: (n,) int32, the input decoded (bad UTF-8 -> U+FFFD).
          `char_splits`: (B + 1,) int64 row splits of `code_points`.
          `normalized`: (m,) int32, the preprocessed code points, and
          `normalized_splits`: (B + 1,) their row splits.
          `source`: (m,) int64, the input code point (flat index) that produced
            each output one.
          `attached`: (n,) bool, input code points that produce nothing but
            belong to the character before them (dropped combining marks, the
            second "`" or "'" of a pair), so spans ending there include them.

        Whitespace collapsing and the quote pairs depend on neighbours and are
        decided here; the per-code-point steps come from `expansion_table`. Every
        step keeps or drops whole input code points or replaces one by several,
        so the origin of each output code point is exact.
        """
        tables = self._offset_tables()
        chars = tf.strings.unicode_decode(
            text, "UTF-8", errors="replace", replacement_char=0xFFFD)
        cps = chars.flat_values
        char_splits = chars.row_splits
        index = tf.range(tf.size(cps, out_type=tf.int64))
        char_row = chars.value_rowids()
        row_start = tf.gather(char_splits, char_row)
        row_end = tf.gather(char_splits, char_row + 1)
        continues_row = index > row_start
        row = tf.gather(tables["row_of"], tf.clip_by_value(cps, 0, _MAX_CODE_POINT - 1))
        is_space = _is_in(cps, tables["whitespace"])
        if self.remove_space:
            after_space = tf.concat([[False], is_space[:-1]], 0) & continues_row
            solid = tf.cast(~is_space, tf.int64)
            solid_through = tf.concat([[0], tf.cumsum(solid)], 0)  # exclusive prefix sums
            solid_before = solid_through[:-1] - tf.gather(solid_through, row_start)
            solid_after = tf.gather(solid_through, row_end) - solid_through[1:]
            kept_space = is_space & ~after_space & (solid_before > 0) & (solid_after > 0)
            row = tf.where(is_space, tf.where(kept_space, _ROW_SPACE, _ROW_DROP), row)
        # The regex replaces "``" (then "''") leftmost first: in a run of equal
        # quote characters, pairs start at even positions of the run.
        previous = tf.concat([[-1], cps[:-1]], 0)
        run_start = ~(continues_row & (cps == previous))
        run_id = tf.cumsum(tf.cast(run_start, tf.int64)) - 1
        in_run = index - tf.gather(tf.math.segment_min(index, run_id), run_id)
        next_same = tf.concat([~run_start[1:], [False]], 0)
        is_quote = (cps == ord("`")) | (cps == ord("'"))
        pair_first = is_quote & (in_run % 2 == 0) & next_same
        pair_second = is_quote & (in_run % 2 == 1)
        row = tf.where(pair_first, _ROW_QUOTE, tf.where(pair_second, _ROW_DROP, row))

        counts = tf.gather(tables["row_length"], row)
        out_splits = tf.concat([[0], tf.cumsum(counts)], 0)
        source = tf.ragged.row_splits_to_segment_ids(out_splits)
        position = tf.range(out_splits[-1]) - tf.gather(out_splits, source)
        values = tf.gather(tables["row_values"],
                           tf.gather(tf.gather(tables["row_start"], row), source) + position)
        normalized = tf.where(values == _SELF, tf.gather(cps, source), values)
        return {
            "code_points": cps,
            "char_splits": char_splits,
            "normalized": normalized,
            "normalized_splits": tf.gather(out_splits, char_splits),
            "source": source,
            "attached": (counts == 0) & ~is_space,
        }

    def _tokenize_batch_with_offsets(self, text):
        """(B,) strings -> ragged int32 ids and int64 character starts / ends.

        1. `_aligned_preprocess` gives the preprocessed text and the origin of
           each of its code points.
        2. SentencePiece gives byte spans in that text, turned into code-point
           ranges `[first, last)`. A piece starting with "▁" covers the space
           before it, and a piece may cover characters SentencePiece removed or
           turned into spaces (`invisible_code_points`) at either end; the
           range leaves them out.
        3. Digit-comma pieces are split: the comma takes the last character of
           the range, the other new pieces take their own characters in order
           (their text without "▁" is the original piece's, less the comma).
        4. Ranges map back to original characters: start = origin of the first
           code point, end = one past the origin of the last one, extended over
           following `attached` characters (a dropped combining mark stays with
           its letter, the second "`" of "``" with the '"').
        """
        aligned = self._aligned_preprocess(text)
        normalized = aligned["normalized"]
        normalized_splits = aligned["normalized_splits"]
        source = aligned["source"]
        char_splits = aligned["char_splits"]
        ids, byte_starts, byte_ends = self._sentencepiece.tokenize_with_offsets(
            tf.strings.unicode_encode(
                tf.RaggedTensor.from_row_splits(normalized, normalized_splits, validate=False),
                "UTF-8"))

        byte_length = utf8_byte_lengths(normalized)
        cp_end = tf.cumsum(byte_length)
        cp_start = cp_end - byte_length
        row_byte = tf.gather(tf.concat([[0], cp_end], 0), normalized_splits)
        piece_row = ids.value_rowids()
        base = tf.gather(row_byte, piece_row)
        first = tf.searchsorted(cp_end, tf.cast(byte_starts.flat_values, tf.int64) + base,
                                side="right", out_type=tf.int64)
        last = tf.searchsorted(cp_start, tf.cast(byte_ends.flat_values, tf.int64) + base,
                               side="left", out_type=tf.int64)
        last = tf.maximum(first, last)
        total = tf.size(normalized, out_type=tf.int64)
        invisible = _is_in(normalized, self._offset_tables()["invisible"])
        solid = tf.concat([tf.where(~invisible)[:, 0], [total]], 0)
        first = tf.minimum(
            tf.gather(solid, tf.searchsorted(solid, first, side="left", out_type=tf.int64)), last)
        # The character SentencePiece removed before a space or the end of the
        # text counts into the piece before it; leave it out, as at the start.
        before_last = tf.searchsorted(solid, last, side="left", out_type=tf.int64) - 1
        last = tf.where(before_last >= 0,
                        tf.maximum(tf.gather(solid, tf.maximum(before_last, 0)) + 1, first),
                        first)

        piece_ids = ids.flat_values
        piece_splits = ids.row_splits
        if self._has_digit_comma:
            split = tf.gather(self._split_table, piece_ids)
            parent = split.value_rowids()
            spans = tf.gather(self._split_spans, piece_ids).flat_values
            lo, hi, kind = spans[:, 0], spans[:, 1], spans[:, 2]
            a, b = tf.gather(first, parent), tf.gather(last, parent)
            tail = b - 1
            first = tf.where(kind == _WHOLE, a,
                             tf.where(kind == _HEAD, tf.minimum(a + lo, tail), tail))
            last = tf.where(kind == _WHOLE, b,
                            tf.where(kind == _HEAD, tf.minimum(a + hi, tail), b))
            first = tf.maximum(first, a)
            last = tf.maximum(last, first)
            piece_ids = split.flat_values
            piece_splits = tf.gather(split.row_splits, piece_splits)
            piece_row = tf.gather(piece_row, parent)

        # A piece with text but an empty range comes from a character that
        # SentencePiece's own normalisation expanded ("½" -> "1⁄2": it gives the
        # bytes to the last piece only); it shares the next character's span.
        row_end = tf.gather(normalized_splits, piece_row + 1)
        visible = tf.gather(self._visible, piece_ids)
        last = tf.where((last == first) & visible, tf.minimum(first + 1, row_end), last)

        char_row_start = tf.gather(char_splits, piece_row)
        char_row_end = tf.gather(char_splits, piece_row + 1)
        upper = tf.maximum(total - 1, 0)
        start = tf.where(first < row_end,
                         tf.gather(source, tf.minimum(first, upper)), char_row_end)
        anchors = tf.concat(
            [tf.where(~aligned["attached"])[:, 0], [tf.size(aligned["code_points"], tf.int64)]], 0)
        last_char = tf.gather(source, tf.clip_by_value(last - 1, 0, upper))
        end = tf.minimum(
            tf.gather(anchors, tf.searchsorted(anchors, last_char, side="right",
                                               out_type=tf.int64)), char_row_end)
        end = tf.where(last > first, end, start)
        make = lambda values: tf.RaggedTensor.from_row_splits(  # noqa: E731
            values, piece_splits, validate=False)
        return make(piece_ids), make(start - char_row_start), make(end - char_row_start)

    def tokenize_with_offsets(self, inputs):
        """Ids (as `tokenize`) and the span of original characters of each.

        `inputs`: a str, a list of str, or a tf.string tensor of shape () or
        (B,). Returns `(ids, starts, ends)`: int32 ids and int64 code-point
        offsets into the *original* strings (end exclusive), each (None,) or
        ragged (B, None). Runs in-graph (`tf.data`, `tf.function`).

        Conventions:
        - `text[start:end]`, preprocessed, is the piece without "▁": the space a
          "▁" stands for is not part of the span (HF's fast tokenizer includes
          it for every word but the first).
        - A bare "▁" piece (before a character the vocabulary lacks, say) has
          an empty span at the start of the next character.
        - Pieces made by the digit-comma rule split their piece's span ("▁1990,"
          -> "▁199" [3, 6), "0" [6, 7), "," [7, 8) in "In 1990,").
        - Characters that expand ("ﬁ" -> "fi", "㍱" -> "hPa") give every piece
          touching them the whole character: "ﬁnance" -> "▁f" [0, 1), "in"
          [0, 2). Starts and ends are each non-decreasing, but such pieces
          overlap.
        - Dropped combining marks belong to the letter before them: a span
          ending at that letter ends after its marks.
        - Characters that leave no trace (collapsed or stripped whitespace)
          belong to no piece.
        - Invalid UTF-8 reads as U+FFFD, one per maximal invalid subsequence
          (as `bytes.decode("utf-8", "replace")`; `tokenize` does the same), and
          offsets count the characters of that text.
        """
        return super().tokenize_with_offsets(inputs)

    def _detokenize_batch(self, ids):
        """Decodes ids with SentencePiece ("▁" becomes a space)."""
        return self._sentencepiece.detokenize(ids)

    # --- saving -----------------------------------------------------------

    def save_assets(self, dir_path):
        self.check_vocabulary()
        with open(os.path.join(dir_path, PROTO_FILE), "wb") as f:
            f.write(self.proto)

    def load_assets(self, dir_path):
        self.set_proto(os.path.join(dir_path, PROTO_FILE))

    def get_config(self):
        config = super().get_config()
        config.update({
            "proto": None,  # an asset, see save_assets
            "lowercase": self.lowercase,
            "remove_space": self.remove_space,
            "keep_accents": self.keep_accents,
        })
        return config
