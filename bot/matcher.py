"""Matching a question against curated entries. Pure, no I/O.

Candidates come from an inverted index over folded tokens; they are then scored:

* recall: how much of the *question* the phrasing explains, each word weighted by how
  distinctive it is (IDF over entries). A question with unexplained distinctive words
  ("Đảng Cộng sản Việt Nam thành lập ngày nào?" against "Đảng bộ Khối thành lập ngày nào?")
  scores low even though every word of the phrasing is in the question. This is the guard
  against token_set_ratio's subset failure.
* precision: how much of the phrasing the question covers, with the same weights.
* rapidfuzz token_sort_ratio on the folded strings, for typos and word order.
* intent: a WHEN question does not fit an entry only ever asked as HOW_MANY.

Accents count: a word typed with marks that matches only on the folded form ("dương" for
"đường") earns less than an exact match.
"""

from __future__ import annotations

import heapq
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from itertools import pairwise

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from bot.knowledge import Entry, KnowledgeBase
from bot.lexicon import FILLER_WORDS, FUNCTION_WORDS, HOW_MANY, STRONG_INTENTS, Analysis, Lexicon
from bot.subjects import units
from bot.vntext import could_be_syllable, find_phrase, fold, telex_decode

FOLDED_ONLY_CREDIT = 0.4  # typed with marks, matched only without them (quân ≠ quan)
TYPO_CREDIT = 0.8  # matched after typo / Telex correction
TYPO_WEIGHT_SHARE = 0.6
HIDDEN_CREDIT = 0.9  # matched an entry's tags or fact years rather than a phrasing
SIBLING_CREDIT = 0.8  # matched another phrasing of the same entry
ANSWER_CREDIT = 0.5  # matched only the entry's answer text
RECALL_BETA2 = 4.0  # F-beta with beta=2: explaining the question matters most
FUZZ_WEIGHT = 0.15
INTENT_MISMATCH = 0.72
INTENT_MISSING = 0.92
NUMBER_CONFLICT = 0.7
UNIT_CONFLICT = 0.7  # "ngành Tuyên giáo" asked, the entry is about "ngành Tổ chức"
UNASKED_YEAR = 0.88
UNASKED_PROVINCE = 0.85  # a question naming "the bloc" but no province, on a provincial entry
CENTRAL_NAMED = 0.7  # ...naming the central bloc outright ("các cơ quan Trung ương")
SOURCE_NOT_CITED = 0.9  # "theo bài báo năm 2017, ...", on an entry that cites no such document
PROVINCE_NAMED = 0.8  # a question about a provincial bloc, on a central entry that has no tỉnh
CANDIDATES = 8
EXACT_TIEBREAK = 1e-9
PREFILTER = 45  # cheap first cut by overlap before the F estimate (30 lost entries at 3,000)
COMMON_POSTINGS = 250
FINALISTS = 5
FUNCTION_WEIGHT = 0.15
CONTEXT_WEIGHT = 0.4  # a word said only while setting the scene, before the ask...
CONTEXT_SHARE = 0.5  # ...and all of them together weigh at most this share of the ask's words


@dataclass
class Phrasing:
    """One indexed phrasing of an entry."""

    entry_id: str
    text: str
    tokens: dict[str, set[str]]  # folded -> accented forms
    weights: dict[str, float]  # folded -> weight
    weight_total: float
    sorted_str: str  # its distinct folded words, sorted: token_sort_ratio's form
    intents: frozenset[str]


@dataclass
class Scored:
    """A scored entry with the details ``--explain`` shows."""

    entry_id: str
    score: float
    phrasing: str
    recall: float
    precision: float
    fuzz: float
    intent_factor: float
    matched: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


@dataclass
class QueryTerm:
    """A question word ready for scoring."""

    folded: str
    accented: str
    marked: bool
    weight: float
    corrected_from: str | None = None


class Matcher:
    """Inverted index over all phrasings of all entries, with IDF weights."""

    def __init__(self, kb: KnowledgeBase, lexicon: Lexicon) -> None:
        self.kb = kb
        self.lexicon = lexicon
        self.phrasings: list[Phrasing] = []
        self.postings: dict[str, list[int]] = defaultdict(list)
        # The same by the word's accented form, and for the entry's hidden words (tags, years):
        # a word typed with marks is fully matched only there.
        self.exact_postings: dict[str, list[int]] = defaultdict(list)
        self.hidden_postings: dict[str, list[int]] = defaultdict(list)
        # Words only the answer holds: they lead to the entry's first phrasing.
        self.answer_postings: dict[str, list[int]] = defaultdict(list)
        self.entry_intents: dict[str, frozenset[str]] = {}
        self.entry_hidden: dict[str, set[str]] = {}
        # folded word -> the accented forms it has in the entry's phrasings / answer
        self.entry_words: dict[str, dict[str, frozenset[str]]] = {}
        self.dated = {e.id for e in kb.entries.values() if e.as_of}
        self.provincial = {e.id for e in kb.entries.values() if e.scope == "provincial"}
        self.answer_words: dict[str, dict[str, frozenset[str]]] = {}
        # The entry's phrasings and answer as folded word sequences, to look for a phrase.
        self.entry_folded_texts: dict[str, list[list[str]]] = {}
        self.entry_units: dict[str, frozenset[str]] = {}  # departments the entry speaks of
        # Numbers in the titles of the sources an entry cites ("bài viết 93 năm ..."): a
        # question naming the article by them names no other fact.
        title_numbers = {
            source.id: frozenset(w for w in lexicon.analyze(source.title).folded if w[:1].isdigit())
            for source in kb.sources.values()
        }
        self.title_numbers: dict[str, frozenset[str]] = {
            e.id: frozenset().union(
                *(title_numbers.get(c.source, frozenset()) for c in e.citations)
            )
            for e in kb.entries.values()
        }
        self.entry_sources: dict[str, frozenset[str]] = {
            e.id: frozenset(c.source for c in e.citations) for e in kb.entries.values()
        }
        self.analyses: dict[str, list[Analysis]] = {}
        # Computed entries (anniversaries) take any year after their start date as input.
        self.year_inputs: dict[str, int] = {
            e.id: int(str(e.compute["date"])[:4]) for e in kb.entries.values() if e.compute
        }
        df: dict[str, int] = defaultdict(int)
        df_accented: dict[str, int] = defaultdict(int)
        # Every real word the knowledge uses, with its marks: a word typed with marks that is
        # not among them is either a typo ("lạp") or about something else ("quân" ≠ "quan").
        self.accented_vocabulary: set[str] = set()
        source_analyses = [lexicon.analyze(source.body) for source in kb.sources.values()]
        for a in source_analyses:
            self.accented_vocabulary.update(a.tokens)
        for entry in kb.entries.values():
            analyses = [lexicon.analyze(q) for q in entry.all_questions]
            self.analyses[entry.id] = analyses
            seen: set[str] = set()
            seen_accented: set[str] = set()
            forms: dict[str, set[str]] = defaultdict(set)
            intents: set[str] = set()
            for a in analyses:
                seen.update(a.folded)
                seen_accented.update(a.tokens)
                for acc, fo in zip(a.tokens, a.folded, strict=True):
                    forms[fo].add(acc)
                intents |= a.intents & STRONG_INTENTS
            for tok in seen_accented:
                df_accented[tok] += 1
            self.accented_vocabulary |= seen_accented
            hidden = self._hidden_tokens(entry)
            self.entry_hidden[entry.id] = hidden - seen
            self.entry_words[entry.id] = {fo: frozenset(f) for fo, f in forms.items()}
            # What the answer says: its text, its quotes and, for a fact, every dated value.
            said = [entry.answer, *(c.quote for c in entry.citations)]
            fact = kb.facts.get(entry.fact) if entry.fact else None
            if fact is not None:
                said += [f"{v.text} {v.quote}" for v in fact.values]
            answer_text = " ".join(said)
            answer = lexicon.analyze(answer_text) if answer_text.strip() else None
            answer_forms: dict[str, set[str]] = defaultdict(set)
            if answer is not None:
                self.accented_vocabulary.update(answer.tokens)
                for acc, fo in zip(answer.tokens, answer.folded, strict=True):
                    if fo not in seen and fo not in hidden:
                        answer_forms[fo].add(acc)
            self.answer_words[entry.id] = {fo: frozenset(f) for fo, f in answer_forms.items()}
            self.entry_folded_texts[entry.id] = [a.folded for a in analyses] + (
                [answer.folded] if answer is not None else []
            )
            self.entry_units[entry.id] = frozenset().union(
                *(units(a.folded) for a in analyses), units(answer.folded) if answer else ()
            )
            for tok in seen | hidden:
                df[tok] += 1
            self.entry_intents[entry.id] = frozenset(intents)
        # Where each word stands in an entry outside a given phrasing, for _entry_credit: its
        # tags and fact years (no forms), its phrasings, else its answer, in that order of
        # precedence (later keys override earlier ones), so that one lookup replaces three.
        self._elsewhere: dict[str, dict[str, tuple[float, frozenset[str] | None]]] = {
            entry_id: {
                **{fo: (ANSWER_CREDIT, forms) for fo, forms in self.answer_words[entry_id].items()},
                **{fo: (SIBLING_CREDIT, forms) for fo, forms in self.entry_words[entry_id].items()},
                **{fo: (HIDDEN_CREDIT, None) for fo in self.entry_hidden[entry_id]},
            }
            for entry_id in self.entry_hidden
        }
        # A function word typed without marks ("nua") is still one, unless its bare form is
        # also a content word here ("thi": thì, but also thi đua).
        readings: dict[str, set[str]] = defaultdict(set)
        for word in self.accented_vocabulary:
            readings[fold(word)].add(word)
        # The same for particles the lexicon drops when typed with marks ("nêu" typed "neu"):
        # without this they would weigh as unknown words, the most of all.
        particles = FUNCTION_WORDS | FILLER_WORDS
        self.function_folded = frozenset(
            fold(w) for w in particles if readings[fold(w)] <= particles
        )
        n = max(len(kb.entries), 1)
        self.idf = {tok: math.log(1 + n / count) for tok, count in df.items()}
        self.idf_accented = {tok: math.log(1 + n / c) for tok, c in df_accented.items()}
        self.unknown_weight = math.log(1 + n) + 1.0
        self.rare_weight = math.log(1 + n)  # a real word that no question uses
        for entry in kb.entries.values():
            for text, a in zip(entry.all_questions, self.analyses[entry.id], strict=True):
                tokens: dict[str, set[str]] = defaultdict(set)
                weights: dict[str, float] = {}
                for acc, fo in zip(a.tokens, a.folded, strict=True):
                    tokens[fo].add(acc)
                    weights[fo] = max(weights.get(fo, 0.0), self.weight(fo, acc))
                idx = len(self.phrasings)
                self.phrasings.append(
                    Phrasing(
                        entry.id,
                        text,
                        dict(tokens),
                        weights,
                        sum(weights.values()),
                        " ".join(sorted(set(a.folded))),
                        frozenset(a.intents & STRONG_INTENTS),
                    )
                )
                for tok, spellings in tokens.items():
                    self.postings[tok].append(idx)
                    for spelling in spellings:
                        self.exact_postings[spelling].append(idx)
            first = len(self.phrasings) - len(entry.all_questions)
            for tok in self.entry_hidden[entry.id]:
                for idx in range(first, len(self.phrasings)):
                    self.postings[tok].append(idx)
                    self.hidden_postings[tok].append(idx)
            for tok in self.answer_words[entry.id]:
                self.answer_postings[tok].append(first)
        # Adjacent words of the phrasings and the sources: the context a correction must fit.
        self.pairs: set[tuple[str, str]] = set()
        for analyses in self.analyses.values():
            for a in analyses:
                self.pairs.update(pairwise(a.folded))
        for a in source_analyses:
            self.pairs.update(pairwise(a.folded))
        # Typo correction (edit distance 1) through single-deletion variants, SymSpell-style:
        # two words within distance 1 share a variant. Frequent words win ties.
        self.vocabulary = sorted(self.idf, key=lambda t: self.idf[t])
        self._vocab_set = set(self.vocabulary)
        self._deletions: dict[str, list[str]] = defaultdict(list)
        for word in self.vocabulary:
            if len(word) >= 3 and not word[:1].isdigit():
                for variant in _deletes(word):
                    self._deletions[variant].append(word)
        self._corrections: dict[str, tuple[str, ...]] = {}  # word -> candidates, best first
        self._index_arrays()
        self._accented_deletions: dict[str, list[str]] = defaultdict(list)
        for word in sorted(self.idf_accented, key=lambda t: self.idf_accented[t]):
            if len(word) >= 2 and not word[:1].isdigit():
                for variant in _deletes(word):
                    self._accented_deletions[variant].append(word)

    def _index_arrays(self) -> None:
        """The index as arrays, so that candidate scoring runs in numpy, not a Python loop."""
        self._post = {t: np.asarray(v, dtype=np.intp) for t, v in self.postings.items()}
        self._exact_post = {t: np.asarray(v, dtype=np.intp) for t, v in self.exact_postings.items()}
        self._hidden_post = {
            t: np.asarray(v, dtype=np.intp) for t, v in self.hidden_postings.items()
        }
        # Spellings that every phrasing with their bare form uses ("đảng"): no need to split.
        self._sole_spelling = frozenset(
            acc
            for acc, ix in self.exact_postings.items()
            if len(ix) + len(self.hidden_postings.get(fold(acc), ()))
            == len(self.postings[fold(acc)])
        )
        self._answer_post = {
            t: np.asarray(v, dtype=np.intp) for t, v in self.answer_postings.items()
        }
        own: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
        for i, p in enumerate(self.phrasings):
            for tok, w in p.weights.items():
                own[tok][0].append(i)
                own[tok][1].append(w)
        # folded word -> (phrasings holding it, its weight in each): the precision numerator
        self._own = {
            t: (np.asarray(ix, dtype=np.intp), np.asarray(ws)) for t, (ix, ws) in own.items()
        }
        totals = np.asarray([p.weight_total for p in self.phrasings], dtype=float)
        self._weight_total = np.where(totals > 0, totals, 1.0)
        # A tiny share for shorter phrasings breaks ties between equal overlaps.
        self._tiebreak = np.where(totals > 0, 1e-6 / self._weight_total, 0.0)
        cited_by: dict[str, list[int]] = defaultdict(list)  # source id -> phrasings citing it
        for i, p in enumerate(self.phrasings):
            for source in self.entry_sources[p.entry_id]:
                cited_by[source].append(i)
        self._cited_by = {s: np.asarray(ix, dtype=np.intp) for s, ix in cited_by.items()}
        self._by_words: dict[str, int] = {}  # a phrasing's words, sorted -> its first phrasing
        for i, p in enumerate(self.phrasings):
            self._by_words.setdefault(p.sorted_str, i)

    def _hidden_tokens(self, entry: Entry) -> set[str]:
        """Tags, years of the entry's facts and dates: match, but are not part of a phrasing."""
        hidden: set[str] = set()
        for tag in entry.tags:
            hidden.update(self.lexicon.analyze(tag).folded)
        fact = self.kb.facts.get(entry.fact) if entry.fact else None
        if fact is not None:
            for value in fact.values:
                hidden.add(value.as_of[:4])
        if entry.as_of:
            hidden.add(entry.as_of[:4])
        return {h for h in hidden if h}

    def weight(self, folded: str, accented: str | None = None) -> float:
        """How distinctive a word is: IDF over entries; unknown words weigh the most.

        Function words ("của", "các", "thì") weigh almost nothing; they are recognised by their
        accented form, since folding merges "thì" with "thị".
        """
        if accented is not None and accented in FUNCTION_WORDS:
            return FUNCTION_WEIGHT
        return self.idf.get(folded, self.unknown_weight)

    def terms(self, analysis: Analysis) -> list[QueryTerm]:
        """Question words with weights, correcting typos against the vocabulary.

        A word typed with marks is weighed by its accented form ("quân" is rare here even
        though "quan" is everywhere); one typed without marks by its folded form. Words said
        only while setting the scene of a long message weigh less than those of its ask.
        """
        # Two words that differ only in their marks ("ký" and "kỷ niệm") are two terms, unless
        # the same pair of words comes back ("kinh nghiệm … kinh nghiêm": a slip, not a word).
        out: dict[tuple[str, str | None], QueryTerm] = {}
        seen: set[tuple[str, str | None]] = set()
        words = analysis.folded
        repeated: set[tuple[str, str]] | None = None  # pairs typed twice, found when needed
        seen_folded: set[str] = set()
        # In a question typed with marks, a bare word is as typed ("trong" is not "trọng");
        # in one typed without any, it is a function word only when it cannot be anything else.
        typed_with_marks = any(analysis.marked)
        for i, (acc, fo, marked) in enumerate(
            zip(analysis.tokens, words, analysis.marked, strict=True)
        ):
            typed = (fo, acc if marked else None)
            if typed in seen:
                continue
            if fo in seen_folded:
                if repeated is None:
                    repeated = {p for p, n in Counter(pairwise(words)).items() if n > 1}
                if (i and (words[i - 1], fo) in repeated) or (
                    i + 1 < len(words) and (fo, words[i + 1]) in repeated
                ):
                    continue
            seen.add(typed)
            seen_folded.add(fo)
            if (acc in FUNCTION_WORDS and typed_with_marks) or fo in self.function_folded:
                term = QueryTerm(fo, acc, marked, FUNCTION_WEIGHT)
            elif fo[:1].isdigit():
                term = QueryTerm(fo, acc, marked, self.weight(fo))
            else:
                context = (words[i - 1] if i else "", words[i + 1] if i + 1 < len(words) else "")
                if marked:
                    term = self._marked_term(acc, fo, context)
                else:
                    term = QueryTerm(fo, acc, False, self.weight(fo))
                    if fo not in self._vocab_set:
                        fixed = self._correct(fo, context)
                        if fixed is not None:
                            term = QueryTerm(fixed, fixed, False, self._typo_weight(fixed), fo)
                if term.weight > FUNCTION_WEIGHT:
                    term = self._in_context(term, acc, marked, *context)
            out.setdefault((term.folded, term.accented if term.marked else None), term)
        terms = list(out.values())
        if not analysis.context:
            return terms
        scene_words = analysis.context
        asked = [t for t in terms if t.folded not in scene_words and t.weight > FUNCTION_WEIGHT]
        if len(asked) < 2:  # "Rốt cuộc là bao nhiêu?": the ask points back at the scene
            return terms
        scene = CONTEXT_WEIGHT * sum(t.weight for t in terms if t.folded in scene_words)
        ask = sum(t.weight for t in terms if t.folded not in scene_words)
        scale = CONTEXT_WEIGHT * min(1.0, CONTEXT_SHARE * ask / scene) if scene else 1.0
        return [
            replace(t, weight=t.weight * scale) if t.folded in scene_words else t for t in terms
        ]

    def respelled(self, analysis: Analysis, terms: list[QueryTerm] | None = None) -> Analysis:
        """The analysis again with typos corrected, when a correction completes a phrase the
        lexicon knows ("quyết đinh" → "quyết định" → QĐ, "sắp sếp" → "sắp xếp")."""
        if terms is None:
            terms = self.terms(analysis)
        fixes = {t.corrected_from: t.accented for t in terms if t.corrected_from}
        if not fixes:
            return analysis
        fixed = [fixes.get(w, w) for w in analysis.tokens]
        again = self.lexicon.analyze(" ".join(fixed))
        if again.tokens == fixed:
            return analysis  # no phrase formed: keep the typed words and their corrections
        again.intents |= analysis.intents
        again.now = again.now or analysis.now
        again.words = analysis.words
        return again

    def _in_context(
        self, term: QueryTerm, typed: str, marked: bool, before: str, nxt: str
    ) -> QueryTerm:
        """A word that fits neither neighbour, while a regional spelling of it does ("tuyên
        chuyền" → "tuyên truyền"), is that spelling: accents mix up ch/tr and gi/d/r.

        A real word typed with marks ("chuyển") is left alone, and so is a bare "d", which is
        far more often a "đ" typed without marks than a "gi".
        """
        if marked and typed in self.accented_vocabulary:
            return term
        if self._fits(term.folded, before, nxt):
            return term
        for spelled in _regional_spellings(typed):
            if not marked and spelled.startswith("gi") and typed.startswith("d"):
                continue
            v = fold(spelled)
            if v in self._vocab_set and self._fits(v, before, nxt):
                return QueryTerm(v, v, False, self._typo_weight(v), term.corrected_from or typed)
        return term

    def _fits(self, folded: str, before: str, nxt: str) -> bool:
        """Whether a word stands next to one of its neighbours somewhere in the phrasings or
        sources. A particle next to it says little ("có chuyển" and "có chuyện")."""
        return (before not in _PARTICLE_FOLDS and (before, folded) in self.pairs) or (
            nxt not in _PARTICLE_FOLDS and (folded, nxt) in self.pairs
        )

    def _pick(self, candidates: tuple[str, ...], context: tuple[str, str]) -> str | None:
        """The first candidate correction that fits a neighbour ("trực thộc" → "thuộc", not
        "thực"), else the first."""
        for c in candidates:
            if self._fits(fold(c), *context):
                return c
        return candidates[0] if candidates else None

    def _marked_term(self, acc: str, fo: str, context: tuple[str, str] = ("", "")) -> QueryTerm:
        if acc in self.idf_accented:
            return QueryTerm(fo, acc, True, self.idf_accented[acc])
        if acc in self.accented_vocabulary:
            return QueryTerm(fo, acc, True, self.rare_weight)
        if fo in _PARTICLE_FOLDS:  # a particle with a slip of its marks ("vói" for "với")
            return QueryTerm(fo, acc, True, FUNCTION_WEIGHT)
        fixed = self._pick(self._accented_candidates(acc), context)
        if fixed is not None:
            return QueryTerm(fold(fixed), fixed, True, self._typo_weight(fold(fixed)), acc)
        if fo not in self._vocab_set:
            folded_fix = self._correct(fo, context)
            if folded_fix is not None:
                return QueryTerm(folded_fix, folded_fix, False, self._typo_weight(folded_fix), acc)
        return QueryTerm(fo, acc, True, self.unknown_weight)

    def _typo_weight(self, fixed: str) -> float:
        """A corrected word may also be a real word we do not know ("doanh" is not "đoàn"):
        it keeps most of an unknown word's weight, so it cannot quietly vanish."""
        return max(self.weight(fixed), TYPO_WEIGHT_SHARE * self.unknown_weight)

    def _accented_candidates(self, word: str) -> tuple[str, ...]:
        """Known words one edit away from a question word typed with marks, best first."""
        key = "\u0301" + word  # cache namespace distinct from folded corrections
        cached = self._corrections.get(key)
        if cached is not None:
            return cached
        found: set[str] = set()
        for variant in _deletes(word):
            found.update(self._accented_deletions.get(variant, ()))
        folded = fold(word)
        # A particle is no stand-in for a real word one letter away ("nữ" is not "nữa"), though
        # a slip of its marks is ("nưa" → "nữa").
        found = {
            w
            for w in found
            if Levenshtein.distance(word, w) <= 1 and (w not in FUNCTION_WORDS or fold(w) == folded)
        }
        if len(word) <= 3:
            # As for words typed without marks: a short word is most often a real one we do
            # not know ("nữ"), so only a slip of its marks or a dropped letter is corrected.
            found = {w for w in found if fold(w) == folded or len(w) == len(word) + 1}
        # A slip of the tone or a mark (viêc → việc) is likelier than a wrong letter (→ viên).
        ranked = tuple(sorted(found, key=lambda w: (fold(w) != folded, self.idf_accented[w], w)))
        if len(self._corrections) < 50_000:
            self._corrections[key] = ranked
        return ranked

    def _correct(self, word: str, context: tuple[str, str] = ("", "")) -> str | None:
        """The known word a typo or Telex spelling stands for: the most frequent one that fits
        a neighbour, else the most frequent. A three-letter word shaped like a syllable is often
        a real one we do not know ("tru" in "tru so", trụ sở): it is corrected only where the
        fix fits; "uog" is no syllable and becomes "uong" anyway."""
        candidates = self._folded_candidates(word)
        if len(word) == 3 and could_be_syllable(word) and telex_decode(word) is None:
            return next((c for c in candidates if self._fits(c, *context)), None)
        return self._pick(candidates, context)

    def _folded_candidates(self, word: str) -> tuple[str, ...]:
        """Known words one edit away from a word typed without marks (or its Telex reading)."""
        cached = self._corrections.get(word)
        if cached is not None:
            return cached
        ranked: tuple[str, ...] = ()
        decoded = telex_decode(word)
        if decoded is not None and fold(decoded) in self._vocab_set:
            ranked = (fold(decoded),)
        elif len(word) >= 3:
            found: set[str] = set()
            for variant in _deletes(word):
                found.update(self._deletions.get(variant, ()))
            found = {w for w in found if Levenshtein.distance(word, w) <= 1}
            if len(word) == 3:
                # A three-letter word is most often a real syllable we do not know ("tru" in
                # "trụ sở"); only a dropped letter ("uog" for "uong") is corrected.
                found = {w for w in found if len(w) == 4}
            ranked = tuple(sorted(found, key=lambda w: (self.idf[w], w)))
        if len(self._corrections) < 50_000:
            self._corrections[word] = ranked
        return ranked

    def rank(
        self,
        analysis: Analysis,
        limit: int = 10,
        explain: bool = False,
        terms: list[QueryTerm] | None = None,
    ) -> list[Scored]:
        """Entries ranked by score, best first (``terms``: the analysis's, if computed)."""
        if terms is None:
            terms = self.terms(analysis)
        if not terms:
            return []
        total = sum(t.weight for t in terms)
        # Candidates come from the distinctive words: the two heaviest, and any other whose
        # posting list is short. Words in most phrasings ("đảng", "khối") would only add noise
        # and time; they still count in the scores below.
        n = len(self.phrasings)
        # Each sum is gathered as (phrasing, weight) pairs and added up in one bincount.
        touched: list[np.ndarray] = []
        credit: list[float] = []
        unscanned = 0.0
        for rank_, t in enumerate(sorted(terms, key=lambda t: -t.weight)):
            postings = self._post.get(t.folded)
            if rank_ >= 2 and postings is not None and len(postings) > COMMON_POSTINGS:
                unscanned += t.weight
                continue
            if postings is not None and t.marked and t.accented not in self._sole_spelling:
                # Full weight where the word stands as typed ("ký"); where only its bare form
                # does ("kỷ"), what the exact score will give it.
                touched.append(postings)
                credit.append(t.weight * FOLDED_ONLY_CREDIT)
                for extra in (self._exact_post.get(t.accented), self._hidden_post.get(t.folded)):
                    if extra is not None:
                        touched.append(extra)
                        credit.append(t.weight * (1 - FOLDED_ONLY_CREDIT))
            elif postings is not None:
                touched.append(postings)
                credit.append(t.weight)
            answer = self._answer_post.get(t.folded)
            if answer is not None and (rank_ < 2 or len(answer) <= COMMON_POSTINGS):
                touched.append(answer)
                credit.append(t.weight * ANSWER_CREDIT)
        if analysis.sources:  # "theo bài báo năm 2017": the words are the citing entries' own
            named = sum(t.weight for t in terms if t.folded in analysis.source_words)
            citing = [self._cited_by[s] for s in analysis.sources if s in self._cited_by]
            if named and citing:
                touched.append(np.unique(np.concatenate(citing)))
                credit.append(named * HIDDEN_CREDIT)
        if not touched:
            return []
        bound = np.bincount(  # every weight is positive: a phrasing is touched when > 0
            np.concatenate(touched),
            np.repeat(credit, [len(a) for a in touched]),
            minlength=n,
        )
        pool = (bound > 0).nonzero()[0]
        if not len(pool):
            return []
        overlap = bound[pool] + self._tiebreak[pool]
        if len(pool) > PREFILTER:  # a cheap first cut by overlap
            keep = np.argpartition(-overlap, PREFILTER - 1)[:PREFILTER]
            pool, overlap = pool[keep], overlap[keep]
        phrasings = self.phrasings
        q_folded = {t.folded for t in terms}
        # Pre-rank by an F estimate: recall as if the common words not scanned all matched,
        # and the exact share of the phrasing's own words that the question holds.
        owns = [  # each word once, in the question's order
            own for fo in dict.fromkeys(t.folded for t in terms) if (own := self._own.get(fo))
        ]
        own_share = (
            np.bincount(
                np.concatenate([o[0] for o in owns]),
                np.concatenate([o[1] for o in owns]),
                minlength=n,
            )
            if owns
            else np.zeros(n)
        )
        r = np.minimum(1.0, (overlap + unscanned) / total)
        prec = own_share[pool] / self._weight_total[pool]
        est = (1 + RECALL_BETA2) * r * prec / np.maximum(RECALL_BETA2 * prec + r, 1e-12)
        if len(pool) > CANDIDATES:
            top = np.argpartition(-est, CANDIDATES - 1)[:CANDIDATES]
        else:
            top = np.arange(len(pool))
        top = top[np.argsort(-est[top], kind="stable")]
        candidates = list(zip(pool[top].tolist(), prec[top].tolist(), strict=True))
        # A stored phrasing typed word for word (a suggestion the user tapped) is always
        # scored, however many phrasings share its distinctive words.
        same = self._by_words.get(" ".join(sorted(q_folded)))
        if same is not None and all(idx != same for idx, _ in candidates):
            candidates.append((same, float(own_share[same] / self._weight_total[same])))
        best_f: dict[str, tuple[float, float, float, int]] = {}
        by_entry: dict[str, list[float]] = {}
        for idx, precision in candidates:
            p = phrasings[idx]
            recall = self._recall(p, terms, by_entry, analysis) / total
            precision = precision if p.weight_total else 0.0
            f = 0.0
            if recall and precision:
                f = (1 + RECALL_BETA2) * recall * precision / (RECALL_BETA2 * precision + recall)
            prev = best_f.get(p.entry_id)
            if prev is None or f > prev[0]:
                best_f[p.entry_id] = (f, recall, precision, idx)
        finalists = heapq.nlargest(FINALISTS, best_f.items(), key=lambda kv: kv[1][0])
        query_sorted = " ".join(sorted(t.folded for t in terms))
        q_intents = analysis.intents & STRONG_INTENTS
        q_numbers = {t.folded for t in terms if t.folded[:1].isdigit()}
        q_years = {n for n in q_numbers if is_year(n)}
        # "Đảng bộ Khối ..." without "tỉnh" means the central bloc, unless a number the
        # question gives (a decision's, a figure) is the provincial entry's own.
        words = analysis.folded
        province = any(
            t.folded == "tinh"
            and t.corrected_from is None
            and (not t.marked or t.accented == "tỉnh")
            for t in terms
        ) or (  # "tịnh" (a slip for "tịch") is not "tỉnh"; "phương thức" is no province
            find_phrase(words, ("dia", "phuong")) >= 0
        )
        central_bloc = "khoi" in q_folded and not province
        central_named = central_bloc and find_phrase(words, ("trung", "uong")) >= 0
        # "Đảng bộ khối tỉnh Nam Định ..." is about a provincial bloc: a central entry that
        # never speaks of a province does not answer it.
        province_bloc = "khoi" in q_folded and province
        q_units = units(analysis.folded)
        out: list[Scored] = []
        for entry_id, (f, recall, precision, idx) in finalists:
            p = phrasings[idx]
            fz = fuzz.ratio(query_sorted, p.sorted_str) / 100.0  # token_sort_ratio, presorted
            factor = 1.0
            entry_intents = self.entry_intents[entry_id]
            if q_intents and entry_intents and not (q_intents & entry_intents):
                factor = INTENT_MISMATCH
            elif q_intents and not entry_intents:
                factor = INTENT_MISSING
            cites_named = bool(analysis.sources & self.entry_sources[entry_id])
            asked_numbers = q_numbers - analysis.source_words if cites_named else q_numbers
            if asked_numbers and self._numbers_conflict(p, asked_numbers):
                factor *= NUMBER_CONFLICT
            elif (
                not q_years
                and HOW_MANY in q_intents
                and entry_id in self.dated
                and any(is_year(t) for t in p.tokens)
            ):
                factor *= UNASKED_YEAR  # "how many" without a year prefers the latest figure
            if analysis.sources and not cites_named:
                factor *= SOURCE_NOT_CITED
            entry_units = self.entry_units[entry_id]
            if q_units and entry_units and not q_units <= entry_units:
                factor *= UNIT_CONFLICT
            if (
                central_bloc
                and entry_id in self.provincial
                and not any(n in p.tokens and not is_year(n) for n in q_numbers)
            ):
                factor *= CENTRAL_NAMED if central_named else UNASKED_PROVINCE
            elif (
                province_bloc
                and entry_id not in self.provincial
                and "tinh" not in self.entry_words[entry_id]
            ):
                factor *= PROVINCE_NAMED
            score = ((1 - FUZZ_WEIGHT) * f + FUZZ_WEIGHT * fz * min(1.0, recall / 0.6)) * factor
            if idx == same:
                score += EXACT_TIEBREAK  # of two perfect matches, the one typed word for word
            scored = Scored(entry_id, score, p.text, recall, precision, fz, factor)
            if explain:
                scored.matched, scored.missing = self._words(p, terms)
            out.append(scored)
        out.sort(key=lambda s: s.score, reverse=True)
        return out[:limit]

    def _recall(
        self,
        p: Phrasing,
        terms: list[QueryTerm],
        by_entry: dict[str, list[float]],
        analysis: Analysis,
    ) -> float:
        """Weighted share of the question's words that the phrasing (or its entry) explains.

        ``by_entry`` caches, per entry, what each word earns when the phrasing lacks it.
        """
        elsewhere = by_entry.get(p.entry_id)
        if elsewhere is None:
            # Words naming a document the entry cites ("theo bài báo năm 2017") are its own.
            named = (
                analysis.source_words
                if analysis.sources & self.entry_sources[p.entry_id]
                else frozenset()
            )
            elsewhere = by_entry[p.entry_id] = self._entry_credit(p.entry_id, terms, named)
        got = 0.0
        tokens = p.tokens
        for t, other in zip(terms, elsewhere, strict=True):
            forms = tokens.get(t.folded)
            got += other if forms is None else t.weight * _credit(t, forms, 1.0)
        return got

    def _entry_credit(
        self, entry_id: str, terms: list[QueryTerm], named: Collection[str] = ()
    ) -> list[float]:
        """What each question word earns from the entry's tags, other phrasings or answer,
        or from ``named``: words that name a document the entry cites."""
        elsewhere = self._elsewhere[entry_id]
        takes_years = entry_id in self.year_inputs
        out: list[float] = []
        for t in terms:
            held = elsewhere.get(t.folded)
            if held is None:
                if (takes_years and self._year_input(entry_id, t.folded)) or t.folded in named:
                    out.append(t.weight * HIDDEN_CREDIT)
                else:
                    out.append(0.0)
            elif held[1] is None:  # a tag or a year of the entry's facts
                out.append(t.weight * (TYPO_CREDIT if t.corrected_from else HIDDEN_CREDIT))
            else:
                out.append(t.weight * _credit(t, held[1], held[0]))
        return out

    def _numbers_conflict(self, p: Phrasing, q_numbers: set[str]) -> bool:
        """The question names a number the entry lacks, and the phrasing names another one
        (75 years vs 70 years, QĐ 47 vs QĐ 40): most likely a different fact."""
        hidden = self.entry_hidden[p.entry_id]
        siblings = self.entry_words[p.entry_id]
        lacks = any(
            n not in p.tokens
            and n not in hidden
            and n not in siblings  # another phrasing of the entry gives it
            and n not in self.title_numbers[p.entry_id]  # "the 93-year article" names its source
            and not self._year_input(p.entry_id, n)
            for n in q_numbers
        )
        return lacks and any(tok[:1].isdigit() and tok not in q_numbers for tok in p.tokens)

    def _year_input(self, entry_id: str, folded: str) -> bool:
        start = self.year_inputs.get(entry_id)
        return (
            start is not None
            and len(folded) == 4
            and folded.isdigit()
            and start < int(folded) < start + 200
        )

    def _words(self, p: Phrasing, terms: list[QueryTerm]) -> tuple[list[str], list[str]]:
        """Which question words a phrasing explains (* = via its entry) and which it does not."""
        other = (
            self.entry_hidden[p.entry_id]
            | set(self.entry_words[p.entry_id])
            | set(self.answer_words[p.entry_id])
        )
        matched = [
            t.folded + ("" if t.folded in p.tokens else "*")
            for t in terms
            if t.folded in p.tokens or t.folded in other
        ]
        missing = [
            t.corrected_from or t.folded
            for t in terms
            if t.folded not in p.tokens
            and t.folded not in other
            and not self._year_input(p.entry_id, t.folded)
        ]
        return matched, missing


def _credit(t: QueryTerm, forms: frozenset[str] | set[str], tier: float) -> float:
    """Credit for a word found with these accented forms, at a tier (phrasing, sibling...)."""
    if t.marked and t.accented not in forms:
        return tier * FOLDED_ONLY_CREDIT
    if t.corrected_from is not None:
        return tier * TYPO_CREDIT
    return tier


_PARTICLE_FOLDS = frozenset(fold(w) for w in FILLER_WORDS | FUNCTION_WORDS)


def is_year(token: str) -> bool:
    """A four-digit number read as a year (1900–2039), not a figure like 5.700."""
    return len(token) == 4 and token.isdigit() and "1900" <= token <= "2039"


# Initial consonants that sound alike in some accents and are two letters apart in writing.
_REGIONAL_INITIALS = (
    ("ch", "tr"),
    ("tr", "ch"),
    ("gi", "d"),
    ("d", "gi"),
    ("gi", "r"),
    ("r", "gi"),
)


def _regional_spellings(word: str) -> list[str]:
    """The word with a commonly confused initial consonant swapped (chuyền → truyền)."""
    return [new + word[len(old) :] for old, new in _REGIONAL_INITIALS if word.startswith(old)]


def _deletes(word: str) -> set[str]:
    """The word and every form of it with one letter deleted."""
    return {word, *(word[:i] + word[i + 1 :] for i in range(len(word)))}


def source_vocabulary(kb: KnowledgeBase) -> set[str]:
    """Words written in lower case in the sources and answers: real words, so a short form
    that is also one ("tư" in "tư tưởng") expands only when typed in capitals ("TƯ")."""
    vocab: set[str] = set()
    texts = [s.body for s in kb.sources.values()] + [e.answer for e in kb.entries.values()]
    for text in texts:
        for word in _LOWER_WORD.findall(unicodedata.normalize("NFC", text)):
            if word == word.lower():
                vocab.add(word)
    return vocab


_LOWER_WORD = re.compile(r"[^\W\d_]+")
