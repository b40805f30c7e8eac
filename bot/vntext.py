"""Vietnamese text normalisation shared by the matcher and the validator. Pure functions, no I/O.

The pipeline for a question (``analyze``):

1. ``clean``: NFC, Ð (U+00D0) → Đ, zero-width characters dropped, canonical tone placement
   (hoà ≡ hòa, thuỷ ≡ thủy, Uỷ ≡ Ủy), casefolded.
2. Numbers and dates are parsed before punctuation is removed: "78.449" → 78449,
   "6,5 vạn" → 65000, "7/11/1948" / "07-11-1948" / "ngày 7 tháng 11 năm 1948" → ``d7m11 1948``.
3. Punctuation and emoji go; letters and digits glued together are split ("qd47" → "qd 47").
4. Every token gets a folded key (marks stripped, đ → d) beside its accented form.

Phrase-level work (abbreviations, synonyms, question words → intent tokens, filler) lives in
``bot.lexicon`` because it depends on the curated synonyms file.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

# Combining tone marks (the five Vietnamese tones besides level tone).
_TONES = frozenset("\u0300\u0301\u0303\u0309\u0323")
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_ODD_LETTERS = str.maketrans({"\u00d0": "Đ", "\u00f0": "đ", "\u0110": "Đ", "\u0111": "đ"})


def _family(base: str) -> str:
    """Every letter whose first NFD character is ``base``, in either case (a: aàáảã…âầ…ă…)."""
    letters = (chr(c) for c in range(0x41, 0x1EFA))
    return "".join(
        ch for ch in letters if unicodedata.normalize("NFD", ch)[0].lower() == base and ch.isalpha()
    )


def _fix_tone(word: str) -> str:
    """Put a syllable's tone on one canonical vowel, whatever vowel it was typed on.

    Old and new conventions differ only for open oa/oe/uy (hoà / hòa); people also misplace
    tones in other syllables (họach for hoạch). Stored text and questions go through this same
    rule, so any deterministic placement makes them equal; we use the common modern one, with
    the tone of open oa/oe/uy on the first vowel (hòa, thủy).
    """
    decomposed = unicodedata.normalize("NFD", word)
    tone = next((ch for ch in decomposed if ch in _TONES), None)
    if tone is None:
        return word
    base = unicodedata.normalize("NFC", "".join(ch for ch in decomposed if ch not in _TONES))
    target = _tone_position(base)
    if target is None:
        return word
    out = base[: target + 1] + tone + base[target + 1 :]
    # The tone goes after the letter's quality mark (circumflex, breve, horn) so NFC composes it.
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", out))


_VOWEL_LETTERS = frozenset("aăâeêioôơuưyAĂÂEÊIOÔƠUƯY")
_MARKED_VOWELS = frozenset("ăâêôơưĂÂÊÔƠƯ")


def _tone_position(base: str) -> int | None:
    """Index of the vowel that carries the tone in a toneless syllable (NFC)."""
    positions = [i for i, ch in enumerate(base) if ch in _VOWEL_LETTERS]
    if not positions:
        return None
    lower = base.lower()
    # "qu" and "gi" + vowel: the u / i belongs to the consonant.
    if len(positions) > 1 and (
        (lower.startswith("qu") and positions[0] == 1)
        or (lower.startswith("gi") and positions[0] == 1)
    ):
        positions = positions[1:]
    marked = [i for i in positions if base[i] in _MARKED_VOWELS]
    if marked:
        return marked[-1]  # ươ → ơ; otherwise the one marked vowel
    if len(positions) == 1:
        return positions[0]
    if positions[-1] < len(base) - 1:  # closed syllable: the last vowel (hoạch, thuận)
        return positions[-1]
    if len(positions) >= 3:  # open three-vowel cluster: the middle one (ngoài, khuya)
        return positions[1]
    return positions[0]  # open two-vowel cluster: the first one (hòa, thủy, mái, múa)


_TONE_MARKED = "".join(
    ch
    for ch in map(chr, range(0xC0, 0x1EFA))
    if ch.isalpha() and _TONES & set(unicodedata.normalize("NFD", ch))
)
_ALL_VOWELS = "".join(_family(v) for v in "aeiouy")
# A tone can only be misplaced in a word where a toned vowel stands next to another vowel
# (hoà, thuỷ, họach): only those words go through ``_fix_tone``.
_TONE_CLUSTER = re.compile(
    rf"(?<![^\W\d_])[^\W\d_]*?(?:[{_TONE_MARKED}][{_ALL_VOWELS}]|[{_ALL_VOWELS}][{_TONE_MARKED}])[^\W\d_]*"
)
_ODD_RE = re.compile("[" + "".join(chr(c) for c in _ZERO_WIDTH) + "\u00d0\u00f0]")


@lru_cache(maxsize=8192)
def _canonical_word(word: str) -> str:
    return _fix_tone(word)


# A word ending in a stretched vowel ("nàoo", "vậyyy", "nhéee"): no Vietnamese word does. Not
# "i", which Roman numerals repeat (khóa XIII).
# Only words that end in a doubled vowel are candidates, so ``_unstretch`` runs on few words.
_DOUBLED_END = "(?:" + "|".join(f"[{_family(v)}][{v}{v.upper()}]" for v in "aeouy") + r")\b"
_STRETCHED = re.compile(_DOUBLED_END)
_STRETCHABLE = re.compile(r"\w*" + _DOUBLED_END)


def _unstretch(match: re.Match[str]) -> str:
    word = match.group(0)
    while len(word) > 1 and word[-1].lower() in "aeouy":
        before = unicodedata.normalize("NFD", word[-2])[0].lower()
        if before != word[-1].lower():
            break
        word = word[:-1]
    return word


def clean(text: str) -> str:
    """NFC, odd letters mapped, zero-width dropped, canonical tone placement, casefolded,
    stretched final vowels shortened."""
    text = unicodedata.normalize("NFC", text)
    if _ODD_RE.search(text) is not None:
        text = text.translate(_ODD_LETTERS).translate(_ZERO_WIDTH)
    if _STRETCHED.search(text) is not None:
        text = _STRETCHABLE.sub(_unstretch, text)
    text = _TONE_CLUSTER.sub(lambda m: _canonical_word(m.group(0)), text)
    return text.casefold()


def nfc_ws(text: str) -> str:
    """NFC with whitespace collapsed: the comparison used to verify citation quotes."""
    text = unicodedata.normalize("NFC", text).translate(_ODD_LETTERS).translate(_ZERO_WIDTH)
    return " ".join(text.split())


_FOLD_TABLE = str.maketrans({"đ": "d", "Đ": "d"})


@lru_cache(maxsize=16384)
def fold(word: str) -> str:
    """Strip every mark, map đ → d and casefold: the key that ignores diacritics."""
    decomposed = unicodedata.normalize("NFD", word.translate(_FOLD_TABLE))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def has_marks(word: str) -> bool:
    """True when the word carries any Vietnamese diacritic (so its accents carry meaning)."""
    return fold(word) != word


# --- numbers and dates -------------------------------------------------------------------

# Date words, also as typed without marks; "mùng"/"mồng" is how days 1-10 are often said.
_MONTH_WORD = r"(?:tháng|thang|thg|th)"
_DAY_WORD = r"(?:ngày|ngay|mùng|mồng|mung|mong)"
_YEAR_WORD = r"(?:năm|nam)"
_DATE_PATTERNS = [
    # ngày 7 tháng 11 năm 1948
    re.compile(
        r"(?:"
        + _DAY_WORD
        + r"\s*)?(\d{1,2})\s*"
        + _MONTH_WORD
        + r"\s*(\d{1,2})\s*(?:"
        + _YEAR_WORD
        + r"|,)?\s*(\d{4})"
    ),
    # 7/11/1948, 07-11-1948, 7.11.1948
    re.compile(
        r"(?:"
        + _DAY_WORD
        + r"\s*)?(?<![\d.,/])(\d{1,2})\s*([/.-])\s*(\d{1,2})\s*\2\s*(\d{4})(?!\d)"
    ),
]
_DAY_MONTH = re.compile(r"(?:" + _DAY_WORD + r"\s*)?(?<![\d.,/])(\d{1,2})\s*/\s*(\d{1,2})(?![\d/])")
_MONTH_YEAR = re.compile(r"(?:" + _MONTH_WORD + r"\s*)?(?<![\d.,/-])(\d{1,2})\s*/\s*(\d{4})(?!\d)")
_MONTH_YEAR_WORDS = re.compile(_MONTH_WORD + r"\s*(\d{1,2})\s*(?:" + _YEAR_WORD + r"|,)\s*(\d{4})")
_DAY_MONTH_WORDS = re.compile(_DAY_WORD + r"\s*(\d{1,2})\s*" + _MONTH_WORD + r"\s*(\d{1,2})(?!\d)")
_GROUPED = re.compile(r"(?<![\d.,])\d{1,3}(?:[.,]\d{3})+(?![\d.,]\d)")
_DECIMAL = re.compile(r"(?<![\d.,])(\d+),(\d+)(?![\d.,]\d)")
_DIGIT = re.compile(r"\d")
_MONTH_NUMBER = re.compile(_MONTH_WORD + r"\s*\d")
_MULTIPLIERS = {"vạn": 10_000, "nghìn": 1_000, "ngàn": 1_000, "triệu": 1_000_000, "trăm": 100}
_MULT_RE = re.compile(r"(\d+(?:[.,]\d+)?)\s*(vạn|nghìn|ngàn|triệu)(?!\w)")


def _dm(day: str, month: str) -> str | None:
    d, m = int(day), int(month)
    if 1 <= d <= 31 and 1 <= m <= 12:
        return f"d{d}m{m}"
    return None


def _date_full(match: re.Match[str]) -> str:
    groups = [g for g in match.groups() if g and g not in "/.-"]
    day, month, year = groups
    dm = _dm(day, month)
    return f" {dm} {year} " if dm else match.group(0)


def _month_year(match: re.Match[str]) -> str:
    month, year = int(match.group(1)), match.group(2)
    return f" m{month} {year} " if 1 <= month <= 12 else match.group(0)


def _day_month(match: re.Match[str]) -> str:
    dm = _dm(match.group(1), match.group(2))
    return f" {dm} " if dm else match.group(0)


def _multiplied(match: re.Match[str]) -> str:
    number = (
        float(match.group(1).replace(".", "").replace(",", "."))
        if "," in match.group(1)
        else float(match.group(1).replace(".", ""))
    )
    return f" {round(number * _MULTIPLIERS[match.group(2)])} "


def numbers_and_dates(text: str) -> str:
    """Rewrite dates and numbers in cleaned text into canonical tokens (see module docstring)."""
    if _DIGIT.search(text) is None:
        return text
    # Each rewrite runs only when the text holds what it needs (a month word before a number,
    # a separator, a comma or dot): most questions have none, and the patterns are costly.
    month_word = _MONTH_NUMBER.search(text) is not None
    slash = "/" in text
    if month_word:
        text = _DATE_PATTERNS[0].sub(_date_full, text)
    if slash or "-" in text or "." in text:
        text = _DATE_PATTERNS[1].sub(_date_full, text)
    if month_word:
        text = _MONTH_YEAR_WORDS.sub(_month_year, text)
        text = _DAY_MONTH_WORDS.sub(_day_month, text)
    if slash:
        text = _MONTH_YEAR.sub(_month_year, text)
        text = _DAY_MONTH.sub(_day_month, text)
    text = _MULT_RE.sub(_multiplied, text)
    if "." in text or "," in text:
        text = _GROUPED.sub(lambda m: re.sub(r"[.,]", "", m.group(0)), text)
        text = _DECIMAL.sub(lambda m: f"{m.group(1)}p{m.group(2)}", text)
    return text


# --- tokens --------------------------------------------------------------------------------

_TOKEN_RE = re.compile(r"d\d{1,2}m\d{1,2}|m\d{1,2}(?=\s)|\d+p\d+|[^\W\d_]+|\d+")


def tokenize(text: str) -> list[str]:
    """Clean, canonicalise numbers/dates and split into accented lowercase tokens."""
    text = numbers_and_dates(clean(text))
    return _TOKEN_RE.findall(text + " ")


def fold_text(text: str) -> str:
    """The folded, tokenised form of a text, joined by spaces."""
    return " ".join(fold(t) for t in tokenize(text))


def find_phrase(words: list[str], phrase: Sequence[str], start: int = 0) -> int:
    """Index of the first occurrence of a phrase (consecutive words) at or after ``start``,
    or -1. It looks only where the phrase's first word stands (``list.index`` runs in C)."""
    if not phrase or phrase[0] not in words:
        return -1  # the usual case, found without raising ValueError below (which is slow)
    target = list(phrase)
    n = len(target)
    while True:
        try:
            i = words.index(target[0], start)
        except ValueError:
            return -1
        if words[i : i + n] == target:
            return i
        start = i + 1


# --- syllable shape ---------------------------------------------------------------------

_SYLLABLE_RE = re.compile(
    r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?[aeiouy]{1,3}(?:ch|ng|nh|[cmnpt])?"
)


def could_be_syllable(folded: str) -> bool:
    """Whether a folded word has the shape of a Vietnamese syllable ("tru" has, "uog" has not)."""
    return _SYLLABLE_RE.fullmatch(folded) is not None


# --- Telex typed without an input method -------------------------------------------------

_TELEX_TONES = {"s": "\u0301", "f": "\u0300", "r": "\u0309", "x": "\u0303", "j": "\u0323"}
_TELEX_VOWELS = [
    ("aa", "â"),
    ("aw", "ă"),
    ("ee", "ê"),
    ("oo", "ô"),
    ("ow", "ơ"),
    ("uw", "ư"),
    ("dd", "đ"),
]
_TELEX_RE = re.compile(r"^[a-z]+$")


def telex_decode(word: str) -> str | None:
    """Decode a word typed in Telex without an input method ("ddangr" → "đảng"), else None."""
    if not _TELEX_RE.match(word) or len(word) < 3:
        return None
    out = word
    tone = ""
    if out[-1] in _TELEX_TONES and len(out) > 2:
        tone = _TELEX_TONES[out[-1]]
        out = out[:-1]
    changed = bool(tone)
    for src, dst in _TELEX_VOWELS:
        if src in out:
            out = out.replace(src, dst)
            changed = True
    if "w" in out:
        out = out.replace("uow", "ươ").replace("w", "ư")
        changed = True
    if not changed:
        return None
    if tone:
        out = _place_tone(out, tone)
    return unicodedata.normalize("NFC", out)


_VOWELS = "aăâeêioôơuưy"


def _place_tone(word: str, tone: str) -> str:
    """Put a tone on the syllable's main vowel (modern rule, good enough for typo recovery)."""
    positions = [i for i, ch in enumerate(word) if ch in _VOWELS]
    if not positions:
        return word
    # Prefer a vowel with a quality mark; otherwise the last vowel when a final consonant
    # follows, else the second-last of a cluster.
    marked = [i for i in positions if word[i] in "ăâêôơư"]
    if marked:
        idx = marked[-1]
    elif positions[-1] < len(word) - 1 or len(positions) == 1:
        idx = positions[-1]
    else:
        idx = positions[-2]
    if word.startswith(("qu", "gi")) and idx == 1 and len(positions) > 1:
        idx = positions[-1]
    return word[: idx + 1] + tone + word[idx + 1 :]
