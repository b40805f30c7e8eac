"""The query log store: real SQLite files in tmp_path, no timing asserts."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import querylog
from bot.querylog import QueryEvent, QueryLog, secret_path

USER_ID = 987654321123


def event(
    n: int,
    *,
    status: str = "answered",
    user_id: int | None = USER_ID,
    time: datetime | None = None,
    question: str | None = None,
) -> QueryEvent:
    return QueryEvent(
        query_id=f"q{n}",
        time=time or datetime.now(UTC),
        user_id=user_id,
        chat_type="private",
        question=question or f"Đảng bộ Khối thành lập ngày nào? #{n}",
        normalized=f"dang bo khoi thanh lap ngay nao {n}",
        status=status,
        entry_id="ngay-truyen-thong" if status == "answered" else None,
        score=0.8 if status == "answered" else 0.3,
        suggestions=["tien-than", "ngay-truyen-thong"] if status != "answered" else [],
        latency_ms=3.5,
        kb_version="abc123",
    )


def rows(path: Path, where: str = "1 = 1") -> list[sqlite3.Row]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(f"SELECT * FROM queries WHERE {where} ORDER BY id").fetchall()
    finally:
        conn.close()


@pytest.fixture
def db_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("BOT_LOG_SECRET", raising=False)
    return tmp_path / "data" / "queries.sqlite3"


async def test_open_creates_private_wal_db_with_migrations(db_path: Path) -> None:
    log = await QueryLog.open(db_path, secret="s")
    log.log_query(event(1))
    await log.flush()
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
    for suffix in ("-wal", "-shm"):
        side = db_path.with_name(db_path.name + suffix)
        if side.exists():
            assert stat.S_IMODE(side.stat().st_mode) & 0o077 == 0
    await log.close()
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        migrations = conn.execute("SELECT id, name FROM migrations").fetchall()
        assert [m[0] for m in migrations] == [1]
        columns = [r[1] for r in conn.execute("PRAGMA table_info(queries)")]
    finally:
        conn.close()
    assert tuple(columns) == querylog.sql.COLUMNS


async def test_migrations_idempotent(db_path: Path) -> None:
    assert await querylog.migrate_db(db_path) == ["migration_001: queries table"]
    assert await querylog.migrate_db(db_path) == []
    log = await QueryLog.open(db_path, secret="s")
    await log.close()
    log = await QueryLog.open(db_path, secret="s")
    await log.close()
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("SELECT COUNT(*) FROM migrations").fetchone()[0] == 1
    finally:
        conn.close()


async def test_existing_world_readable_file_is_tightened(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.touch(mode=0o644)
    db_path.chmod(0o644)
    log = await QueryLog.open(db_path, secret="s")
    await log.close()
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600


async def test_row_contents(db_path: Path) -> None:
    when = datetime(2026, 11, 23, 8, 15, 2, 123000, tzinfo=UTC)
    log = await QueryLog.open(db_path, secret="s")
    log.log_query(event(1, status="ambiguous", time=when))
    await log.close()
    (row,) = rows(db_path)
    assert row["id"] == "q1"
    assert row["time"] == "2026-11-23T08:15:02.123+00:00"
    assert row["user_key"] == querylog.hmac_user_key("s", USER_ID)
    assert len(row["user_key"]) == 64
    assert row["status"] == "ambiguous"
    assert row["entry_id"] is None
    assert json.loads(row["suggestions"]) == ["tien-than", "ngay-truyen-thong"]
    assert row["kb_version"] == "abc123"
    assert row["feedback"] is None


async def test_naive_time_is_utc_and_none_user(db_path: Path) -> None:
    log = await QueryLog.open(db_path, secret="s")
    log.log_query(event(1, user_id=None, time=datetime(2026, 1, 2, 3, 4, 5)))
    await log.close()
    (row,) = rows(db_path)
    assert row["time"] == "2026-01-02T03:04:05.000+00:00"
    assert row["user_key"] is None


async def test_no_raw_user_id_in_database_bytes(db_path: Path) -> None:
    log = await QueryLog.open(db_path)
    for n in range(50):
        log.log_query(event(n, user_id=USER_ID + n))
        log.set_feedback(f"q{n}", "down")
    await log.flush()
    # While running, the data lives in the -wal file: search it too.
    files = [db_path, db_path.with_name(db_path.name + "-wal")]
    blob = b"".join(p.read_bytes() for p in files if p.exists())
    assert "thành lập".encode() in blob  # the search does see the data
    for n in range(50):
        assert str(USER_ID + n).encode() not in blob
    await log.close()
    blob = db_path.read_bytes()
    assert len(rows(db_path)) == 50
    for n in range(50):
        assert str(USER_ID + n).encode() not in blob
    assert log.user_key(USER_ID) != str(USER_ID)


async def test_secret_generated_kept_private_and_reused(db_path: Path) -> None:
    log = await QueryLog.open(db_path)
    key = log.user_key(USER_ID)
    await log.close()
    secret_file = secret_path(db_path)
    assert secret_file.name == "queries.sqlite3.secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    secret = secret_file.read_text().strip()
    assert len(secret) == 64
    log = await QueryLog.open(db_path)
    assert log.user_key(USER_ID) == key == querylog.hmac_user_key(secret, USER_ID)
    await log.close()
    assert not list(db_path.parent.glob("*.tmp"))


async def test_secret_from_argument_or_env(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = await QueryLog.open(db_path, secret="given")
    assert log.user_key(1) == querylog.hmac_user_key("given", 1)
    await log.close()
    monkeypatch.setenv("BOT_LOG_SECRET", "from-env")
    log = await QueryLog.open(db_path)
    assert log.user_key(1) == querylog.hmac_user_key("from-env", 1)
    await log.close()
    assert not secret_path(db_path).exists()


async def test_empty_secret_file_is_replaced(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    secret_path(db_path).write_text("")
    value = querylog.load_secret(db_path)
    assert len(value) == 64
    assert querylog.load_secret(db_path) == value


async def test_updates_in_same_batch_as_insert(db_path: Path) -> None:
    log = await QueryLog.open(db_path, secret="s", flush_interval=1.0, batch_size=1000)
    log.log_query(event(1))
    log.set_reply("q1", 4242)
    log.set_feedback("q1", "up")
    log.log_query(event(2, status="ambiguous"))
    log.set_choice("q2", "tien-than")
    log.log_query(event(3, status="ambiguous"))
    log.set_choice("q3", None)
    log.set_feedback("q3", "up")
    log.set_feedback("q3", "down")  # a later press replaces the first
    assert log.pending == 9  # all in one batch: nothing was taken yet
    await log.flush()
    by_id = {r["id"]: r for r in rows(db_path)}
    assert by_id["q1"]["reply_message_id"] == 4242
    assert by_id["q1"]["feedback"] == "up"
    assert by_id["q1"]["feedback_time"] is not None
    assert by_id["q2"]["chosen"] == "tien-than"
    assert by_id["q2"]["chosen_time"] is not None
    assert by_id["q3"]["chosen"] == "-"
    assert by_id["q3"]["feedback"] == "down"
    await log.close()


async def test_small_batches(db_path: Path) -> None:
    log = await QueryLog.open(db_path, secret="s", batch_size=3)
    for n in range(10):
        log.log_query(event(n))
    await log.flush()
    assert len(rows(db_path)) == 10
    await log.close()


async def test_bad_feedback_value_rejected(db_path: Path) -> None:
    log = await QueryLog.open(db_path, secret="s")
    with pytest.raises(ValueError):
        log.set_feedback("q1", "meh")
    await log.close()


async def test_update_for_unknown_query_is_ignored(db_path: Path) -> None:
    log = await QueryLog.open(db_path, secret="s")
    log.set_feedback("nope", "up")
    log.log_query(event(1))
    log.log_query(event(1))  # a repeated id is ignored, not an error
    await log.close()
    assert [r["id"] for r in rows(db_path)] == ["q1"]
    assert log.dropped == 0


async def test_close_with_500_queued_loses_none(db_path: Path) -> None:
    log = await QueryLog.open(db_path, secret="s", batch_size=50)
    for n in range(500):
        log.log_query(event(n))
        log.set_reply(f"q{n}", n + 1)
    await log.close()
    found = rows(db_path)
    assert len(found) == 500
    assert all(r["reply_message_id"] == int(r["id"][1:]) + 1 for r in found)


async def test_burst_while_closing_loses_none(db_path: Path) -> None:
    log = await QueryLog.open(db_path, secret="s", batch_size=20)

    async def burst(start: int, count: int) -> None:
        for n in range(start, start + count):
            log.log_query(event(n))
            log.set_feedback(f"q{n}", "up")
            await asyncio.sleep(0)

    first = asyncio.create_task(burst(0, 200))
    await asyncio.sleep(0)
    closing = asyncio.create_task(log.close())
    second = asyncio.create_task(burst(200, 200))
    await asyncio.gather(first, second, closing)
    # Even calls after close are kept (written synchronously).
    log.log_query(event(400))
    log.set_feedback("q400", "down")
    found = rows(db_path)
    assert len(found) == 401
    assert sum(r["feedback"] == "up" for r in found) == 400
    assert rows(db_path, "id = 'q400'")[0]["feedback"] == "down"
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600


async def test_close_is_idempotent_and_flush_after_close(db_path: Path) -> None:
    log = await QueryLog.open(db_path, secret="s")
    log.log_query(event(1))
    await asyncio.gather(log.close(), log.close())
    await log.close()
    await log.flush()
    assert len(rows(db_path)) == 1


async def test_readable_by_sqlite3_while_running(db_path: Path) -> None:
    log = await QueryLog.open(db_path, secret="s")
    log.log_query(event(1))
    await log.flush()
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        assert conn.execute("SELECT COUNT(*) FROM queries").fetchone()[0] == 1
    finally:
        conn.close()
    log.log_query(event(2))  # the reader did not block the writer
    await log.close()
    assert len(rows(db_path)) == 2


async def test_retention_purge_at_open_and_on_request(db_path: Path) -> None:
    old = datetime.now(UTC) - timedelta(days=400)
    recent = datetime.now(UTC) - timedelta(days=10)
    log = await QueryLog.open(db_path, secret="s", retention_days=0)  # keep everything
    log.log_query(event(1, time=old))
    log.log_query(event(2, time=recent))
    log.log_query(event(3))
    await log.close()
    assert len(rows(db_path)) == 3

    log = await QueryLog.open(db_path, secret="s", retention_days=365)
    assert [r["id"] for r in rows(db_path)] == ["q2", "q3"]
    log.log_query(event(4, time=old))
    await log.flush()
    assert len(rows(db_path)) == 3
    log.retention_days = 5
    log.request_purge()
    await log.flush()
    assert [r["id"] for r in rows(db_path)] == ["q3"]
    await log.close()


async def test_daily_purge_by_writer(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(querylog, "PURGE_EVERY", 0.0)  # "a day" passes at once
    log = await QueryLog.open(db_path, secret="s", retention_days=30)
    log.log_query(event(1, time=datetime.now(UTC) - timedelta(days=31)))
    log.log_query(event(2))
    await log.flush()
    # The writer purges after each batch when the day is over; one more batch runs it.
    log.log_query(event(3))
    await log.flush()
    await log.close()
    assert [r["id"] for r in rows(db_path)] == ["q2", "q3"]


async def test_invalid_options(db_path: Path) -> None:
    with pytest.raises(ValueError):
        await QueryLog.open(db_path, secret="s", flush_interval=5)
    with pytest.raises(ValueError):
        await QueryLog.open(db_path, secret="s", batch_size=0)


SIGTERM_SCRIPT = """
import asyncio, signal, sys
from datetime import UTC, datetime
from bot.querylog import QueryEvent, QueryLog

async def main(path):
    log = await QueryLog.open(path, secret="s", flush_interval=1.0)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    sent = 0
    closed = False

    async def burst():
        nonlocal sent
        while not closed:
            log.log_query(QueryEvent(f"q{sent}", datetime.now(UTC), 1, "private", "câu hỏi",
                                     "cau hoi", "answered", "e", 1.0, [], 1.0, "v"))
            sent += 1
            if sent == 200:
                print("ready", flush=True)
            await asyncio.sleep(0)

    task = asyncio.create_task(burst())
    await stop.wait()
    await log.close()  # the burst goes on while closing
    closed = True
    await task
    print(sent, flush=True)

asyncio.run(main(sys.argv[1]))
"""


def test_sigterm_in_a_burst_loses_nothing(db_path: Path) -> None:
    import signal
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen(
        [sys.executable, "-c", SIGTERM_SCRIPT, str(db_path)],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    sent = int(out.strip())
    assert sent >= 200
    assert len(rows(db_path)) == sent


CRASH_SCRIPT = """
import asyncio, os, sys
from datetime import UTC, datetime
from bot.querylog import QueryEvent, QueryLog

async def main(path):
    log = await QueryLog.open(path, secret="s", flush_interval=1.0)
    for n in range(60):
        log.log_query(QueryEvent(f"q{n}", datetime.now(UTC), 1, "private", "câu hỏi",
                                 "cau hoi", "answered", "e", 1.0, [], 1.0, "v"))
        if n == 49:
            await log.flush()
    os._exit(0)  # a crash: no close(), no checkpoint, the last 10 still queued

asyncio.run(main(sys.argv[1]))
"""


def test_crash_keeps_what_was_committed(db_path: Path) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT, str(db_path)], cwd=root, check=True, timeout=60
    )
    found = {r["id"] for r in rows(db_path)}
    assert {f"q{n}" for n in range(50)} <= found
    assert len(found) <= 60
