"""Deterministic, offline corpus of awkward sentences for tokenizer differential tests.

`build_corpus()` mixes English sentences from *Botchan* (tests/fixtures/botchan.txt,
Project Gutenberg text shipped with SentencePiece under Apache-2.0, see
tests/fixtures/LICENSE-botchan) with generated variations that exercise every rule
of BERT's basic tokenizer: accents and combining marks, case changes, CJK, kana,
Hangul, emoji (ZWJ sequences, skin tones, flags), control and format characters,
Unicode spaces, URLs, e-mails, numbers, punctuation runs, very long words, other
scripts, fullwidth forms, ligatures, special casing (ß, İ, final sigma), literal
special-token strings and a few private-use / unassigned code points.

Everything is driven by one seeded `random.Random`, so the corpus is identical
on every run and machine.
"""

import functools
import os
import random
import re

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures")
BOTCHAN = os.path.join(FIXTURES, "botchan.txt")

ACCENTED = [
    "café", "naïve", "Ångström", "Über", "résumé", "façade", "jalapeño", "São Paulo",
    "Zürich", "coöperate", "crème brûlée", "El Niño", "Mötley Crüe", "Dvořák",
    "Łódź", "Øresund", "Ærøskøbing", "Kraków", "Citroën", "déjà vu", "Noël",
    "piñata", "Beyoncé", "smörgåsbord", "Điện Biên Phủ", "Tiếng Việt", "Ísland",
    "ÉCOLE", "À LA CARTE", "Ç'EST", "übermäßig", "Ħamrun", "Şişli", "Ğ", "ÿ",
]
SPECIAL_CASING = [
    "Straße", "STRASSE", "ß", "ẞ", "İstanbul", "DİYARBAKIR", "ıi", "ǰ", "ŉ",
    "ΟΔΟΣ", "Σίσυφος", "ΣΟΦΟΣ.", "ὈΔΥΣΣΕΎΣ", "ǅemal", "ǄEMAL", "ﬁnance",
    "ﬂower", "ﬀ ﬃ ﬄ", "Ǉubljana", "K (Kelvin sign)", "Ω ohm", "ϐ ϑ ϕ",
]
CJK = [
    "中文", "汉字测试", "我爱北京天安门。", "日本語のテキストです", "カタカナ", "ひらがな",
    "東京タワー", "한국어 텍스트", "안녕하세요, 세계!", "㐀㐁", "𠀀𠀁", "豈更",
    "𪜀", "𫝀", "𫠠", "丽", "中文，标点！", "「引用」", "『書名』", "【注意】",
    "漢字かな交じり文", "ｶﾀｶﾅ", "ㄅㄆㄇ", "〇一二三",
]
EMOJI = [
    "😀", "👍🏽", "👍🏿", "👨\u200d👩\u200d👧\u200d👦", "🏳️\u200d🌈", "❤️", "🇯🇵",
    "🇺🇸", "🤷\u200d♀️", "🧑🏻\u200d💻", "✌🏾", "🫠", "🥲", "☃", "★", "✓", "♥",
    "🎉🎉🎉", "🙂🙃", "#️⃣", "1️⃣",
]
CONTROLS = [
    "\x00", "\x07", "\u200b", "\u200d", "\ufeff", "\ufffd", "\x85", "\u2028",
    "\u2029", "\x1f", "\x0b", "\x0c", "\u00ad", "\u2060", "\u200e", "\u202e",
    "\x7f", "\x1b",
]
SPACES = [
    "\u00a0", "\u2002", "\u2003", "\u2009", "\u202f", "\u3000", "\u1680", "\u205f",
    "\t", "\n", "\r\n", "  ", "\t\t", " \n ",
]
URLS = [
    "https://www.example.com/path/to/page?q=1&x=2#frag",
    "http://foo.bar/baz_qux-1.html",
    "www.gutenberg.org/ebooks/8868",
    "ftp://files.example.org/pub/file.tar.gz",
    "john.doe@example.com",
    "first.last+tag@sub.domain.co.uk",
    "@user_name",
    "#hashtag",
    "C:\\Users\\me\\file.txt",
    "/usr/local/bin/python3",
]
NUMBERS = [
    "1,234.56", "3.14e-10", "50%", "-42", "$1,000,000", "2024-01-15", "10:30pm",
    "½", "²", "①", "Ⅻ", "١٢٣", "१२३", "0x1F4A9", "1e6", "+1 (555) 123-4567",
    "3½", "№ 5", "€20", "£5", "¥100", "100°C", "5×3=15",
]
PUNCTUATION = [
    "“smart quotes”", "‘single’", "—", "–", "…", "¿Qué?", "¡Hola!", "«guillemets»",
    "!!!", "?!", "...", "「」", "。、", "¶", "§", "•", "‽", "⁂", "(((nested)))",
    "[brackets]", "{braces}", "<angle>", "a/b\\c", "^_^", "~~~", "`code`",
    "$$$", "***", "'quoted'", '"double"', "--", "::", "„low“", "‹›", "†‡",
]
SCRIPTS = [
    "Καλημέρα κόσμε", "Ελληνικά", "ΑΘΗΝΑ", "Привет мир", "Москва", "ЁЖИК",
    "Україна", "مرحبا بالعالم", "العربية", "שלום עולם", "नमस्ते दुनिया",
    "हिन्दी", "স্বাগতম", "สวัสดีครับ", "ქართული", "Հայերեն", "ትግርኛ",
    "ᚠᚢᚦᚨᚱᚲ", "Ελευθερία ή θάνατος", "ＡＢＣ ｄｅｆ", "Ｈｅｌｌｏ！", "１２３",
]
COMBINING = [
    "e\u0301", "n\u0303", "a\u0308\u0304", "Z\u0335a\u0336l\u0337g\u0338o\u0334",
    "o\u0302\u0323", "\u0301lead", "i\u0307", "A\u030a", "c\u0327", "u\u031b\u0300",
    "q\u0307\u0323", "\u0915\u093c", "\u05d1\u05bc",
]
SPECIAL_TOKENS = ["[CLS]", "[UNK]", "[SEP]", "[MASK]", "[PAD]", "[cls]", "[ UNK ]"]
ODD_CODE_POINTS = ["\ue000", "\uf8ff", "\U000f0000", "\u0378", "\U0001fffe"]


def botchan_sentences():
    """Non-empty lines and sentences of the fixture text, in file order."""
    return list(_botchan_sentences())


@functools.lru_cache(maxsize=1)
def _botchan_sentences():
    with open(BOTCHAN, encoding="utf-8") as handle:
        text = handle.read()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    joined = " ".join(lines)
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", joined) if s.strip()]
    return tuple(lines + sentences)


def _random_case(rng, text):
    mode = rng.randrange(5)
    if mode == 0:
        return text.upper()
    if mode == 1:
        return text.lower()
    if mode == 2:
        return text.title()
    if mode == 3:
        return text.swapcase()
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in text)


def _long_word(rng, words):
    """A word of 90-260 characters: letters, glued words or accented runs."""
    length = rng.choice([rng.randint(90, 110), rng.randint(150, 205), rng.randint(195, 260)])
    kind = rng.randrange(4)
    if kind == 0:
        word = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(length))
    elif kind == 1:
        word = ""
        while len(word) < length:
            word += rng.choice(words).strip(".,;:!?\"'()").lower()
        word = word[:length]
    elif kind == 2:
        word = "".join(rng.choice("aeéèêëiïîoôöuüûçñ") for _ in range(length))
    else:
        word = "".join(rng.choice("abcdefgh") for _ in range(length)).upper()
    return word


def _insert(rng, words, piece):
    position = rng.randint(0, len(words))
    return words[:position] + [piece] + words[position:]


def _glue(rng, text, piece):
    """Puts `piece` inside the text with no surrounding space."""
    if not text:
        return piece
    position = rng.randint(0, len(text))
    return text[:position] + piece + text[position:]


def _perturb(rng, sentence, words_pool):
    words = sentence.split(" ")
    operations = rng.randint(1, 4)
    glued = []
    for _ in range(operations):
        choice = rng.random()
        if choice < 0.15:
            words = _insert(rng, words, rng.choice(ACCENTED))
        elif choice < 0.22:
            words = _insert(rng, words, rng.choice(SPECIAL_CASING))
        elif choice < 0.32:
            words = _insert(rng, words, rng.choice(CJK))
        elif choice < 0.40:
            words = _insert(rng, words, rng.choice(EMOJI))
        elif choice < 0.48:
            glued.append(rng.choice(CONTROLS))
        elif choice < 0.56:
            glued.append(rng.choice(SPACES))
        elif choice < 0.62:
            words = _insert(rng, words, rng.choice(URLS))
        elif choice < 0.69:
            words = _insert(rng, words, rng.choice(NUMBERS))
        elif choice < 0.77:
            glued.append(rng.choice(PUNCTUATION))
        elif choice < 0.83:
            words = _insert(rng, words, rng.choice(SCRIPTS))
        elif choice < 0.88:
            glued.append(rng.choice(COMBINING))
        elif choice < 0.91:
            words = _insert(rng, words, _long_word(rng, words_pool))
        elif choice < 0.93:
            words = _insert(rng, words, rng.choice(SPECIAL_TOKENS))
        elif choice < 0.94:
            glued.append(rng.choice(ODD_CODE_POINTS))
        else:
            start = rng.randrange(len(words))
            words[start] = _random_case(rng, words[start])
    text = " ".join(words)
    if rng.random() < 0.3:
        text = _random_case(rng, text)
    for piece in glued:
        text = _glue(rng, text, piece)
    return text


def _fragment_salad(rng, words_pool):
    """A sentence made only of generated fragments, glued or spaced at random."""
    pools = [ACCENTED, SPECIAL_CASING, CJK, EMOJI, CONTROLS, SPACES, URLS, NUMBERS,
             PUNCTUATION, SCRIPTS, COMBINING, words_pool]
    parts = []
    for _ in range(rng.randint(1, 12)):
        parts.append(rng.choice(rng.choice(pools)))
        parts.append(rng.choice(["", " ", " ", " ", "  ", "\t"]))
    return "".join(parts)


def build_corpus(size=12000, seed=1234):
    """Returns `size` deterministic sentences (a list of str)."""
    rng = random.Random(seed)
    base = botchan_sentences()
    words_pool = sorted({w for s in base for w in s.split()})
    corpus = [
        "", " ", "\t\n", "[CLS]", "[UNK]", "\x00", "\ufffd", "a", "A", "中", "😀",
        "UNwant\u00E9d,running", "ah\u535A\u63A8zz", " \tHeLLo!how  \n Are yoU?  ",
    ]
    plain = list(base)
    rng.shuffle(plain)  # plain English is drawn without replacement
    while len(corpus) < size:
        draw = rng.random()
        sentence = rng.choice(base)
        if draw < 0.30:
            corpus.append(plain.pop() if plain else sentence)
        elif draw < 0.40:
            corpus.append(_random_case(rng, sentence))
        elif draw < 0.85:
            corpus.append(_perturb(rng, sentence, words_pool))
        else:
            corpus.append(_fragment_salad(rng, words_pool))
    return corpus
