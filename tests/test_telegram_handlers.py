"""Offline tests of the Telegram adapter: a recording BaseRequest plus Application.process_update.

As in python-telegram-bot's own tests, no network is used: every Bot API call goes to
``RecordingRequest``, which answers like the Bot API and keeps the calls. Each test gets a real
query log (SQLite in ``tmp_path``) and the real knowledge directory.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
import shutil
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Update
from telegram.request import BaseRequest, RequestData
from telegram_messages import inline_buttons as buttons

from bot import telegram_app as tg
from bot import telegram_render as render
from bot.engine import Engine
from bot.results import Citation, Result, Suggestion
from bot.settings import Settings, SettingsError

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"
BOT_ID = 777000
BOT_USERNAME = "hoidap_test_bot"
ADMIN = 42
USER = 1001
GROUP = -100200
IN_SCOPE = "Đảng bộ Khối thành lập ngày nào?"
NO_DIACRITICS = "dang bo khoi thanh lap ngay nao"
OUT_OF_SCOPE = "Giá vàng hôm nay bao nhiêu?"
VAGUE = "nghị quyết"


class RecordingRequest(BaseRequest):
    """Answers Bot API calls like Telegram would and records them; some methods can fail."""

    def __init__(self, fail: set[str] | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.fail = set(fail or ())
        self._ids = itertools.count(5000)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""

    @property
    def read_timeout(self) -> float | None:
        """No real timeouts offline."""
        return 1.0

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        """Record the call and answer it."""
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data is not None else {}
        self.calls.append((name, params))
        if name in self.fail:
            body = {"ok": False, "error_code": 400, "description": f"Bad Request: {name} is off"}
            return 400, json.dumps(body).encode()
        return 200, json.dumps({"ok": True, "result": self._result(name, params)}).encode()

    def _result(self, name: str, params: dict[str, Any]) -> Any:
        if name == "getMe":
            return {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "Hỏi đáp",
                "username": BOT_USERNAME,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        if name in ("sendMessage", "sendPhoto"):
            chat_id = int(params["chat_id"])
            message: dict[str, Any] = {
                "message_id": next(self._ids),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Hỏi đáp"},
            }
            if name == "sendMessage":
                message["text"] = params.get("text", "")
            return message
        return True

    # --- reading what the bot did -------------------------------------------------------------

    def methods(self) -> list[str]:
        """Names of the methods called, in order."""
        return [name for name, _ in self.calls]

    def messages(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """sendMessage parameters (optionally for one chat)."""
        return [
            p
            for name, p in self.calls
            if name == "sendMessage" and (chat_id is None or int(p["chat_id"]) == chat_id)
        ]

    def callback_answers(self) -> list[dict[str, Any]]:
        """answerCallbackQuery parameters."""
        return [p for name, p in self.calls if name == "answerCallbackQuery"]

    def clear(self) -> None:
        """Forget the calls so far."""
        self.calls.clear()


def assert_html(message: dict[str, Any]) -> None:
    """Telegram HTML, well-formed and under the limit."""
    assert message.get("parse_mode") == "HTML"
    problems = render.html_problems(message["text"])
    assert not problems, (problems, message["text"][:500])


class Harness:
    """An initialized Application with a recording request, and helpers to feed it updates."""

    def __init__(self, app: tg.App, request: RecordingRequest, settings: Settings) -> None:
        self.app = app
        self.request = request
        self.settings = settings
        self.errors: list[BaseException] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)

    @property
    def data(self) -> tg.BotData:
        """The shared state."""
        return self.app.bot_data

    async def feed(self, update: dict[str, Any]) -> None:
        """Process one update (as a Bot API JSON object)."""
        update = {"update_id": next(self._update_ids), **update}
        await self.app.process_update(Update.de_json(update, self.app.bot))

    def message(
        self,
        text: str | None = None,
        *,
        user: int = USER,
        chat: int | None = None,
        chat_type: str = "private",
        first_name: str = "Lan",
        entities: list[dict[str, Any]] | None = None,
        command_entity: bool = True,
        **extra: Any,
    ) -> dict[str, Any]:
        """A message object from a user."""
        chat_id = chat if chat is not None else user
        chat_obj: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat_obj["first_name"] = first_name
        else:
            chat_obj["title"] = "Chi bộ thử nghiệm"
        msg: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat_obj,
            "from": {"id": user, "is_bot": False, "first_name": first_name},
            **extra,
        }
        if text is not None:
            msg["text"] = text
            if entities is None and command_entity and text.startswith("/"):
                entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
            if entities:
                msg["entities"] = entities
        return msg

    async def say(self, text: str, **kwargs: Any) -> None:
        """A user sends a text message."""
        await self.feed({"message": self.message(text, **kwargs)})

    async def press(self, data: str, *, user: int = USER, chat: int | None = None) -> None:
        """A user presses an inline button with callback data ``data``."""
        chat_id = chat if chat is not None else user
        await self.feed(
            {
                "callback_query": {
                    "id": f"cb{next(self._update_ids)}",
                    "from": {"id": user, "is_bot": False, "first_name": "Lan"},
                    "chat_instance": "test-instance",
                    "data": data,
                    "message": {
                        "message_id": 4999,
                        "date": int(time.time()),
                        "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
                        "from": {"id": BOT_ID, "is_bot": True, "first_name": "Hỏi đáp"},
                        "text": "…",
                    },
                }
            }
        )

    async def rows(self) -> list[dict[str, Any]]:
        """Every row of the query log, after flushing the writer."""
        assert self.data.log is not None
        await self.data.log.flush()
        db = sqlite3.connect(self.settings.db_path)
        db.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in db.execute("SELECT * FROM queries ORDER BY time, rowid")]
        finally:
            db.close()


@pytest.fixture(scope="session")
def tg_engine() -> Engine:
    """The real knowledge base, loaded once for the whole run."""
    return Engine.load(KNOWLEDGE)


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Test settings: a fake token, one admin, a log in tmp_path, no file watching."""
    values: dict[str, Any] = {
        "token": "123456:TEST",
        "admin_ids": frozenset({ADMIN}),
        "db_path": tmp_path / "queries.sqlite3",
        "knowledge_dir": KNOWLEDGE,
        "log_secret": "test-secret",
        "watch_knowledge": False,
    }
    values.update(overrides)
    return Settings(**values)


async def start_harness(
    settings: Settings, engine: Engine | None, fail: set[str] | None = None
) -> Harness:
    """Build, initialize and post_init an application the way run_polling would."""
    request = RecordingRequest(fail)
    app = tg.build_application(settings, request=request, engine=engine)
    harness = Harness(app, request, settings)

    async def collect(update: object, context: Any) -> None:
        harness.errors.append(context.error)

    app.add_error_handler(collect)
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)
    return harness


async def stop_harness(harness: Harness) -> None:
    """Shut down like run_polling: stop hooks, shutdown, then flush the log."""
    app = harness.app
    assert app.post_stop is not None and app.post_shutdown is not None
    await app.post_stop(app)
    await app.shutdown()
    await app.post_shutdown(app)


@pytest.fixture
async def tg_bot(tmp_path: Path, tg_engine: Engine) -> AsyncIterator[Harness]:
    """A running bot (offline) with the real knowledge base and a fresh query log."""
    harness = await start_harness(make_settings(tmp_path), tg_engine)
    harness.request.clear()
    yield harness
    await stop_harness(harness)
    assert not harness.errors, harness.errors


# --- commands -------------------------------------------------------------------------------------


async def test_start_greets_lists_sources_and_offers_examples(tg_bot: Harness) -> None:
    await tg_bot.say("/start", first_name="<b>Lan</b> & Co")
    [reply] = tg_bot.request.messages(USER)
    assert_html(reply)
    assert "Xin chào &lt;b&gt;Lan&lt;/b&gt; &amp; Co!" in reply["text"]
    for source in tg_bot.data.holder.current.sources:
        assert render.esc(source.title) in reply["text"]
    examples = [b for b in buttons(reply) if b[1].startswith("q:")]
    assert 3 <= len(examples) <= 4
    # pressing an example asks it
    tg_bot.request.clear()
    await tg_bot.press(examples[0][1])
    answer = tg_bot.request.messages(USER)[-1]
    assert_html(answer)
    assert "📚" in answer["text"]
    rows = await tg_bot.rows()
    assert [r["status"] for r in rows] == ["answered"]


async def test_commands_registered_at_start_up(tmp_path: Path, tg_engine: Engine) -> None:
    harness = await start_harness(make_settings(tmp_path), tg_engine)
    try:
        calls = [p for name, p in harness.request.calls if name == "setMyCommands"]
        public = json.dumps(calls[0]["commands"], ensure_ascii=False)
        assert all(f'"{name}"' in public for name, _ in render.COMMANDS)
        assert '"stats"' not in public
        assert any("scope" in p and '"stats"' in json.dumps(p["commands"]) for p in calls[1:])
    finally:
        await stop_harness(harness)


async def test_help_and_nguon(tg_bot: Harness) -> None:
    await tg_bot.say("/help")
    await tg_bot.say("/nguon")
    help_reply, sources_reply = tg_bot.request.messages(USER)
    assert_html(help_reply)
    assert_html(sources_reply)
    assert "/hoi" in help_reply["text"] and "/stats" not in help_reply["text"]
    assert f"@{BOT_USERNAME}" in help_reply["text"]
    for source in tg_bot.data.holder.current.sources:
        assert source.display_date in sources_reply["text"]
    tg_bot.request.clear()
    await tg_bot.say("/help", user=ADMIN)
    assert "/stats" in tg_bot.request.messages(ADMIN)[0]["text"]


async def test_command_without_entity_still_works(tg_bot: Harness) -> None:
    """Emulators send '/start' with no bot_command entity; it is still the command."""
    await tg_bot.say("/start", command_entity=False)
    await tg_bot.say("/hoi@" + BOT_USERNAME + " " + IN_SCOPE, command_entity=False)
    greeting, answer = tg_bot.request.messages(USER)
    assert "Xin chào" in greeting["text"]
    assert "1948" in answer["text"]
    assert len(await tg_bot.rows()) == 1


async def test_slash_text_that_is_not_a_command_is_a_question(tg_bot: Harness) -> None:
    await tg_bot.say("/ " + IN_SCOPE, command_entity=False)
    await tg_bot.say(f"@{BOT_USERNAME} {NO_DIACRITICS}")  # a mention in a private chat
    replies = tg_bot.request.messages(USER)
    assert len(replies) == 2 and all("7/11/1948" in r["text"] for r in replies)
    rows = await tg_bot.rows()
    assert rows[1]["question"] == NO_DIACRITICS


async def test_unknown_command(tg_bot: Harness) -> None:
    await tg_bot.say("/khongco")
    [reply] = tg_bot.request.messages(USER)
    assert reply["text"] == render.UNKNOWN_COMMAND
    assert await tg_bot.rows() == []


# --- questions ------------------------------------------------------------------------------------


async def test_in_scope_question_is_answered_with_citation_and_buttons(tg_bot: Harness) -> None:
    await tg_bot.say(IN_SCOPE)
    assert "sendChatAction" in tg_bot.request.methods()
    [reply] = tg_bot.request.messages(USER)
    assert_html(reply)
    assert "7/11/1948" in reply["text"]
    assert "<blockquote>" in reply["text"] and "📚 <b>Nguồn trích dẫn:</b>" in reply["text"]
    data = [d for _, d in buttons(reply)]
    assert any(d.startswith("r:") for d in data)
    assert any(d.startswith("s:") for d in data)
    [row] = await tg_bot.rows()
    assert f"f:u:{row['id']}" in data and f"f:d:{row['id']}" in data
    assert row["status"] == "answered"
    assert row["entry_id"] == "dbk-thanh-lap-nam-nao"
    assert row["question"] == IN_SCOPE
    assert row["chat_type"] == "private"
    assert row["reply_message_id"] is not None
    assert row["kb_version"] == tg_bot.data.holder.current.version
    assert str(USER) not in (row["user_key"] or "")
    assert row["user_key"] == tg_bot.data.log.user_key(USER)  # type: ignore[union-attr]


async def test_question_without_diacritics(tg_bot: Harness) -> None:
    await tg_bot.say(NO_DIACRITICS)
    [reply] = tg_bot.request.messages(USER)
    assert "7/11/1948" in reply["text"]
    [row] = await tg_bot.rows()
    assert (row["status"], row["entry_id"]) == ("answered", "dbk-thanh-lap-nam-nao")


async def test_out_of_scope_question_is_an_honest_no(tg_bot: Harness) -> None:
    await tg_bot.say(OUT_OF_SCOPE)
    [reply] = tg_bot.request.messages(USER)
    assert_html(reply)
    assert "ghi lại" in reply["text"]
    assert "7/11/1948" not in reply["text"]
    [row] = await tg_bot.rows()
    assert row["status"] == "no_answer" and row["entry_id"] is None
    for _, data in buttons(reply):  # nearest topics, as suggestion buttons for this query
        assert data.startswith("e:") and data.endswith(f":{row['id']}")


async def test_markup_in_question_and_knowledge_is_escaped(tg_bot: Harness) -> None:
    await tg_bot.say('<b>Đảng bộ Khối</b> thành lập <script>alert("x")</script> ngày nào? & <a')
    for reply in tg_bot.request.messages(USER):
        assert_html(reply)
        assert "<script>" not in reply["text"]
    [row] = await tg_bot.rows()
    assert row["question"].startswith("<b>Đảng bộ Khối</b>")
    hostile = Result(
        question="q",
        status="answered",
        answer="A <b>bold</b> & <script>x</script>",
        citations=(Citation("src", "Title <i>", "2023 & <x>", 'quote </blockquote> "q"'),),
        entry_id="x",
        related=(Suggestion("y", "Related <tag>?"),),
        kind="entry",
    )
    [out] = render.render_result(hostile, "abcdef123456")
    assert not render.html_problems(out.text)
    assert "&lt;script&gt;" in out.text and "</blockquote> " not in out.text
    assert "Title &lt;i&gt;" in out.text and "2023 &amp; &lt;x&gt;" in out.text


async def test_vague_question_then_suggestion_press_answers_and_logs_choice(
    tg_bot: Harness,
) -> None:
    await tg_bot.say(VAGUE)
    [reply] = tg_bot.request.messages(USER)
    assert_html(reply)
    assert render.DID_YOU_MEAN in reply["text"]
    [row] = await tg_bot.rows()
    assert row["status"] == "ambiguous"
    suggestions = [b for b in buttons(reply) if b[1].startswith("e:")]
    assert 2 <= len(suggestions) <= 4
    assert (render.NONE_OF_THESE_BUTTON, f"n:{row['id']}") in buttons(reply)
    assert json.loads(row["suggestions"]) == [d.split(":")[1] for _, d in suggestions]
    chosen = suggestions[0][1].split(":")[1]

    tg_bot.request.clear()
    await tg_bot.press(suggestions[0][1])
    assert tg_bot.request.callback_answers()
    [answer] = tg_bot.request.messages(USER)
    assert_html(answer)
    entry = tg_bot.data.holder.current.answer_entry(chosen)
    assert entry is not None
    assert render.esc(entry.question) in answer["text"]
    assert ("👍", f"f:u:{row['id']}") in buttons(answer)
    [row] = await tg_bot.rows()
    assert row["chosen"] == chosen

    await tg_bot.press(f"n:{row['id']}")
    [row] = await tg_bot.rows()
    assert row["chosen"] == "-"
    assert "ghi lại" in tg_bot.request.messages(USER)[-1]["text"]


async def test_feedback_press_is_recorded(tg_bot: Harness) -> None:
    await tg_bot.say(IN_SCOPE)
    [row] = await tg_bot.rows()
    await tg_bot.press(f"f:u:{row['id']}")
    [row] = await tg_bot.rows()
    assert row["feedback"] == "up" and row["feedback_time"]
    assert tg_bot.request.callback_answers()[-1]["text"] == render.FEEDBACK_THANKS["up"]
    await tg_bot.press(f"f:d:{row['id']}")
    [row] = await tg_bot.rows()
    assert row["feedback"] == "down"


async def test_related_and_source_buttons(tg_bot: Harness) -> None:
    await tg_bot.press("r:ngay-truyen-thong")
    await tg_bot.press("s:so-dang-vien-hien-nay")
    related, source = tg_bot.request.messages(USER)
    assert_html(related)
    assert_html(source)
    assert "Ngày Truyền thống" in related["text"]
    assert "Đoạn văn gốc" in source["text"] and "78.449" in source["text"]
    assert await tg_bot.rows() == []  # button presses are not new questions


@pytest.mark.parametrize(
    "data",
    [
        "garbage",
        "",
        "e:khong-ton-tai:abcdef123456",
        "r:khong-ton-tai",
        "s:khong-ton-tai",
        "f:x:abcdef123456",
        "f:u:",
        "n:<script>",
        "q:9",
        "e:" + "a" * 70,
        "E:NGAY-TRUYEN-THONG:abcdef123456",
    ],
)
async def test_forged_or_stale_callback_gets_a_polite_answer(tg_bot: Harness, data: str) -> None:
    await tg_bot.press(data)
    assert tg_bot.request.messages() == []
    [answer] = tg_bot.request.callback_answers()
    assert answer["text"] == render.STALE_BUTTON


async def test_sticker_photo_voice_edits_and_channel_posts(tg_bot: Harness) -> None:
    sticker = {
        "file_id": "s",
        "file_unique_id": "su",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    photo = [{"file_id": "p", "file_unique_id": "pu", "width": 90, "height": 90}]
    voice = {"file_id": "v", "file_unique_id": "vu", "duration": 2}
    await tg_bot.feed({"message": tg_bot.message(sticker=sticker)})
    await tg_bot.feed({"message": tg_bot.message(photo=photo)})
    await tg_bot.feed({"message": tg_bot.message(voice=voice)})
    replies = tg_bot.request.messages(USER)
    assert len(replies) == 3 and all(r["text"] == render.NON_TEXT for r in replies)
    tg_bot.request.clear()
    edited = tg_bot.message(IN_SCOPE, edit_date=int(time.time()))
    await tg_bot.feed({"edited_message": edited})
    channel = {
        "message_id": 9,
        "date": int(time.time()),
        "chat": {"id": -100999, "type": "channel", "title": "Kênh"},
        "text": IN_SCOPE,
    }
    await tg_bot.feed({"channel_post": channel})
    await tg_bot.feed({"edited_channel_post": {**channel, "edit_date": int(time.time())}})
    group_sticker = tg_bot.message(chat=GROUP, chat_type="group", sticker=sticker)
    await tg_bot.feed({"message": group_sticker})
    assert tg_bot.request.messages() == []
    assert await tg_bot.rows() == []


async def test_very_long_message_gets_too_long_and_is_logged(tg_bot: Harness) -> None:
    text = "Đảng bộ Khối " * 385  # 5,005 characters
    assert len(text) > 5000
    await tg_bot.say(text)
    [reply] = tg_bot.request.messages(USER)
    assert_html(reply)
    assert "dài quá" in reply["text"]
    [row] = await tg_bot.rows()
    assert row["status"] == "no_answer" and len(row["question"]) == len(text.strip())
    assert row["reply_message_id"] is not None


# --- groups ---------------------------------------------------------------------------------------


async def test_group_answers_only_when_addressed(tg_bot: Harness) -> None:
    group = {"chat": GROUP, "chat_type": "supergroup"}
    await tg_bot.say(IN_SCOPE, **group)
    await tg_bot.say("Chào cả nhà, chiều nay họp chi bộ nhé", **group)
    await tg_bot.say("/start@another_bot", **group)
    assert tg_bot.request.messages() == []
    assert await tg_bot.rows() == []

    mention = f"@{BOT_USERNAME}"
    entities = [{"type": "mention", "offset": 0, "length": len(mention)}]
    await tg_bot.say(f"{mention} {IN_SCOPE}", entities=entities, **group)
    await tg_bot.say(f"{IN_SCOPE} @{BOT_USERNAME.upper()}", **group)  # no entity (emulators)
    bot_message = {
        "message_id": 4000,
        "date": int(time.time()),
        "chat": {"id": GROUP, "type": "supergroup", "title": "Chi bộ"},
        "from": {"id": BOT_ID, "is_bot": True, "first_name": "Hỏi đáp"},
        "text": "…",
    }
    await tg_bot.say(NO_DIACRITICS, reply_to_message=bot_message, **group)
    await tg_bot.say(f"/hoi {IN_SCOPE}", **group)
    await tg_bot.say("/hoi", **group)
    replies = tg_bot.request.messages(GROUP)
    assert len(replies) == 5
    for reply in replies[:4]:
        assert_html(reply)
        assert "7/11/1948" in reply["text"]
        assert reply.get("reply_parameters")  # quotes the asker's message
    assert "/hoi" in replies[4]["text"]
    rows = await tg_bot.rows()
    assert len(rows) == 4
    assert {r["chat_type"] for r in rows} == {"supergroup"}
    assert rows[0]["question"] == IN_SCOPE  # the mention is not part of the question


# --- admin ----------------------------------------------------------------------------------------


async def test_admin_commands_refused_for_non_admins(
    tg_bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.telegram_app")
    for command in ("/stats", "/unanswered", "/reload"):
        await tg_bot.say(command)
    await tg_bot.say("/stats", command_entity=False)
    replies = tg_bot.request.messages(USER)
    assert [r["text"] for r in replies] == [render.UNKNOWN_COMMAND] * 4
    refused = [r for r in caplog.records if "refused for non-admin" in r.getMessage()]
    assert len(refused) == 4
    assert all(str(USER) not in r.getMessage() for r in refused)


async def test_admin_stats_and_unanswered(tg_bot: Harness) -> None:
    await tg_bot.say(IN_SCOPE)
    await tg_bot.say(OUT_OF_SCOPE)
    await tg_bot.say(VAGUE)
    tg_bot.request.clear()
    await tg_bot.say("/stats", user=ADMIN)
    replies = tg_bot.request.messages(ADMIN)
    assert len(replies) == 2
    for reply in replies:
        assert_html(reply)
        assert "<pre>" in reply["text"]
    assert "Tổng số: 3" in replies[0]["text"]
    assert "█" in replies[1]["text"] and "░" in replies[1]["text"]
    tg_bot.request.clear()
    await tg_bot.say("/unanswered", user=ADMIN)
    [reply] = tg_bot.request.messages(ADMIN)
    assert_html(reply)
    assert render.esc(OUT_OF_SCOPE) in reply["text"]


async def test_admin_stats_chart_as_photo_when_plotting_is_available(
    tg_bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tg, "chart_available", lambda: True)
    monkeypatch.setattr(tg, "chart_png", lambda per_day: b"\x89PNG fake")
    await tg_bot.say(IN_SCOPE)
    await tg_bot.say("/stats 3", user=ADMIN)
    assert "sendPhoto" in tg_bot.request.methods()
    assert len(tg_bot.request.messages(ADMIN)) == 1


async def test_reload_valid_then_broken_knowledge_keeps_serving(
    tmp_path: Path, tg_engine: Engine
) -> None:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, knowledge)
    harness = await start_harness(make_settings(tmp_path, knowledge_dir=knowledge), tg_engine)
    try:
        await harness.say("/reload", user=USER)
        assert harness.request.messages(USER)[-1]["text"] == render.UNKNOWN_COMMAND
        await harness.say("/reload", user=ADMIN)
        ok = harness.request.messages(ADMIN)[-1]
        assert_html(ok)
        assert ok["text"].startswith("✅")
        version = harness.data.holder.current.version

        (knowledge / "entries" / "zz-broken.yaml").write_text(
            "topic: hỏng\nentries:\n  - id: BAD ID\n    question: [unclosed\n", encoding="utf-8"
        )
        await harness.say("/reload", user=ADMIN)
        failed = harness.request.messages(ADMIN)[-1]
        assert_html(failed)
        assert failed["text"].startswith("❌") and "zz-broken.yaml" in failed["text"]
        assert harness.data.holder.current.version == version
        harness.request.clear()
        await harness.say(IN_SCOPE)
        assert "7/11/1948" in harness.request.messages(USER)[-1]["text"]
        assert not harness.errors
    finally:
        await stop_harness(harness)


async def test_broken_file_saved_while_running_is_reported_to_admins(
    tmp_path: Path, tg_engine: Engine
) -> None:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, knowledge)
    settings = make_settings(tmp_path, knowledge_dir=knowledge, watch_knowledge=True)
    harness = await start_harness(settings, tg_engine)
    try:
        version = harness.data.holder.current.version
        for attempt in range(4):  # saved again if the watcher was not watching yet
            (knowledge / "facts.yaml").write_text(f"facts: [broken {attempt}\n", encoding="utf-8")
            for _ in range(50):  # the watcher debounces (1 s); wait for its report
                if harness.request.messages(ADMIN):
                    break
                await asyncio.sleep(0.1)
            if harness.request.messages(ADMIN):
                break
        [report] = harness.request.messages(ADMIN)
        assert_html(report)
        assert report["text"].startswith("❌") and "facts.yaml" in report["text"]
        assert harness.data.holder.current.version == version
        await harness.say(IN_SCOPE)
        assert "7/11/1948" in harness.request.messages(USER)[-1]["text"]
    finally:
        await stop_harness(harness)


# --- robustness -----------------------------------------------------------------------------------


async def test_rate_limit_slows_a_flooding_user(tg_bot: Harness) -> None:
    now = [1000.0]
    tg_bot.data.messages.clock = lambda: now[0]
    for i in range(20):  # 20 messages in 10 s
        now[0] += 0.5
        await tg_bot.say(f"{IN_SCOPE} ({i})")
    replies = tg_bot.request.messages(USER)
    notices = [r for r in replies if r["text"] == render.RATE_LIMITED]
    assert len(notices) == 1
    rows = await tg_bot.rows()
    assert len(rows) == len(replies) - 1 < 20
    # another user is not affected
    await tg_bot.say(IN_SCOPE, user=USER + 1)
    assert len(tg_bot.request.messages(USER + 1)) == 1


async def test_optional_calls_rejected_by_the_server_are_tolerated(
    tmp_path: Path, tg_engine: Engine
) -> None:
    harness = await start_harness(
        make_settings(tmp_path), tg_engine, fail={"setMyCommands", "sendChatAction"}
    )
    try:
        await harness.say(IN_SCOPE)
        await harness.say(NO_DIACRITICS)
        replies = harness.request.messages(USER)
        assert len(replies) == 2 and all("7/11/1948" in r["text"] for r in replies)
        assert not harness.errors
    finally:
        await stop_harness(harness)


class _Exploding:
    version = "boom"
    sources: tuple[Any, ...] = ()

    def answer(self, question: str) -> Result:
        raise RuntimeError("engine exploded <tag>")


async def test_errors_are_logged_then_reported_to_admins_at_most_once_a_minute(
    tg_bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="bot.telegram_app")
    good = tg_bot.data.holder.engine
    tg_bot.data.holder.engine = _Exploding()  # type: ignore[assignment]
    try:
        await tg_bot.say("câu một")
        await tg_bot.say("câu hai")
    finally:
        tg_bot.data.holder.engine = good
    assert len(tg_bot.errors) == 2
    tg_bot.errors.clear()
    assert any("unhandled error" in r.getMessage() for r in caplog.records)
    [report] = tg_bot.request.messages(ADMIN)
    assert_html(report)
    assert "engine exploded &lt;tag&gt;" in report["text"]
    apologies = tg_bot.request.messages(USER)
    assert [a["text"] for a in apologies] == [render.esc(render.ERROR_REPLY)] * 2


# --- rendering and settings -----------------------------------------------------------------------


def test_long_answers_are_split_without_breaking_tags() -> None:
    long_quote = "Đảng bộ <Khối> & các cơ quan " * 400
    result = Result(
        question="q",
        status="answered",
        answer=("Đoạn " * 300 + "\n") * 5,
        citations=(Citation("s", "Nguồn", "2023", long_quote),) * 2,
        entry_id="e",
        kind="entry",
    )
    out = render.render_result(result, "abcdef123456")
    assert len(out) > 2
    for reply in out:
        assert not render.html_problems(reply.text), render.html_problems(reply.text)
        assert render.tg_len(reply.text) <= render.MAX_MESSAGE
    assert all(r.keyboard is None for r in out[:-1]) and out[-1].keyboard is not None
    one_word = render.pack([render.Piece.plain("x" * 9000, "pre")])
    assert len(one_word) == 3 and all(not render.html_problems(t) for t in one_word)


def test_callback_data_fits_64_bytes_for_every_entry(tg_engine: Engine) -> None:
    qid = tg.new_query_id()
    for entry_id in tg_engine.kb.entries:
        for data in (
            render.cb_entry(entry_id, qid),
            render.cb_related(entry_id),
            render.cb_source(entry_id),
        ):
            assert data is not None and len(data.encode()) <= 64
            parsed = render.parse_callback(data)
            assert parsed is not None and parsed.entry_id == entry_id
    assert render.parse_callback(render.cb_feedback("down", qid)) == render.Callback(
        "feedback", None, qid, "down"
    )
    assert render.cb_entry("a" * 70, qid) is None
    assert render.parse_callback(None) is None


def test_settings_from_env() -> None:
    settings = Settings.from_env(
        {
            "TELEGRAM_BOT_TOKEN": "123:abc",
            "BOT_ADMIN_IDS": "1, 2,,3",
            "BOT_WATCH_KNOWLEDGE": "off",
            "BOT_WEBHOOK_URL": "https://bot.example.org/hook/abc",
            "BOT_WEBHOOK_PORT": "8080",
        }
    )
    assert settings.admin_ids == {1, 2, 3}
    assert settings.api_url == "https://api.telegram.org/bot"
    assert settings.db_path == Path("data/queries.sqlite3")
    assert settings.knowledge_dir == Path("knowledge")
    assert settings.log_retention_days == 365
    assert settings.watch_knowledge is False
    assert settings.use_webhook and settings.webhook_path == "hook/abc"
    assert "123:abc" not in settings.describe()
    polling = Settings.from_env(
        {"TELEGRAM_BOT_TOKEN": "t", "TELEGRAM_API_URL": "http://127.0.0.1:1/bot"}
    )
    assert not polling.use_webhook and polling.watch_knowledge
    bad = [
        {},
        {"TELEGRAM_BOT_TOKEN": "t", "BOT_ADMIN_IDS": "1,abc"},
        {"TELEGRAM_BOT_TOKEN": "t", "BOT_LOG_RETENTION_DAYS": "a year"},
        {"TELEGRAM_BOT_TOKEN": "t", "BOT_WEBHOOK_PORT": "70000"},
        {"TELEGRAM_BOT_TOKEN": "t", "BOT_WEBHOOK_URL": "http://insecure.example.org"},
        {"TELEGRAM_BOT_TOKEN": "t", "BOT_WEBHOOK_SECRET": "has spaces"},
        {"TELEGRAM_BOT_TOKEN": "t", "TELEGRAM_API_URL": "ftp://x"},
        {"TELEGRAM_BOT_TOKEN": "t", "BOT_WATCH_KNOWLEDGE": "maybe"},
    ]
    for env in bad:
        with pytest.raises(SettingsError):
            Settings.from_env(env)


async def test_heartbeat_for_the_container_healthcheck(
    tmp_path: Path, tg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path)
    monkeypatch.setenv("BOT_DB", str(settings.db_path))
    assert tg.healthcheck() == 1  # not running yet
    harness = await start_harness(settings, tg_engine)
    try:
        await asyncio.sleep(0.05)
        assert tg.heartbeat_path(settings).is_file()
        assert tg.healthcheck() == 0
    finally:
        await stop_harness(harness)
    assert not tg.heartbeat_path(settings).exists()
    assert tg.healthcheck() == 1


def test_env_example_documents_every_variable() -> None:
    source = (Path(__file__).resolve().parent.parent / "bot" / "settings.py").read_text()
    read = set(re.findall(r'get\("([A-Z_]+)"\)', source))
    example = (Path(__file__).resolve().parent.parent / "deploy" / ".env.example").read_text()
    documented = set(re.findall(r"^([A-Z_]+)=", example, re.M))
    assert read == documented
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": "123:secret-token", "BOT_LOG_SECRET": "s3"})
    assert "secret-token" not in repr(settings) and "s3" not in repr(settings)


def test_repair_result_fixes_emulator_deviations() -> None:
    me, repaired = tg.repair_result("getMe", {"id": 1, "first_name": "B", "username": "b"})
    assert repaired and me["is_bot"] is True
    sent, repaired = tg.repair_result(
        "sendMessage",
        {"message_id": 5, "date": 1795438140827, "chat": {"id": 1, "type": "private"}},
    )
    assert repaired and sent["date"] == 1795438140
    updates, repaired = tg.repair_result(
        "getUpdates",
        [
            {
                "update_id": 3,
                "callback_query": {
                    "id": "1",
                    "from": {"id": 9, "first_name": "A"},
                    "message": {"chat": {"id": 9, "type": "private"}},
                    "data": "q:0",
                },
            }
        ],
    )
    query = updates[0]["callback_query"]
    assert repaired and query["chat_instance"] == "" and query["from"]["is_bot"] is False
    assert query["message"]["message_id"] == 0 and query["message"]["date"] == 0
    parsed = Update.de_json(updates[0], None)
    assert parsed is not None and parsed.callback_query is not None
    good = {"message_id": 5, "date": 1700000000, "chat": {"id": 1, "type": "private"}}
    assert tg.repair_result("sendMessage", dict(good)) == (good, False)


async def test_a_poll_cancelled_on_stopping_still_hands_over_its_updates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PTB cancels the getUpdates call in flight on stopping; what it brings is not dropped."""
    sent = {"ok": True, "result": [{"update_id": 41, "message": None}]}

    async def slow_server(self: Any, url: str, method: str, *args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0.05)  # the server has already sent (and forgotten) the updates
        return 200, json.dumps(sent).encode()

    monkeypatch.setattr(tg.HTTPXRequest, "do_request", slow_server)
    request = tg.LenientRequest()
    offered: list[list[Any]] = []
    request.late_updates = lambda updates: offered.append(updates) or True
    poll = asyncio.ensure_future(request.do_request("http://x/bot1:t/getUpdates", "POST"))
    await asyncio.sleep(0.01)
    poll.cancel()
    with pytest.raises(asyncio.CancelledError):
        await poll
    assert offered == []
    await request.settle()
    assert [[u["update_id"] for u in batch] for batch in offered] == [[41]]
    # an uncancelled call that the hook takes reaches PTB as "no updates"
    code, payload = await request.do_request("http://x/bot1:t/getUpdates", "POST")
    assert code == 200 and json.loads(payload)["result"] == []
    assert len(offered) == 2
