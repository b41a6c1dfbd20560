"""XLNet SentencePiece tokenizer, in-graph (no offsets yet)."""

import functools
import os
import unicodedata

import keras
import tensorflow as tf
import tensorflow_text as tf_text

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

    Offsets are not supported yet (no `tokenize_with_offsets`).

    Args:
      proto: path to a SentencePiece `.model` file or its serialized bytes. The
        model is saved as the asset `spiece.model`, never in the config.
      lowercase, remove_space, keep_accents: the reference `preprocess_text` flags.

    `tokenize(text)`: `text` is a str, a list of str, or a tf.string tensor of
    shape () or (B,). Returns int32 ids, shape (None,) or ragged (B, None).
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
        self._split_table = self._digit_comma_table(processor)
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
        """Ragged [V, None]: the ids each vocabulary id becomes after the rule."""
        rows, changed = [], 0
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
                changed += 1
            else:
                rows.append([token_id])
        self._has_digit_comma = changed > 0
        return tf.ragged.constant(rows, dtype=tf.int32, ragged_rank=1)

    def _check_vocabulary(self):
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
        ids = self._sentencepiece.tokenize(self.preprocess(text))
        if not self._has_digit_comma:
            return ids
        # Each id becomes its (usually one-element) row of the split table.
        return tf.gather(self._split_table, ids).merge_dims(1, 2)

    def detokenize(self, ids):
        """Decodes ids with SentencePiece ("▁" becomes a space)."""
        self._check_vocabulary()
        ids = tf.convert_to_tensor(ids) if not isinstance(ids, tf.RaggedTensor) else ids
        scalar = ids.shape.rank == 1
        if scalar:
            ids = tf.expand_dims(ids, 0)
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.RaggedTensor.from_tensor(ids)
        if self.pad_token_id is not None:
            ids = tf.ragged.boolean_mask(ids, ids != self.pad_token_id)
        text = self._sentencepiece.detokenize(tf.cast(ids, tf.int32))
        return text[0] if scalar else text

    # --- saving -----------------------------------------------------------

    def save_assets(self, dir_path):
        self._check_vocabulary()
        with open(os.path.join(dir_path, PROTO_FILE), "wb") as f:
            f.write(self._proto)

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
