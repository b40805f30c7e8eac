"""Vietnamese text normalisation, tested on its own."""

import unicodedata

import pytest

from bot.vntext import clean, find_phrase, fold, has_marks, nfc_ws, telex_decode, tokenize


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("hoà", "hòa"),
        ("thuỷ", "thủy"),
        ("Uỷ ban", "ủy ban"),
        ("khoẻ", "khỏe"),
        ("hoá", "hóa"),
        ("tuỳ", "tùy"),
        ("hoạ", "họa"),
    ],
)
def test_tone_placement_is_canonical(old: str, new: str) -> None:
    assert clean(old) == clean(new) == new


@pytest.mark.parametrize("word", ["quý", "quỳnh", "hoàn", "thuở", "khuya", "hoặc"])
def test_closed_syllables_and_qu_keep_their_tone(word: str) -> None:
    assert clean(word) == word


def test_nfd_input_equals_nfc() -> None:
    text = "Đảng bộ Khối thành lập năm nào?"
    assert tokenize(unicodedata.normalize("NFD", text)) == tokenize(text)


def test_odd_d_and_zero_width_are_normalised() -> None:
    assert clean("\u00d0ảng\u200b bộ") == "đảng bộ"


def test_fold_strips_marks_and_maps_d() -> None:
    assert fold("Đường") == "duong" == fold("dương")
    assert has_marks("đảng") and not has_marks("dang")


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("78.449 đảng viên", ["78449", "đảng", "viên"]),
        ("trên 6,5 vạn", ["trên", "65000"]),
        ("gần 7 vạn", ["gần", "70000"]),
        ("gần 1 nghìn", ["gần", "1000"]),
        ("ngày 7/11/1948", ["d7m11", "1948"]),
        ("07-11-1948", ["d7m11", "1948"]),
        ("ngày 7 tháng 11 năm 1948", ["d7m11", "1948"]),
        ("ngay 7 thang 11 nam 1948", ["d7m11", "1948"]),  # typed without marks
        ("mùng 7 tháng 11", ["d7m11"]),
        ("mong 7 thang 11", ["d7m11"]),
        ("thang 6 nam 2022", ["m6", "2022"]),
        ("mong muốn 7 điều", ["mong", "muốn", "7", "điều"]),
        ("nhiệm kì nàoo vậyyy ạaa", ["nhiệm", "kì", "nào", "vậy", "ạ"]),  # stretched vowels
        ("khóa XIII", ["khóa", "xiii"]),
        ("từ tháng 01/2023", ["từ", "m1", "2023"]),
        ("14/10/1930-14/10/2023", ["d14m10", "1930", "d14m10", "2023"]),
        ("40-QĐ/TW", ["40", "qđ", "tw"]),
        ("qd47", ["qd", "47"]),
    ],
)
def test_numbers_and_dates_parse_before_punctuation(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens


def test_emoji_and_punctuation_are_dropped() -> None:
    assert tokenize("thành lập?? 😀🙏!!") == ["thành", "lập"]


def test_quote_comparison_normalises_only_unicode_and_spacing() -> None:
    assert nfc_ws("a\n\n  b") == "a b"
    assert nfc_ws(unicodedata.normalize("NFD", "Khối")) == "Khối"
    assert nfc_ws("Khôi") != nfc_ws("Khối")


@pytest.mark.parametrize(
    ("typed", "word"), [("ddangr", "đảng"), ("khoois", "khối"), ("laapj", "lập"), ("nawm", "năm")]
)
def test_telex_without_input_method(typed: str, word: str) -> None:
    assert telex_decode(typed) == word


def test_plain_words_are_not_telex() -> None:
    assert telex_decode("dang") is None


def test_bare_dau_is_not_where_but_o_dau_is() -> None:
    from pathlib import Path

    from bot.knowledge import load_knowledge
    from bot.lexicon import WHERE, Lexicon

    kb = load_knowledge(Path(__file__).resolve().parent.parent / "knowledge")
    lexicon = Lexicon(kb.synonyms)
    assert WHERE not in lexicon.analyze("thap nien dau sau khi lap lai").intents  # đầu
    assert WHERE not in lexicon.analyze("dau tranh ngan chan bieu hien").intents  # đấu
    assert WHERE in lexicon.analyze("lien chi ra doi o dau").intents
    assert WHERE in lexicon.analyze("Liên chi ra đời đâu vậy").intents  # typed with marks


def test_find_phrase_finds_consecutive_words_from_a_start() -> None:
    words = "dang bo khoi truc thuoc dang bo thanh pho".split()
    assert find_phrase(words, ("dang", "bo")) == 0
    assert find_phrase(words, ["dang", "bo"], 1) == 5
    assert find_phrase(words, ("bo", "thanh", "pho")) == 6
    assert find_phrase(words, ("khoi", "dang")) == -1  # both words, not side by side
    assert find_phrase(words, ()) == -1
