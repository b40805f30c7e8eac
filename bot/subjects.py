"""Which organisation a question is about. Pure, no I/O.

The knowledge base is about one organisation, Đảng bộ Khối các cơ quan Trung ương (and, in one
source, a provincial bloc). Many organisations share its words: "Đảng bộ thành phố Hà Nội",
"Đảng ủy Công an Trung ương", "Đảng ủy Khối Doanh nghiệp Trung ương", "Đoàn Thanh niên Khối
các cơ quan Trung ương". A question about one of them overlaps an entry almost word for word,
yet its answer is not in the documents. These rules spot such a question from its folded
content words (after abbreviations are expanded), so the engine can decline it.
"""

from __future__ import annotations

from itertools import pairwise

from bot.vntext import find_phrase, fold, tokenize

Phrase = tuple[str, ...]

# A party committee's name starts with one of these...
_COMMITTEE_HEADS: tuple[Phrase, ...] = (("dang", "bo"), ("dang", "uy"))
# ...and another organisation's committee continues with one of these.
_OTHER_COMMITTEE_NAMES: tuple[Phrase, ...] = (
    ("thanh", "pho"),
    ("tp",),
    ("ha", "noi"),
    ("tinh",),
    ("huyen",),
    ("phuong",),
    ("bo",),  # Đảng bộ Bộ Ngoại giao
    ("cong", "an"),
    ("quan", "doi"),
    ("quan", "su"),
    ("bien", "phong"),
    ("chinh", "phu"),
    ("quoc", "hoi"),
    ("ngoai", "nuoc"),
    ("doanh", "nghiep"),
    ("tap", "doan"),
    ("tong", "cong", "ty"),
    ("ngan", "hang"),
    ("truong",),
    ("cac", "co", "quan", "dang"),
    ("co", "quan", "dang"),
)
# Committees that are never the bloc, whatever follows; and the Party itself.
_OTHER_COMMITTEES: tuple[Phrase, ...] = (
    ("quan", "uy"),
    ("thanh", "uy"),
    ("tinh", "uy"),
    ("dang", "cong", "san"),
)
# Blocs other than ours ("Đảng ủy Khối Doanh nghiệp Trung ương").
_OTHER_BLOCS: tuple[Phrase, ...] = (("khoi", "doanh", "nghiep"),)
# Mass organisations: a question about one of them that never names a party committee.
_MASS_ORGANISATIONS: tuple[Phrase, ...] = (
    ("doan", "thanh", "nien"),
    ("thanh", "nien", "cong", "san"),
    ("cong", "doan"),
    ("hoi", "lien", "hiep", "phu", "nu"),
    ("hoi", "phu", "nu"),
    ("hoi", "nong", "dan"),
    ("hoi", "cuu", "chien", "binh"),
    ("cuu", "chien", "binh"),
    ("mat", "tran", "to", "quoc"),
)
# Words that name our bloc or its forerunner.
_OURS: tuple[Phrase, ...] = (("khoi",), ("lien", "chi"))
_PARTY: tuple[Phrase, ...] = (("dang", "bo"), ("dang", "uy"), ("lien", "chi"), ("chi", "bo"))


def _has(words: list[str], phrases: tuple[tuple[str, ...], ...]) -> bool:
    return any(find_phrase(words, p) >= 0 for p in phrases)


def other_organisation(words: list[str]) -> tuple[bool, tuple[str, ...]] | None:
    """Another organisation the question is about, as (is a mass organisation, folded name).

    ``words`` are the question's folded content words in order. A question that also names
    the bloc ("Đảng bộ Khối trực thuộc Đảng bộ thành phố Hà Nội từ khi nào?") is about ours.
    A mass organisation may still figure in an entry (the bloc's Youth Union in a plan), so
    the caller checks that one against the entry it would answer with.
    """
    for phrase in _OTHER_BLOCS:
        if find_phrase(words, phrase) >= 0:
            return False, phrase
    if not _has(words, _PARTY):
        for phrase in _MASS_ORGANISATIONS:
            if find_phrase(words, phrase) >= 0:
                return True, phrase
    if _has(words, _OURS):
        return None
    for phrase in _OTHER_COMMITTEES:
        if find_phrase(words, phrase) >= 0:
            return False, phrase
    for head in _COMMITTEE_HEADS:
        i = find_phrase(words, head)
        while i >= 0:
            after = i + len(head)
            for name in _OTHER_COMMITTEE_NAMES:
                if tuple(words[after : after + len(name)]) == name:
                    return False, (*head, *name)
            i = find_phrase(words, head, i + 1)
    return None


# Departments and branches of the Party, by the word after "Ban" / "ngành" (folded): the
# second word tells Ban Tổ chức from Ban Tuyên giáo and ngành Tổ chức from ngành Kiểm tra.
_UNIT_HEADS = frozenset({"ban", "nganh"})
_UNIT_NAMES: dict[str, str] = {
    "to": "tổ chức",
    "tuyen": "tuyên giáo",
    "kiem": "kiểm tra",
    "dan": "dân vận",
    "noi": "nội chính",
    "kinh": "kinh tế",
    "doi": "đối ngoại",
    "thuong": "thường vụ",
    "bi": "bí thư",
    "chap": "chấp hành",
    "can": "cán sự",
}


def units(words: list[str]) -> frozenset[str]:
    """The Party departments or branches named ("Ban Tuyên giáo", "ngành Tổ chức"), by name."""
    return frozenset(
        _UNIT_NAMES[b] for a, b in pairwise(words) if a in _UNIT_HEADS and b in _UNIT_NAMES
    )


# Provinces and centrally run cities whose own "Đảng bộ Khối" a question may name ("Khối Nam
# Định"). Names that are also everyday words here (Hòa Bình, Thái Bình, Điện Biên, Cao Bằng,
# Vĩnh Phúc) are left out.
_PROVINCE_NAMES = (
    "An Giang, Bà Rịa Vũng Tàu, Bắc Giang, Bắc Kạn, Bạc Liêu, Bắc Ninh, Bến Tre, Bình Dương, "
    "Bình Định, Bình Phước, Bình Thuận, Cà Mau, Cần Thơ, Đà Nẵng, Đắk Lắk, Đắk Nông, Đồng Nai, "
    "Đồng Tháp, Gia Lai, Hà Giang, Hà Nam, Hà Tĩnh, Hải Dương, Hải Phòng, Hậu Giang, Hưng Yên, "
    "Khánh Hòa, Kiên Giang, Kon Tum, Lai Châu, Lâm Đồng, Lạng Sơn, Lào Cai, Long An, Nam Định, "
    "Nghệ An, Ninh Bình, Ninh Thuận, Phú Thọ, Phú Yên, Quảng Bình, Quảng Nam, Quảng Ngãi, "
    "Quảng Ninh, Quảng Trị, Sóc Trăng, Sơn La, Tây Ninh, Thái Nguyên, Thanh Hóa, Thừa Thiên Huế, "
    "Tiền Giang, Trà Vinh, Tuyên Quang, Vĩnh Long, Yên Bái"
)
_PROVINCES: tuple[tuple[str, ...], ...] = tuple(
    tuple(tokenize(name)) for name in _PROVINCE_NAMES.split(", ")
)


# Each province by the bare form of its first word: a question is scanned once, word by word.
def _by_first_word(
    names: tuple[tuple[str, ...], ...],
) -> dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]]:
    index: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
    for name in names:
        bare = tuple(fold(w) for w in name)
        index.setdefault(bare[0], []).append((bare, name))
    return index


_PROVINCES_BY_FIRST = _by_first_word(_PROVINCES)


def province_named(
    tokens: list[str], folded: list[str], marked: list[bool]
) -> tuple[str, ...] | None:
    """The province a question names, folded. A word typed with marks must match with its
    marks ("đã nâng" is not "Đà Nẵng"); one typed without them matches on its bare form."""
    for i, word in enumerate(folded):
        for bare, name in _PROVINCES_BY_FIRST.get(word, ()):
            n = len(bare)
            if tuple(folded[i : i + n]) == bare and all(
                not marked[i + j] or tokens[i + j] == name[j] for j in range(n)
            ):
                return bare
    return None
