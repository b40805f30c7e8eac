"""Answer results: what the core returns for a question. Pure data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Status = Literal["answered", "ambiguous", "no_answer"]
# How an answer was produced: a curated entry, a fact series, a computed value, a source
# paragraph (excerpt), small talk (greetings/thanks), or nothing.
Kind = Literal["entry", "fact", "computed", "passage", "smalltalk", "none"]


@dataclass(frozen=True)
class Citation:
    """A verbatim quote from a source document."""

    source: str
    title: str
    date: str
    quote: str

    def to_json(self) -> dict[str, str]:
        """The citation as the JSON object the CLI prints."""
        return {"source": self.source, "title": self.title, "date": self.date, "quote": self.quote}


@dataclass(frozen=True)
class Suggestion:
    """A knowledge entry offered as a possible match or follow-up."""

    entry_id: str
    question: str
    score: float = 0.0


@dataclass(frozen=True)
class Result:
    """The core's answer to one question."""

    question: str
    status: Status
    answer: str
    citations: tuple[Citation, ...] = ()
    score: float = 0.0
    entry_id: str | None = None
    suggestions: tuple[Suggestion, ...] = ()
    related: tuple[Suggestion, ...] = ()
    kind: Kind = "none"
    normalized: str = ""

    def to_json(self, latency_ms: float | None = None) -> dict[str, Any]:
        """The result as the ``ask --json`` object."""
        out: dict[str, Any] = {
            "question": self.question,
            "status": self.status,
            "answer": self.answer,
            "citations": [c.to_json() for c in self.citations],
            "score": round(self.score, 4),
            "entry": self.entry_id,
            "suggestions": [s.question for s in self.suggestions],
        }
        if latency_ms is not None:
            out["latency_ms"] = round(latency_ms, 4)
        return out
