"""Phrase-level analysis of questions: abbreviations, synonyms, question words and filler.

Question words become intent tokens instead of being deleted (generic stopword lists delete
exactly the words that say what is asked): khi nào / bao giờ / năm nào → WHEN, bao nhiêu / mấy →
HOW_MANY, ở đâu → WHERE, ai → WHO, vì sao → WHY. "hiện nay", "bây giờ" set the NOW flag.

A pattern word matches a typed word when they are equal, or when the typed word has no
diacritics at all and the folded forms are equal ("nam nao" matches "năm nào", but "nam nào"
with its marks does not match "năm").
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bot.knowledge import Synonyms
from bot.vntext import fold, tokenize

WHEN, HOW_MANY, WHERE, WHO, WHY, WHAT = "WHEN", "HOW_MANY", "WHERE", "WHO", "WHY", "WHAT"
STRONG_INTENTS = frozenset({WHEN, HOW_MANY, WHERE, WHO, WHY})

INTENT_PHRASES: dict[str, list[str]] = {
    WHEN: [
        "khi nào",
        "bao giờ",
        "năm nào",
        "ngày nào",
        "ngày mấy",
        "mùng mấy",
        "mồng mấy",
        "năm mấy",
        "tháng mấy",
        "tháng nào",
        "thời gian nào",
        "thời điểm nào",
        "lúc nào",
        "hồi nào",
        "mốc thời gian",
        "vào thời gian nào",
        "ngày tháng năm nào",
        "ngày bao nhiêu",
        "năm bao nhiêu",
        "hôm nào",
        "bữa nào",
    ],
    HOW_MANY: [
        "bao nhiêu",
        "mấy",
        "số lượng",
        "tổng số",
        # "about how many": the hedge says nothing of its own
        *(
            f"{hedge} {q}"
            for hedge in ("khoảng", "tầm", "cỡ", "chừng", "độ", "xấp xỉ")
            for q in ("bao nhiêu", "mấy")
        ),
    ],
    WHERE: ["ở đâu", "tại đâu", "nơi nào", "chỗ nào", "địa điểm", "đâu", "ở nơi nào"],
    WHO: ["là ai", "do ai", "người nào", "vị nào", "đồng chí nào", "ai", "những ai"],
    WHY: [
        "tại sao",
        "vì sao",
        "lý do",
        "sao lại",
        "nguyên nhân",
        "vì lý do gì",
        "để làm gì",
        "nhằm mục đích gì",
        "vì đâu",
        "do đâu",
        "vì cớ gì",
        "vì cớ",
        "cớ sao",
    ],
    WHAT: [
        "là gì",
        "những gì",
        "cái gì",
        "gì",
        "như thế nào",
        "thế nào",
        "ra sao",
        "nội dung gì",
        "gồm những gì",
        "bao gồm",
        "gồm",
        "những",
        "nào",
        # "which number", not "how many": "QĐ số mấy"
        "số mấy",
        "số bao nhiêu",
    ],
}
ORDINALS = {
    1: ["nhất", "1"],
    2: ["hai", "2"],
    3: ["ba", "3"],
    4: ["tư", "bốn", "4"],
    5: ["năm", "5"],
    6: ["sáu", "6"],
    7: ["bảy", "7"],
}
NOW_PHRASES = [
    "hiện nay",
    "hiện tại",
    "bây giờ",
    "hiện giờ",
    "đến nay",
    "ngày nay",
    "mới nhất",
    "gần đây nhất",
    "năm nay",
    "hôm nay",
    "hiện có",
    "hiện đang",
    "gần nhất",
    "lúc này",
    "bây h",
    "hiện h",
    "mà nay",  # "từ 6 chi bộ mà nay đã lên tới ..."; "nay" alone is mostly "này" typed bare
    "tới nay",
]
FILLER_PHRASES = [
    "cho mình hỏi",
    "cho tôi hỏi",
    "cho em hỏi",
    "cho anh hỏi",
    "cho chị hỏi",
    "cho hỏi",
    "xin hỏi",
    "xin cho biết",
    "cho biết",
    "hãy cho biết",
    "vui lòng",
    "làm ơn",
    "giúp mình",
    "giúp tôi",
    "giúp em",
    "bạn ơi",
    "ad ơi",
    "bot ơi",
    "mình muốn hỏi",
    "tôi muốn hỏi",
    "em muốn hỏi",
    "mình muốn biết",
    "tôi muốn biết",
    "em muốn biết",
    "bạn có biết",
    "có biết",
    "kể tên",
    "liệt kê",
    "nêu rõ",
    "trình bày",
    "tóm tắt",
    "giải thích",
    "kể ra",
    "được không",
    "có được không",
    "đúng không",
    "phải không",
    "không ạ",
    "vậy ạ",
    "thế ạ",
    "nhé",
    "với ạ",
    "tìm hiểu",
    "thông tin về",
    "thông tin",
    "nói về",
    "nói qua",
    "nói tới",
    "nói đến",
    "nhắc tới",
    "nhắc đến",
    "đề cập tới",
    "đề cập đến",
    "đề cập",
    "kể về",
    "cụ thể",
    "chi tiết",
    # the frame of a question rather than its subject
    "số hiệu",
    "đặc biệt",
    "bên cạnh",
    "ngoài ra",
    "liên quan tới",
    "liên quan đến",
    "liên quan",
    "diễn ra",
    "đòi hỏi",
    "dự kiến",
    "tổng cộng",
    "đầy đủ",
    "tra cứu",
    "xin chào",
    "chào bạn",
    "chào bot",
    "chào ad",
    "chào",
    "cảm ơn",
    "cám ơn",
    "cho xem",
    "mọi người ơi",
    "bác ơi",
    "cô ơi",
    "chú ơi",
    "anh ơi",
    "chị ơi",
    "em ơi",
    "cả nhà ơi",
    "anh chị ơi",
    "các bạn ơi",
    "hỏi chút",
    "hỏi xíu",
    "hỏi tí",
    "cho tớ hỏi",
    "cho cháu hỏi",
    "cho con hỏi",
    "em cảm ơn",
    "mình cảm ơn",
    "xin cảm ơn",
    "thank you",
    # colloquial wrappers: "người ta gộp ...", "kể sơ sơ thôi", "cho mình xin vài câu"
    "người ta",
    "kể sơ sơ",
    "sơ sơ",
    "cho mình xin",
    "cho em xin",
    "cho xin",
    "nhớ mang máng",
    "mang máng",
    "trong khuôn khổ",
    "kính hỏi",
    "xin đồng chí cho biết",
    "đồng chí cho biết",
    "nghe nói",
    # quiz and essay frames: "Đúng hay sai: ...? Nếu đúng thì ...", "em đang viết tiểu luận ..."
    "đúng hay sai",
    "nếu đúng thì",
    "nếu đúng",
    "nếu có thì",
    "nếu có",
    "nếu vậy",
    "cho rằng",
    "xin hãy",
    "hãy nêu",
    "hãy trình bày",
    "hãy tóm tắt",
    "em đang viết",
    "mình đang viết",
    "tôi đang viết",
    "em đang làm",
    "mình đang làm",
    "tiểu luận",
    "bài thu hoạch",
    "thấy bảo",
    "đọc thấy",
    # requests about the form of the answer rather than its subject
    "cho biết chính xác",
    "chính xác",
    "phân tích",
    "trích dẫn",
    "trích nguyên văn",
    "nguyên văn",
    "có đúng là",
    "có phải là",
    "mọi người",
    "chọn đáp án đúng",
    "chọn đáp án",
    "đáp án đúng",
    "điền vào chỗ trống",
    "chỗ trống",
    "rốt cuộc",
    "rốt cục",
]
FILLER_WORDS = frozenset(
    "ạ à ơi nhé nha nhỉ vậy thế hả hở ha chứ ấy đấy nhờ giúp mình tôi em tớ bạn ad admin bot "
    "hỏi xin biết muốn dạ vâng thưa ok oke okay hi hello alo ạh nêu kể rõ "
    "ơ ừ hihi hehe haha giùm dùm với cho bác cô chú anh chị không ko k nhen nghen "
    "cháu xíu tí chút ủa z hông hem thanks tks".split()
)
# Words so common in questions about the bloc that they say nothing on their own.
FUNCTION_WORDS = frozenset(
    "là của các có được đã và thì mà vào tại trong về này đó kia một số cái sự việc những "
    "nào ra lên bị để do từ theo như cũng còn rất nhất đến tới "
    # particles, conjunctions and adverbs a question wraps around its subject
    "nữa lại đây hay hoặc nhưng nên vì bởi lúc khi đang sẽ vẫn đều ngay luôn mỗi mọi tất cả "
    "rồi chưa ở đi nhau nó họ thôi hồi nếu".split()
)


@dataclass
class Analysis:
    """A question after phrase-level analysis."""

    tokens: list[str]  # canonical accented tokens (content words, in order)
    folded: list[str]  # folded keys aligned with tokens
    marked: list[bool]  # whether the typed word carried diacritics
    intents: set[str] = field(default_factory=set)
    now: bool = False
    numbers: list[str] = field(default_factory=list)
    sources: set[str] = field(default_factory=set)  # documents the question names as its frame
    source_words: set[str] = field(default_factory=set)  # ...and the words that name them
    context: set[str] = field(default_factory=set)  # folded words said only before the ask
    words: list[str] = field(default_factory=list)  # the typed words before any rule

    @property
    def normalized(self) -> str:
        """A readable normalised form: content tokens plus intent markers."""
        extra = [f"<{i}>" for i in sorted(self.intents)] + (["<NOW>"] if self.now else [])
        return " ".join([*self.tokens, *extra])


# Rule kinds applied by the phrase scanner.
_REPLACE, _INTENT, _NOW, _DROP, _SOURCE = "replace", "intent", "now", "drop", "source"


@dataclass(frozen=True)
class _Rule:
    pattern: tuple[str, ...]
    kind: str
    value: tuple[str, ...] = ()
    exact: bool = False  # match only as typed with marks


# Phrase rules by their first folded word: (rules of two or more words by their second folded
# word, rules of that one word), each rule with its folded pattern.
_RuleIndex = dict[
    str,
    tuple[
        dict[str, list[tuple[tuple[str, ...], _Rule]]],
        list[tuple[tuple[str, ...], _Rule]],
    ],
]

# Words that put a document's name before a question: "theo bài báo …", "trong tài liệu …".
REFERENCE_LEADS = ("theo", "trong", "ở", "tại", "từ")

# Question words whose bare form is mostly another word: "dau" is far more often "đầu"
# (đầu tiên, ban đầu) or "đấu" (đấu tranh) than "đâu". Two-word phrases ("o dau") still match.
_MARKED_ONLY_INTENTS = frozenset({("đâu",)})

# A clause that says what the question is *not* about: "(ko phải đảng bộ trực thuộc nha)",
# ", chứ không phải Đảng bộ tỉnh". It starts after a bracket, comma or "chứ" and runs to the
# next punctuation; its words are dropped, or they would be matched as asked.
_NEGATED_CLAUSE = re.compile(
    r"(?:\(|,|;|\bchứ\b)\s*(?:chứ\s+)?(?:không|khong|ko|k|hông|hong|chẳng|chang)\s+"
    r"(?:phải|phai)\b[^,.;:!?()]*\)?",
    re.IGNORECASE,
)


# A long message often sets the scene before it asks: "Tôi đang soạn bài giới thiệu cho đảng
# viên mới, vậy Liên chi ra đời ở đâu?". The ask is the sentences that end in "?" (else the
# last sentence), from the last pivot ("vậy", "xin hỏi", ...) that follows a comma.
# Sentences end at . ! ? (not inside "79.000"); a ";" or ":" joins clauses of one question.
_SENTENCE = re.compile(r".+?(?:[.!?]+(?=\s|$)|\n|$)", re.DOTALL)
_PIVOT = re.compile(
    r",\s*(?:vậy|vay|thế thì|the thi|thì|thi|xin hỏi|xin hoi|cho (?:mình|em|tôi|anh|chị)?\s*hỏi"
    r"|cho (?:minh|em|toi|anh|chi)?\s*hoi|(?:mình|em|tôi) muốn (?:hỏi|biết)"
    r"|(?:minh|em|toi) muon (?:hoi|biet))\b",
    re.IGNORECASE,
)
CONTEXT_MIN_WORDS = 6  # a scene shorter than this is part of the question
ASK_MIN_WORDS = 3


def asked_part(text: str) -> str | None:
    """The part of a long message that asks, or None when all of it does."""
    sentences = [m.group(0).strip() for m in _SENTENCE.finditer(text) if m.group(0).strip()]
    if not sentences:
        return None
    first_q = next((i for i, sent in enumerate(sentences) if sent.endswith("?")), None)
    start = first_q if first_q is not None else len(sentences) - 1
    ask = " ".join(sentences[start:])
    pivots = list(_PIVOT.finditer(ask))
    if pivots:
        ask = ask[pivots[-1].end() :]
    scene = len(text.split()) - len(ask.split())
    if scene < CONTEXT_MIN_WORDS or len(ask.split()) < ASK_MIN_WORDS:
        return None
    return ask


# Quiz contests: "Câu 5: ... ? A. 11/4/2007 B. 12/9/2016 C. ..." The number and the options are
# not the subject (the options would read as numbers the question names); the answer gives the fact.
_EXAM_NUMBER = re.compile(r"^\s*c[âa]u(?:\s+h[ỏo]i)?\s*\d+\s*[:.)]\s*", re.IGNORECASE)
_OPTIONS = re.compile(r"(?:^|\s)A\s*[.):]\s+\S.*?\sB\s*[.):]\s+\S.*$", re.DOTALL)


def _words(text: str) -> tuple[str, ...]:
    return tuple(tokenize(text))


class Lexicon:
    """Compiled abbreviations, synonyms, intent phrases and filler."""

    def __init__(
        self,
        synonyms: Synonyms,
        vocabulary: Iterable[str] = (),
        references: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        """``references`` maps how a document is named ("bài báo năm 2017") to source ids."""
        real_words_exact = set(vocabulary)
        real_words = {fold(w) for w in real_words_exact}
        # Rules are grouped by stage; within a stage the longest pattern wins.
        self._abbr: dict[str, tuple[str, ...]] = {}
        self._abbr_exact: dict[str, tuple[str, ...]] = {}
        # Short forms that are also real words (TƯ / tư tưởng) expand only when typed in capitals.
        upper: dict[str, str] = {}
        stage_syn: list[_Rule] = []
        for short, expansions in synonyms.abbreviations.items():
            key = short.casefold()
            if key in real_words_exact or (
                len(key) > 1 and fold(key) in real_words and fold(key) != key
            ):
                upper[unicodedata.normalize("NFC", short).upper()] = expansions[0]
                # ...and in capitals without marks too ("TU" for TƯ), as phones type them
                upper.setdefault(fold(short).upper(), expansions[0])
                continue
            if len(expansions) == 1:
                value = _words(expansions[0])
            else:
                # Ambiguous: the short form and every expansion are one term.
                value = (key,)
                stage_syn.extend(_Rule(_words(e), _REPLACE, value) for e in expansions)
            self._abbr_exact[key] = value
            if fold(key) not in real_words or fold(key) == key:
                self._abbr[fold(key)] = value
        for group in synonyms.groups:
            canonical = _words(group[0])
            # The canonical phrase maps to itself, so a shorter synonym inside it never fires.
            stage_syn.extend(_Rule(_words(p), _REPLACE, canonical) for p in group)
        # Ordinals ("thứ nhất", "thứ 5") become one token each: "nhất" alone is a function
        # word ("nhất là") and "năm" is mostly "year", so the parts say little on their own.
        for number, words in ORDINALS.items():
            for word in words:
                stage_syn.append(_Rule(_words(f"thứ {word}"), _REPLACE, (f"thứ{number}",)))
        synonym_stage = self._index(stage_syn)
        stage_q: list[_Rule] = []
        # "theo bài báo năm 2017, ...": the document named is the question's frame, not its
        # subject. Patterns are in the words the synonym stage leaves ("bài báo" → "bài viết").
        by_pattern: dict[tuple[str, ...], set[str]] = defaultdict(set)
        for phrase, ids in (references or {}).items():
            canonical = tuple(w for w, _, _ in self._scan(self._expand(phrase), synonym_stage))
            for lead in REFERENCE_LEADS:
                by_pattern[(lead, *canonical)].update(ids)
        stage_q.extend(
            _Rule(pattern, _SOURCE, tuple(sorted(ids))) for pattern, ids in by_pattern.items()
        )
        for intent, phrases in INTENT_PHRASES.items():
            stage_q.extend(
                _Rule(_words(p), _INTENT, (intent,), _words(p) in _MARKED_ONLY_INTENTS)
                for p in phrases
            )
        stage_q.extend(_Rule(_words(p), _NOW) for p in NOW_PHRASES)
        stage_q.extend(_Rule(_words(p), _DROP) for p in FILLER_PHRASES)
        self._stages = [synonym_stage, self._index(stage_q)]
        self._upper_re = (
            re.compile(r"(?<!\w)(" + "|".join(map(re.escape, upper)) + r")(?!\w)")
            if upper
            else None
        )
        self._upper = upper

    @staticmethod
    def _index(rules: list[_Rule]) -> _RuleIndex:
        """Rules keyed by their first word, then longer ones by their second word, so a scan
        only tries the few rules that can start at a position; each with its folded pattern,
        compared first. Longer patterns come first in each bucket."""
        index: _RuleIndex = {}
        for rule in rules:
            if rule.pattern:
                folded = tuple(fold(w) for w in rule.pattern)
                longer, single = index.setdefault(folded[0], ({}, []))
                bucket = longer.setdefault(folded[1], []) if len(folded) > 1 else single
                bucket.append((folded, rule))
        for longer, _ in index.values():
            for bucket in longer.values():
                bucket.sort(key=lambda fr: -len(fr[0]))
        return index

    def analyze(self, text: str) -> Analysis:
        """Tokenise a question and apply abbreviations, synonyms, intents and filler rules."""
        result = self._analyze(text)
        ask = asked_part(unicodedata.normalize("NFC", text))
        if ask is not None:
            asked = set(self._analyze(ask).folded)
            result.context = {w for w in result.folded if w not in asked}
        return result

    def _analyze(self, text: str) -> Analysis:
        text = unicodedata.normalize("NFC", text)
        text = _OPTIONS.sub(" ", _EXAM_NUMBER.sub(" ", text))
        text = _NEGATED_CLAUSE.sub(" ", text)
        if self._upper_re is not None:
            text = self._upper_re.sub(lambda m: f" {self._upper[m.group(1)]} ", text)
        words = tokenize(text)
        typed = self._expand_words(words)
        result = Analysis([], [], [], words=words)
        for stage in self._stages:
            typed = self._scan(typed, stage, result)
        previous = ""
        tokens, folded, marks, numbers = result.tokens, result.folded, result.marked, result.numbers
        for w, marked, bare in typed:
            if not tokens and bare == "sao" and (w == "sao" or not marked):
                # A question opening on "sao" asks why ("Sao hồi đó lại phải lập Liên chi?")
                result.intents.add(WHY)
                previous = bare
                continue
            if (
                w in FILLER_WORDS
                or (not marked and bare in _FILLER_FOLDED)
                # "minh" without marks is "mình" (we, our) unless it ends "Hồ Chí Minh"
                or (not marked and bare == "minh" and previous != "chi")
            ):
                previous = bare
                continue
            previous = bare
            tokens.append(w)
            folded.append(bare)
            marks.append(marked)
            if w.isdigit() or (w.startswith(("d", "m")) and w[1:2].isdigit()):
                numbers.append(w)
        # "... những huân chương gì rồi", "... đã có chưa": a closing particle, typed without
        # marks, would otherwise weigh as a rare word ("rời", "chùa").
        while len(tokens) > 1 and not marks[-1] and folded[-1] in _CLOSING_FOLDED:
            tokens.pop(), folded.pop(), marks.pop()
        return result

    def _expand(self, text: str) -> list[tuple[str, bool, str]]:
        return self._expand_words(tokenize(unicodedata.normalize("NFC", text)))

    def _expand_words(self, words: list[str]) -> list[tuple[str, bool, str]]:
        """Abbreviations expanded, as (word, typed with marks, folded): each word is folded
        once here and the folded form travels with it through the rules."""
        typed: list[tuple[str, bool, str]] = []
        for w in words:
            bare = fold(w)
            marked = bare != w  # has_marks(w)
            exp = self._abbr_exact.get(w) or (None if marked else self._abbr.get(w))
            if exp:
                typed.extend((e, True, fold(e)) for e in exp)
            else:
                typed.append((w, marked, bare))
        return typed

    @staticmethod
    def _scan(
        typed: list[tuple[str, bool, str]],
        rules: _RuleIndex,
        result: Analysis | None = None,
    ) -> list[tuple[str, bool, str]]:
        out: list[tuple[str, bool, str]] = []
        words = tuple([w for w, _, _ in typed])
        folded = tuple([fo for _, _, fo in typed])
        i = 0
        n = len(typed)
        while i < n:
            starting = rules.get(folded[i])
            if starting is None:  # no rule begins with this word
                out.append(typed[i])
                i += 1
                continue
            longer, single = starting
            rule = None
            pair = longer.get(folded[i + 1]) if i + 1 < n else None
            for bucket in (pair, single):
                if not bucket:
                    continue
                for pattern, cand in bucket:
                    k = len(pattern)
                    # Same letters; then each word as typed, or typed without marks.
                    if folded[i : i + k] == pattern and (
                        words[i : i + k] == cand.pattern
                        or all(_same(typed[i + j], cand.pattern[j], cand.exact) for j in range(k))
                    ):
                        rule = cand
                        break
                if rule is not None:
                    break
            if rule is None:
                out.append(typed[i])
                i += 1
                continue
            i += len(rule.pattern)
            if rule.kind == _REPLACE:
                out.extend((v, True, fold(v)) for v in rule.value)
            elif result is None:
                continue
            elif rule.kind == _INTENT:
                result.intents.add(rule.value[0])
            elif rule.kind == _NOW:
                result.now = True
            elif rule.kind == _SOURCE:  # the words stay; the document is noted beside them
                out.extend(typed[i - len(rule.pattern) : i])
                result.sources.update(rule.value)
                result.source_words.update(fold(w) for w in rule.pattern)
        return out


# Particles recognised when typed without marks. Only those whose bare form is not also a
# content word here: not "ban" (Ban Tuyên giáo), "minh" (Hồ Chí Minh), "chi" (chi bộ), "hoi" (hội).
_FILLER_FOLDED = frozenset(
    "a ak ah oi nhe nha nhi nhen nghen vay the ha ho chu ay day nho giup giun dum vang da ok oke "
    "okay hi hello alo hihi hehe haha ko k khong kg cho xin muon biet ne nhe "
    "chau xiu chut ua z hong hem thanks tks voi mn".split()
)


_CLOSING_FOLDED = frozenset({"roi", "chua"})


def _same(typed: tuple[str, bool, str], pattern_word: str, exact: bool = False) -> bool:
    word, marked, bare = typed
    if word == pattern_word:
        return True
    return not exact and not marked and bare == fold(pattern_word)
