"""Hypothesis strategies of awkward text for the property tests.

`texts`: Python str of any code point but surrogates, or joined fragments of
combining marks, RTL text and bidi controls, emoji (ZWJ sequences, skin
tones, flags), control and zero-width characters, CJK, every kind of
whitespace, expanding characters, special-token literals; words around the
word-length limits (100 and 200 characters); whitespace-only and empty text.
`raw_bytes`: byte strings, mostly not valid UTF-8 (stray and truncated
sequences, overlong forms, UTF-8-encoded lone surrogates).
"""

from hypothesis import strategies as st

FRAGMENTS = [
    # combining marks, decomposable letters, Devanagari conjuncts, Thai
    "e\u0301", "a\u0308\u0323", "\u0915\u094d\u0937", "Ångström", "กั้น", "q\u0323\u0307",
    # right-to-left text and bidi controls
    "مرحبا بالعالم", "שָׁלוֹם", "\u200f", "\u202e", "\u061c",
    # emoji: ZWJ families, skin tones, flags, keycaps, variation selectors
    "👍🏽", "👨\u200d👩\u200d👧\u200d👦", "🏳\ufe0f\u200d🌈", "🇯🇵", "1\ufe0f\u20e3", "❤\ufe0f",
    # control, format and zero-width characters
    "\x00", "\x07", "\x1b", "\x7f", "\x85", "\u200b", "\u200c", "\u200d", "\ufeff", "\u00ad",
    # CJK, kana, Hangul, fullwidth
    "中文", "日本語のテキスト", "한국어", "𠀀", "ｶﾀｶﾅ", "\u3000", "，", "。",
    # whitespace of every kind
    " ", "\t", "\n", "\r\n", "\u00a0", "\u2028", "\u2029", "\u1680", "\u2003",
    # expanding characters, special casing, XLNet's quote pairs and digit-comma rule
    "ﬁ", "½", "㍱", "İ", "ß", "ΟΔΟΣ", "``", "''", "1990,", "3,500,", "10,000,000",
    # replacement and private-use characters, the last code point
    "\ufffd", "\ue000", "\U0010ffff",
    # ASCII words, punctuation and special-token literals
    "the", "quick", "fox", "The", "JUMPS", ".", "!", "?", "--", "##s", "[CLS]", "[UNK]",
    "<unk>", "<sep>", "▁",
]
WHITESPACE = [" ", "\t", "\n", "\r", "\u00a0", "\u3000", "\u2028", "\x0b", "\x0c", "\x1c"]


@st.composite
def long_words(draw):
    """Text around a word near or past the word-length limits (100 and 200)."""
    char = draw(st.sampled_from(["a", "Z", "é", "e\u0301", "ж", "👍", "٣", "ｶ"]))
    count = draw(st.sampled_from([99, 100, 101, 150, 199, 200, 201, 260]))
    before = draw(st.sampled_from(["", "the ", "中", "!"]))
    after = draw(st.sampled_from(["", " fox", ".", "\u200b"]))
    return before + char * count + after


texts = st.one_of(
    st.text(max_size=30),  # any code point but surrogates
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=3)),
             max_size=12).map("".join),
    long_words(),
    st.lists(st.sampled_from(WHITESPACE), max_size=6).map("".join),
)

# Invalid UTF-8: random bytes, valid text with stray bytes, truncated sequences,
# overlong forms and encoded surrogates.
BAD_BYTES = [b"\xff", b"\xfe", b"\x80", b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98", b"\xc0\xaf",
             b"\xf8\x88\x80\x80\x80", b"\xf4\x90\x80\x80",
             "\ud800".encode("utf-8", "surrogatepass"),
             "\udfff".encode("utf-8", "surrogatepass")]
raw_bytes = st.one_of(
    st.binary(max_size=24),
    st.lists(st.one_of(texts.map(lambda t: t.encode("utf-8")), st.sampled_from(BAD_BYTES)),
             min_size=1, max_size=5).map(b"".join),
)
