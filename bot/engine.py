"""The answering engine: loads a knowledge directory and answers questions. Pure, no Telegram.

Interface (stable, used by the Telegram adapter, the query log and the CLI):

    engine = Engine.load(Path("knowledge"))      # raises KnowledgeError listing every problem
    result = engine.answer("Đảng bộ Khối thành lập ngày nào?", today=date(2026, 11, 23))
    result = engine.answer_entry("ngay-truyen-thong")   # a button press; None if the id is unknown
    engine.version        # content hash of the knowledge files
    engine.sources        # list[Source]: .id .title .date .publisher .description .scope
    engine.examples(4)    # example questions for /start
    engine.normalize(q)   # the normalised form of a question (for the query log)

Statuses: ``answered`` when the best entry scores at least ``ANSWER_AT``; ``ambiguous`` (2–4
suggestions) in the grey zone down to ``SUGGEST_AT``; below that a source paragraph may still
answer (labelled as an excerpt) when it clearly covers the question, else ``no_answer`` with the
closest entries. The thresholds are calibrated on tests/eval (``python -m bot eval``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import NamedTuple

from bot import compose
from bot.knowledge import (
    Entry,
    Fact,
    KnowledgeBase,
    KnowledgeError,
    Problem,
    Source,
    load_knowledge,
    load_with_problems,
)
from bot.lexicon import HOW_MANY, WHEN, Analysis, Lexicon
from bot.matcher import (
    FUNCTION_WEIGHT,
    Matcher,
    QueryTerm,
    Scored,
    is_year,
    source_vocabulary,
)
from bot.results import Citation, Result, Suggestion
from bot.subjects import other_organisation, province_named
from bot.vntext import find_phrase, nfc_ws

# From `python -m bot eval --calibrate`, which tunes on one half of tests/eval and reports the
# other. The two halves disagree (dev picks 0.80 / 0.71 lead 0.09, test picks 0.84 / 0.72 lead
# 0.06). The dev pick ships: re-run at the code of the day each fresh set arrived, it answered
# more in-scope questions and gave fewer wrong answers on four of the five (README).
ANSWER_AT = 0.80
CLEAR_AT = 0.71  # ...or at least this, with a clear lead over the next entry:
CLEAR_MARGIN = 0.09
CLEAR_PRECISION = 0.35  # ...and covering over a third of the entry's phrasing
MIN_LEAD = 0.0  # below SURE_AT, a lead smaller than this over the next entry is a close call
SURE_AT = 0.97
SUGGEST_AT = 0.50
# A long question that still scores fairly high has matched many of its words: calibrated
# on the evaluation set, such a score is right far more often than the same score on a short
# question, where a few shared words go a long way.
LONG_TERMS = 16
LONG_AT = 0.66
LONG_MARGIN = 0.03
SUGGEST_PRECISION = 0.3  # a "did you mean" must share a fair part of its own words
PASSAGE_AT = 0.95  # share of the question's weight a single sentence must explain
PASSAGE_DISTINCTIVE = 1.5  # ...including every word at least this distinctive
MAX_SUGGESTIONS = 4
_SENTENCE_END = re.compile(r"(?<=[.;!?])\s+(?=[\"“(*]?[A-ZĐÀ-Ỹ0-9])")


@dataclass(frozen=True)
class Sentence:
    """A sentence of a source paragraph, for the passage fallback."""

    source: str
    paragraph: int
    text: str
    words: dict[str, frozenset[str]]  # folded -> accented forms
    has_number: bool
    pairs: frozenset[tuple[str, str]] = frozenset()  # adjacent folded words


class Thresholds(NamedTuple):
    """When the engine answers, suggests entries, or says the documents do not hold it."""

    answer_at: float
    min_lead: float
    clear_at: float
    clear_margin: float
    suggest_at: float
    long_terms: float
    long_at: float
    long_margin: float

    def confident(self, top: float, runner_up: float, precision: float, n_terms: int) -> bool:
        """Answer when the best entry scores high and is not a close call with the next one,
        or scores fairly high with a clear lead and is not a bare keyword ("nghị quyết")
        that covers a small part of the phrasing (``precision``), or when a long question
        (``n_terms`` words) scores fairly high with some lead."""
        lead = top - runner_up
        return (
            (top >= self.answer_at and (lead >= self.min_lead or top >= SURE_AT))
            or (top >= self.clear_at and lead >= self.clear_margin and precision >= CLEAR_PRECISION)
            or (n_terms >= self.long_terms and top >= self.long_at and lead >= self.long_margin)
        )

    def describe(self) -> str:
        """The thresholds as curators read them."""
        long_rule = (
            f", or with {self.long_terms:.0f}+ words ≥ {self.long_at:.2f} leading by "
            f"{self.long_margin:.2f}"
            if self.long_terms < NO_LONG_RULE[0]
            else ""
        )
        return (
            f"answer ≥ {self.answer_at:.2f} leading by {self.min_lead:.2f}, or ≥ "
            f"{self.clear_at:.2f} leading by {self.clear_margin:.2f}{long_rule}; "
            f"suggest ≥ {self.suggest_at:.2f}"
        )


NO_LONG_RULE = (99.0, 1.0, 1.0)  # (long_terms, long_at, long_margin) with the long rule off


class Engine:
    """Answers questions from one loaded, validated knowledge base."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.thresholds = Thresholds(
            ANSWER_AT,
            MIN_LEAD,
            CLEAR_AT,
            CLEAR_MARGIN,
            SUGGEST_AT,
            LONG_TERMS,
            LONG_AT,
            LONG_MARGIN,
        )
        references: dict[str, set[str]] = {}
        for source in kb.sources.values():
            for phrase in source.cited_as:
                references.setdefault(phrase, set()).add(source.id)
        self.lexicon = Lexicon(kb.synonyms, source_vocabulary(kb), references)
        self.matcher = Matcher(kb, self.lexicon)
        self.sentences = self._index_sentences()
        # The words that name each fact, analysed once ("ĐV" → đảng viên).
        self.fact_terms = {
            f.id: [self.lexicon.analyze(t).folded for t in f.terms] for f in kb.facts.values()
        }
        self.fact_entries: dict[str, list[Entry]] = {}  # the entries built on each figure
        for e in kb.entries.values():
            if e.fact is not None:
                self.fact_entries.setdefault(e.fact, []).append(e)
        self.count_texts = {
            entry_id: [a.folded for a in analyses if HOW_MANY in a.intents]
            + _counted(self.matcher.entry_folded_texts[entry_id][len(analyses) :])
            for entry_id, analyses in self.matcher.analyses.items()
        }
        # What an entry's answer carries whatever the question: its citations resolved against
        # the sources and its related entries. Both are immutable, so they are built once.
        self.entry_cites = {e.id: compose.entry_citations(kb, e) for e in kb.entries.values()}
        self.entry_related = {
            e.id: tuple(Suggestion(r, kb.entries[r].question) for r in e.related if r in kb.entries)
            for e in kb.entries.values()
        }
        self.sentence_postings: dict[str, list[int]] = {}
        for i, sentence in enumerate(self.sentences):
            for tok in sentence.words:
                self.sentence_postings.setdefault(tok, []).append(i)

    # --- loading -----------------------------------------------------------------------------

    @classmethod
    def load(cls, root: Path | str) -> Engine:
        """Load, validate and index a knowledge directory (KnowledgeError lists all problems)."""
        engine = cls(load_knowledge(root))
        problems = engine.phrasing_problems()
        if problems:
            raise KnowledgeError(problems)
        return engine

    @staticmethod
    def check(root: Path | str) -> tuple[Engine | None, list[Problem]]:
        """Every problem in a knowledge directory, and the engine when it could be built."""
        kb, problems = load_with_problems(root)
        if not kb.entries or not kb.sources:
            return None, problems
        engine = Engine(kb)
        return engine, problems + engine.phrasing_problems()

    def phrasing_problems(self) -> list[Problem]:
        """The same question (after normalisation) in two entries."""
        seen: dict[tuple[str, ...], Entry] = {}
        problems: list[Problem] = []
        for entry in self.kb.entries.values():
            own: set[tuple[str, ...]] = set()
            for text, a in zip(entry.all_questions, self.matcher.analyses[entry.id], strict=True):
                key = (*sorted(set(a.folded)), *sorted(a.intents))
                if not a.folded:
                    problems.append(
                        Problem(
                            entry.file,
                            entry.line,
                            entry.id,
                            f"question {text!r} has no content words",
                        )
                    )
                    continue
                other = seen.get(key)
                if other is not None and other.id != entry.id:
                    problems.append(
                        Problem(
                            entry.file,
                            entry.line,
                            entry.id,
                            f"question {text!r} is the same as one in entry {other.id!r} "
                            f"({other.file}:{other.line})",
                        )
                    )
                own.add(key)
            for key in own:
                seen.setdefault(key, entry)
        return problems

    @property
    def version(self) -> str:
        """Content hash of the knowledge files."""
        return self.kb.version

    @property
    def sources(self) -> list[Source]:
        """The source documents, oldest first."""
        return sorted(self.kb.sources.values(), key=lambda s: s.date)

    def examples(self, n: int = 4) -> list[str]:
        """Example questions for a welcome message: the first entries of the first files."""
        preferred = ["ngay-truyen-thong", "tien-than", "thanh-lap-lai-2007", "so-dang-vien"]
        picked = [self.kb.entries[i].question for i in preferred if i in self.kb.entries]
        for entry in self.kb.entries.values():
            if len(picked) >= n:
                break
            if entry.question not in picked and entry.scope == "central":
                picked.append(entry.question)
        return picked[:n]

    def normalize(self, question: str) -> str:
        """The normalised form of a question, as the matcher sees it."""
        return self.lexicon.analyze(question).normalized

    # --- answering ---------------------------------------------------------------------------

    def answer(self, question: str, *, today: date | None = None) -> Result:
        """Answer a question: a cited entry, a grey-zone suggestion list, or an honest no."""
        today = today or date.today()
        analysis = self.lexicon.analyze(question)
        norm = analysis.normalized
        kind = compose.smalltalk_kind(analysis.words)
        if kind is not None:
            return Result(
                question,
                "answered",
                compose.SMALLTALK[kind],
                kind="smalltalk",
                score=1.0,
                normalized=norm,
            )
        if not analysis.tokens:
            return Result(question, "no_answer", compose.EMPTY, normalized=norm)
        analysis, terms = self.question_terms(analysis)
        ranked = self.matcher.rank(analysis, terms=terms)
        best = ranked[0] if ranked else None
        if best is not None and self._about_another_organisation(analysis, best.entry_id):
            return Result(
                question,
                "no_answer",
                compose.OTHER_ORGANISATION + compose.NO_ANSWER_SUGGEST,
                score=best.score,
                suggestions=tuple(
                    Suggestion(s.entry_id, self.kb.entries[s.entry_id].question, round(s.score, 4))
                    for s in ranked[:3]
                ),
                normalized=norm,
            )
        if (
            best is not None
            and self.confident(ranked, len(terms))
            and not self._counts_else(analysis, best)
        ):
            entry = self.kb.entries[best.entry_id]
            if analysis.now and self._stale(entry):
                multi = self._multi_figure(analysis, ranked, least=1)
                if multi is not None:
                    # "now, how many members and cells?": the current figures, not a dated one
                    return self._entry_result(question, multi[0], multi[1], analysis, today, ranked)
                return Result(
                    question,
                    "ambiguous",
                    compose.STALE_NOW,
                    score=best.score,
                    suggestions=self._suggest(ranked, best.score, force=True),
                    normalized=norm,
                )
            return self._entry_result(question, entry, best.score, analysis, today, ranked)
        multi = self._multi_figure(analysis, ranked)
        if multi is not None:
            entry, score = multi
            return self._entry_result(question, entry, score, analysis, today, ranked)
        if (
            best is not None
            and best.score >= self.thresholds.suggest_at
            and best.precision >= SUGGEST_PRECISION
        ):
            return Result(
                question,
                "ambiguous",
                compose.AMBIGUOUS,
                score=best.score,
                suggestions=self._suggest(ranked, best.score),
                normalized=norm,
            )
        passage = self._passage(question, analysis, terms)
        if passage is not None:
            return passage
        closest = tuple(
            Suggestion(s.entry_id, self.kb.entries[s.entry_id].question, round(s.score, 4))
            for s in ranked[:3]
        )
        text = compose.NO_ANSWER + (compose.NO_ANSWER_SUGGEST if closest else "")
        return Result(
            question,
            "no_answer",
            text,
            score=best.score if best else 0.0,
            suggestions=closest,
            normalized=norm,
        )

    def question_terms(self, analysis: Analysis) -> tuple[Analysis, list[QueryTerm]]:
        """The question's terms, after respelling words its context shows were mistyped."""
        terms = self.matcher.terms(analysis)
        respelled = self.matcher.respelled(analysis, terms)
        if respelled is not analysis:
            analysis, terms = respelled, self.matcher.terms(respelled)
        return analysis, terms

    def _about_another_organisation(self, analysis: Analysis, entry_id: str) -> bool:
        """The question names another organisation ("Đảng bộ Quân đội", "Công đoàn Việt Nam")
        that the best entry does not speak of: the documents cannot answer it."""
        found = other_organisation(analysis.folded)
        if found is None and "khoi" in analysis.folded:
            # "số đảng viên Khối Nam Định": a province's own bloc, unless the entry names it
            province = province_named(analysis.tokens, analysis.folded, analysis.marked)
            found = (True, province) if province is not None else None
        if found is None:
            return False
        mass, name = found
        if not mass:
            return True
        return not any(
            find_phrase(words, name) >= 0 for words in self.matcher.entry_folded_texts[entry_id]
        )

    def _multi_figure(
        self, analysis: Analysis, ranked: list[Scored], least: int = 2
    ) -> tuple[Entry, float] | None:
        """A count question naming two or more figures ("bao nhiêu đảng viên và bao nhiêu chi
        bộ") splits its score between their entries; answer with the best-ranked entry built
        on one of those figures, which then gives the others too. Asked for now, one figure is
        enough (``least=1``: "từ 6 chi bộ mà nay đã lên tới bao nhiêu chi bộ?")."""
        if (
            HOW_MANY not in analysis.intents
            or not ranked
            or ranked[0].score < self.thresholds.suggest_at
        ):
            return None
        named = {
            f.id
            for f in self.kb.facts.values()
            if f.scope == "central" and self._names(analysis, f)
        }
        if len(named) < least:
            return None
        for scored in ranked:
            entry = self.kb.entries[scored.entry_id]
            if entry.fact in named and scored.score >= self.thresholds.suggest_at:
                return entry, scored.score
        if least == 1 and len(named) == 1:  # asked for now: the figure's entry, ranked or not
            built = self.fact_entries.get(named.pop())
            return (built[0], ranked[0].score) if built else None
        return None

    def _counts_else(self, analysis: Analysis, best: Scored) -> bool:
        """A count of members or committees asked ("năm 2026 có bao nhiêu đảng viên") is no
        question for the anniversary computation, whatever year it names, nor for an entry
        that never speaks of what is counted ("QĐ 47 ... có bao nhiêu chi bộ")."""
        if HOW_MANY not in analysis.intents:
            return False
        named = [f for f in self.kb.facts.values() if self._names(analysis, f)]
        if not named:
            return False
        entry = self.kb.entries[best.entry_id]
        if entry.compute is not None:
            return True
        # What the entry counts is what its "how many" phrasings name, or what its answer puts
        # a number to: the lessons entry ("có mấy bài học") speaks of "đảng viên" but never
        # counts them.
        texts = self.count_texts.get(entry.id) or self.matcher.entry_folded_texts[entry.id]
        return not any(
            find_phrase(text, phrase) >= 0
            for f in named
            for phrase in self.fact_terms[f.id]
            for text in texts
        )

    def _names(self, analysis: Analysis, fact: Fact) -> bool:
        """Whether the question names a fact by one of its terms (as consecutive words)."""
        return any(find_phrase(analysis.folded, phrase) >= 0 for phrase in self.fact_terms[fact.id])

    def confident(self, ranked: list[Scored], n_terms: int = 0) -> bool:
        """Whether the best of ``ranked`` is answered (``Thresholds.confident``)."""
        runner_up = ranked[1].score if len(ranked) > 1 else 0.0
        return self.thresholds.confident(ranked[0].score, runner_up, ranked[0].precision, n_terms)

    def answer_entry(self, entry_id: str, *, today: date | None = None) -> Result | None:
        """The answer of one entry (a button press); None when the id is unknown."""
        entry = self.kb.entries.get(entry_id)
        if entry is None:
            return None
        analysis = self.lexicon.analyze(entry.question)
        return self._entry_result(entry.question, entry, 1.0, analysis, today or date.today(), [])

    def _stale(self, entry: Entry) -> bool:
        """A dated one-off fact (not a series) cannot answer 'now', unless curated for it."""
        return (
            entry.as_of is not None
            and entry.fact is None
            and entry.compute is None
            and not any(a.now for a in self.matcher.analyses[entry.id])
        )

    def _entry_result(
        self,
        question: str,
        entry: Entry,
        score: float,
        analysis: Analysis,
        today: date,
        ranked: list[Scored],
    ) -> Result:
        years = [n for n in analysis.numbers if len(n) == 4]
        fact = self.kb.facts.get(entry.fact) if entry.fact else None
        kind = "entry"
        if fact is not None:
            also = tuple(
                f
                for f in self.kb.facts.values()
                if f.id != fact.id and f.scope == fact.scope and self._names(analysis, f)
            )
            asked_years = [y for y in years if is_year(y)]
            gap = [y for y in asked_years if all(v.as_of[:4] != y for v in fact.values)]
            if gap and len(gap) == len(asked_years):
                # "How many in 2019?": the documents hold no figure for that year. Say so and
                # give the figures they do hold, with their dates, rather than pass one off.
                text, cites, _ = compose.fact_answer(self.kb, entry, fact, [], False, also)
                return Result(
                    question,
                    "no_answer",
                    compose.fact_year_missing(fact, gap) + "\n" + text,
                    cites,
                    round(min(score, 1.0), 4),
                    entry.id,
                    kind="fact",
                    normalized=analysis.normalized,
                )
            text, cites, _ = compose.fact_answer(self.kb, entry, fact, years, analysis.now, also)
            kind = "fact"
        elif entry.compute is not None:
            text = compose.anniversary_answer(entry, today, years)
            cites = self.entry_cites[entry.id]
            kind = "computed"
        else:
            text = entry.answer
            cites = self.entry_cites[entry.id]
            if entry.as_of is not None and entry.scope == "central":
                # A dated figure ("members in 2022") also gives the other figures the question
                # names for the same year ("... and how many cells?").
                extra = compose.same_year_values(
                    self.kb,
                    [
                        f
                        for f in self.kb.facts.values()
                        if f.scope == "central" and self._names(analysis, f)
                    ],
                    entry.as_of[:4],
                    text,
                )
                if extra:
                    text = "\n".join([text, *(line for line, _ in extra)])
                    cites = (*cites, *(c for _, c in extra if c not in cites))
        related = self.entry_related[entry.id]
        if not entry.in_sources:
            # A known gap: say what the documents do and do not hold, and offer what is there.
            return Result(
                question,
                "no_answer",
                text,
                cites,
                round(min(score, 1.0), 4),
                entry.id,
                suggestions=related,
                kind="entry",
                normalized=analysis.normalized,
            )
        return Result(
            question,
            "answered",
            text,
            cites,
            round(min(score, 1.0), 4),
            entry.id,
            suggestions=(),
            related=related,
            kind=kind,  # type: ignore[arg-type]
            normalized=analysis.normalized,
        )

    def _suggest(
        self, ranked: list[Scored], top: float, force: bool = False
    ) -> tuple[Suggestion, ...]:
        floor = min(self.thresholds.suggest_at * 0.8, top - 0.2) if not force else 0.0
        picked = [s for s in ranked if s.score >= floor][:MAX_SUGGESTIONS]
        if len(picked) < 2:
            picked = ranked[:2]
        return tuple(
            Suggestion(s.entry_id, self.kb.entries[s.entry_id].question, round(s.score, 4))
            for s in picked
        )

    # --- passage fallback ----------------------------------------------------------------------

    def _index_sentences(self) -> list[Sentence]:
        out: list[Sentence] = []
        for source in self.kb.sources.values():
            if source.provincial:
                continue  # never answer the central bloc's questions from the provincial article
            for para in source.paragraphs:
                if not para.substantive:
                    continue
                for sentence in _SENTENCE_END.split(para.text):
                    sentence = sentence.strip()
                    if len(sentence.split()) < 6:
                        continue
                    analysis = self.lexicon.analyze(sentence)
                    words: dict[str, set[str]] = {}
                    for acc, fo in zip(analysis.tokens, analysis.folded, strict=True):
                        words.setdefault(fo, set()).add(acc)
                    out.append(
                        Sentence(
                            source.id,
                            para.index,
                            sentence,
                            {fo: frozenset(f) for fo, f in words.items()},
                            bool(analysis.numbers),
                            frozenset(zip(analysis.folded, analysis.folded[1:], strict=False)),
                        )
                    )
        return out

    def _passage(self, question: str, analysis: Analysis, terms: list[QueryTerm]) -> Result | None:
        """A source sentence that holds every distinctive word of the question, as typed."""
        if len(terms) < 3 or any(t.corrected_from for t in terms):
            return None
        total = sum(t.weight for t in terms)
        distinctive = [t for t in terms if t.weight >= PASSAGE_DISTINCTIVE]
        content = [t for t in terms if t.weight > FUNCTION_WEIGHT]
        if len(distinctive) < 2:
            return None
        # Every content word must be in the sentence, and words next to each other in the
        # question next to each other there too: the question is nearly a phrase of the source.
        strong = {t.folded for t in content}
        pairs = {
            (a, b)
            for a, b in zip(analysis.folded, analysis.folded[1:], strict=False)
            if a in strong and b in strong
        }
        best: tuple[float, Sentence] | None = None
        for i in self.sentence_postings.get(max(terms, key=lambda t: t.weight).folded, ()):
            sentence = self.sentences[i]

            def holds(t: QueryTerm, sentence: Sentence = sentence) -> bool:
                forms = sentence.words.get(t.folded)
                return forms is not None and (not t.marked or t.accented in forms)

            if not all(holds(t) for t in content) or not pairs <= sentence.pairs:
                continue
            share = sum(t.weight for t in terms if holds(t)) / total
            if best is None or share > best[0]:
                best = (share, sentence)
        if best is None or best[0] < PASSAGE_AT:
            return None
        share, sentence = best
        if (WHEN in analysis.intents or HOW_MANY in analysis.intents) and not sentence.has_number:
            return None
        src = self.kb.sources[sentence.source]
        cite = Citation(src.id, src.title, src.display_date, sentence.text)
        text = f"{compose.PASSAGE_LEAD}\n\u201c{sentence.text}\u201d"
        return Result(
            question,
            "answered",
            text,
            (cite,),
            round(share * 0.75, 4),
            None,
            kind="passage",
            normalized=analysis.normalized,
        )

    # --- curators' checks ----------------------------------------------------------------------

    def explain(self, question: str) -> list[str]:
        """The normalised query and the top candidates with their scores, for curators."""
        analysis = self.lexicon.analyze(question)
        lines = [f"normalised: {analysis.normalized}"]
        respelled = self.matcher.respelled(analysis)
        if respelled is not analysis:
            lines.append(f"respelled: {respelled.normalized}")
            analysis = respelled
        terms = self.matcher.terms(analysis)
        lines.append(
            "terms: "
            + ", ".join(
                f"{t.folded}={t.weight:.2f}"
                + (f" (typo of {t.corrected_from})" if t.corrected_from else "")
                for t in terms
            )
        )
        for s in self.matcher.rank(analysis, limit=6, explain=True):
            lines.append(
                f"{s.score:.3f} {s.entry_id}: recall={s.recall:.2f} precision={s.precision:.2f} "
                f"fuzz={s.fuzz:.2f} intent×{s.intent_factor:.2f} via {s.phrasing!r}"
            )
            if s.missing:
                lines.append(f"       unexplained: {', '.join(s.missing)}")
        lines.append(f"thresholds: {self.thresholds.describe()}")
        return lines

    def self_test(self) -> tuple[int, int, list[dict[str, str | None]]]:
        """Run every stored phrasing through the matcher; each must answer its own entry."""
        passed = total = 0
        failures: list[dict[str, str | None]] = []
        for entry in self.kb.entries.values():
            for text in entry.all_questions:
                total += 1
                result = self.answer(text, today=date(2026, 1, 1))
                expected = "answered" if entry.in_sources else "no_answer"
                if result.status == expected and result.entry_id == entry.id:
                    passed += 1
                else:
                    failures.append(
                        {
                            "entry": entry.id,
                            "question": text,
                            "status": result.status,
                            "got": result.entry_id
                            or (result.suggestions[0].entry_id if result.suggestions else None),
                        }
                    )
        return passed, total, failures

    def coverage(self) -> dict[str, object]:
        """Substantive source paragraphs cited by at least one entry or fact."""
        quotes: dict[str, list[str]] = {}
        for entry in self.kb.entries.values():
            for c in entry.citations:
                quotes.setdefault(c.source, []).append(nfc_ws(c.quote))
        for fact in self.kb.facts.values():
            for v in fact.values:
                quotes.setdefault(v.source, []).append(nfc_ws(v.quote))
        by_source: dict[str, dict[str, object]] = {}
        cited_all = total_all = 0
        for source in self.sources:
            paras = [p for p in source.paragraphs if p.substantive]
            uncited = [
                p.index
                for p in paras
                if not any(q in nfc_ws(p.text) for q in quotes.get(source.id, []))
            ]
            cited = len(paras) - len(uncited)
            by_source[source.id] = {"cited": cited, "total": len(paras), "uncited": uncited}
            cited_all += cited
            total_all += len(paras)
        return {"cited": cited_all, "total": total_all, "by_source": by_source}


def _counted(texts: list[list[str]]) -> list[list[str]]:
    """The few words after each number of an answer: what it counts ("5.700 chi bộ")."""
    return [text[i + 1 : i + 7] for text in texts for i, w in enumerate(text) if w.isdigit()]
