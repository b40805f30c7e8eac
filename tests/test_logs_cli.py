"""``python -m bot logs …`` on missing, empty and full query logs."""

from __future__ import annotations

import argparse
import csv
import io
import json
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import logs_cli
from bot.logs_cli import main, parse_duration
from bot.querylog import QueryEvent, QueryLog
from bot.querylog_schema import COLUMNS

ROOT = Path(__file__).resolve().parents[1]
KNOWLEDGE = ROOT / "knowledge"


def event(n: int, question: str, status: str, days_ago: float = 0, **kw: object) -> QueryEvent:
    return QueryEvent(
        query_id=f"c{n}",
        time=datetime.now(UTC) - timedelta(days=days_ago, seconds=n),
        user_id=4000 + n,
        chat_type="private",
        question=question,
        normalized=question.lower(),
        status=status,
        entry_id=kw.get("entry"),  # type: ignore[arg-type]
        score=0.9 if status == "answered" else 0.3,
        suggestions=list(kw.get("suggestions", [])),  # type: ignore[call-overload]
        latency_ms=4.0,
        kb_version="v1",
    )


@pytest.fixture
async def full_db(tmp_path: Path) -> Path:
    path = tmp_path / "q.sqlite3"
    log = await QueryLog.open(path, secret="cli-test", retention_days=0)
    log.log_query(event(1, "Ngày truyền thống là ngày nào?", "answered", entry="ngay-truyen-thong"))
    log.set_feedback("c1", "up")
    log.log_query(event(2, "giá vàng hôm nay", "no_answer"))
    log.log_query(event(3, "Giá vàng hôm nay?", "no_answer", days_ago=1))
    log.log_query(event(4, "đại hội lần thứ mấy", "ambiguous", suggestions=["a", "b"]))
    log.set_choice("c4", None)
    log.log_query(event(5, "chuyện cũ", "no_answer", days_ago=30))
    await log.close()
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_parse_duration() -> None:
    assert parse_duration("7d") == 7
    assert parse_duration("24h") == pytest.approx(1)
    assert parse_duration("30m") == pytest.approx(30 / 1440)
    assert parse_duration("2w") == 14
    assert parse_duration("3") == 3
    for bad in ("", "7x", "-1d", "0d", "d"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_duration(bad)


def test_help_and_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    assert "unanswered" in capsys.readouterr().out
    with pytest.raises(SystemExit) as done:
        main(["stats", "--since", "soon"])
    assert done.value.code == 2
    with pytest.raises(SystemExit) as done:
        main(["export"])  # --format is required
    assert done.value.code == 2


def test_empty_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "missing.sqlite3"
    code, out, _ = run(capsys, "--db", str(db), "stats")
    assert code == 0 and "Chưa có câu hỏi nào" in out
    code, out, _ = run(capsys, "unanswered", "--db", str(db), "--since", "7d")
    assert code == 0 and "Không có câu hỏi nào" in out
    code, out, _ = run(capsys, "export", "--db", str(db), "--format", "csv")
    assert code == 0 and out.strip() == ",".join(COLUMNS)
    code, out, _ = run(capsys, "export", "--db", str(db), "--format", "jsonl")
    assert code == 0 and out == ""
    code, out, _ = run(capsys, "stats", "--db", str(db), "--json")
    assert json.loads(out)["total"] == 0
    assert not db.exists()


def test_empty_log_suggest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "missing.sqlite3"
    code, out, err = run(capsys, "suggest", "--db", str(db), "--knowledge", str(KNOWLEDGE))
    if code == 1 and "cannot load" in err:
        pytest.skip("knowledge base does not load (checked by its own tests)")
    assert code == 0
    assert "không có câu hỏi nào cần xử lý" in out


def test_db_from_env(full_db: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setenv("BOT_DB", str(full_db))
    code, out, _ = run(capsys, "stats")
    assert code == 0
    assert "Tổng số: 5 câu hỏi" in out


def test_stats_full(full_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "stats", "--db", str(full_db), "--since", "7d")
    assert code == 0
    assert "7 ngày qua" in out
    assert "Tổng số: 4 câu hỏi từ 4 người dùng" in out
    assert "ngay-truyen-thong" in out
    code, out, _ = run(capsys, "--db", str(full_db), "stats", "--json")
    data = json.loads(out)
    assert data["total"] == 5
    assert data["by_status"] == {"answered": 1, "ambiguous": 1, "no_answer": 3}


def test_unanswered_full(full_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "unanswered", "--db", str(full_db), "--since", "7d")
    assert code == 0
    assert "×2  giá vàng hôm nay" in out or "×2  Giá vàng hôm nay?" in out
    assert "đại hội lần thứ mấy" in out  # "none of these"
    assert "chuyện cũ" not in out  # older than 7 days
    code, out, _ = run(capsys, "unanswered", "--db", str(full_db), "--limit", "1", "--json")
    clusters = json.loads(out)
    assert len(clusters) == 1 and clusters[0]["count"] == 2


def test_suggest_full(full_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "suggest", "--db", str(full_db), "--knowledge", str(KNOWLEDGE))
    if code == 1 and "cannot load" in err:
        pytest.skip("knowledge base does not load (checked by its own tests)")
    assert code == 0
    assert "# entry: " in out or "# new entry needed" in out
    assert '- "giá vàng hôm nay"' in out
    code, out, _ = run(
        capsys, "suggest", "--db", str(full_db), "--knowledge", str(KNOWLEDGE), "--json"
    )
    asked = {text for p in json.loads(out) for text, _ in p["phrasings"]}
    assert asked >= {"giá vàng hôm nay", "Giá vàng hôm nay?", "chuyện cũ", "đại hội lần thứ mấy"}


def test_suggest_bad_knowledge(full_db: Path, tmp_path: Path, capsys) -> None:
    code, _, err = run(
        capsys, "suggest", "--db", str(full_db), "--knowledge", str(tmp_path / "nope")
    )
    assert code == 1
    assert "cannot load" in err


def test_export_full(full_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "export", "--db", str(full_db), "--format", "jsonl")
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 5
    for obj in lines:
        assert {"time", "question", "status", "entry", "score", "feedback"} <= set(obj)
    assert {o["question"]: o["feedback"] for o in lines}["Ngày truyền thống là ngày nào?"] == "up"

    target = tmp_path / "out" / "export.csv"
    target.parent.mkdir()
    code, _, err = run(
        capsys,
        "export",
        "--db",
        str(full_db),
        "--format",
        "csv",
        "--since",
        "2d",
        "-o",
        str(target),
    )
    assert code == 0 and "4 rows" in err
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert len(rows) == 4
    assert set(rows[0]) == set(COLUMNS)
    assert not any("4001" in value for row in rows for value in row.values())


def test_migrate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "data" / "new.sqlite3"
    code, out, _ = run(capsys, "migrate", "--db", str(db))
    assert code == 0 and "applied migration_001" in out
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    code, out, _ = run(capsys, "migrate", "--db", str(db))
    assert code == 0 and "up to date" in out


def test_python_m_bot_logs(full_db: Path) -> None:
    """The real entry point: ``python -m bot logs …`` reaches this CLI."""
    done = subprocess.run(
        [sys.executable, "-m", "bot", "logs", "stats", "--db", str(full_db), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["total"] == 5


def test_module_defaults() -> None:
    assert logs_cli.DEFAULT_DB == "data/queries.sqlite3"
    assert logs_cli.DEFAULT_KNOWLEDGE == "knowledge"
