"""Schema and SQL of the query log, kept in plain functions (datasette style).

The database is plain SQLite: one table ``queries`` (one row per question) and a ``migrations``
table recording which numbered migrations have been applied. Migrations are the functions
``migration_001``, ``migration_002``, … listed in ``MIGRATIONS``; each runs inside its own
transaction together with the row that records it, so a migration is applied exactly once even
when the bot and ``python -m bot logs migrate`` start at the same time.

Columns of ``queries``:

=================  ==========================================================================
id                 the query id (text primary key)
time               when the question arrived, UTC ISO 8601 (``2026-11-23T08:15:02.123+00:00``)
user_key           HMAC-SHA256 (hex) of the Telegram user id with the log secret; never the id
chat_type          ``private``, ``group``, ``supergroup``, …
question           the question as typed
normalized         its normalised form (as the matcher saw it)
status             ``answered``, ``ambiguous`` or ``no_answer``
entry_id           the entry answered with (NULL when none)
score              the match score of the best entry
suggestions        JSON list of the entry ids offered as suggestions
latency_ms         time to answer, in milliseconds
kb_version         content hash of the knowledge base that answered
reply_message_id   Telegram message id of the bot's reply
feedback           ``up`` (👍), ``down`` (👎) or NULL
feedback_time      when the feedback was pressed (UTC ISO 8601)
chosen             the suggestion the user picked: an entry id, or ``-`` for "none of these"
chosen_time        when it was picked (UTC ISO 8601)
=================  ==========================================================================
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import aiosqlite

COLUMNS: tuple[str, ...] = (
    "id",
    "time",
    "user_key",
    "chat_type",
    "question",
    "normalized",
    "status",
    "entry_id",
    "score",
    "suggestions",
    "latency_ms",
    "kb_version",
    "reply_message_id",
    "feedback",
    "feedback_time",
    "chosen",
    "chosen_time",
)
STATUSES: tuple[str, ...] = ("answered", "ambiguous", "no_answer")
FEEDBACK_VALUES: tuple[str, ...] = ("up", "down")
NONE_OF_THESE = "-"

Statement = tuple[str, tuple[Any, ...]]
Migration = Callable[[aiosqlite.Connection], Awaitable[None]]


# --- time --------------------------------------------------------------------------------------


def iso_utc(moment: datetime) -> str:
    """A datetime as UTC ISO 8601 with milliseconds; naive datetimes are taken as UTC.

    Every time column uses this one format, so times compare correctly as text.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def now_utc() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


# --- migrations --------------------------------------------------------------------------------


async def migration_001(db: aiosqlite.Connection) -> None:
    """Create the ``queries`` table and its indexes."""
    await db.execute(
        """
        CREATE TABLE queries (
            id TEXT PRIMARY KEY,
            time TEXT NOT NULL,
            user_key TEXT,
            chat_type TEXT NOT NULL DEFAULT '',
            question TEXT NOT NULL,
            normalized TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL,
            entry_id TEXT,
            score REAL NOT NULL DEFAULT 0,
            suggestions TEXT NOT NULL DEFAULT '[]',
            latency_ms REAL,
            kb_version TEXT,
            reply_message_id INTEGER,
            feedback TEXT CHECK (feedback IN ('up', 'down')),
            feedback_time TEXT,
            chosen TEXT,
            chosen_time TEXT
        )
        """
    )
    await db.execute("CREATE INDEX queries_time ON queries (time)")
    await db.execute("CREATE INDEX queries_status_time ON queries (status, time)")
    await db.execute("CREATE INDEX queries_entry ON queries (entry_id)")


MIGRATIONS: tuple[tuple[int, str, Migration], ...] = (
    (1, "migration_001: queries table", migration_001),
)


async def ensure_migrations_table(db: aiosqlite.Connection) -> None:
    """Create the ``migrations`` bookkeeping table if it is missing."""
    await db.execute(
        "CREATE TABLE IF NOT EXISTS migrations ("
        " id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )


async def applied_migrations(db: aiosqlite.Connection) -> set[int]:
    """Ids of the migrations already recorded."""
    rows = await db.execute_fetchall("SELECT id FROM migrations")
    return {int(row[0]) for row in rows}


async def migrate(db: aiosqlite.Connection) -> list[str]:
    """Apply every pending migration, each in its own transaction; return the names applied.

    The connection must be in autocommit mode (``isolation_level=None``). Idempotent.
    """
    await ensure_migrations_table(db)
    done: list[str] = []
    for number, name, function in MIGRATIONS:
        if number in await applied_migrations(db):
            continue
        await db.execute("BEGIN IMMEDIATE")
        try:
            # Re-check under the write lock: another process may have just applied it.
            if number not in await applied_migrations(db):
                await function(db)
                await db.execute(
                    "INSERT INTO migrations (id, name, applied_at) VALUES (?, ?, ?)",
                    (number, name, iso_utc(now_utc())),
                )
                done.append(name)
            await db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                await db.execute("ROLLBACK")
            raise
    return done


async def has_queries_table(db: aiosqlite.Connection) -> bool:
    """Whether the ``queries`` table exists (False on an empty or foreign database)."""
    rows = await db.execute_fetchall(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'queries'"
    )
    return bool(list(rows))


# --- writes (statements the writer task runs in order) ----------------------------------------

_INSERT_QUERY = (
    "INSERT OR IGNORE INTO queries (id, time, user_key, chat_type, question, normalized, status,"
    " entry_id, score, suggestions, latency_ms, kb_version)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def insert_query(
    *,
    query_id: str,
    time: datetime,
    user_key: str | None,
    chat_type: str,
    question: str,
    normalized: str,
    status: str,
    entry_id: str | None,
    score: float,
    suggestions: Sequence[str],
    latency_ms: float,
    kb_version: str,
) -> Statement:
    """The statement that records one question (a repeated query id is ignored)."""
    return (
        _INSERT_QUERY,
        (
            query_id,
            iso_utc(time),
            user_key,
            chat_type,
            question,
            normalized,
            status,
            entry_id,
            float(score),
            json.dumps(list(suggestions), ensure_ascii=False),
            float(latency_ms),
            kb_version,
        ),
    )


def update_reply(query_id: str, message_id: int) -> Statement:
    """The statement that records the Telegram message id of the bot's reply."""
    return ("UPDATE queries SET reply_message_id = ? WHERE id = ?", (int(message_id), query_id))


def update_feedback(query_id: str, value: str, at: datetime) -> Statement:
    """The statement that records 👍 (``up``) or 👎 (``down``); a later press replaces it."""
    return (
        "UPDATE queries SET feedback = ?, feedback_time = ? WHERE id = ?",
        (value, iso_utc(at), query_id),
    )


def update_choice(query_id: str, chosen: str, at: datetime) -> Statement:
    """The statement that records the suggestion picked (an entry id, or ``-``)."""
    return (
        "UPDATE queries SET chosen = ?, chosen_time = ? WHERE id = ?",
        (chosen, iso_utc(at), query_id),
    )


def purge_before(cutoff: datetime) -> Statement:
    """The statement that deletes rows older than ``cutoff`` (retention)."""
    return ("DELETE FROM queries WHERE time < ?", (iso_utc(cutoff),))


def run_sync(conn: sqlite3.Connection, statements: Sequence[Statement]) -> None:
    """Run statements in one transaction on a plain sqlite3 connection in autocommit mode."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for sql, params in statements:
            conn.execute(sql, params)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


# --- reads -------------------------------------------------------------------------------------


def since_clause(since: datetime | None) -> tuple[str, tuple[Any, ...]]:
    """``WHERE`` fragment and parameters restricting rows to ``time >= since``."""
    if since is None:
        return "1 = 1", ()
    return "time >= ?", (iso_utc(since),)


async def select_rows(
    db: aiosqlite.Connection, since: datetime | None, where: str = "1 = 1"
) -> list[dict[str, Any]]:
    """All columns of the rows since ``since`` matching ``where``, oldest first, as dicts."""
    clause, params = since_clause(since)
    cursor = await db.execute(
        f"SELECT {', '.join(COLUMNS)} FROM queries WHERE {clause} AND ({where}) ORDER BY time, id",
        params,
    )
    rows = await cursor.fetchall()
    await cursor.close()
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows]


async def count_by_status(db: aiosqlite.Connection, since: datetime | None) -> dict[str, int]:
    """Number of questions per status."""
    clause, params = since_clause(since)
    rows = await db.execute_fetchall(
        f"SELECT status, COUNT(*) FROM queries WHERE {clause} GROUP BY status", params
    )
    return {str(status): int(n) for status, n in rows}


async def count_feedback(db: aiosqlite.Connection, since: datetime | None) -> dict[str, int]:
    """Number of 👍 and 👎 on questions asked since ``since``."""
    clause, params = since_clause(since)
    rows = await db.execute_fetchall(
        f"SELECT feedback, COUNT(*) FROM queries WHERE {clause} AND feedback IS NOT NULL"
        " GROUP BY feedback",
        params,
    )
    counts = {value: 0 for value in FEEDBACK_VALUES}
    counts.update({str(value): int(n) for value, n in rows})
    return counts


async def count_choices(db: aiosqlite.Connection, since: datetime | None) -> dict[str, int]:
    """Suggestions picked: ``entry`` (an entry chosen) and ``none`` ("none of these")."""
    clause, params = since_clause(since)
    rows = await db.execute_fetchall(
        f"SELECT chosen = ?, COUNT(*) FROM queries WHERE {clause} AND chosen IS NOT NULL"
        " GROUP BY chosen = ?",
        (NONE_OF_THESE, *params, NONE_OF_THESE),
    )
    counts = {"entry": 0, "none": 0}
    for is_none, n in rows:
        counts["none" if is_none else "entry"] += int(n)
    return counts


async def count_users(db: aiosqlite.Connection, since: datetime | None) -> int:
    """Number of distinct pseudonymous users."""
    clause, params = since_clause(since)
    rows = list(
        await db.execute_fetchall(
            f"SELECT COUNT(DISTINCT user_key) FROM queries WHERE {clause}", params
        )
    )
    return int(rows[0][0]) if rows else 0


async def top_entries(
    db: aiosqlite.Connection, since: datetime | None, limit: int = 10
) -> list[dict[str, Any]]:
    """The entries answered most often, with their 👍/👎 counts."""
    clause, params = since_clause(since)
    rows = await db.execute_fetchall(
        "SELECT entry_id, COUNT(*) AS n,"
        " SUM(feedback = 'up'), SUM(feedback = 'down')"
        f" FROM queries WHERE {clause} AND entry_id IS NOT NULL AND status = 'answered'"
        " GROUP BY entry_id ORDER BY n DESC, entry_id LIMIT ?",
        (*params, limit),
    )
    return [
        {"entry": str(e), "count": int(n), "up": int(up or 0), "down": int(down or 0)}
        for e, n, up, down in rows
    ]


async def latencies(db: aiosqlite.Connection, since: datetime | None) -> list[float]:
    """All answer latencies (ms), sorted."""
    clause, params = since_clause(since)
    rows = await db.execute_fetchall(
        f"SELECT latency_ms FROM queries WHERE {clause} AND latency_ms IS NOT NULL"
        " ORDER BY latency_ms",
        params,
    )
    return [float(row[0]) for row in rows]


async def count_per_day(
    db: aiosqlite.Connection, since: datetime | None
) -> list[tuple[str, str, int]]:
    """``(day, status, count)`` rows, day being the UTC date ``YYYY-MM-DD``."""
    clause, params = since_clause(since)
    rows = await db.execute_fetchall(
        f"SELECT substr(time, 1, 10) AS day, status, COUNT(*) FROM queries WHERE {clause}"
        " GROUP BY day, status ORDER BY day",
        params,
    )
    return [(str(day), str(status), int(n)) for day, status, n in rows]
