"""Test oracle: the reference BERT `FullTokenizer`, re-written from its documented rules.

This is NOT library code and NOT a copy of Google's `tokenization.py`. It is an
independent, deliberately plain transcription of the behaviour of the original BERT
tokenizer (BasicTokenizer followed by
WordpieceTokenizer), used by the tests as a slow but obviously-correct oracle:

1. Clean: drop code point 0, U+FFFD and control characters (Unicode categories
   Cc and Cf, except tab, newline and carriage return); every whitespace
   character (space, tab, newline, CR, category Zs) becomes a plain space.
2. Put spaces around CJK ideographs (eight code point ranges; Hangul and kana
   are not included).
3. Split on whitespace (Python `str.split()`).
4. Per word: if lower-casing, `str.lower()` the whole word; accents (NFD, then
   drop category Mn) are stripped only when lower-casing. `strip_accents` is an
   extra option mirroring Hugging Face: None follows `do_lower_case`, True/False
   force it on/off.
5. Split every punctuation character into its own word (ASCII 33-47, 58-64,
   91-96, 123-126, plus any Unicode category starting with "P").
6. WordPiece per word: greedy longest match first, continuation pieces carry the
   "##" prefix; if any position cannot be matched, or the word has more than
   `max_input_chars_per_word` characters, the whole word becomes the unknown token.

Also `truncate_seq_pair`, the reference rule used to fit a sentence pair into a
budget: remove the last token of the longer list until the total fits; on a tie
the second list loses a token.

A few switches exist only so that tests can *explain* differences (all are off by
default, i.e. the oracle behaves like the reference):

- `lowercase_per_char`: lower-case one code point at a time (what HF `tokenizers`
  and kerabert do) instead of `str.lower()` on the whole word. The two differ
  only for context-sensitive mappings, i.e. a word-final capital sigma becomes
  "ς" with `str.lower()` and "σ" per code point.
- `drop_private_use`: also drop category Co in step 1 (what HF's Rust
  normaliser does; it keeps unassigned Cn code points).
- `count_utf8_bytes`: measure `max_input_chars_per_word` in UTF-8 bytes instead
  of characters (what tensorflow-text's `max_bytes_per_word` does).
"""

import unicodedata

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

_ASCII_PUNCT_RANGES = ((33, 47), (58, 64), (91, 96), (123, 126))


def is_whitespace(ch):
    """Space, tab, newline, carriage return, or Unicode category Zs."""
    return ch in (" ", "\t", "\n", "\r") or unicodedata.category(ch) == "Zs"


def is_control(ch):
    """Categories Cc/Cf, but tab/newline/CR count as whitespace, not control."""
    if ch in ("\t", "\n", "\r"):
        return False
    return unicodedata.category(ch) in ("Cc", "Cf")


def is_punctuation(ch):
    """All non-alphanumeric printable ASCII, plus Unicode punctuation (P*)."""
    cp = ord(ch)
    for lo, hi in _ASCII_PUNCT_RANGES:
        if lo <= cp <= hi:
            return True
    return unicodedata.category(ch)[0] == "P"


def is_cjk(cp):
    """The reference's "Chinese character": eight CJK ideograph ranges."""
    for lo, hi in _CJK_RANGES:
        if lo <= cp <= hi:
            return True
    return False


def truncate_seq_pair(tokens_a, tokens_b, max_length):
    """Reference pair truncation, in place: pop from the longer list (ties: b)."""
    while len(tokens_a) + len(tokens_b) > max_length:
        longer = tokens_a if len(tokens_a) > len(tokens_b) else tokens_b
        longer.pop()


def load_vocabulary(path):
    """One token per line, stripped; the id is the line number."""
    with open(path, encoding="utf-8") as handle:
        return [line.strip() for line in handle]


class ReferenceFullTokenizer:
    """Basic (cleaning, CJK, case, punctuation) + WordPiece tokenization.

    Args:
      vocab: list of tokens (id = index) or a path to a vocab.txt.
      do_lower_case: reference flag; also turns accent stripping on.
      strip_accents: None (follow `do_lower_case`), True or False.
      tokenize_chinese_chars: pad CJK ideographs with spaces.
      unk_token: what a word that cannot be tokenized becomes.
      max_input_chars_per_word: longer words (in characters) become `unk_token`.
    """

    def __init__(
        self,
        vocab,
        do_lower_case=True,
        strip_accents=None,
        tokenize_chinese_chars=True,
        unk_token="[UNK]",
        max_input_chars_per_word=200,
        lowercase_per_char=False,
        drop_private_use=False,
        count_utf8_bytes=False,
    ):
        if isinstance(vocab, str):
            vocab = load_vocabulary(vocab)
        self.vocab = {}
        for index, token in enumerate(vocab):
            self.vocab.setdefault(token, index)
        self.inv_vocab = {index: token for token, index in self.vocab.items()}
        self.do_lower_case = do_lower_case
        self.strip_accents = do_lower_case if strip_accents is None else strip_accents
        self.tokenize_chinese_chars = tokenize_chinese_chars
        self.unk_token = unk_token
        self.max_input_chars_per_word = max_input_chars_per_word
        self.lowercase_per_char = lowercase_per_char
        self.drop_private_use = drop_private_use
        self.count_utf8_bytes = count_utf8_bytes

    # --- basic tokenization --------------------------------------------------

    def _keep(self, ch):
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or is_control(ch):
            return False
        if self.drop_private_use and unicodedata.category(ch) == "Co":
            return False
        return True

    def clean(self, text):
        return "".join(
            " " if is_whitespace(ch) else ch for ch in text if self._keep(ch)
        )

    def space_out_cjk(self, text):
        if not self.tokenize_chinese_chars:
            return text
        return "".join(f" {ch} " if is_cjk(ord(ch)) else ch for ch in text)

    def _lower(self, word):
        if self.lowercase_per_char:
            return "".join(ch.lower() for ch in word)
        return word.lower()

    @staticmethod
    def _remove_accents(word):
        decomposed = unicodedata.normalize("NFD", word)
        return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")

    @staticmethod
    def _split_punctuation(word):
        pieces, current = [], []
        for ch in word:
            if is_punctuation(ch):
                if current:
                    pieces.append("".join(current))
                    current = []
                pieces.append(ch)
            else:
                current.append(ch)
        if current:
            pieces.append("".join(current))
        return pieces

    def basic_tokenize(self, text):
        if isinstance(text, bytes):
            text = text.decode("utf-8", "ignore")
        text = self.space_out_cjk(self.clean(text))
        words = []
        for word in text.split():
            if self.do_lower_case:
                word = self._lower(word)
            if self.strip_accents:
                word = self._remove_accents(word)
            words.extend(self._split_punctuation(word))
        # Lower-casing / accent removal can in principle produce whitespace;
        # the reference re-splits the joined words on whitespace at the end.
        return " ".join(words).split()

    # --- WordPiece -----------------------------------------------------------

    def word_length(self, word):
        return len(word.encode("utf-8")) if self.count_utf8_bytes else len(word)

    def wordpiece(self, word):
        if self.word_length(word) > self.max_input_chars_per_word:
            return [self.unk_token]
        pieces = []
        start = 0
        while start < len(word):
            match = None
            for end in range(len(word), start, -1):
                candidate = word[start:end] if start == 0 else "##" + word[start:end]
                if candidate in self.vocab:
                    match = candidate
                    break
            if match is None:
                return [self.unk_token]
            pieces.append(match)
            start = end
        return pieces

    # --- public API ----------------------------------------------------------

    def tokenize(self, text):
        tokens = []
        for word in self.basic_tokenize(text):
            tokens.extend(self.wordpiece(word))
        return tokens

    def convert_tokens_to_ids(self, tokens):
        return [self.vocab[token] for token in tokens]

    def convert_ids_to_tokens(self, ids):
        return [self.inv_vocab[i] for i in ids]

    def encode(self, text):
        return self.convert_tokens_to_ids(self.tokenize(text))
