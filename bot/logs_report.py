"""Read-side of the query log: statistics, unanswered questions, suggestions, export.

The curators' tools (``python -m bot logs …``, ``bot.logs_cli``) and the admin commands
(/stats, /unanswered) are thin layers over these functions. Every function opens the database
read-only (``mode=ro``), so it can run while the bot writes, and never creates it: on a missing or
empty database it returns an empty report.

* ``stats`` / ``stats_text``: totals, answered / ambiguous / no-answer rates, 👍/👎, suggestions
  picked, latency, top entries, questions per day.
* ``unanswered`` / ``unanswered_text``: questions with no answer, with 👎, or where the user picked
  "none of these", near-identical phrasings clustered (same folded text, or rapidfuzz
  ``token_sort_ratio`` ≥ 85 on the normalised text), most frequent first.
* ``suggest`` / ``suggest_text``: for each cluster of unanswered or ambiguous questions, the entry
  it most likely belongs to (the entry users picked among the suggestions; else what the current
  engine answers; else its top suggestion; else its best-ranked entry when the score is decent), or
  "new entry needed", as a YAML snippet a curator can paste under ``phrasings:``. Nothing edits the
  knowledge files: the curator decides.
* ``export``: every column as CSV or JSON lines (JSON uses ``entry`` for ``entry_id``).
* ``per_day_counts``: questions per UTC day and status, for a chart.
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TextIO

import aiosqlite
from rapidfuzz import fuzz, process

from bot import querylog_schema as sql
from bot.querylog_schema import NONE_OF_THESE, STATUSES

CLUSTER_AT = 85.0  # rapidfuzz token_sort_ratio for "the same question, phrased alike"
# A no-answer's best-ranked entry is proposed from this score (the engine's grey-zone floor:
# below it, off-topic questions score about as well as related ones). Under it the cluster is
# "new entry needed" and the closest entry is shown as a hint.
SUGGEST_MIN_SCORE = 0.50
MAX_PHRASINGS_TRIED = 10  # phrasings of a cluster run through the engine by ``suggest``
STATUS_LABELS = {
    "answered": "Trả lời được",
    "ambiguous": "Mơ hồ (đưa gợi ý)",
    "no_answer": "Không trả lời được",
}
SHORT_LABELS = {"answered": "trả lời", "ambiguous": "mơ hồ", "no_answer": "không"}


# --- opening -----------------------------------------------------------------------------------


@asynccontextmanager
async def open_readonly(db_path: str | Path) -> AsyncIterator[aiosqlite.Connection | None]:
    """A read-only connection to the log, or ``None`` when there is no log (yet) to read."""
    path = Path(db_path)
    if not path.is_file() or path.stat().st_size == 0:
        yield None
        return
    uri = path.resolve().as_uri() + "?mode=ro"
    db = await aiosqlite.connect(uri, uri=True, timeout=10.0)
    try:
        yield db if await sql.has_queries_table(db) else None
    finally:
        await db.close()


def since_time(since_days: float | None, now: datetime | None = None) -> datetime | None:
    """The start of the window ``since_days`` back from ``now`` (None: everything)."""
    if since_days is None:
        return None
    return (now or sql.now_utc()) - timedelta(days=since_days)


def window_label(since_days: float | None) -> str:
    """``7 ngày qua``, ``24 giờ qua``, ``30 phút qua`` or ``toàn bộ``."""
    if since_days is None:
        return "toàn bộ"
    minutes = round(since_days * 24 * 60)
    if minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)} ngày qua"
    if minutes % 60 == 0:
        return f"{minutes // 60} giờ qua"
    return f"{minutes} phút qua"


# --- stats -------------------------------------------------------------------------------------


async def stats(
    db_path: str | Path, since_days: float | None = None, *, now: datetime | None = None
) -> dict[str, Any]:
    """Totals, rates, feedback, choices, latency, top entries and per-day counts."""
    now = now or sql.now_utc()
    since = since_time(since_days, now)
    out: dict[str, Any] = {
        "db": str(db_path),
        "since": None if since is None else sql.iso_utc(since),
        "window": window_label(since_days),
        "total": 0,
        "users": 0,
        "by_status": {s: 0 for s in STATUSES},
        "rates": {s: 0.0 for s in STATUSES},
        "feedback": {"up": 0, "down": 0},
        "choices": {"entry": 0, "none": 0},
        "latency_ms": {"p50": None, "p95": None, "max": None},
        "top_entries": [],
        "per_day": [],
    }
    async with open_readonly(db_path) as db:
        if db is None:
            return out
        by_status = await sql.count_by_status(db, since)
        total = sum(by_status.values())
        out["total"] = total
        out["users"] = await sql.count_users(db, since)
        out["by_status"] = {s: 0 for s in STATUSES} | by_status
        out["rates"] = {s: (n / total if total else 0.0) for s, n in out["by_status"].items()}
        out["feedback"] = await sql.count_feedback(db, since)
        out["choices"] = await sql.count_choices(db, since)
        lat = await sql.latencies(db, since)
        if lat:
            out["latency_ms"] = {
                "p50": _percentile(lat, 0.50),
                "p95": _percentile(lat, 0.95),
                "max": lat[-1],
            }
        out["top_entries"] = await sql.top_entries(db, since)
        rows = await sql.count_per_day(db, since)
    start = since.date() if since is not None else None
    out["per_day"] = _fill_days(rows, start, now.date())
    return out


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    index = min(len(sorted_values) - 1, max(0, round(q * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def _fill_days(
    rows: Sequence[tuple[str, str, int]], start: date | None, end: date
) -> list[tuple[str, dict[str, int]]]:
    """Per-day status counts from ``start`` (or the first day seen) to ``end``, zeros filled."""
    counts: dict[str, dict[str, int]] = {}
    for day, status, n in rows:
        counts.setdefault(day, {s: 0 for s in STATUSES})[status] = n
    if start is None:
        if not counts:
            return []
        start = date.fromisoformat(min(counts))
    end = max([end, *(date.fromisoformat(d) for d in counts)])
    out = []
    current = start
    while current <= end:
        key = current.isoformat()
        out.append((key, counts.get(key, {s: 0 for s in STATUSES})))
        current += timedelta(days=1)
    return out


async def per_day_counts(
    db_path: str | Path, since_days: int | None = 14, *, now: datetime | None = None
) -> list[tuple[str, dict[str, int]]]:
    """Questions per UTC day and status over the last ``since_days`` days (today included).

    Every day of the window is listed, with zeros when nothing was asked; each dict has at least
    the keys ``answered``, ``ambiguous`` and ``no_answer``. ``since_days=None``: from the first
    day in the log.
    """
    now = now or sql.now_utc()
    start: date | None = None
    since: datetime | None = None
    if since_days is not None:
        start = now.date() - timedelta(days=max(1, since_days) - 1)
        since = datetime.combine(start, datetime.min.time(), tzinfo=now.tzinfo)
    async with open_readonly(db_path) as db:
        rows = [] if db is None else await sql.count_per_day(db, since)
    if db is None and start is None:
        return []
    return _fill_days(rows, start, now.date())


def stats_text(report: dict[str, Any], *, max_days: int = 31) -> str:
    """A ``stats`` report as plain text for admins (Vietnamese labels)."""
    lines = [f"Thống kê câu hỏi — {report['window']}"]
    total = report["total"]
    if not total:
        lines.append("Chưa có câu hỏi nào trong nhật ký.")
        return "\n".join(lines)
    lines.append(f"Tổng số: {total} câu hỏi từ {report['users']} người dùng")
    width = max(len(label) for label in STATUS_LABELS.values())
    for status, n in report["by_status"].items():
        label = STATUS_LABELS.get(status, status)
        lines.append(f"  {label:<{width}}  {n:>6}  ({report['rates'][status]:.1%})")
    fb = report["feedback"]
    lines.append(f"Phản hồi: 👍 {fb.get('up', 0)} · 👎 {fb.get('down', 0)}")
    ch = report["choices"]
    lines.append(f"Gợi ý được chọn: {ch['entry']} · “không mục nào”: {ch['none']}")
    lat = report["latency_ms"]
    if lat["p50"] is not None:
        lines.append(
            f"Thời gian trả lời: trung vị {lat['p50']:.1f} ms · p95 {lat['p95']:.1f} ms"
            f" · tối đa {lat['max']:.1f} ms"
        )
    if report["top_entries"]:
        lines.append("Mục được hỏi nhiều nhất:")
        for item in report["top_entries"]:
            lines.append(
                f"  {item['count']:>5}  {item['entry']}  (👍 {item['up']} · 👎 {item['down']})"
            )
    days = report["per_day"]
    if days:
        shown = days[-max_days:]
        header = " / ".join(SHORT_LABELS[s] for s in STATUSES)
        more = f", {len(shown)} ngày gần nhất" if len(shown) < len(days) else ""
        lines.append(f"Theo ngày (UTC; {header}{more}):")
        for day, counts in shown:
            numbers = " / ".join(f"{counts.get(s, 0):>3}" for s in STATUSES)
            extra = sum(n for s, n in counts.items() if s not in STATUSES)
            lines.append(f"  {day}  {numbers}" + (f"  (+{extra} khác)" if extra else ""))
    return "\n".join(lines)


# --- clustering --------------------------------------------------------------------------------

_NON_WORD = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"\s+")


def cluster_key(text: str) -> str:
    """Text folded for clustering: lower case, no diacritics (đ → d), no punctuation."""
    text = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return _SPACES.sub(" ", _NON_WORD.sub(" ", text)).strip()


@dataclass
class Cluster:
    """Near-identical questions, as asked (most frequent phrasing first)."""

    key: str
    phrasings: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    answered_with: Counter[str] = field(default_factory=Counter)  # entry ids given
    chosen: Counter[str] = field(default_factory=Counter)  # entry ids users picked
    refused: Counter[str] = field(default_factory=Counter)  # suggestions met by "none of these"
    down: int = 0
    none_of_these: int = 0
    last_time: str = ""

    @property
    def count(self) -> int:
        """How many times the cluster's questions were asked."""
        return sum(self.phrasings.values())

    @property
    def question(self) -> str:
        """The most frequent phrasing (the earliest asked wins ties)."""
        return self.phrasings.most_common(1)[0][0]

    def add(self, row: dict[str, Any]) -> None:
        """Count one logged question."""
        self.phrasings[str(row["question"]).strip()] += 1
        self.statuses[str(row["status"])] += 1
        if row.get("feedback") == "down":
            self.down += 1
            if row.get("entry_id"):
                self.answered_with[str(row["entry_id"])] += 1
        chosen = row.get("chosen")
        if chosen == NONE_OF_THESE:
            self.none_of_these += 1
            self.refused.update(_json_list(row.get("suggestions")))
        elif chosen:
            self.chosen[str(chosen)] += 1
        self.last_time = max(self.last_time, str(row["time"]))

    def to_json(self) -> dict[str, Any]:
        """The cluster as a JSON-able dict."""
        return {
            "question": self.question,
            "count": self.count,
            "phrasings": self.phrasings.most_common(),
            "statuses": dict(self.statuses),
            "down": self.down,
            "none_of_these": self.none_of_these,
            "answered_with": dict(self.answered_with),
            "chosen": dict(self.chosen),
            "last_time": self.last_time,
        }


def cluster_rows(rows: Sequence[dict[str, Any]], threshold: float = CLUSTER_AT) -> list[Cluster]:
    """Group rows whose normalised questions are near-identical; most frequent first.

    Rows are grouped by folded text first (``normalized``, or the question when empty); groups
    are then merged greedily, biggest first, into the first cluster whose key scores at least
    ``threshold`` with rapidfuzz ``token_sort_ratio``.
    """
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        key = cluster_key(str(row.get("normalized") or "") or str(row["question"]))
        groups.setdefault(key, []).append(row)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    clusters: list[Cluster] = []
    keys: list[str] = []
    for key, members in ordered:
        match = (
            process.extractOne(key, keys, scorer=fuzz.token_sort_ratio, score_cutoff=threshold)
            if key
            else None
        )
        if match is None:
            cluster = Cluster(key)
            clusters.append(cluster)
            keys.append(key)
        else:
            cluster = clusters[match[2]]
        for row in members:
            cluster.add(row)
    clusters.sort(key=lambda c: (-c.count, c.key))
    return clusters


# --- unanswered --------------------------------------------------------------------------------

UNANSWERED_WHERE = f"status = 'no_answer' OR feedback = 'down' OR chosen = '{NONE_OF_THESE}'"
SUGGEST_WHERE = "status IN ('no_answer', 'ambiguous') OR feedback = 'down'"


async def _rows(
    db_path: str | Path, since_days: float | None, where: str, now: datetime | None
) -> list[dict[str, Any]]:
    async with open_readonly(db_path) as db:
        if db is None:
            return []
        return await sql.select_rows(db, since_time(since_days, now), where)


async def unanswered(
    db_path: str | Path,
    since_days: float | None = None,
    limit: int | None = 20,
    *,
    now: datetime | None = None,
) -> list[Cluster]:
    """Clusters of questions with no answer, with 👎, or "none of these"; most frequent first."""
    clusters = cluster_rows(await _rows(db_path, since_days, UNANSWERED_WHERE, now))
    return clusters if limit is None else clusters[: max(0, limit)]


def unanswered_text(clusters: Sequence[Cluster], since_days: float | None = None) -> str:
    """``unanswered`` clusters as plain text for admins."""
    window = window_label(since_days)
    if not clusters:
        return f"Câu hỏi chưa trả lời được — {window}\nKhông có câu hỏi nào chưa trả lời được."
    asked = sum(c.count for c in clusters)
    lines = [
        f"Câu hỏi chưa trả lời được hoặc bị 👎 — {window} ({asked} lượt, {len(clusters)} nhóm)"
    ]
    for n, cluster in enumerate(clusters, 1):
        lines.append(f"{n:>2}. ×{cluster.count}  {cluster.question}")
        lines.append(f"      {_cluster_facts(cluster)}")
        others = [(p, k) for p, k in cluster.phrasings.most_common() if p != cluster.question]
        if others:
            shown = ", ".join(f"“{p}” ×{k}" for p, k in others[:4])
            more = f" … (+{len(others) - 4})" if len(others) > 4 else ""
            lines.append(f"      cũng hỏi: {shown}{more}")
    return "\n".join(lines)


def _cluster_facts(cluster: Cluster) -> str:
    parts = [f"{SHORT_LABELS.get(s, s)} {n}" for s, n in cluster.statuses.most_common()]
    if cluster.down:
        given = ", ".join(cluster.answered_with)
        parts.append(f"👎 {cluster.down}" + (f" (mục {given})" if given else ""))
    if cluster.none_of_these:
        parts.append(f"“không mục nào” {cluster.none_of_these}")
    if cluster.chosen:
        parts.append("đã chọn " + ", ".join(f"{e} ×{k}" for e, k in cluster.chosen.most_common()))
    parts.append(f"lần cuối {cluster.last_time[:16].replace('T', ' ')}")
    return " · ".join(parts)


# --- suggest -----------------------------------------------------------------------------------


class _SuggestionLike(Protocol):
    entry_id: str
    score: float


class _ResultLike(Protocol):
    status: str
    entry_id: str | None
    score: float
    suggestions: Sequence[Any]


class Answerer(Protocol):
    """What ``suggest`` needs from the engine (``bot.engine.Engine``)."""

    def answer(self, question: str) -> Any:
        """Answer a question; returns a ``bot.results.Result``."""
        ...


@dataclass(frozen=True)
class Proposal:
    """Where a cluster of questions most likely belongs: an entry, or a new entry."""

    cluster: Cluster
    entry_id: str | None  # None: new entry needed
    score: float
    reason: str  # chosen | answered | ambiguous | ranked | new
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        """The proposal as a JSON-able dict."""
        return {
            "entry": self.entry_id,
            "score": round(self.score, 4),
            "reason": self.reason,
            "note": self.note,
            **self.cluster.to_json(),
        }


async def suggest(
    db_path: str | Path,
    engine: Answerer,
    since_days: float | None = None,
    *,
    min_score: float = SUGGEST_MIN_SCORE,
    limit: int | None = None,
    now: datetime | None = None,
) -> list[Proposal]:
    """For each cluster of unanswered, ambiguous or 👎 questions, the entry it likely belongs to.

    In order of preference: the entry users picked most among the suggestions; the entry the
    current engine answers with; its top suggestion when ambiguous; its best-ranked entry when
    that scores at least ``min_score``; else "new entry needed" (``entry_id=None``). An entry a
    user gave 👎 for is never proposed for that cluster. Votes are taken over up to
    ``MAX_PHRASINGS_TRIED`` phrasings of the cluster, most frequent first.
    """
    clusters = cluster_rows(await _rows(db_path, since_days, SUGGEST_WHERE, now))
    if limit is not None:
        clusters = clusters[: max(0, limit)]
    return [_propose(cluster, engine, min_score) for cluster in clusters]


def _propose(cluster: Cluster, engine: Answerer, min_score: float) -> Proposal:
    rejected = set(cluster.answered_with) | set(cluster.refused)
    if cluster.chosen:
        entry, _ = cluster.chosen.most_common(1)[0]
        return Proposal(cluster, entry, 1.0, "chosen")
    votes: Counter[str] = Counter()
    best: dict[str, tuple[float, str]] = {}
    closest: tuple[float, str] | None = None
    for phrasing, weight in cluster.phrasings.most_common(MAX_PHRASINGS_TRIED):
        found = _candidate(engine.answer(phrasing), rejected)
        if found is None:
            continue
        entry, score, reason = found
        if reason == "ranked" and score < min_score:
            if closest is None or score > closest[0]:
                closest = (score, entry)
            continue
        votes[entry] += weight
        if score > best.get(entry, (-1.0, ""))[0]:
            best[entry] = (score, reason)
    if not votes:
        notes = []
        if cluster.answered_with:
            given = ", ".join(sorted(cluster.answered_with))
            notes.append(f"👎 cho mục {given}: xem lại câu trả lời hoặc viết mục mới")
        if closest is not None:
            notes.append(f"gần nhất: {closest[1]} ({closest[0]:.2f})")
        return Proposal(cluster, None, 0.0, "new", "; ".join(notes))
    entry = max(votes, key=lambda e: (votes[e], best[e][0]))
    score, reason = best[entry]
    note = "kho hiện tại đã trả lời được câu này" if reason == "answered" else ""
    return Proposal(cluster, entry, score, reason, note)


def _candidate(result: _ResultLike, rejected: set[str]) -> tuple[str, float, str] | None:
    """The entry a result points to, its score and why (answered/ambiguous/ranked)."""
    if result.status == "answered" and result.entry_id and result.entry_id not in rejected:
        return result.entry_id, float(result.score), "answered"
    ranked = [s for s in result.suggestions if getattr(s, "entry_id", None) not in rejected]
    if not ranked:
        return None
    top = ranked[0]
    reason = "ambiguous" if result.status == "ambiguous" else "ranked"
    return str(top.entry_id), float(top.score), reason


REASON_LABELS = {
    "chosen": "người dùng đã chọn mục này",
    "answered": "máy hiện trả lời bằng mục này",
    "ambiguous": "gợi ý đầu tiên",
    "ranked": "mục gần nhất (điểm thấp: kiểm tra kỹ)",
    "new": "không mục nào đủ gần",
}


def yaml_string(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def suggest_text(proposals: Sequence[Proposal], since_days: float | None = None) -> str:
    """Proposals as a YAML snippet: ``# entry: <id>`` (or ``# new entry needed``) + phrasings.

    Paste the phrasings under ``phrasings:`` of the entry in ``knowledge/entries/*.yaml``, or
    write a new entry for them. Nothing is edited automatically.
    """
    head = [
        f"# Đề xuất câu hỏi cho kho tri thức — {window_label(since_days)}",
        "# Dán các dòng “- ...” vào mục `phrasings:` của entry tương ứng trong",
        "# knowledge/entries/*.yaml, hoặc viết entry mới. Người biên tập quyết định;",
        "# công cụ này không sửa tệp nào.",
    ]
    if not proposals:
        return "\n".join([*head, "# (không có câu hỏi nào cần xử lý)"])
    lines = head
    for p in proposals:
        lines.append("")
        lines.append(f"# entry: {p.entry_id}" if p.entry_id else "# new entry needed")
        detail = [f"×{p.cluster.count}", _cluster_facts(p.cluster), REASON_LABELS[p.reason]]
        if p.entry_id and p.reason != "chosen":
            detail.append(f"điểm {p.score:.2f}")
        if p.note:
            detail.append(p.note)
        lines.append("#   " + " · ".join(detail))
        lines.extend(f"- {yaml_string(text)}" for text, _ in p.cluster.phrasings.most_common())
    return "\n".join(lines)


# --- export ------------------------------------------------------------------------------------

JSON_KEYS = {"entry_id": "entry"}


async def export(
    db_path: str | Path,
    fmt: str,
    since_days: float | None = None,
    out: TextIO | None = None,
    *,
    now: datetime | None = None,
) -> int:
    """Write every column of every row (oldest first) as ``csv`` or ``jsonl``; return the count.

    CSV keeps the column names (``suggestions`` as a JSON list). JSON lines use ``entry`` for
    ``entry_id`` and a real list for ``suggestions``; every other key is the column name.
    """
    if fmt not in ("csv", "jsonl"):
        raise ValueError(f"unknown export format {fmt!r} (csv or jsonl)")
    if out is None:
        import sys

        out = sys.stdout
    rows = await _rows(db_path, since_days, "1 = 1", now)
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(sql.COLUMNS)
        for row in rows:
            writer.writerow(["" if row[c] is None else row[c] for c in sql.COLUMNS])
    else:
        for row in rows:
            obj = {JSON_KEYS.get(c, c): row[c] for c in sql.COLUMNS}
            obj["suggestions"] = _json_list(row["suggestions"])
            out.write(json.dumps(obj, ensure_ascii=False) + "\n")
    out.flush()
    return len(rows)


def _json_list(text: Any) -> list[Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else []
    except json.JSONDecodeError:
        return []
    return value if isinstance(value, list) else []
