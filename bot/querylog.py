"""The query log: every question and what the bot did with it, in SQLite (``BOT_DB``).

Usage (the Telegram adapter)::

    log = await QueryLog.open(settings.db_path, secret=settings.log_secret,
                              retention_days=settings.log_retention_days)
    log.log_query(QueryEvent(...))          # never blocks: the event goes on a queue
    log.set_reply(query_id, message.message_id)
    log.set_feedback(query_id, "up")        # or "down"
    log.set_choice(query_id, "ngay-truyen-thong")   # or None for "none of these"
    await log.close()                       # on shutdown: drains and commits everything

Writes never slow answering. ``log_query`` and the ``set_*`` methods only turn their arguments
into an SQL statement and put it on an ``asyncio.Queue``. One writer task takes statements from
the queue *in order* and commits them in small batches: a batch is committed at the latest
``flush_interval`` seconds (default 0.25 s, at most 1 s) after its first statement, or as soon as
it holds ``batch_size`` statements. Because order is kept, a reply id, 👍/👎 or choice recorded
for a query applies even when it lands in the same batch as the query itself. An update for a
query id that is not in the table (e.g. purged by retention) is ignored.

Durability:

* a clean shutdown (``await close()``, e.g. on SIGTERM) loses nothing: the writer drains the
  queue and commits; statements submitted while it is closing (a burst still being answered) are
  committed by ``close`` too, in order, before it returns (in one synchronous transaction, so a
  burst that goes on cannot keep ``close`` from finishing). Calls made after
  ``close`` has returned are written synchronously, one short transaction each (a shutdown
  ordering slip; logged once), so they are not lost either;
* after a crash (the process killed, ``kill -9``, an exception that bypasses ``close``) at most the
  statements of the last ``flush_interval`` (≤ 1 s) are lost: those still on the queue or in the
  batch being gathered. Committed batches survive: the database uses WAL with
  ``synchronous=NORMAL``, which is durable across process crashes (a power loss can additionally
  roll back the last commits).

Privacy: the raw Telegram user id is never stored, nor queued. ``user_key`` is the HMAC-SHA256
(hex) of the id with a secret: ``secret=`` if given, else ``BOT_LOG_SECRET``, else a random secret
generated once and kept in ``<db>.secret`` (mode 0600) beside the database. Changing the secret
changes every user key from then on. Names and usernames are never logged. The database file is
created with mode 0600 (and its ``-wal``/``-shm`` files are kept at 0600).

Retention: rows whose ``time`` is older than ``retention_days`` (``BOT_LOG_RETENTION_DAYS``,
default 365; 0 or less keeps everything) are deleted when the log is opened and then once a day
by the writer task.

The database stays plain SQLite (schema in ``bot.querylog_schema``): while the bot runs it can be
read with ``sqlite3 data/queries.sqlite3`` or ``datasette data/queries.sqlite3`` (not ``-i``:
immutable mode ignores the WAL), and with ``python -m bot logs …`` (``bot.logs_cli``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import aiosqlite

from bot import querylog_schema as sql
from bot.querylog_schema import Statement

log = logging.getLogger(__name__)

SECRET_ENV = "BOT_LOG_SECRET"
PURGE_EVERY = 24 * 3600.0  # seconds between retention purges
MAX_FLUSH_INTERVAL = 1.0  # the documented crash window
BUSY_TIMEOUT = 10.0  # seconds to wait for a lock held by a reader or another process
_PRIVATE = 0o600


@dataclass(frozen=True)
class QueryEvent:
    """One question and what the bot did with it, as the adapter reports it."""

    query_id: str
    time: datetime
    user_id: int | None
    chat_type: str
    question: str
    normalized: str
    status: str
    entry_id: str | None
    score: float
    suggestions: list[str]
    latency_ms: float
    kb_version: str


class _Flush:
    """A queue marker: commit what came before, then resolve ``future``."""

    __slots__ = ("future",)

    def __init__(self, future: asyncio.Future[None]) -> None:
        self.future = future


class _Stop:
    """A queue marker: drain the queue, then stop the writer."""


_Item = Statement | _Flush | _Stop


# --- files -------------------------------------------------------------------------------------


def secret_path(db_path: str | Path) -> Path:
    """Where the generated secret is kept: ``<db>.secret``."""
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + ".secret")


def _tighten(path: Path) -> None:
    """Make an existing file private (0600); best effort."""
    with contextlib.suppress(FileNotFoundError):
        try:
            os.chmod(path, _PRIVATE)
        except PermissionError:
            log.warning("query log: cannot chmod 0600 %s", path)


def create_private(path: str | Path) -> Path:
    """Create the database file with mode 0600 (before SQLite does) and its parent directory."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, _PRIVATE)
    os.close(fd)
    _tighten(path)
    return path


def tighten_sidecars(path: str | Path) -> None:
    """chmod 0600 the ``-wal``, ``-shm`` and ``-journal`` files of a database, if present."""
    path = Path(path)
    for suffix in ("-wal", "-shm", "-journal"):
        _tighten(path.with_name(path.name + suffix))


def load_secret(db_path: str | Path, secret: str | None = None) -> str:
    """The HMAC secret: ``secret``, else ``BOT_LOG_SECRET``, else the one kept beside the DB.

    The kept secret is generated with ``secrets.token_hex(32)`` the first time and written to
    ``<db>.secret`` with mode 0600; later runs reuse it. Creation is atomic (write a private temp
    file, then hard-link it into place), so two processes starting together agree on one secret.
    """
    if secret:
        return secret
    from_env = os.environ.get(SECRET_ENV, "").strip()
    if from_env:
        return from_env
    path = secret_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = _read_secret(path)
    if existing:
        return existing
    value = secrets.token_hex(32)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _PRIVATE)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(value + "\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            existing = _read_secret(path)
            if existing:  # another process won the race
                return existing
            os.replace(tmp, path)  # an empty leftover from an interrupted run
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return value


def _read_secret(path: Path) -> str:
    try:
        value = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return ""
    _tighten(path)
    return value


def hmac_user_key(secret: str, user_id: int) -> str:
    """HMAC-SHA256 (hex) of a Telegram user id."""
    return hmac.new(secret.encode(), str(int(user_id)).encode(), hashlib.sha256).hexdigest()


# --- connections -------------------------------------------------------------------------------


async def connect(path: str | Path) -> aiosqlite.Connection:
    """Open (creating with mode 0600) the log database: autocommit mode, WAL, busy timeout."""
    path = create_private(path)
    db = await aiosqlite.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT)
    try:
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA synchronous = NORMAL")
        await db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
    except BaseException:
        await db.close()
        raise
    return db


async def migrate_db(path: str | Path) -> list[str]:
    """Create the database if needed and apply pending migrations; return the names applied."""
    db = await connect(path)
    try:
        return await sql.migrate(db)
    finally:
        await db.close()
        tighten_sidecars(path)


async def _execute_batch(db: aiosqlite.Connection, batch: list[Statement]) -> None:
    """Run statements in order in one transaction; consecutive equal SQL uses executemany."""
    await db.execute("BEGIN IMMEDIATE")
    try:
        i = 0
        while i < len(batch):
            text = batch[i][0]
            j = i + 1
            while j < len(batch) and batch[j][0] == text:
                j += 1
            if j - i == 1:
                await db.execute(text, batch[i][1])
            else:
                await db.executemany(text, [params for _, params in batch[i:j]])
            i = j
        await db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                await db.execute("ROLLBACK")
        raise


# --- the log -----------------------------------------------------------------------------------


class QueryLog:
    """The query log of a running bot: a queue, one writer task and one SQLite connection."""

    def __init__(
        self,
        path: Path,
        db: aiosqlite.Connection,
        secret: str,
        *,
        retention_days: int,
        flush_interval: float,
        batch_size: int,
    ) -> None:
        self.path = path
        self.retention_days = retention_days
        self.flush_interval = flush_interval
        self.batch_size = batch_size
        self.dropped = 0  # statements that could not be written (errors are logged)
        self._db = db
        self._secret = secret
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        # Where new statements go: "queue" (the writer's), "overflow" (closing: the writer has
        # taken the stop marker; close() commits these), "sync" (closed: written at once).
        self._mode = "queue"
        self._overflow: list[Statement] = []
        self._closing: asyncio.Task[None] | None = None
        self._late_warned = False
        self._task = asyncio.create_task(self._run(), name="querylog-writer")

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        secret: str | None = None,
        retention_days: int = 365,
        flush_interval: float = 0.25,
        batch_size: int = 100,
    ) -> QueryLog:
        """Open (create, migrate, purge) the log at ``path`` and start its writer task."""
        if not 0 <= flush_interval <= MAX_FLUSH_INTERVAL:
            raise ValueError(f"flush_interval must be within 0..{MAX_FLUSH_INTERVAL} s")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        path = Path(path)
        key = load_secret(path, secret)
        db = await connect(path)
        try:
            await sql.migrate(db)
            if retention_days > 0:
                await _execute_batch(db, [sql.purge_before(_cutoff(retention_days))])
        except BaseException:
            await db.close()
            raise
        tighten_sidecars(path)
        return cls(
            path,
            db,
            key,
            retention_days=retention_days,
            flush_interval=flush_interval,
            batch_size=batch_size,
        )

    # --- the adapter's calls (never block) ---------------------------------------------------

    def user_key(self, user_id: int) -> str:
        """The pseudonymous key stored for a Telegram user id."""
        return hmac_user_key(self._secret, user_id)

    def log_query(self, event: QueryEvent) -> None:
        """Queue a question and its outcome."""
        self._submit(
            sql.insert_query(
                query_id=event.query_id,
                time=event.time,
                user_key=None if event.user_id is None else self.user_key(event.user_id),
                chat_type=event.chat_type,
                question=event.question,
                normalized=event.normalized,
                status=event.status,
                entry_id=event.entry_id,
                score=event.score,
                suggestions=event.suggestions,
                latency_ms=event.latency_ms,
                kb_version=event.kb_version,
            )
        )

    def set_reply(self, query_id: str, message_id: int) -> None:
        """Queue the Telegram message id of the bot's reply to a query."""
        self._submit(sql.update_reply(query_id, message_id))

    def set_feedback(self, query_id: str, value: str) -> None:
        """Queue 👍 (``"up"``) or 👎 (``"down"``) for a query; a later press replaces it."""
        if value not in sql.FEEDBACK_VALUES:
            raise ValueError(f"feedback must be 'up' or 'down', not {value!r}")
        self._submit(sql.update_feedback(query_id, value, sql.now_utc()))

    def set_choice(self, query_id: str, entry_id: str | None) -> None:
        """Queue the suggestion picked for a query; ``None`` means "none of these" (``-``)."""
        chosen = sql.NONE_OF_THESE if entry_id is None else entry_id
        self._submit(sql.update_choice(query_id, chosen, sql.now_utc()))

    def request_purge(self) -> None:
        """Queue a retention purge now (the writer also does one daily)."""
        if self.retention_days > 0:
            self._submit(sql.purge_before(_cutoff(self.retention_days)))

    @property
    def pending(self) -> int:
        """Items waiting to be written (not counting the batch being written)."""
        return self._queue.qsize() + len(self._overflow)

    # --- lifecycle ---------------------------------------------------------------------------

    async def flush(self) -> None:
        """Wait until everything queued so far is committed."""
        if self._closing is not None:
            await asyncio.shield(self._closing)  # close() commits everything
            return
        if self._mode != "queue" or self._task.done():
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Flush(future))
        await asyncio.wait({future, self._task}, return_when=asyncio.FIRST_COMPLETED)

    async def close(self) -> None:
        """Drain the queue, commit, stop the writer and close the connection. Idempotent.

        Statements submitted while closing are committed too; statements submitted after
        ``close`` has returned are written synchronously (see the module docstring).
        """
        if self._closing is None:
            self._closing = asyncio.create_task(self._close(), name="querylog-close")
        await asyncio.shield(self._closing)

    async def _close(self) -> None:
        # From now on new statements wait in the overflow list, behind what is queued: the
        # writer drains a queue that no longer grows, so closing ends even if a burst goes on.
        self._mode = "overflow"
        if not self._task.done():
            self._queue.put_nowait(_Stop())
        await asyncio.wait({self._task})  # the writer drains the queue up to the stop marker
        if not self._task.cancelled() and self._task.exception() is not None:
            log.error("query log: writer task failed", exc_info=self._task.exception())
        # What came in while the writer drained (or what it left if it died), in order, is
        # written synchronously: one transaction, and no await before the mode switch, so
        # nothing can slip between the two. A burst that goes on cannot keep close() waiting.
        rest = self._drain_nowait() + self._overflow
        self._overflow = []
        self._mode = "sync"
        if rest:
            self._write_sync(rest)  # the aiosqlite connection is idle: no lock is held
        await self._db.close()
        tighten_sidecars(self.path)

    # --- internals ---------------------------------------------------------------------------

    def _submit(self, statement: Statement) -> None:
        if self._mode == "queue" and not self._task.done():
            self._queue.put_nowait(statement)
        elif self._mode == "sync":
            self._write_late(statement)
        else:  # closing (or the writer died): close() commits these
            self._overflow.append(statement)

    def _drain_nowait(self) -> list[Statement]:
        out: list[Statement] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                return out
            if isinstance(item, _Flush):
                if not item.future.done():
                    item.future.set_result(None)
            elif not isinstance(item, _Stop):
                out.append(item)

    def _write_late(self, statement: Statement) -> None:
        """Write a statement that came after close() returned (a shutdown ordering slip)."""
        if not self._late_warned:
            self._late_warned = True
            log.warning("query log: written after close; writing synchronously")
        self._write_sync([statement])

    def _write_sync(self, statements: list[Statement]) -> None:
        """Write statements synchronously in one transaction, on a connection of their own."""
        try:
            create_private(self.path)
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
            try:
                sql.run_sync(conn, statements)
            finally:
                conn.close()
            tighten_sidecars(self.path)
        except (sqlite3.Error, OSError):
            self.dropped += len(statements)
            log.exception("query log: late writes were lost")

    async def _run(self) -> None:
        """The writer task: gather a batch, commit it, resolve flushes, purge daily."""
        loop = asyncio.get_running_loop()
        next_purge = loop.time() + PURGE_EVERY
        stopping = False
        while True:
            try:
                batch, flushes, stop_seen = await self._gather(stopping, next_purge)
                stopping = stopping or stop_seen
                if batch:
                    await self._write(batch)
                for future in flushes:
                    if not future.done():
                        future.set_result(None)
                if self.retention_days > 0 and loop.time() >= next_purge:
                    next_purge = loop.time() + PURGE_EVERY
                    await self._write([sql.purge_before(_cutoff(self.retention_days))])
            except asyncio.CancelledError:
                raise
            except Exception:  # never let the writer die: log and carry on
                log.exception("query log: writer error")
                await asyncio.sleep(0.1)
            if stopping and self._queue.empty():
                return

    async def _gather(
        self, stopping: bool, next_purge: float
    ) -> tuple[list[Statement], list[asyncio.Future[None]], bool]:
        """Take one batch from the queue: up to ``batch_size`` statements or ``flush_interval``.

        Ends early at a flush or stop marker. When stopping, takes only what is already queued.
        """
        loop = asyncio.get_running_loop()
        batch: list[Statement] = []
        flushes: list[asyncio.Future[None]] = []
        stop_seen = False
        deadline: float | None = None
        while len(batch) < self.batch_size:
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                if stopping or stop_seen or flushes:
                    break
                if deadline is None:  # nothing gathered yet: wait for work or the daily purge
                    timeout = (
                        max(0.0, next_purge - loop.time()) if self.retention_days > 0 else None
                    )
                else:
                    timeout = deadline - loop.time()
                    if timeout <= 0:
                        break
                try:
                    item = await asyncio.wait_for(self._queue.get(), timeout)
                except TimeoutError:
                    break
            if isinstance(item, _Flush):
                flushes.append(item.future)
            elif isinstance(item, _Stop):
                stop_seen = True
                self._mode = "overflow"  # from now on, new statements wait for close()
            else:
                batch.append(item)
            if deadline is None:
                deadline = loop.time() + self.flush_interval
        return batch, flushes, stop_seen

    async def _write(self, batch: list[Statement]) -> None:
        """Commit a batch; retry on lock/IO errors, then fall back to one statement at a time."""
        for attempt in range(3):
            try:
                await _execute_batch(self._db, batch)
                return
            except sqlite3.OperationalError as error:
                log.warning("query log: batch failed (%s), attempt %d", error, attempt + 1)
                await asyncio.sleep(0.2 * (attempt + 1))
            except sqlite3.Error as error:
                log.warning("query log: batch failed (%s)", error)
                break
        for statement in batch:
            try:
                await _execute_batch(self._db, [statement])
            except sqlite3.Error:
                self.dropped += 1
                log.exception("query log: dropped a write")


def _cutoff(retention_days: int) -> datetime:
    return sql.now_utc() - timedelta(days=retention_days)
