"""Reading sent Telegram messages in tests (shared by the offline and the emulator tests)."""

from __future__ import annotations

import json
from typing import Any


def inline_buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(text, callback_data) of every inline button of a sent message."""
    markup = message.get("reply_markup") or {}
    if isinstance(markup, str):
        markup = json.loads(markup)
    return [
        (b["text"], b.get("callback_data", ""))
        for row in markup.get("inline_keyboard", [])
        for b in row
    ]
