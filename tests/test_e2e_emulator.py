"""End-to-end: the real bot process (``python -m bot run``) polling a Bot API emulator.

The emulator is the npm package ``telegram-test-api`` (pinned in ``tests/e2e/package.json``),
started by ``tests/e2e/harness.js`` on a free 127.0.0.1 port; ``npm ci`` installs it into
``tests/e2e/node_modules`` the first time. The test talks to the emulator through the package's
client routes (``/sendMessage``, ``/sendCommand``, ``/sendCallback``, ``/getUpdates``) and reads
the bot's Bot API calls from the harness (``/e2e/calls``). Skipped only when node or npm is
missing.

The scenario: /start, in-scope, diacritic-free and out-of-scope questions, markup injection, a
vague question then a suggestion press, feedback presses, forged callbacks, a sticker, a
5,000-character message, a group with and without a mention, admin commands from an admin and a
non-admin, a flooding user, a broken knowledge file saved while running, and SIGTERM during a
burst (exit code 0, nothing lost). A second, short run uses the emulator with only the two fixes
PTB strictly needs (``--minimal``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from telegram_messages import inline_buttons

from bot import telegram_render as render

ROOT = Path(__file__).resolve().parent.parent
E2E = ROOT / "tests" / "e2e"
KNOWLEDGE = ROOT / "knowledge"
TOKEN = "123456:e2e-TOKEN"
BOT_USERNAME = "TestNameBot"  # what the emulator's getMe says
ADMIN = 718293645
USER = 718293646
MEMBER = 718293647
FLOODER = 718293648
BURSTER = 718293649
GROUP = -718293600
IN_SCOPE = "Đảng bộ Khối thành lập ngày nào?"
NO_DIACRITICS = "dang bo khoi thanh lap ngay nao"
OUT_OF_SCOPE = "Giá vàng hôm nay bao nhiêu?"
VAGUE = "nghị quyết"
INJECTION = '<b>Đảng bộ Khối</b> thành lập <script>alert("x")</script> ngày nào? & <a href="x">'
WAIT = 15.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ensure_node_modules() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed for the Bot API emulator (telegram-test-api)")
    if (E2E / "node_modules" / "telegram-test-api" / "package.json").is_file():
        return
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=E2E,
        check=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


@dataclass
class Emulator:
    """The harness process and a small client for its routes."""

    process: subprocess.Popen[bytes]
    port: int
    inbox: dict[int, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def base(self) -> str:
        """The emulator's URL."""
        return f"http://127.0.0.1:{self.port}"

    def _call(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path, data=data, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def message(
        self,
        text: str | None,
        *,
        user: int = USER,
        chat: int | None = None,
        first_name: str = "Lan",
        **extra: Any,
    ) -> dict[str, Any]:
        """A user message as the package's client builds it."""
        chat_id = user if chat is None else chat
        chat_obj: dict[str, Any] = {"id": chat_id, "type": "private" if chat_id > 0 else "group"}
        chat_obj["first_name" if chat_id > 0 else "title"] = first_name if chat_id > 0 else "Chi bộ"
        out: dict[str, Any] = {
            "botToken": TOKEN,
            "date": int(time.time()),
            "from": {"id": user, "is_bot": False, "first_name": first_name},
            "chat": chat_obj,
            **extra,
        }
        if text is not None:
            out["text"] = text
        return out

    def say(self, text: str | None, **kwargs: Any) -> None:
        """A user sends a message (text, or e.g. ``sticker=...``)."""
        self._call("/sendMessage", self.message(text, **kwargs))

    def command(self, text: str, **kwargs: Any) -> None:
        """A user sends a command (with its bot_command entity, as the client does)."""
        entity = {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
        self._call("/sendCommand", self.message(text, entities=[entity], **kwargs))

    def press(self, data: str, *, user: int = USER, chat: int | None = None, on: int = 1) -> None:
        """A user presses a button with ``data`` under the bot's message ``on``."""
        chat_id = user if chat is None else chat
        message = {
            "message_id": on,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": {"id": 666, "is_bot": True, "first_name": "Test First name"},
        }
        body = self.message(None, user=user, chat=chat)
        body.update({"message": message, "data": data})
        del body["chat"]
        self._call("/sendCallback", body)

    def fetch(self, chat_id: int) -> list[dict[str, Any]]:
        """New bot messages in a chat (kept in ``inbox`` too)."""
        got = self._call("/getUpdates", {"token": TOKEN, "chatId": chat_id})["result"] or []
        self.inbox.setdefault(chat_id, []).extend(got)
        return got

    def wait(self, chat_id: int, n: int = 1, settle: float = 0.4) -> list[dict[str, Any]]:
        """Wait for at least ``n`` new bot messages in a chat, then until ``settle`` s of quiet."""
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + WAIT
        while len(got) < n and time.monotonic() < deadline:
            got += self.fetch(chat_id)
            time.sleep(0.05)
        quiet_until = time.monotonic() + settle
        while time.monotonic() < min(quiet_until, deadline + WAIT):
            new = self.fetch(chat_id)
            if new:
                got += new
                quiet_until = time.monotonic() + settle
            time.sleep(0.05)
        assert len(got) >= n, f"expected {n} bot message(s) in chat {chat_id}, got {len(got)}"
        return got

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        """Bot API calls the bot made (optionally of one method)."""
        result = self._call("/e2e/calls")["result"]
        return [c for c in result if method is None or c["method"] == method]

    def pending(self) -> list[dict[str, Any]]:
        """User updates the bot has not confirmed."""
        return list(self._call("/e2e/pending")["result"])


def text_of(item: dict[str, Any]) -> str:
    """The text of a bot message, checked to be well-formed Telegram HTML."""
    message = item["message"]
    problems = render.html_problems(message["text"])
    assert not problems, (problems, message["text"][:300])
    assert message.get("parse_mode") == "HTML"
    return str(message["text"])


def buttons(item: dict[str, Any]) -> list[tuple[str, str]]:
    """(text, callback_data) of the inline buttons of a bot message."""
    return inline_buttons(item["message"])


@dataclass
class Run:
    """A bot process and its emulator."""

    emulator: Emulator
    bot: subprocess.Popen[bytes]
    db: Path
    knowledge: Path
    log: Path

    def log_tail(self) -> str:
        """The end of the bot's log, for failure messages."""
        return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]

    def stop(self) -> int:
        """SIGTERM the bot and wait for its exit status."""
        self.bot.send_signal(signal.SIGTERM)
        return self.bot.wait(timeout=30)


def _start(tmp_path: Path, *, minimal: bool = False, watch: bool = False) -> Run:
    _ensure_node_modules()
    port = _free_port()
    args = ["node", "harness.js", "--port", str(port)] + (["--minimal"] if minimal else [])
    harness = subprocess.Popen(args, cwd=E2E, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert harness.stdout is not None
    line = harness.stdout.readline().decode()
    assert line.startswith("READY"), f"emulator did not start: {line!r}"
    emulator = Emulator(harness, port)
    knowledge = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, knowledge)
    db = tmp_path / "queries.sqlite3"
    log = tmp_path / "bot.log"
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": f"http://127.0.0.1:{port}/bot",
        "BOT_ADMIN_IDS": str(ADMIN),
        "BOT_DB": str(db),
        "BOT_KNOWLEDGE": str(knowledge),
        "BOT_LOG_SECRET": "e2e-secret",
        "BOT_WATCH_KNOWLEDGE": "1" if watch else "0",
        "PYTHONUNBUFFERED": "1",
    }
    with log.open("wb") as out:
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    run = Run(emulator, bot, db, knowledge, log)
    deadline = time.monotonic() + 30
    while not emulator.calls("getUpdates"):
        assert bot.poll() is None, f"bot exited early:\n{run.log_tail()}"
        assert time.monotonic() < deadline, f"bot did not start polling:\n{run.log_tail()}"
        time.sleep(0.1)
    return run


def _cleanup(run: Run) -> None:
    for process in (run.bot, run.emulator.process):
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def e2e_run(tmp_path: Path) -> Iterator[Run]:
    """The bot polling the emulator (knowledge watching on)."""
    run = _start(tmp_path, watch=True)
    try:
        yield run
    finally:
        _cleanup(run)


def _rows(db: Path) -> list[dict[str, Any]]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute("SELECT * FROM queries ORDER BY time, rowid")]
    finally:
        con.close()


def test_bot_against_the_emulator(e2e_run: Run) -> None:
    em = e2e_run.emulator
    asked: list[str] = []  # every question that must be in the log

    # /start
    em.command("/start")
    [start] = em.wait(USER)
    assert "Xin chào Lan!" in text_of(start)
    assert 3 <= len([b for b in buttons(start) if b[1].startswith("q:")]) <= 4
    assert em.calls("setMyCommands"), "setMyCommands is attempted (and its failure tolerated)"

    # in-scope, diacritic-free and out-of-scope questions
    em.say(IN_SCOPE)
    asked.append(IN_SCOPE)
    [answer] = em.wait(USER)
    assert "7/11/1948" in text_of(answer) and "<blockquote>" in text_of(answer)
    feedback = [d for _, d in buttons(answer) if d.startswith("f:u:")]
    assert feedback, buttons(answer)
    em.say(NO_DIACRITICS)
    asked.append(NO_DIACRITICS)
    [answer2] = em.wait(USER)
    assert "7/11/1948" in text_of(answer2)
    em.say(OUT_OF_SCOPE)
    asked.append(OUT_OF_SCOPE)
    [honest] = em.wait(USER)
    assert "ghi lại" in text_of(honest) and "1948" not in text_of(honest)

    # markup injection
    em.say(INJECTION)
    asked.append(INJECTION)
    for item in em.wait(USER):
        assert "<script>" not in text_of(item)

    # a vague question, then a press on a suggestion
    em.say(VAGUE)
    asked.append(VAGUE)
    [vague] = em.wait(USER)
    assert render.DID_YOU_MEAN in text_of(vague)
    suggestions = [d for _, d in buttons(vague) if d.startswith("e:")]
    assert len(suggestions) >= 2
    assert any(d.startswith("n:") for _, d in buttons(vague))
    chosen = suggestions[0].split(":")[1]
    em.press(suggestions[0], on=vague["messageId"])
    [picked] = em.wait(USER)
    assert text_of(picked).startswith("<b>❓")

    # feedback presses, then forged callbacks (answered politely, no message)
    em.press(feedback[0], on=answer["messageId"])
    down = [d for _, d in buttons(picked) if d.startswith("f:d:")]
    em.press(down[0], on=picked["messageId"])
    em.press("e:khong-ton-tai:abcdef123456")
    em.press("garbage<script>")
    em.press("f:u:" + "x" * 70)
    em.say(IN_SCOPE)  # a question after the presses: its answer is the only new message
    asked.append(IN_SCOPE)
    [after] = em.wait(USER)
    assert "7/11/1948" in text_of(after)
    answers = [c["params"].get("text", "") for c in em.calls("answerCallbackQuery")]
    assert render.FEEDBACK_THANKS["up"] in answers and render.FEEDBACK_THANKS["down"] in answers
    assert answers.count(render.STALE_BUTTON) == 3

    # a sticker and a 5,000-character message
    sticker = {
        "file_id": "s1",
        "file_unique_id": "u1",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    em.say(None, sticker=sticker)
    [polite] = em.wait(USER)
    assert text_of(polite) == render.NON_TEXT
    long_text = ("Đảng bộ Khối các cơ quan Trung ương " * 140)[:5000]
    em.say(long_text)
    asked.append(long_text)
    [too_long] = em.wait(USER)
    assert "dài quá" in text_of(too_long)

    # a group, with and without a mention
    em.say(IN_SCOPE, user=MEMBER, chat=GROUP)
    em.say(f"@{BOT_USERNAME} {NO_DIACRITICS}", user=MEMBER, chat=GROUP)
    asked.append(NO_DIACRITICS)
    [group_answer] = em.wait(GROUP)
    assert "7/11/1948" in text_of(group_answer)

    # admin commands from a non-admin, then from the admin
    em.command("/stats", user=USER)
    em.command("/reload", user=USER)
    refused = em.wait(USER, 2)
    assert [text_of(r) for r in refused] == [render.UNKNOWN_COMMAND] * 2
    em.command("/stats", user=ADMIN)
    stats = em.wait(ADMIN, 2)
    assert "<pre>" in text_of(stats[0]) and "Tổng số" in text_of(stats[0])
    assert any("█" in text_of(s) for s in stats[1:])
    em.command("/unanswered", user=ADMIN)
    [unanswered] = em.wait(ADMIN)  # long questions are cut, so the report fits one message
    assert "Giá vàng" in text_of(unanswered) and "&lt;script&gt;" in text_of(unanswered)
    em.command("/reload", user=ADMIN)
    [reloaded] = em.wait(ADMIN)
    assert text_of(reloaded).startswith("✅")

    # a flooding user is slowed down: one notice, then ignored (and not logged)
    for i in range(20):
        em.say(f"{IN_SCOPE} #{i}", user=FLOODER)
    flood = em.wait(FLOODER, 2, settle=1.5)
    notices = [f for f in flood if text_of(f) == render.RATE_LIMITED]
    assert len(notices) == 1
    answered_flood = len(flood) - 1
    assert answered_flood < 20

    # a broken knowledge file saved while running: admins told, answering goes on
    (e2e_run.knowledge / "facts.yaml").write_text("facts: [broken\n", encoding="utf-8")
    [alert] = em.wait(ADMIN)
    assert text_of(alert).startswith("❌") and "facts.yaml" in text_of(alert)
    em.say(NO_DIACRITICS)
    asked.append(NO_DIACRITICS)
    [still] = em.wait(USER)
    assert "7/11/1948" in text_of(still)

    # SIGTERM in the middle of a burst: exit 0, nothing lost
    burst = [f"{IN_SCOPE} (lần {i})" for i in range(6)]
    for question in burst:
        em.say(question, user=BURSTER)
    em.wait(BURSTER, 1, settle=0)
    status = e2e_run.stop()
    assert status == 0, e2e_run.log_tail()
    log_text = e2e_run.log_tail()
    assert "Traceback" not in e2e_run.log.read_text(encoding="utf-8"), log_text
    assert "query log flushed and closed" in log_text

    rows = _rows(e2e_run.db)
    by_question = {r["question"]: r for r in rows}
    for question in asked:
        assert question in by_question, f"no log row for {question[:60]!r}"
    pending_burst = [
        u for u in em.pending() if u.get("message", {}).get("from", {}).get("id") == BURSTER
    ]
    burst_rows = [r for r in rows if r["question"] in burst]
    assert len(burst_rows) + len(pending_burst) == len(burst), (burst_rows, pending_burst)
    assert len([r for r in rows if r["question"].startswith(f"{IN_SCOPE} #")]) == answered_flood
    assert by_question[OUT_OF_SCOPE]["status"] == "no_answer"
    assert by_question[VAGUE]["status"] == "ambiguous"
    assert by_question[VAGUE]["chosen"] == chosen
    assert by_question[long_text]["status"] == "no_answer"
    first = next(r for r in rows if r["question"] == IN_SCOPE)
    assert (first["status"], first["entry_id"]) == ("answered", "dbk-thanh-lap-nam-nao")
    assert first["feedback"] == "up"
    assert by_question[VAGUE]["feedback"] == "down"  # 👎 under the picked suggestion's answer
    dump = "\n".join(con for con in sqlite3.connect(e2e_run.db).iterdump())
    for raw_id in (ADMIN, USER, MEMBER, FLOODER, BURSTER):
        assert str(raw_id) not in dump, "a raw Telegram user id is stored"

    export = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "logs",
            "--db",
            str(e2e_run.db),
            "export",
            "--format",
            "jsonl",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = [json.loads(line) for line in export.stdout.splitlines() if line.strip()]
    assert len(lines) == len(rows)
    assert {"time", "question", "status", "entry", "score", "feedback"} <= set(lines[0])


def test_bot_against_the_minimal_emulator(tmp_path: Path) -> None:
    """Only is_bot and chat_instance patched: the bot copes with the rest of the package as is."""
    run = _start(tmp_path, minimal=True)
    try:
        em = run.emulator
        em.say("/start")  # no bot_command entity, as the client's makeMessage sends it
        [start] = em.wait(USER)
        assert "Xin chào" in text_of(start)
        em.say(VAGUE)
        [vague] = em.wait(USER)
        suggestion = next(d for _, d in buttons(vague) if d.startswith("e:"))
        body = em.message(None)
        body.update({"message": {"from": body["from"], "chat": body["chat"]}, "data": suggestion})
        del body["chat"]
        em._call("/sendCallback", body)  # the client's callback message: no message_id, no date
        [picked] = em.wait(USER)
        assert text_of(picked).startswith("<b>❓")
        em.say(IN_SCOPE)
        [answer] = em.wait(USER)
        assert "7/11/1948" in text_of(answer)
        # SIGTERM in the middle of a burst: this emulator forgets updates once returned, so the
        # ones PTB's last getUpdates fetches while stopping must still be answered and logged
        burst = [f"{NO_DIACRITICS} {i}" for i in range(8)]
        for question in burst:
            em.say(question, user=BURSTER)
        assert run.stop() == 0, run.log_tail()
        assert "Traceback" not in run.log.read_text(encoding="utf-8"), run.log_tail()
        rows = _rows(run.db)
        assert [r["status"] for r in rows[:2]] == ["ambiguous", "answered"]
        assert rows[0]["chosen"] == suggestion.split(":")[1]
        assert all(r["reply_message_id"] for r in rows)
        unread = [
            u for u in em.pending() if u.get("message", {}).get("from", {}).get("id") == BURSTER
        ]
        logged = [r["question"] for r in rows[2:]]
        assert len(logged) + len(unread) == len(burst), (logged, unread, run.log_tail())
    finally:
        _cleanup(run)
