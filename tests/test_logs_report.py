"""Read-side reports of the query log, on missing, empty and full SQLite files."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from bot import logs_report as report
from bot.querylog import QueryEvent, QueryLog, migrate_db
from bot.querylog_schema import COLUMNS
from bot.results import Result, Suggestion

# Noon UTC today: events a few minutes before it stay on the same UTC day.
NOW = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
KNOWLEDGE = Path(__file__).resolve().parents[1] / "knowledge"


def ev(
    n: int,
    question: str,
    status: str,
    *,
    entry: str | None = None,
    days_ago: float = 0,
    user: int = 1,
    suggestions: list[str] | None = None,
    score: float = 0.5,
) -> QueryEvent:
    return QueryEvent(
        query_id=f"q{n:03d}",
        time=NOW - timedelta(days=days_ago, minutes=n),
        user_id=user,
        chat_type="private",
        question=question,
        normalized=question.lower().strip("?"),
        status=status,
        entry_id=entry,
        score=score,
        suggestions=suggestions or [],
        latency_ms=float(n),
        kb_version="v1",
    )


async def build_full(path: Path) -> None:
    """A log with every kind of row: answered, ambiguous, no answer, 👍, 👎, choices."""
    log = await QueryLog.open(path, secret="test", retention_days=0)
    n = 0

    def add(*args: object, **kwargs: object) -> str:
        nonlocal n
        n += 1
        log.log_query(ev(n, *args, **kwargs))  # type: ignore[arg-type]
        return f"q{n:03d}"

    for i in range(5):
        qid = add("Ngày truyền thống là ngày nào?", "answered", entry="ngay-truyen-thong", user=i)
        if i == 0:
            log.set_feedback(qid, "up")
    add("Đảng bộ Khối thành lập năm nào", "answered", entry="thanh-lap", days_ago=1)
    bad = add("Ai là bí thư hiện nay?", "answered", entry="bi-thu-2015", days_ago=1)
    log.set_feedback(bad, "down")
    # Near-identical phrasings of one unanswered question (accents, case, order, punctuation).
    for q in [
        "giá vàng hôm nay",
        "giá vàng hôm nay",
        "Giá vàng hôm nay?",
        "gia vang hom nay",
        "hôm nay giá vàng",
    ]:
        add(q, "no_answer", suggestions=["tien-than"], score=0.3, days_ago=2)
    add("thời tiết Hà Nội thế nào", "no_answer", score=0.1, days_ago=2)
    add("thời tiết Hà Nội thế nào", "no_answer", score=0.1, days_ago=9)
    amb = add(
        "đại hội lần thứ mấy", "ambiguous", suggestions=["dai-hoi-xiii", "dai-hoi-xii"], days_ago=3
    )
    log.set_choice(amb, "dai-hoi-xii")
    none = add("quyết định 40 là gì", "ambiguous", suggestions=["qd-40", "qd-41"], days_ago=3)
    log.set_choice(none, None)
    await log.close()


@pytest.fixture
async def full_db(tmp_path: Path) -> Path:
    path = tmp_path / "full.sqlite3"
    await build_full(path)
    return path


class FakeEngine:
    """Answers from a fixed table; unknown questions get no answer and no suggestions."""

    def __init__(self, table: dict[str, Result]) -> None:
        self.table = table
        self.asked: list[str] = []

    def answer(self, question: str) -> Result:
        self.asked.append(question)
        return self.table.get(question, Result(question, "no_answer", ""))


def res(status: str, entry: str | None = None, score: float = 0.0, *sugg: tuple[str, float]):
    return Result(
        "q",
        status,  # type: ignore[arg-type]
        "",
        entry_id=entry,
        score=score,
        suggestions=tuple(Suggestion(e, e, s) for e, s in sugg),
    )


# --- missing and empty databases --------------------------------------------------------------


@pytest.fixture(params=["missing", "zero-bytes", "migrated"])
async def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    path = tmp_path / "empty.sqlite3"
    if request.param == "zero-bytes":
        path.touch()
    elif request.param == "migrated":
        await migrate_db(path)
    return path


async def test_empty_reports(empty_db: Path) -> None:
    existed = empty_db.exists()
    stats = await report.stats(empty_db, 7, now=NOW)
    assert stats["total"] == 0
    assert stats["by_status"] == {"answered": 0, "ambiguous": 0, "no_answer": 0}
    assert stats["feedback"] == {"up": 0, "down": 0}
    assert "Chưa có câu hỏi nào" in report.stats_text(stats)
    assert await report.unanswered(empty_db) == []
    assert "Không có câu hỏi nào" in report.unanswered_text([])
    proposals = await report.suggest(empty_db, FakeEngine({}))
    assert proposals == []
    assert yaml.safe_load(report.suggest_text(proposals)) is None  # only comments
    out = io.StringIO()
    assert await report.export(empty_db, "csv", out=out) == 0
    assert out.getvalue().strip() == ",".join(COLUMNS)
    out = io.StringIO()
    assert await report.export(empty_db, "jsonl", out=out) == 0
    assert out.getvalue() == ""
    days = await report.per_day_counts(empty_db, 3, now=NOW)
    assert [d for d, _ in days][-1] == NOW.date().isoformat()
    assert all(c == {"answered": 0, "ambiguous": 0, "no_answer": 0} for _, c in days)
    assert len(days) == 3
    assert empty_db.exists() == existed  # reading creates nothing


# --- stats -------------------------------------------------------------------------------------


async def test_stats_full(full_db: Path) -> None:
    stats = await report.stats(full_db, now=NOW)
    assert stats["total"] == 16
    assert stats["by_status"] == {"answered": 7, "ambiguous": 2, "no_answer": 7}
    assert stats["rates"]["answered"] == pytest.approx(7 / 16)
    assert stats["feedback"] == {"up": 1, "down": 1}
    assert stats["choices"] == {"entry": 1, "none": 1}
    assert stats["users"] == 5
    top = stats["top_entries"]
    assert top[0] == {"entry": "ngay-truyen-thong", "count": 5, "up": 1, "down": 0}
    assert {"entry": "bi-thu-2015", "count": 1, "up": 0, "down": 1} in top
    assert stats["latency_ms"]["max"] == 16.0
    per_day = dict(stats["per_day"])
    assert sum(sum(c.values()) for c in per_day.values()) == 16
    assert per_day[NOW.date().isoformat()]["answered"] == 5
    text = report.stats_text(stats)
    assert "Tổng số: 16 câu hỏi từ 5 người dùng" in text
    assert "ngay-truyen-thong" in text
    assert "👍 1 · 👎 1" in text


async def test_stats_since(full_db: Path) -> None:
    week = await report.stats(full_db, 7, now=NOW)
    assert week["total"] == 15  # one question is 9 days old
    assert week["window"] == "7 ngày qua"
    today = await report.stats(full_db, 1 / 24 * 2, now=NOW)
    assert today["total"] == 5
    assert report.window_label(0.5) == "12 giờ qua"
    assert report.window_label(30 / 1440) == "30 phút qua"


async def test_per_day_counts(full_db: Path) -> None:
    days = await report.per_day_counts(full_db, 14, now=NOW)
    assert len(days) == 14
    assert days[-1][0] == NOW.date().isoformat()
    counts = dict(days)
    two_days_ago = (NOW - timedelta(days=2)).date().isoformat()
    assert counts[two_days_ago]["no_answer"] == 6
    assert sum(sum(c.values()) for _, c in days) == 16
    everything = await report.per_day_counts(full_db, None, now=NOW)
    assert sum(sum(c.values()) for _, c in everything) == 16


async def test_reads_while_the_log_is_open(tmp_path: Path) -> None:
    path = tmp_path / "live.sqlite3"
    log = await QueryLog.open(path, secret="s")
    log.log_query(ev(1, "giá vàng", "no_answer"))
    await log.flush()
    assert (await report.stats(path))["total"] == 1
    log.log_query(ev(2, "giá vàng?", "no_answer"))
    await log.close()
    assert (await report.stats(path))["total"] == 2


# --- unanswered and clustering -----------------------------------------------------------------


async def test_unanswered_clusters(full_db: Path) -> None:
    clusters = await report.unanswered(full_db, now=NOW)
    questions = [c.question for c in clusters]
    first = clusters[0]
    assert first.count == 5  # the four phrasings of the gold price question
    assert set(first.phrasings) == {
        "giá vàng hôm nay",
        "Giá vàng hôm nay?",
        "gia vang hom nay",
        "hôm nay giá vàng",
    }
    assert clusters[1].question == "thời tiết Hà Nội thế nào"
    assert clusters[1].count == 2
    assert "Ai là bí thư hiện nay?" in questions  # 👎
    assert "quyết định 40 là gì" in questions  # "none of these"
    assert "Ngày truyền thống là ngày nào?" not in questions  # answered, 👍
    assert "đại hội lần thứ mấy" not in questions  # ambiguous, an entry was chosen
    assert len(clusters) == 4
    bad = next(c for c in clusters if c.question == "Ai là bí thư hiện nay?")
    assert bad.down == 1 and dict(bad.answered_with) == {"bi-thu-2015": 1}
    text = report.unanswered_text(clusters)
    assert "×5  giá vàng hôm nay" in text
    assert "“gia vang hom nay” ×1" in text


async def test_unanswered_since_and_limit(full_db: Path) -> None:
    week = await report.unanswered(full_db, since_days=7, now=NOW)
    weather = next(c for c in week if c.question.startswith("thời tiết"))
    assert weather.count == 1
    assert len(await report.unanswered(full_db, limit=2, now=NOW)) == 2
    assert len(await report.unanswered(full_db, limit=None, now=NOW)) == 4


def test_cluster_rows_keeps_different_questions_apart() -> None:
    def row(q: str) -> dict[str, object]:
        return {"question": q, "normalized": "", "status": "no_answer", "time": "2026-01-01"}

    clusters = report.cluster_rows(
        [
            row("Đại hội Đảng bộ Khối lần thứ mấy?"),
            row("dai hoi dang bo khoi lan thu may"),
            row("Đại hội đảng bộ khối lần thứ mấy"),
            row("Đảng bộ Khối có bao nhiêu đảng viên?"),
            row("giá vàng"),
        ]
    )
    assert [c.count for c in clusters] == [3, 1, 1]
    assert report.cluster_key("Đảng ỦY khối, TW!") == "dang uy khoi tw"


# --- suggest -----------------------------------------------------------------------------------


async def test_suggest_with_fake_engine(full_db: Path) -> None:
    engine = FakeEngine(
        {
            # no answer, but the best-ranked entry scores decently
            "giá vàng hôm nay": res("no_answer", None, 0.55, ("gia-ca", 0.55)),
            # no answer and nothing close: new entry needed, closest shown as a hint
            "thời tiết Hà Nội thế nào": res("no_answer", None, 0.2, ("thoi-tiet-xa", 0.2)),
            # the user gave 👎 to bi-thu-2015: never propose it again; take the next one
            "Ai là bí thư hiện nay?": res("answered", "bi-thu-2015", 0.9),
            # "none of these" on qd-40/qd-41: both refused
            "quyết định 40 là gì": res("ambiguous", None, 0.6, ("qd-40", 0.6), ("qd-45", 0.55)),
        }
    )
    proposals = await report.suggest(full_db, engine, now=NOW)
    by_q = {p.cluster.question: p for p in proposals}
    assert by_q["giá vàng hôm nay"].entry_id == "gia-ca"
    assert by_q["giá vàng hôm nay"].reason == "ranked"
    weather = by_q["thời tiết Hà Nội thế nào"]
    assert weather.entry_id is None and weather.reason == "new"
    assert "thoi-tiet-xa" in weather.note
    assert by_q["Ai là bí thư hiện nay?"].entry_id is None
    assert "bi-thu-2015" in by_q["Ai là bí thư hiện nay?"].note
    assert by_q["quyết định 40 là gì"].entry_id == "qd-45"
    assert by_q["quyết định 40 là gì"].reason == "ambiguous"
    # ambiguous with a choice: the users' pick wins, the engine is not even asked
    assert by_q["đại hội lần thứ mấy"].entry_id == "dai-hoi-xii"
    assert by_q["đại hội lần thứ mấy"].reason == "chosen"
    assert "đại hội lần thứ mấy" not in engine.asked
    assert "Ngày truyền thống là ngày nào?" not in by_q

    text = report.suggest_text(proposals)
    assert "# entry: gia-ca\n" in text
    assert "# new entry needed\n" in text
    assert '- "gia vang hom nay"' in text
    pasted = yaml.safe_load(text)
    assert "Giá vàng hôm nay?" in pasted and "thời tiết Hà Nội thế nào" in pasted


async def test_suggest_answered_and_min_score(full_db: Path) -> None:
    engine = FakeEngine(
        {
            "giá vàng hôm nay": res("no_answer", None, 0.55, ("gia-ca", 0.55)),
            "gia vang hom nay": res("answered", "gia-vang", 0.95),
            "hôm nay giá vàng": res("answered", "gia-vang", 0.9),
            "Giá vàng hôm nay?": res("answered", "gia-vang", 0.9),
        }
    )
    proposals = await report.suggest(full_db, engine, now=NOW)
    gold = next(p for p in proposals if p.cluster.count == 5)
    assert gold.entry_id == "gia-vang"  # 3 phrasings vote for it, 2 (one asked twice) for gia-ca
    assert gold.reason == "answered"
    strict = await report.suggest(full_db, FakeEngine(engine.table), min_score=0.99, now=NOW)
    assert next(p for p in strict if p.cluster.count == 5).entry_id == "gia-vang"
    only_ranked = FakeEngine({"giá vàng hôm nay": engine.table["giá vàng hôm nay"]})
    strict = await report.suggest(full_db, only_ranked, min_score=0.99, now=NOW)
    assert next(p for p in strict if p.cluster.count == 5).entry_id is None


async def test_suggest_with_real_engine(full_db: Path) -> None:
    from bot.engine import Engine
    from bot.knowledge import KnowledgeError

    try:
        engine = Engine.load(KNOWLEDGE)
    except KnowledgeError as error:  # the knowledge base is checked by its own tests
        pytest.skip(f"knowledge base does not load: {error}")
    proposals = await report.suggest(full_db, engine, now=NOW)
    assert {p.cluster.question for p in proposals} >= {"giá vàng hôm nay", "đại hội lần thứ mấy"}
    known = set(engine.kb.entries)
    for p in proposals:
        assert p.entry_id is None or p.entry_id in known or p.reason == "chosen"
    assert isinstance(yaml.safe_load(report.suggest_text(proposals)), list)


# --- export ------------------------------------------------------------------------------------


async def test_export_csv(full_db: Path) -> None:
    out = io.StringIO()
    assert await report.export(full_db, "csv", out=out) == 16
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == 16
    assert tuple(rows[0]) == COLUMNS
    assert [r["time"] for r in rows] == sorted(r["time"] for r in rows)
    feedback = {r["question"]: r["feedback"] for r in rows if r["feedback"]}
    assert feedback == {"Ai là bí thư hiện nay?": "down", "Ngày truyền thống là ngày nào?": "up"}
    chosen = [r for r in rows if r["chosen"]]
    assert {r["chosen"] for r in chosen} == {"dai-hoi-xii", "-"}
    assert json.loads(next(r for r in chosen if r["chosen"] == "-")["suggestions"]) == [
        "qd-40",
        "qd-41",
    ]


async def test_export_jsonl(full_db: Path) -> None:
    out = io.StringIO()
    assert await report.export(full_db, "jsonl", since_days=7, out=out, now=NOW) == 15
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(lines) == 15
    required = {"time", "question", "status", "entry", "score", "feedback"}
    expected = (set(COLUMNS) - {"entry_id"}) | {"entry"}
    for obj in lines:
        assert required <= set(obj)
        assert set(obj) == expected
        assert isinstance(obj["suggestions"], list)
    statuses = {o["question"]: o["status"] for o in lines}
    assert statuses["giá vàng hôm nay"] == "no_answer"
    assert statuses["đại hội lần thứ mấy"] == "ambiguous"
    answered = [o for o in lines if o["status"] == "answered"]
    assert {o["entry"] for o in answered} == {"ngay-truyen-thong", "thanh-lap", "bi-thu-2015"}
    assert sum(o["feedback"] == "up" for o in lines) == 1


async def test_export_rejects_unknown_format(full_db: Path) -> None:
    with pytest.raises(ValueError):
        await report.export(full_db, "xml", out=io.StringIO())
