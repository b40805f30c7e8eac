"""The Telegram adapter on python-telegram-bot v22: wiring, handlers, start-up and shutdown.

``build_application(settings)`` wires everything (one function, in the style of PTB's examples);
``run(settings)`` polls, or serves a webhook when ``BOT_WEBHOOK_URL`` is set; ``run_from_env()``
is what ``python -m bot run`` calls.

Handler groups (a lower group runs first; ``ApplicationHandlerStop`` ends an update there):

* -2, the gate: updates not meant for the bot (group chatter, edits, channel posts, service
  updates) stop here silently; a user over their token bucket gets one polite notice and is then
  ignored for a while, and those messages are not logged as questions.
* -1, the admin gate: /stats, /unanswered and /reload from a non-admin get the normal
  unknown-command reply, the attempt is logged, and the update stops.
* 0, the handlers: commands, text questions, button presses, and a polite reply to stickers,
  photos and voice in private chats.

Shared state is a typed ``BotData`` (``context.bot_data``): the settings, the engine holder, the
query log, the rate limiters and the admin notifier. The engine and the log are opened in
``post_init`` and closed in ``post_shutdown``; the knowledge watcher stops in ``post_stop``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import html
import importlib.util
import io
import json
import logging
import os
import re
import secrets
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeAlias

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    CallbackQuery,
    Message,
    MessageEntity,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import (
    BadRequest,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackContext,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from bot import logs_report
from bot import telegram_render as render
from bot.engine import Engine
from bot.knowledge import KnowledgeError
from bot.querylog import QueryEvent, QueryLog
from bot.results import Result
from bot.settings import DEFAULT_DB, Settings, SettingsError
from bot.vntext import nfc_ws

log = logging.getLogger(__name__)

BOOTSTRAP_RETRIES = -1  # PTB keeps retrying a blip after wait_for_bot_api succeeded
POLL_INTERVAL = 0.1  # s between polls: no busy loop against servers that do not long-poll
LATE_POLL_WAIT = 1.0  # s a getUpdates call cancelled on stopping may take to finish
RATE_CAPACITY = 12.0  # messages a user may send in a burst...
RATE_PER_SECOND = 0.5  # ...then one every 2 s: 20 messages in 10 s get at most 17 through
CALLBACK_CAPACITY = 20.0
CALLBACK_PER_SECOND = 1.0
NOTICE_EVERY = 60.0  # seconds between two "slow down" notices to one user
ADMIN_ERROR_EVERY = 60.0  # seconds between two error reports to the admins
WATCH_DEBOUNCE_MS = 1000
HEARTBEAT_EVERY = 30.0
HEARTBEAT_STALE = 120.0
STATS_DAYS = 7
UNANSWERED_DAYS = 30
UNANSWERED_LIMIT = 20
CHART_DAYS = 14
MAX_PROBLEMS_SHOWN = 25
MAX_REPORT_LINE = 300
ADMIN_COMMAND_NAMES = tuple(name for name, _ in render.ADMIN_COMMANDS)
_COMMAND_TEXT = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{1,64}))?(?:\s+(.*))?$", re.S)


# --- shared state --------------------------------------------------------------------------------


@dataclass
class _Bucket:
    tokens: float
    stamp: float
    noticed: float = float("-inf")


class RateLimiter:
    """A token bucket per user: ``check`` says ok, notice (first refusal) or drop."""

    def __init__(
        self,
        capacity: float = RATE_CAPACITY,
        per_second: float = RATE_PER_SECOND,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.per_second = per_second
        self.clock = clock
        self._buckets: dict[int, _Bucket] = {}

    def check(self, key: int) -> Literal["ok", "notice", "drop"]:
        """Take a token for ``key``; when none is left, ``notice`` once a minute, else ``drop``."""
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) > 10_000:
                self._prune(now)
            bucket = self._buckets[key] = _Bucket(self.capacity, now)
        else:
            elapsed = max(0.0, now - bucket.stamp)
            bucket.tokens = min(self.capacity, bucket.tokens + elapsed * self.per_second)
            bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return "ok"
        if now - bucket.noticed >= NOTICE_EVERY:
            bucket.noticed = now
            return "notice"
        return "drop"

    def _prune(self, now: float) -> None:
        full = [
            k
            for k, b in self._buckets.items()
            if b.tokens + (now - b.stamp) * self.per_second >= self.capacity
        ]
        for k in full:
            del self._buckets[k]


class EngineHolder:
    """The engine being served; ``reload`` validates a new one first, then swaps it in."""

    def __init__(self, engine: Engine | None = None) -> None:
        self.engine = engine
        self.last_ok = True
        self._lock: asyncio.Lock | None = None

    @property
    def current(self) -> Engine:
        """The engine (raises if none is loaded yet)."""
        if self.engine is None:
            raise RuntimeError("the knowledge base is not loaded")
        return self.engine

    async def reload(self, root: Path) -> tuple[bool, str]:
        """Load and validate ``root`` off the event loop; swap only if it is valid."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            old = self.engine.version if self.engine is not None else "—"
            try:
                engine = await asyncio.to_thread(Engine.load, root)
            except KnowledgeError as exc:
                self.last_ok = False
                problems = [str(p) for p in exc.problems]
                shown = problems[:MAX_PROBLEMS_SHOWN]
                if len(problems) > len(shown):
                    shown.append(f"… và {len(problems) - len(shown)} lỗi khác")
                return False, (
                    f"Dữ liệu mới có {len(problems)} lỗi nên bot vẫn dùng dữ liệu cũ "
                    f"(phiên bản {old}).\n" + "\n".join(shown)
                )
            except Exception as exc:  # unreadable directory, YAML/IO errors...
                self.last_ok = False
                log.exception("knowledge reload failed")
                return False, (
                    f"Không nạp được dữ liệu mới nên bot vẫn dùng dữ liệu cũ (phiên bản {old}).\n"
                    f"{type(exc).__name__}: {exc}"
                )
            self.engine = engine  # one assignment: handlers see the old or the new engine
            self.last_ok = True
            same = " (không thay đổi)" if engine.version == old else f" (trước đó: {old})"
            return True, (
                f"Đã nạp lại dữ liệu: {len(engine.kb.entries)} mục hỏi đáp, "
                f"{len(engine.sources)} tài liệu, phiên bản {engine.version}{same}."
            )


class AdminNotifier:
    """Sends error reports to the admins, at most one per ``every`` seconds."""

    def __init__(
        self, every: float = ADMIN_ERROR_EVERY, clock: Callable[[], float] = time.monotonic
    ):
        self.every = every
        self.clock = clock
        self.last = float("-inf")
        self.suppressed = 0

    def allow(self) -> tuple[bool, int]:
        """Whether a report may go out now, and how many were held back since the last one."""
        now = self.clock()
        if now - self.last < self.every:
            self.suppressed += 1
            return False, 0
        self.last = now
        held, self.suppressed = self.suppressed, 0
        return True, held


class BotData:
    """``context.bot_data``: everything the handlers share."""

    def __init__(self) -> None:
        self.settings: Settings | None = None
        self.holder = EngineHolder()
        self.log: QueryLog | None = None
        self.messages = RateLimiter()
        self.callbacks = RateLimiter(CALLBACK_CAPACITY, CALLBACK_PER_SECOND)
        self.notifier = AdminNotifier()
        self.watch_stop: asyncio.Event | None = None
        self.watcher: asyncio.Task[None] | None = None
        self.heartbeat: asyncio.Task[None] | None = None
        self.rescued_max: int | None = None
        self.rescued_ids: set[int] = set()
        self.late: list[Update] = []  # rescued after the application stopped: post_stop answers
        self.poll_request: LenientRequest | None = None
        self.warned_optional: set[str] = set()

    @property
    def config(self) -> Settings:
        """The settings (set by ``build_application``)."""
        if self.settings is None:
            raise RuntimeError("settings are not set")
        return self.settings

    def is_admin(self, user_id: int | None) -> bool:
        """Whether a Telegram user id is in ``BOT_ADMIN_IDS``."""
        return user_id is not None and user_id in self.config.admin_ids

    def who(self, user_id: int | None) -> str:
        """A pseudonymous label of a user for server logs (never the raw id)."""
        if user_id is None:
            return "anonymous"
        if self.log is not None:
            return "user:" + self.log.user_key(user_id)[:12]
        return "user:?"


Ctx: TypeAlias = CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], BotData]
App: TypeAlias = Application[ExtBot[Any], Ctx, dict[Any, Any], dict[Any, Any], BotData, Any]


def new_query_id() -> str:
    """A short random query id (72 bits, URL-safe), small enough for callback data."""
    return secrets.token_urlsafe(9)


# --- a lenient Bot API client ------------------------------------------------------------------

_DATE_FIELDS = ("date", "edit_date", "forward_date")


def repair_result(method: str, result: Any) -> tuple[Any, bool]:
    """Repair Bot API look-alikes' small deviations in a result; ``(result, repaired?)``.

    The real Bot API never needs this. Emulators used for testing (telegram-test-api) report
    message dates in milliseconds, omit ``is_bot`` from getMe and ``chat_instance`` from callback
    queries, and send callback messages without an id or date. PTB 22 rejects such objects, which
    would turn a delivered message into an exception or stop polling, so they are filled in.
    """
    repaired = False

    def walk(node: Any, key: str = "") -> None:
        nonlocal repaired
        if isinstance(node, list):
            for item in node:
                walk(item, key)
            return
        if not isinstance(node, dict):
            return
        for field in _DATE_FIELDS:
            value = node.get(field)
            if isinstance(value, int | float) and not isinstance(value, bool) and value > 10**11:
                node[field] = int(value // 1000)
                repaired = True
        if key in ("from", "user") and "id" in node and "is_bot" not in node:
            node["is_bot"] = False
            repaired = True
        if key == "callback_query" and "id" in node:
            if "chat_instance" not in node:
                node["chat_instance"] = ""
                repaired = True
            message = node.get("message")
            if isinstance(message, dict) and "chat" in message:
                for field, default in (("message_id", 0), ("date", 0)):
                    if field not in message:
                        message[field] = default
                        repaired = True
        for child_key, child in node.items():
            if isinstance(child, dict | list):
                walk(child, child_key)

    if method == "getMe" and isinstance(result, dict) and "is_bot" not in result:
        result["is_bot"] = True
        repaired = True
    walk(result)
    return result, repaired


class LenientRequest(HTTPXRequest):
    """PTB's HTTPX client, with ``repair_result`` applied to every result (logged once).

    ``late_updates``, when set on the getUpdates client, is offered the updates of any getUpdates
    call; if it takes them (it does while the bot is stopping), PTB is told there were none.
    On stopping, PTB cancels the getUpdates call in flight; a server that forgets updates once
    it has sent them (an emulator) would lose that call's updates, so the call is left to finish
    (``settle`` waits for it, briefly) and its updates are offered to ``late_updates`` too.
    """

    warned = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.late_updates: Callable[[list[Any]], bool] | None = None
        self.cancelled_polls: set[asyncio.Task[None]] = set()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> tuple[int, bytes]:
        """Make the request, then repair the result if the server deviates slightly."""
        if self.late_updates is None or not url.endswith("/getUpdates"):
            code, payload = await super().do_request(url, method, request_data, *args, **kwargs)
            return self._repair(url, code, payload)
        call = asyncio.ensure_future(super().do_request(url, method, request_data, *args, **kwargs))
        try:
            code, payload = await asyncio.shield(call)
        except asyncio.CancelledError:
            finish = asyncio.ensure_future(self._finish_cancelled(url, call))
            self.cancelled_polls.add(finish)
            finish.add_done_callback(self.cancelled_polls.discard)
            raise
        return self._repair(url, code, payload)

    async def _finish_cancelled(self, url: str, call: asyncio.Future[tuple[int, bytes]]) -> None:
        """Let a cancelled getUpdates call finish (briefly) and offer its updates as late ones."""
        try:
            code, payload = await asyncio.wait_for(call, LATE_POLL_WAIT)
        except Exception:  # timed out (a long poll with nothing to say) or failed: nothing lost
            return
        self._repair(url, code, payload)

    async def settle(self) -> None:
        """Wait for cancelled getUpdates calls to finish (at most ``LATE_POLL_WAIT`` seconds)."""
        if self.cancelled_polls:
            await asyncio.wait(set(self.cancelled_polls))

    def _repair(self, url: str, code: int, payload: bytes) -> tuple[int, bytes]:
        """Repair a result; offer getUpdates results to ``late_updates``."""
        if code != 200:
            return code, payload
        try:
            body = json.loads(payload)
        except ValueError:
            return code, payload  # PTB reports invalid JSON itself
        if not isinstance(body, dict) or "result" not in body:
            return code, payload
        api_method = url.rsplit("/", 1)[-1]
        body["result"], repaired = repair_result(api_method, body["result"])
        if repaired and not LenientRequest.warned:
            LenientRequest.warned = True
            log.warning(
                "the Bot API server sent malformed objects (first in %s); repairing them",
                api_method,
            )
        taken = (
            api_method == "getUpdates"
            and self.late_updates is not None
            and isinstance(body["result"], list)
            and bool(body["result"])
            and self.late_updates(body["result"])
        )
        if taken:
            body["result"] = []
        if not (repaired or taken):
            return code, payload
        return code, json.dumps(body).encode()


# --- small helpers -------------------------------------------------------------------------------


async def optional_call(data: BotData, what: str, call: Awaitable[Any]) -> bool:
    """Await a call the bot can live without (setMyCommands, sendChatAction); log failures."""
    try:
        await call
        return True
    except TelegramError as exc:
        if what not in data.warned_optional:
            data.warned_optional.add(what)
            log.warning("optional Bot API call %s failed (carrying on): %s", what, exc)
        else:
            log.debug("optional Bot API call %s failed again: %s", what, exc)
        return False


def _plain(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", "", text))


async def send(
    context: Ctx, chat_id: int, replies: Sequence[render.Reply], *, reply_to: int | None = None
) -> list[Message]:
    """Send rendered messages in order (the first one quoting ``reply_to``)."""
    sent: list[Message] = []
    for i, reply in enumerate(replies):
        quote = (
            ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
            if reply_to is not None and i == 0
            else None
        )
        try:
            message = await context.bot.send_message(
                chat_id,
                reply.text,
                parse_mode=ParseMode.HTML,
                reply_markup=reply.keyboard,
                reply_parameters=quote,
            )
        except BadRequest as exc:
            if "parse" not in str(exc).lower():
                raise
            log.error("Telegram rejected our HTML (%s); sending it as plain text", exc)
            message = await context.bot.send_message(
                chat_id, _plain(reply.text), reply_markup=reply.keyboard, reply_parameters=quote
            )
        except (ValueError, TypeError, KeyError) as exc:
            # Delivered, but the server's reply could not be read as a Message.
            log.warning("message sent, but the Bot API's reply was unreadable: %s", exc)
            continue
        sent.append(message)
    return sent


def _sources(engine: Engine) -> list[render.SourceInfo]:
    return [
        render.SourceInfo(
            s.title, s.display_date, getattr(s, "publisher", ""), getattr(s, "description", "")
        )
        for s in engine.sources
    ]


def _mentions_bot(message: Message, username: str, bot_id: int) -> bool:
    text = message.text or message.caption or ""
    handle = f"@{username}".lower()
    for entity in [*message.entities, *message.caption_entities]:
        if entity.type == MessageEntity.MENTION:
            if message.parse_entity(entity).lower() == handle:
                return True
        elif entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot_id:
            return True
    return (
        bool(username)
        and re.search(rf"(?<!\w)@{re.escape(username)}(?!\w)", text, re.I) is not None
    )


def _replies_to_bot(message: Message, bot_id: int) -> bool:
    replied = message.reply_to_message
    return bool(replied and replied.from_user and replied.from_user.id == bot_id)


def _strip_mention(text: str, username: str) -> str:
    if username:
        text = re.sub(rf"(?<!\w)@{re.escape(username)}(?!\w)", " ", text, flags=re.I)
    return text.strip().lstrip(",:;-–— ").strip()


def _command_target(text: str, username: str) -> tuple[str, str] | None:
    """``(command, rest)`` for a ``/command`` text meant for this bot, else None."""
    match = _COMMAND_TEXT.match(text.strip())
    if match is None:
        return None
    name, target, rest = match.group(1), match.group(2), match.group(3) or ""
    if target and target.lower() != username.lower():
        return None
    return name.lower(), rest.strip()


def _is_group(chat_type: str | None) -> bool:
    return chat_type in (ChatType.GROUP, ChatType.SUPERGROUP)


# --- the gates (groups -2 and -1) ----------------------------------------------------------------


def _for_bot(update: Update, context: Ctx) -> bool:
    """Whether an update is addressed to the bot at all."""
    if update.callback_query is not None:
        return True
    message = update.message  # edits, channel posts and service updates are not for us
    if message is None:
        return False
    chat_type = message.chat.type
    if chat_type == ChatType.PRIVATE:
        return True
    if not _is_group(chat_type):
        return False
    text = message.text or ""
    username = context.bot.username or ""
    if _COMMAND_TEXT.match(text.strip()):
        return _command_target(text, username) is not None
    if not text:
        return False
    return _replies_to_bot(message, context.bot.id) or _mentions_bot(
        message, username, context.bot.id
    )


async def gate(update: Update, context: Ctx) -> None:
    """Ignore updates not meant for the bot; slow down users who send too fast."""
    if not _for_bot(update, context):
        raise ApplicationHandlerStop
    data = context.bot_data
    user = update.effective_user
    key = (
        user.id if user is not None else (update.effective_chat.id if update.effective_chat else 0)
    )
    query = update.callback_query
    verdict = (data.callbacks if query is not None else data.messages).check(key)
    if verdict == "ok":
        return
    if verdict == "notice":
        log.info("rate limit: slowing down %s", data.who(user.id if user else None))
        with contextlib.suppress(TelegramError):
            if query is not None:
                await query.answer(render.RATE_LIMITED, show_alert=False)
            elif update.effective_chat is not None:
                await send(context, update.effective_chat.id, [render.Reply(render.RATE_LIMITED)])
    raise ApplicationHandlerStop


async def deny_admin(update: Update, context: Ctx) -> None:
    """Answer an admin command from a non-admin like an unknown command, and log it."""
    message = update.effective_message
    user = update.effective_user
    command = (message.text or "").split(maxsplit=1)[0] if message else "?"
    log.warning(
        "admin command %s refused for non-admin %s",
        command,
        context.bot_data.who(user.id if user else None),
    )
    if message is not None:
        await send(context, message.chat_id, [render.Reply(render.UNKNOWN_COMMAND)])
    raise ApplicationHandlerStop


# --- answering -----------------------------------------------------------------------------------


async def answer_question(
    update: Update,
    context: Ctx,
    question: str,
    *,
    chat_id: int,
    chat_type: str,
    reply_to: int | None = None,
) -> None:
    """Answer one question: log it, send the rendered result, record the reply id."""
    data = context.bot_data
    question = question.strip()
    if not question:
        await send(context, chat_id, [render.Reply(render.esc(render.EMPTY_QUESTION))])
        return
    user = update.effective_user
    query_id = new_query_id()
    engine = data.holder.current
    if len(question) > render.MAX_QUESTION_CHARS:
        _log_query(
            data, query_id, user.id if user else None, chat_type, question, engine, None, 0.0
        )
        sent = await send(
            context, chat_id, render.render_too_long(len(question)), reply_to=reply_to
        )
        _log_reply(data, query_id, sent)
        return
    await optional_call(
        data, "sendChatAction", context.bot.send_chat_action(chat_id, ChatAction.TYPING)
    )
    started = time.perf_counter()
    result = engine.answer(question)
    latency = (time.perf_counter() - started) * 1000.0
    _log_query(
        data, query_id, user.id if user else None, chat_type, question, engine, result, latency
    )
    sent = await send(context, chat_id, render.render_result(result, query_id), reply_to=reply_to)
    _log_reply(data, query_id, sent)


def _log_query(
    data: BotData,
    query_id: str,
    user_id: int | None,
    chat_type: str,
    question: str,
    engine: Engine,
    result: Result | None,
    latency_ms: float,
) -> None:
    if data.log is None:
        return
    data.log.log_query(
        QueryEvent(
            query_id=query_id,
            time=datetime.now(UTC),
            user_id=user_id,
            chat_type=chat_type,
            question=question,
            normalized=result.normalized if result is not None else "",
            status=result.status if result is not None else "no_answer",
            entry_id=result.entry_id if result is not None else None,
            score=float(result.score) if result is not None else 0.0,
            suggestions=render.suggestion_ids(result.suggestions) if result is not None else [],
            latency_ms=latency_ms,
            kb_version=engine.version,
        )
    )


def _log_reply(data: BotData, query_id: str, sent: Sequence[Message]) -> None:
    if data.log is not None and sent:
        data.log.set_reply(query_id, sent[-1].message_id)


# --- commands ------------------------------------------------------------------------------------


async def cmd_start(update: Update, context: Ctx) -> None:
    """/start: greeting, sources and example question buttons."""
    message = update.effective_message
    if message is None:
        return
    engine = context.bot_data.holder.current
    user = update.effective_user
    replies = render.render_start(
        user.first_name if user else None, _sources(engine), engine.examples(4)
    )
    await send(context, message.chat_id, replies)


async def cmd_help(update: Update, context: Ctx) -> None:
    """/help: how to ask, buttons, groups, commands."""
    message = update.effective_message
    if message is None:
        return
    user = update.effective_user
    admin = context.bot_data.is_admin(user.id if user else None)
    await send(context, message.chat_id, render.render_help(context.bot.username, admin=admin))


async def cmd_nguon(update: Update, context: Ctx) -> None:
    """/nguon: the sources with their dates."""
    message = update.effective_message
    if message is None:
        return
    engine = context.bot_data.holder.current
    await send(context, message.chat_id, render.render_sources(_sources(engine)))


async def cmd_hoi(update: Update, context: Ctx) -> None:
    """/hoi <question>: ask explicitly (works in groups)."""
    message = update.effective_message
    if message is None:
        return
    text = message.text or ""
    parts = text.split(maxsplit=1)
    question = parts[1] if len(parts) > 1 else " ".join(context.args or [])
    if not question.strip():
        await send(context, message.chat_id, [render.Reply(render.HOI_EMPTY)])
        return
    group = _is_group(message.chat.type)
    await answer_question(
        update,
        context,
        question,
        chat_id=message.chat_id,
        chat_type=message.chat.type,
        reply_to=message.message_id if group else None,
    )


async def _admin_message(update: Update, context: Ctx) -> Message | None:
    """The admin's message, or None after refusing a non-admin (the group -1 gate already
    refuses them; this is the second lock, in case a handler is reached another way)."""
    message = update.effective_message
    if message is None:
        return None
    user = update.effective_user
    if not context.bot_data.is_admin(user.id if user else None):
        await deny_admin(update, context)
        return None
    return message


async def _admin_log_view(update: Update, context: Ctx) -> Message | None:
    """The admin's message, after committing the queued log rows a report must include."""
    message = await _admin_message(update, context)
    if message is not None and context.bot_data.log is not None:
        await context.bot_data.log.flush()
    return message


def _since(context: Ctx, default: int) -> int:
    for arg in context.args or []:
        digits = arg.rstrip("dD")
        if digits.isdigit() and 0 < int(digits) <= 3650:
            return int(digits)
    return default


async def cmd_stats(update: Update, context: Ctx) -> None:
    """/stats [days]: query statistics and a per-day chart (admins only)."""
    message = await _admin_log_view(update, context)
    if message is None:
        return
    data = context.bot_data
    days = _since(context, STATS_DAYS)
    db = data.config.db_path
    report = await logs_report.stats(db, since_days=days)
    await send(context, message.chat_id, render.render_preformatted(logs_report.stats_text(report)))
    per_day = await logs_report.per_day_counts(db, since_days=max(days, CHART_DAYS))
    if await _send_chart(context, message.chat_id, per_day):
        return
    await send(context, message.chat_id, render.render_preformatted(render.bar_chart_text(per_day)))


def chart_available() -> bool:
    """Whether matplotlib is installed (it is optional: the text chart is the fallback)."""
    return importlib.util.find_spec("matplotlib") is not None


def chart_png(per_day: Sequence[tuple[str, dict[str, int]]]) -> bytes:
    """Questions per day by status as a stacked bar chart (PNG), drawn with matplotlib."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4), dpi=100)
    ax = fig.subplots()
    days = [day[5:] for day, _ in per_day]
    bottom = [0] * len(days)
    for status, label, color in (
        ("answered", "Trả lời được", "#2e7d32"),
        ("ambiguous", "Mơ hồ", "#f9a825"),
        ("no_answer", "Không trả lời được", "#c62828"),
    ):
        values = [counts.get(status, 0) for _, counts in per_day]
        ax.bar(days, values, bottom=bottom, label=label, color=color)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_title("Số câu hỏi mỗi ngày theo trạng thái (UTC)")
    ax.legend()
    ax.tick_params(axis="x", labelrotation=45)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


async def _send_chart(
    context: Ctx, chat_id: int, per_day: Sequence[tuple[str, dict[str, int]]]
) -> bool:
    if not per_day or not chart_available():
        return False
    try:
        png = await asyncio.to_thread(chart_png, per_day)
        await context.bot.send_photo(chat_id, png, caption="Số câu hỏi mỗi ngày theo trạng thái")
        return True
    except TelegramError as exc:
        log.warning("could not send the stats chart (%s); sending the text chart", exc)
    except Exception:
        log.exception("could not draw the stats chart; sending the text chart")
    return False


async def cmd_unanswered(update: Update, context: Ctx) -> None:
    """/unanswered [days]: unanswered and 👎 questions, clustered (admins only)."""
    message = await _admin_log_view(update, context)
    if message is None:
        return
    data = context.bot_data
    days = _since(context, UNANSWERED_DAYS)
    clusters = await logs_report.unanswered(
        data.config.db_path, since_days=days, limit=UNANSWERED_LIMIT
    )
    text = _cut_lines(logs_report.unanswered_text(clusters, since_days=days))
    await send(context, message.chat_id, render.render_preformatted(text))


def _cut_lines(text: str, limit: int = MAX_REPORT_LINE) -> str:
    """Cut over-long lines of a report (e.g. a 5,000-character question) with an ellipsis."""
    return "\n".join(
        line if len(line) <= limit else line[: limit - 1] + "…" for line in text.splitlines()
    )


async def cmd_reload(update: Update, context: Ctx) -> None:
    """/reload: validate the knowledge directory, then swap it in (admins only)."""
    message = await _admin_message(update, context)
    if message is None:
        return
    data = context.bot_data
    ok, report = await data.holder.reload(data.config.knowledge_dir)
    log.info("reload by admin: %s", report.splitlines()[0])
    await send(context, message.chat_id, render.render_reload(ok, report))


COMMAND_TABLE: dict[str, Callable[[Update, Ctx], Coroutine[Any, Any, None]]] = {
    "start": cmd_start,
    "help": cmd_help,
    "nguon": cmd_nguon,
    "hoi": cmd_hoi,
    "stats": cmd_stats,
    "unanswered": cmd_unanswered,
    "reload": cmd_reload,
}


# --- messages ------------------------------------------------------------------------------------


async def on_text(update: Update, context: Ctx) -> None:
    """A text message: a question (in groups only when addressed to the bot)."""
    message = update.message
    if message is None or message.text is None:
        return
    username = context.bot.username or ""
    text = message.text
    if _COMMAND_TEXT.match(text.strip()):  # a command typed without a bot_command entity
        target = _command_target(text, username)
        if target is None:
            return
        name, rest = target
        handler = COMMAND_TABLE.get(name)
        if handler is None:
            await on_unknown_command(update, context)
            return
        context.args = rest.split()
        await handler(update, context)
        return
    group = _is_group(message.chat.type)
    if group and not (
        _replies_to_bot(message, context.bot.id) or _mentions_bot(message, username, context.bot.id)
    ):
        return
    text = _strip_mention(text, username)
    await answer_question(
        update,
        context,
        text,
        chat_id=message.chat_id,
        chat_type=message.chat.type,
        reply_to=message.message_id if group else None,
    )


async def on_unknown_command(update: Update, context: Ctx) -> None:
    """An unknown command: a polite pointer to /help (in groups only if addressed to us)."""
    message = update.message
    if message is None:
        return
    if _is_group(message.chat.type):
        target = _command_target(message.text or "", context.bot.username or "")
        if target is None or "@" not in (message.text or "").split(maxsplit=1)[0]:
            return
    await send(context, message.chat_id, [render.Reply(render.UNKNOWN_COMMAND)])


async def on_non_text(update: Update, context: Ctx) -> None:
    """Stickers, photos, voice, files in a private chat: a polite hint to type the question."""
    message = update.message
    if message is None:
        return
    await send(context, message.chat_id, [render.Reply(render.NON_TEXT)])


# --- buttons -------------------------------------------------------------------------------------


async def _answer_callback(query: CallbackQuery, text: str | None = None) -> None:
    try:
        await query.answer(text)
    except TelegramError as exc:  # too old, already answered, network...
        log.debug("answerCallbackQuery failed: %s", exc)


def _passages(engine: Engine, result: Result) -> list[render.Passage]:
    """The source paragraphs that contain an answer's quotes (the quote itself as a fallback)."""
    sources = {s.id: s for s in engine.sources}
    out: list[render.Passage] = []
    seen: set[tuple[str, int]] = set()
    for citation in result.citations:
        source = sources.get(citation.source)
        quote = nfc_ws(citation.quote)
        found = None
        for para in getattr(source, "paragraphs", []) if source is not None else []:
            text = nfc_ws(para.text)
            if quote and (quote in text or quote[:60] in text):
                found = para
                break
        if found is not None:
            key = (citation.source, found.index)
            if key in seen:
                continue
            seen.add(key)
            out.append(render.Passage(citation.title, citation.date, found.text))
        else:
            out.append(render.Passage(citation.title, citation.date, citation.quote))
    return out


async def on_callback(update: Update, context: Ctx) -> None:
    """A button press: suggestion, follow-up, source passage, feedback or example question."""
    query = update.callback_query
    if query is None:
        return
    data = context.bot_data
    press = render.parse_callback(query.data)
    message = query.message
    chat_id = message.chat.id if message is not None else query.from_user.id
    chat_type = message.chat.type if message is not None else ChatType.PRIVATE
    engine = data.holder.current
    if press is None:
        log.info("stale or forged button data from %s", data.who(query.from_user.id))
        await _answer_callback(query, render.STALE_BUTTON)
        return
    if press.kind == "feedback" and press.query_id and press.value in ("up", "down"):
        if data.log is not None:
            data.log.set_feedback(press.query_id, press.value)
        await _answer_callback(query, render.FEEDBACK_THANKS[press.value])
        return
    if press.kind == "none" and press.query_id:
        if data.log is not None:
            data.log.set_choice(press.query_id, None)
        await _answer_callback(query)
        await send(context, chat_id, [render.Reply(render.esc(render.NONE_OF_THESE_REPLY))])
        return
    if press.kind == "example":
        examples = engine.examples(4)
        index = int(press.value or -1)
        if not 0 <= index < len(examples):
            await _answer_callback(query, render.STALE_BUTTON)
            return
        await _answer_callback(query)
        await answer_question(
            update, context, examples[index], chat_id=chat_id, chat_type=chat_type
        )
        return
    result = engine.answer_entry(press.entry_id) if press.entry_id else None
    if result is None:
        log.info(
            "button for unknown entry %r from %s", press.entry_id, data.who(query.from_user.id)
        )
        await _answer_callback(query, render.STALE_BUTTON)
        return
    await _answer_callback(query)
    if press.kind == "source":
        await send(
            context, chat_id, render.render_passages(result.question, _passages(engine, result))
        )
        return
    if press.kind == "entry" and press.query_id and data.log is not None:
        data.log.set_choice(press.query_id, result.entry_id)
    query_id = press.query_id if press.kind == "entry" else None
    await send(context, chat_id, render.render_result(result, query_id, heading=result.question))


# --- errors --------------------------------------------------------------------------------------


async def tell_admins(bot: ExtBot[Any], data: BotData, replies: Sequence[render.Reply]) -> None:
    """Send messages to every admin; failures (admin never started the bot...) are logged."""
    for admin_id in sorted(data.config.admin_ids):
        for reply in replies:
            try:
                await bot.send_message(admin_id, reply.text, parse_mode=ParseMode.HTML)
            except (TelegramError, ValueError) as exc:
                log.warning("could not notify an admin: %s", exc)
                break


async def on_error(update: object, context: Ctx) -> None:
    """Log the error first, then tell the admins (at most once a minute) and the user."""
    error = context.error
    if isinstance(error, (NetworkError, RetryAfter)):
        log.warning("Bot API unreachable or rate limited (PTB retries with backoff): %s", error)
        return
    if isinstance(error, Forbidden):
        log.info("Telegram refused a message (user blocked the bot or left): %s", error)
        return
    where = f"update {update.update_id}" if isinstance(update, Update) else "background task"
    log.error("unhandled error in %s", where, exc_info=error)
    data = context.bot_data
    if data.settings is not None and data.config.admin_ids:
        allowed, held = data.notifier.allow()
        if allowed:
            summary = f"{type(error).__name__}: {error}\n({where})"
            await tell_admins(context.bot, data, render.render_admin_error(summary, held))
    if (
        isinstance(update, Update)
        and update.effective_chat is not None
        and update.message is not None
    ):
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(update.effective_chat.id, render.esc(render.ERROR_REPLY))


# --- knowledge watcher ---------------------------------------------------------------------------


def _knowledge_file(_change: object, path: str) -> bool:
    name = Path(path).name
    return name.endswith((".md", ".yaml", ".yml")) and not name.startswith((".", "~", "#"))


async def watch_knowledge(app: App) -> None:
    """Reload the knowledge base when its files change (debounced); tell admins about errors."""
    from watchfiles import awatch

    data = app.bot_data
    root = data.config.knowledge_dir
    stop = data.watch_stop
    log.info("watching %s for knowledge changes", root)
    try:
        async for changes in awatch(
            root,
            watch_filter=_knowledge_file,
            debounce=WATCH_DEBOUNCE_MS,
            stop_event=stop,
            recursive=True,
        ):
            names = sorted({Path(p).name for _, p in changes})
            was_ok = data.holder.last_ok
            ok, report = await data.holder.reload(root)
            log.info("knowledge changed (%s): %s", ", ".join(names[:5]), report.splitlines()[0])
            if not ok:
                log.warning("knowledge reload rejected:\n%s", report)
                head = "Tệp dữ liệu vừa sửa có lỗi (" + ", ".join(names[:5]) + ").\n"
                await tell_admins(app.bot, data, render.render_reload(False, head + report))
            elif not was_ok:
                await tell_admins(app.bot, data, render.render_reload(True, report))
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("the knowledge watcher stopped; use /reload after editing files")


# --- heartbeat (container healthcheck) ------------------------------------------------------------


def heartbeat_path(settings: Settings) -> Path:
    """The file the running bot touches every ``HEARTBEAT_EVERY`` s: ``bot.heartbeat`` by the DB."""
    return settings.db_path.with_name("bot.heartbeat")


async def heartbeat(app: App) -> None:
    """Touch the heartbeat file while the application runs (removed on a clean stop)."""
    path = heartbeat_path(app.bot_data.config)
    warned = False
    while True:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(datetime.now(UTC).isoformat() + "\n", encoding="ascii")
        except OSError as exc:
            if not warned:
                warned = True
                log.warning("cannot write the heartbeat file %s: %s", path, exc)
        await asyncio.sleep(HEARTBEAT_EVERY)


def healthcheck() -> int:
    """Exit status for a container HEALTHCHECK: 0 if the bot touched its heartbeat recently."""
    db = Path(os.environ.get("BOT_DB", "").strip() or DEFAULT_DB)
    path = db.with_name("bot.heartbeat")
    try:
        age = time.time() - path.stat().st_mtime
    except OSError:
        print(f"unhealthy: no heartbeat file {path}")
        return 1
    if age > HEARTBEAT_STALE:
        print(f"unhealthy: the heartbeat is {age:.0f} s old")
        return 1
    print(f"healthy: heartbeat {age:.0f} s ago")
    return 0


# --- lifecycle -----------------------------------------------------------------------------------


async def register_commands(app: App) -> None:
    """setMyCommands for everyone, plus the admin commands in admins' chats; failures tolerated."""
    data = app.bot_data
    public = [BotCommand(name, desc) for name, desc in render.COMMANDS]
    admin = public + [BotCommand(name, desc) for name, desc in render.ADMIN_COMMANDS]
    await optional_call(data, "setMyCommands", app.bot.set_my_commands(public))
    for admin_id in sorted(data.config.admin_ids):
        await optional_call(
            data,
            "setMyCommands(admin)",
            app.bot.set_my_commands(admin, scope=BotCommandScopeChat(admin_id)),
        )


async def post_init(app: App) -> None:
    """Load the knowledge base, open the query log, register commands, start the watcher."""
    data = app.bot_data
    settings = data.config
    if data.holder.engine is None:
        data.holder.engine = await asyncio.to_thread(Engine.load, settings.knowledge_dir)
    engine = data.holder.current
    data.log = await QueryLog.open(
        settings.db_path, secret=settings.log_secret, retention_days=settings.log_retention_days
    )
    await register_commands(app)
    if settings.watch_knowledge:
        data.watch_stop = asyncio.Event()
        data.watcher = asyncio.create_task(watch_knowledge(app), name="knowledge-watcher")
    data.heartbeat = asyncio.create_task(heartbeat(app), name="heartbeat")
    log.info(
        "bot @%s ready: %d entries, %d sources, knowledge version %s",
        app.bot.username,
        len(engine.kb.entries),
        len(engine.sources),
        engine.version,
    )


def rescue_late_updates(app: App, updates: list[Any]) -> bool:
    """Queue updates fetched while the bot is stopping, so they are answered before it exits.

    PTB's last getUpdates call on stopping (it confirms what was processed) would drop them; a
    server that forgets updates once returned (e.g. an emulator) would then lose them for good.
    """
    if app.updater is None or app.updater.running:
        return False
    data = app.bot_data
    rescued = 0
    for raw in updates:
        try:
            update = Update.de_json(raw, app.bot)
        except Exception:
            log.exception("could not read an update that arrived while stopping")
            continue
        if update.update_id in data.rescued_ids:
            continue  # fetched twice: by a cancelled call and by PTB's confirming call
        data.rescued_ids.add(update.update_id)
        if app.running:
            app.update_queue.put_nowait(update)
        else:
            data.late.append(update)  # the application has stopped: post_stop answers these
        data.rescued_max = max(data.rescued_max or 0, update.update_id)
        rescued += 1
    log.info("%d update(s) arrived while stopping; answering them before exiting", rescued)
    return True


async def confirm_rescued(app: App) -> None:
    """Confirm the rescued updates to the Bot API, so they are not delivered again."""
    data = app.bot_data
    if data.rescued_max is None:
        return
    try:
        await app.bot.get_updates(offset=data.rescued_max + 1, timeout=0, limit=1)
    except TelegramError as exc:
        log.warning("could not confirm the updates answered while stopping: %s", exc)
    data.rescued_max = None


async def answer_late(app: App) -> None:
    """Answer updates that a getUpdates call cancelled on stopping brought in after the stop."""
    data = app.bot_data
    if data.poll_request is not None:
        await data.poll_request.settle()
    late, data.late = data.late, []
    for update in late:
        try:
            await app.process_update(update)
        except Exception:
            log.exception("could not answer an update that arrived while stopping")


async def post_stop(app: App) -> None:
    """Answer and confirm updates fetched while stopping; stop the heartbeat and the watcher."""
    data = app.bot_data
    await answer_late(app)
    await confirm_rescued(app)
    if data.heartbeat is not None:
        data.heartbeat.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await data.heartbeat
        data.heartbeat = None
        with contextlib.suppress(OSError):
            heartbeat_path(data.config).unlink()
    if data.watcher is None:
        return
    if data.watch_stop is not None:
        data.watch_stop.set()
    try:
        await asyncio.wait_for(data.watcher, timeout=5)
    except (TimeoutError, asyncio.CancelledError):
        data.watcher.cancel()
    except Exception:
        log.exception("knowledge watcher failed")
    data.watcher = None


async def post_shutdown(app: App) -> None:
    """Flush and close the query log (after every in-flight update has finished)."""
    await post_stop(app)
    data = app.bot_data
    if data.log is not None:
        await data.log.close()
        log.info("query log flushed and closed")
        data.log = None


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    engine: Engine | None = None,
) -> App:
    """Wire the bot: settings, shared state, handlers, error handler and lifecycle hooks.

    ``request`` (a ``BaseRequest`` for every Bot API call) and a pre-loaded ``engine`` are for
    tests; by default PTB's HTTPX client and ``Engine.load(settings.knowledge_dir)`` are used.
    """
    builder = ApplicationBuilder().token(settings.token).base_url(settings.api_url)
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    poll_request: LenientRequest | None = None
    if request is None:
        poll_request = LenientRequest(connection_pool_size=1)
        builder = builder.request(LenientRequest(connection_pool_size=256)).get_updates_request(
            poll_request
        )
    app: App = (
        builder.context_types(ContextTypes(bot_data=BotData))
        .rate_limiter(AIORateLimiter(max_retries=3))
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
        .build()
    )
    app.bot_data.settings = settings
    if engine is not None:
        app.bot_data.holder.engine = engine
    if poll_request is not None:
        poll_request.late_updates = functools.partial(rescue_late_updates, app)
        app.bot_data.poll_request = poll_request

    message = filters.UpdateType.MESSAGE
    admin_users = filters.User(user_id=sorted(settings.admin_ids), allow_empty=False)
    app.add_handler(TypeHandler(Update, gate), group=-2)
    app.add_handler(
        CommandHandler(ADMIN_COMMAND_NAMES, deny_admin, filters=message & ~admin_users), group=-1
    )
    for name, callback in COMMAND_TABLE.items():
        app.add_handler(CommandHandler(name, callback, filters=message))
    app.add_handler(MessageHandler(message & filters.TEXT & ~filters.COMMAND, on_text))
    app.add_handler(MessageHandler(message & filters.COMMAND, on_unknown_command))
    app.add_handler(
        MessageHandler(
            message & filters.ChatType.PRIVATE & ~filters.TEXT & ~filters.StatusUpdate.ALL,
            on_non_text,
        )
    )
    app.add_handler(CallbackQueryHandler(on_callback))
    app.add_error_handler(on_error)
    return app


# --- running -------------------------------------------------------------------------------------


def configure_logging(level: int = logging.INFO) -> None:
    """Log lines to stderr; quiet httpx (its request lines would contain the token)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
        )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


async def wait_for_bot_api(settings: Settings) -> bool:
    """Call getMe until the Bot API answers, backing off up to 30 s with a log line per failure.

    Returns False if SIGTERM/SIGINT arrives first; raises InvalidToken (no point retrying).
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    bot = Bot(settings.token, base_url=settings.api_url, request=LenientRequest())
    delay = 1.0
    try:
        while not stop.is_set():
            try:
                await bot.initialize()
                return True
            except InvalidToken:
                raise
            except TelegramError as exc:
                log.warning(
                    "Bot API not reachable at start-up (%s); retrying in %.0f s", exc, delay
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(30.0, delay * 2)
        return False
    finally:
        with contextlib.suppress(Exception):
            await bot.shutdown()
        for sig in signals:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


def run(settings: Settings) -> int:
    """Run the bot until SIGTERM/SIGINT (polling, or a webhook when configured); exit status."""
    configure_logging()
    log.info("starting Telegram bot: %s", settings.describe())
    try:
        if not asyncio.run(wait_for_bot_api(settings)):
            log.info("stopped before the Bot API answered")
            return 0
    except InvalidToken as exc:
        log.error("cannot start: the Bot API refused the token: %s", exc)
        return 1
    app = build_application(settings)
    try:
        if settings.use_webhook:
            app.run_webhook(
                listen=settings.webhook_listen,
                port=settings.webhook_port,
                url_path=settings.webhook_path,
                webhook_url=settings.webhook_url,
                secret_token=settings.webhook_secret,
                allowed_updates=Update.ALL_TYPES,
                bootstrap_retries=BOOTSTRAP_RETRIES,
            )
        else:
            app.run_polling(
                poll_interval=POLL_INTERVAL,
                allowed_updates=Update.ALL_TYPES,
                bootstrap_retries=BOOTSTRAP_RETRIES,
            )
    except KnowledgeError as exc:
        log.error("cannot start: the knowledge base is invalid\n%s", exc.report())
        return 1
    except TelegramError as exc:
        log.error("cannot start: the Bot API refused us: %s", exc)
        return 1
    except OSError as exc:
        log.error("cannot start: %s", exc)
        return 1
    log.info("bot stopped cleanly")
    return 0


def run_from_env() -> int:
    """Read the settings from the environment and run the bot (``python -m bot run``)."""
    configure_logging()
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        log.error("configuration error: %s", exc)
        return 2
    return run(settings)
