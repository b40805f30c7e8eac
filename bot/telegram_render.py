"""Telegram-HTML rendering of answers, menus and admin reports. Pure: no network, no state.

Everything that comes from users or from the knowledge files goes through ``esc`` (``&``, ``<``
and ``>``); the only markup is the fixed tags written here. Messages are built from ``Piece``s and
packed by ``pack`` into messages under Telegram's 4,096-character limit: a long piece is split
between lines or words and each part is wrapped in its own tags, so no message ever ends inside a
tag.

Callback data (at most 64 bytes, checked by ``_fit``) is one letter, a colon and fields:

========================  ==========================================================
``e:<entry>:<qid>``       a suggestion for query ``qid`` picked (``qid`` may be empty)
``r:<entry>``             a related follow-up question
``s:<entry>``             "📄 Nguồn": the fuller source passages of an entry
``f:u:<qid>``/``f:d:``    feedback 👍/👎 on the answer to query ``qid``
``n:<qid>``               "Không phải các câu trên" for query ``qid``
``q:<n>``                 the n-th example question of /start
========================  ==========================================================

This is format version 1: a future format must use new kind letters, so buttons left in old
chats parse as ``None`` (stale) instead of being misread. ``parse_callback`` never raises.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Literal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.results import Result, Suggestion

MAX_MESSAGE = 4096  # Telegram's limit on a message's text
SAFE_LIMIT = 4000  # what we pack to, measured on the HTML itself (an over-estimate)
MAX_CALLBACK_BYTES = 64
MAX_QUESTION_CHARS = 1000
BUTTON_CHARS = 64
MAX_RELATED = 3

CallbackKind = Literal["entry", "related", "source", "feedback", "none", "example"]
_ENTRY_ID = r"[a-z0-9][a-z0-9-]{0,62}"
_QUERY_ID = r"[A-Za-z0-9_-]{6,32}"
_CALLBACK_PATTERNS: tuple[tuple[CallbackKind, re.Pattern[str]], ...] = (
    ("entry", re.compile(rf"e:(?P<entry>{_ENTRY_ID}):(?P<qid>{_QUERY_ID})?")),
    ("related", re.compile(rf"r:(?P<entry>{_ENTRY_ID})")),
    ("source", re.compile(rf"s:(?P<entry>{_ENTRY_ID})")),
    ("feedback", re.compile(rf"f:(?P<value>[ud]):(?P<qid>{_QUERY_ID})")),
    ("none", re.compile(rf"n:(?P<qid>{_QUERY_ID})")),
    ("example", re.compile(r"q:(?P<value>[0-9])")),
)

# --- fixed texts (Vietnamese, shown to users) ----------------------------------------------------

BOT_TITLE = "Hỏi đáp Đảng bộ Khối"
TOO_LONG = (
    "Câu hỏi của bạn dài quá ({n} ký tự). Bạn vui lòng rút gọn thành một câu hỏi ngắn, "
    "dưới {limit} ký tự, để mình tìm câu trả lời chính xác hơn nhé."
)
NON_TEXT = (
    "Xin lỗi, mình chỉ đọc được câu hỏi gõ bằng chữ, chưa xem được hình ảnh, nhãn dán hay tin "
    "nhắn thoại. Bạn hãy gõ câu hỏi nhé, ví dụ: <i>Đảng bộ Khối thành lập ngày nào?</i>"
)
UNKNOWN_COMMAND = "Xin lỗi, mình không có lệnh này. Bạn gõ /help để xem các lệnh mình hỗ trợ nhé."
RATE_LIMITED = (
    "Bạn gửi tin nhắn hơi nhanh nên mình tạm dừng trả lời trong ít giây. "
    "Bạn vui lòng chờ một chút rồi hỏi tiếp nhé."
)
HOI_EMPTY = (
    "Bạn hãy gõ câu hỏi ngay sau lệnh, ví dụ: <code>/hoi Đảng bộ Khối thành lập ngày nào?</code>"
)
EMPTY_QUESTION = "Bạn hãy gõ một câu hỏi về lịch sử Đảng bộ Khối các cơ quan Trung ương nhé."
STALE_BUTTON = "Nút này đã cũ hoặc không còn hợp lệ. Bạn vui lòng gửi lại câu hỏi nhé."
FEEDBACK_THANKS = {
    "up": "Cảm ơn bạn! Mình đã ghi nhận đánh giá 👍.",
    "down": "Cảm ơn bạn đã góp ý! Câu trả lời này sẽ được chuyển cho người biên soạn xem lại.",
}
NONE_OF_THESE_REPLY = (
    "Cảm ơn bạn! Câu hỏi đã được ghi lại để người biên soạn bổ sung. Bạn có thể thử hỏi lại "
    "với cách diễn đạt khác, cụ thể hơn (ví dụ nêu rõ năm, sự kiện hoặc văn bản)."
)
RECORDED_NOTE = "📝 Câu hỏi của bạn đã được ghi lại để người biên soạn bổ sung."
NEAREST_LEAD = "Các chủ đề gần nhất mà mình có:"
DID_YOU_MEAN = "Có phải bạn muốn hỏi:"
NONE_OF_THESE_BUTTON = "🙅 Không phải các câu trên"
SOURCE_BUTTON = "📄 Nguồn"
ERROR_REPLY = (
    "Xin lỗi, mình gặp sự cố khi xử lý tin nhắn này. Bạn vui lòng thử lại sau ít phút nhé."
)
NO_PASSAGE = "Xin lỗi, mình không tìm thấy đoạn văn gốc của câu trả lời này."

COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "Lời chào và các câu hỏi ví dụ"),
    ("help", "Hướng dẫn sử dụng"),
    ("nguon", "Các tài liệu nguồn và ngày ban hành"),
    ("hoi", "Đặt câu hỏi (dùng được trong nhóm)"),
)
ADMIN_COMMANDS: tuple[tuple[str, str], ...] = (
    ("stats", "Thống kê câu hỏi (quản trị)"),
    ("unanswered", "Câu hỏi chưa trả lời được (quản trị)"),
    ("reload", "Nạp lại dữ liệu tri thức (quản trị)"),
)


# --- escaping and measuring ----------------------------------------------------------------------


def esc(text: object) -> str:
    """Escape text for Telegram HTML (``&``, ``<``, ``>``)."""
    return html.escape(str(text), quote=False)


def tg_len(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


_LONG_NAMES = (
    ("Đảng bộ Khối các cơ quan Trung ương", "Đảng bộ Khối"),
    ("Đảng ủy Khối các cơ quan Trung ương", "Đảng ủy Khối"),
)


def short(text: str, limit: int = BUTTON_CHARS) -> str:
    """Text for a button: long names shortened, cut at a word boundary with an ellipsis."""
    text = " ".join(text.split())
    for long_name, short_name in _LONG_NAMES:
        text = text.replace(long_name, short_name)
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,;:") + "…"


# --- messages ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """Part of a message: ready-made short HTML, or plain text wrapped in one optional tag."""

    html: str | None = None
    text: str = ""
    tag: str = ""
    attrs: str = ""

    @classmethod
    def raw(cls, markup: str) -> Piece:
        """A short piece of ready-made HTML (never split)."""
        return cls(html=markup)

    @classmethod
    def plain(cls, text: str, tag: str = "", attrs: str = "") -> Piece:
        """Plain text (escaped here), optionally wrapped in ``<tag attrs>``; split when long."""
        return cls(text=text, tag=tag, attrs=attrs)


BLANK = Piece.raw("")


@dataclass(frozen=True)
class Reply:
    """One message to send: HTML text and an optional inline keyboard."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None


def _split_plain(text: str, budget: int) -> list[str]:
    """Split text so each part, escaped, fits ``budget``: by lines, then words, then chars."""

    def size(s: str) -> int:
        return tg_len(esc(s))

    if size(text) <= budget:
        return [text]
    parts: list[str] = []
    current = ""

    def push(unit: str, sep: str) -> None:
        nonlocal current
        candidate = f"{current}{sep}{unit}" if current else unit
        if size(candidate) <= budget:
            current = candidate
            return
        if current:
            parts.append(current)
            current = ""
        if size(unit) <= budget:
            current = unit
            return
        if sep == "\n":  # an over-long line: by words
            for word in unit.split(" "):
                push(word, " ")
            return
        chunk = ""  # an over-long word: by characters
        for ch in unit:
            if size(chunk + ch) > budget:
                parts.append(chunk)
                chunk = ""
            chunk += ch
        current = chunk

    for line in text.split("\n"):
        push(line, "\n")
    if current:
        parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def _atoms(piece: Piece, limit: int) -> list[str]:
    """A piece as one or more balanced HTML strings, each within ``limit``."""
    if piece.html is not None:
        if tg_len(piece.html) <= limit:
            return [piece.html]
        text = html.unescape(re.sub(r"<[^>]*>", "", piece.html))
        return _atoms(Piece.plain(text), limit)
    open_tag = f"<{piece.tag}{piece.attrs}>" if piece.tag else ""
    close_tag = f"</{piece.tag}>" if piece.tag else ""
    budget = max(16, limit - tg_len(open_tag) - tg_len(close_tag))
    return [f"{open_tag}{esc(part)}{close_tag}" for part in _split_plain(piece.text, budget)]


def pack(pieces: Iterable[Piece], limit: int = SAFE_LIMIT) -> list[str]:
    """Join pieces with newlines into as few messages as fit ``limit``; never splits a tag."""
    messages: list[str] = []
    current: str | None = None
    for piece in pieces:
        for atom in _atoms(piece, limit):
            if current is None:
                current = atom
            elif tg_len(current) + 1 + tg_len(atom) <= limit:
                current = f"{current}\n{atom}"
            else:
                messages.append(current)
                current = atom
    if current is not None:
        messages.append(current)
    return [m.strip() for m in messages if m.strip()]


def replies(pieces: Iterable[Piece], keyboard: InlineKeyboardMarkup | None = None) -> list[Reply]:
    """Packed messages; the keyboard goes under the last one."""
    texts = pack(pieces)
    if not texts:
        return []
    out = [Reply(t) for t in texts[:-1]]
    out.append(Reply(texts[-1], keyboard))
    return out


# --- callback data -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Callback:
    """A parsed button press."""

    kind: CallbackKind
    entry_id: str | None = None
    query_id: str | None = None
    value: str | None = None


def _fit(data: str) -> str | None:
    return data if len(data.encode("utf-8")) <= MAX_CALLBACK_BYTES else None


def cb_entry(entry_id: str, query_id: str | None) -> str | None:
    """Data for a suggestion button; drops the query id if the whole would exceed 64 bytes."""
    return _fit(f"e:{entry_id}:{query_id or ''}") or _fit(f"e:{entry_id}:")


def cb_related(entry_id: str) -> str | None:
    """Data for a follow-up question button."""
    return _fit(f"r:{entry_id}")


def cb_source(entry_id: str) -> str | None:
    """Data for the "📄 Nguồn" button."""
    return _fit(f"s:{entry_id}")


def cb_feedback(value: Literal["up", "down"], query_id: str) -> str | None:
    """Data for 👍 (``up``) or 👎 (``down``)."""
    return _fit(f"f:{value[0]}:{query_id}")


def cb_none(query_id: str) -> str | None:
    """Data for "Không phải các câu trên"."""
    return _fit(f"n:{query_id}")


def cb_example(index: int) -> str:
    """Data for the n-th example question of /start."""
    return f"q:{index}"


def parse_callback(data: object) -> Callback | None:
    """A button's data parsed, or None for anything forged, stale or malformed. Never raises."""
    if not isinstance(data, str) or not data or len(data.encode("utf-8")) > MAX_CALLBACK_BYTES:
        return None
    for kind, pattern in _CALLBACK_PATTERNS:
        match = pattern.fullmatch(data)
        if match is None:
            continue
        groups = match.groupdict()
        value = groups.get("value")
        if kind == "feedback":
            value = "up" if value == "u" else "down"
        return Callback(kind, groups.get("entry"), groups.get("qid") or None, value)
    return None


def _button(text: str, data: str | None) -> InlineKeyboardButton | None:
    return None if data is None else InlineKeyboardButton(text, callback_data=data)


def _keyboard(rows: Iterable[Iterable[InlineKeyboardButton | None]]) -> InlineKeyboardMarkup | None:
    clean = [[b for b in row if b is not None] for row in rows]
    clean = [row for row in clean if row]
    return InlineKeyboardMarkup(clean) if clean else None


# --- answers -------------------------------------------------------------------------------------


def citation_pieces(result: Result) -> list[Piece]:
    """The citation block: for each quote, the source title and date, then the quote."""
    if not result.citations:
        return []
    pieces = [BLANK, Piece.raw("📚 <b>Nguồn trích dẫn:</b>")]
    numbered = len(result.citations) > 1
    for i, c in enumerate(result.citations, 1):
        number = f"<b>{i}.</b> " if numbered else ""
        date = f" ({esc(c.date)})" if c.date else ""
        pieces.append(Piece.raw(f"{number}<i>{esc(c.title)}</i>{date}"))
        pieces.append(Piece.plain(f"“{c.quote.strip()}”", "blockquote"))
    return pieces


def render_result(
    result: Result,
    query_id: str | None,
    *,
    heading: str | None = None,
    feedback: bool = True,
) -> list[Reply]:
    """An engine result as messages with buttons (answer, suggestions or an honest no)."""
    pieces: list[Piece] = []
    if heading:
        pieces += [Piece.plain(f"❓ {heading}", "b"), BLANK]
    if result.status == "ambiguous":
        return replies(pieces + _ambiguous_pieces(result), _ambiguous_keyboard(result, query_id))
    if result.status == "no_answer":
        pieces.append(Piece.plain(result.answer))
        if "ghi lại" not in result.answer:
            pieces += [BLANK, Piece.plain(RECORDED_NOTE)]
        if result.suggestions and "dưới đây" not in result.answer:
            pieces += [BLANK, Piece.plain(NEAREST_LEAD)]
        nearest = [
            [_button(f"🔎 {short(s.question)}", cb_entry(s.entry_id, query_id))]
            for s in result.suggestions
        ]
        return replies(pieces, _keyboard(nearest))
    pieces.append(Piece.plain(result.answer))
    pieces += citation_pieces(result)
    rows: list[list[InlineKeyboardButton | None]] = [
        [_button(f"➡️ {short(r.question)}", cb_related(r.entry_id))]
        for r in result.related[:MAX_RELATED]
    ]
    last: list[InlineKeyboardButton | None] = []
    if result.entry_id and result.citations:
        last.append(_button(SOURCE_BUTTON, cb_source(result.entry_id)))
    if feedback and query_id and result.kind != "smalltalk":
        last.append(_button("👍", cb_feedback("up", query_id)))
        last.append(_button("👎", cb_feedback("down", query_id)))
    rows.append(last)
    return replies(pieces, _keyboard(rows))


def _ambiguous_pieces(result: Result) -> list[Piece]:
    lead = result.answer
    cut = lead.find("Có phải bạn muốn hỏi")
    if cut >= 0:
        lead = lead[:cut]
    pieces: list[Piece] = []
    if lead.strip():
        pieces += [Piece.plain("🤔 " + lead.strip()), BLANK]
    pieces.append(Piece.raw(f"<b>{esc(DID_YOU_MEAN)}</b>"))
    for i, s in enumerate(result.suggestions, 1):
        pieces.append(Piece.plain(f"{i}. {s.question}"))
    return pieces


def _ambiguous_keyboard(result: Result, query_id: str | None) -> InlineKeyboardMarkup | None:
    rows: list[list[InlineKeyboardButton | None]] = [
        [_button(f"{i}. {short(s.question)}", cb_entry(s.entry_id, query_id))]
        for i, s in enumerate(result.suggestions, 1)
    ]
    if query_id:
        rows.append([_button(NONE_OF_THESE_BUTTON, cb_none(query_id))])
    return _keyboard(rows)


def render_too_long(length: int) -> list[Reply]:
    """The polite "too long" reply."""
    return [Reply(esc(TOO_LONG.format(n=f"{length:,}".replace(",", "."), limit="1.000")))]


# --- menus ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceInfo:
    """What /start and /nguon show of a source document."""

    title: str
    date: str
    publisher: str = ""
    description: str = ""


def render_start(
    first_name: str | None, sources: Sequence[SourceInfo], examples: Sequence[str]
) -> list[Reply]:
    """The /start greeting: what the bot is, what it knows, and example question buttons."""
    name = f" {first_name.strip()}" if first_name and first_name.strip() else ""
    pieces = [
        Piece.plain(f"👋 Xin chào{name}!"),
        Piece.raw(
            f"Mình là trợ lý <b>{esc(BOT_TITLE)}</b>: mình trả lời các câu hỏi về lịch sử "
            "Đảng bộ Khối các cơ quan Trung ương, và mỗi câu trả lời đều kèm trích dẫn nguyên "
            "văn từ tài liệu gốc. Điều gì tài liệu không có, mình sẽ nói thật là chưa biết."
        ),
        BLANK,
        Piece.raw("📚 <b>Mình dựa trên các tài liệu sau:</b>"),
    ]
    for s in sources:
        date = f" ({esc(s.date)})" if s.date else ""
        pieces.append(Piece.raw(f"• {esc(s.title)}{date}"))
    pieces += [
        BLANK,
        Piece.plain(
            "Bạn cứ gõ câu hỏi, có dấu hay không dấu đều được, hoặc bấm một câu hỏi ví dụ "
            "dưới đây. Gõ /help để xem hướng dẫn, /nguon để xem chi tiết các tài liệu."
        ),
    ]
    rows = [[_button(f"💬 {short(q)}", cb_example(i))] for i, q in enumerate(examples[:4])]
    return replies(pieces, _keyboard(rows))


def render_help(bot_username: str | None, *, admin: bool = False) -> list[Reply]:
    """The /help text (with the admin commands for admins)."""
    mention = f"@{esc(bot_username)}" if bot_username else "tên của mình"
    pieces = [
        Piece.raw(f"ℹ️ <b>Hướng dẫn sử dụng {esc(BOT_TITLE)}</b>"),
        BLANK,
        Piece.raw(
            "• Gõ câu hỏi bằng tiếng Việt, có dấu hoặc không dấu, ví dụ: "
            "<i>Ngày Truyền thống của Đảng bộ Khối là ngày nào?</i>"
        ),
        Piece.raw(
            "• Dưới mỗi câu trả lời có trích dẫn nguồn. Bấm 👍 hoặc 👎 để góp ý, bấm "
            f"{esc(SOURCE_BUTTON)} để xem đoạn văn đầy đủ trong tài liệu."
        ),
        Piece.raw("• Nếu câu hỏi chưa rõ, mình sẽ gợi ý vài câu gần nhất để bạn chọn."),
        Piece.raw(
            "• Câu nào tài liệu chưa có, mình sẽ nói thật và ghi lại để người biên soạn bổ sung."
        ),
        Piece.raw(
            f"• Trong nhóm, hãy nhắc đến {mention}, trả lời tin nhắn của mình hoặc dùng lệnh /hoi."
        ),
        BLANK,
        Piece.raw("<b>Các lệnh:</b>"),
    ]
    pieces += [Piece.raw(f"/{name} — {esc(desc)}") for name, desc in COMMANDS]
    if admin:
        pieces += [BLANK, Piece.raw("<b>Lệnh quản trị:</b>")]
        pieces += [Piece.raw(f"/{name} — {esc(desc)}") for name, desc in ADMIN_COMMANDS]
    return replies(pieces)


def _date_phrase(date: str) -> str:
    """``ngày 17/01/2023``, ``tháng 4/2017`` or ``năm 2018``."""
    if not date:
        return ""
    if re.fullmatch(r"\d{4}", date):
        return f"năm {date}"
    if re.fullmatch(r"\d{1,2}/\d{4}", date):
        return f"tháng {date}"
    return f"ngày {date}"


def render_sources(sources: Sequence[SourceInfo]) -> list[Reply]:
    """The /nguon list: every source with its date, publisher and description."""
    pieces = [Piece.raw("📚 <b>Các tài liệu nguồn mình dùng để trả lời:</b>")]
    for i, s in enumerate(sources, 1):
        pieces.append(BLANK)
        pieces.append(Piece.raw(f"<b>{i}. {esc(s.title)}</b>"))
        meta = " · ".join(x for x in (s.publisher, _date_phrase(s.date)) if x)
        if meta:
            pieces.append(Piece.plain(meta, "i"))
        if s.description:
            pieces.append(Piece.plain(s.description))
    if not sources:
        pieces.append(Piece.plain("Hiện chưa có tài liệu nào được nạp."))
    return replies(pieces)


@dataclass(frozen=True)
class Passage:
    """A fuller source passage behind a quote, for the "📄 Nguồn" button."""

    title: str
    date: str
    text: str


def render_passages(heading: str, passages: Sequence[Passage]) -> list[Reply]:
    """The fuller passages behind an answer's quotes."""
    if not passages:
        return [Reply(esc(NO_PASSAGE))]
    pieces = [Piece.raw(f"📄 <b>Đoạn văn gốc</b> — {esc(short(heading, 120))}")]
    for p in passages:
        date = f" ({esc(p.date)})" if p.date else ""
        pieces += [BLANK, Piece.raw(f"<i>{esc(p.title)}</i>{date}")]
        pieces.append(Piece.plain(p.text, "blockquote"))
    return replies(pieces)


# --- admin reports -------------------------------------------------------------------------------


def render_preformatted(text: str, title: str | None = None) -> list[Reply]:
    """A plain-text report in ``<pre>`` blocks (split by lines when long)."""
    pieces = [Piece.raw(f"<b>{esc(title)}</b>")] if title else []
    pieces.append(Piece.plain(text, "pre"))
    return replies(pieces)


_BAR = {"answered": "█", "ambiguous": "▒", "no_answer": "░"}
_BAR_ORDER = ("answered", "ambiguous", "no_answer")


def bar_chart_text(per_day: Sequence[tuple[str, dict[str, int]]], width: int = 24) -> str:
    """Questions per day as a text bar chart, one line a day, by status."""
    if not per_day:
        return "Chưa có dữ liệu."
    most = max((sum(c.values()) for _, c in per_day), default=0)
    lines = [
        "Số câu hỏi mỗi ngày (UTC)",
        "█ trả lời  ▒ mơ hồ  ░ không trả lời được",
    ]
    for day, counts in per_day:
        total = sum(counts.values())
        bar = ""
        if most:
            for status in _BAR_ORDER:
                n = counts.get(status, 0)
                cells = round(n * width / most)
                if n and not cells:
                    cells = 1
                bar += _BAR[status] * cells
        label = day[5:] if len(day) == 10 else day
        lines.append(f"{label} {bar:<{width}} {total:>4}")
    return "\n".join(lines)


def render_reload(ok: bool, message: str) -> list[Reply]:
    """The result of a knowledge reload, for admins."""
    if ok:
        return [Reply(f"✅ {esc(message)}")]
    head, _, details = message.partition("\n")
    pieces = [Piece.plain(f"❌ {head}")]
    if details.strip():
        pieces.append(Piece.plain(details.strip("\n"), "pre"))
    return replies(pieces)


def render_admin_error(summary: str, suppressed: int = 0) -> list[Reply]:
    """An error report for admins."""
    pieces = [Piece.raw("⚠️ <b>Bot gặp lỗi</b> (chi tiết trong nhật ký máy chủ)")]
    pieces.append(Piece.plain(short(summary, 1500), "pre"))
    if suppressed:
        pieces.append(Piece.plain(f"(và {suppressed} lỗi khác trong phút qua)"))
    return replies(pieces)


def suggestion_ids(suggestions: Iterable[Suggestion]) -> list[str]:
    """Entry ids of suggestions, for the query log."""
    return [s.entry_id for s in suggestions]


# --- checking ------------------------------------------------------------------------------------

TELEGRAM_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-spoiler",
        "tg-emoji",
        "span",
    }
)
_BAD_ENTITY = re.compile(r"&(?!(?:lt|gt|amp|quot);|#[0-9]+;|#x[0-9a-fA-F]+;)")


class _TagChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TELEGRAM_TAGS:
            self.problems.append(f"tag <{tag}> is not supported by Telegram")
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.problems.append(f"self-closing <{tag}/> is not supported by Telegram")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> does not close the open tag {self.stack[-1:]}")
            return
        self.stack.pop()


def html_problems(text: str) -> list[str]:
    """What Telegram's HTML parser would reject in ``text`` (empty when it is well-formed)."""
    checker = _TagChecker()
    checker.feed(text)
    checker.close()
    problems = list(checker.problems)
    if checker.stack:
        problems.append(f"unclosed tags {checker.stack}")
    if _BAD_ENTITY.search(text):
        problems.append("a bare '&' or an unsupported named entity")
    if re.search(r"<(?![a-z/-])", text):
        problems.append("a bare '<'")
    if tg_len(text) > MAX_MESSAGE:
        problems.append(f"{tg_len(text)} characters, over Telegram's {MAX_MESSAGE}")
    if not text.strip():
        problems.append("empty message")
    return problems
