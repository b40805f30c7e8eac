"""Settings of the Telegram bot, read from the environment (see ``deploy/.env.example``).

``Settings.from_env()`` reads every variable once and checks it; a bad value raises
``SettingsError`` naming the variable and what was expected, so the bot refuses to start with a
clear message instead of failing later.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_API_URL = "https://api.telegram.org/bot"
DEFAULT_DB = "data/queries.sqlite3"
DEFAULT_KNOWLEDGE = "knowledge"
DEFAULT_RETENTION_DAYS = 365
DEFAULT_WEBHOOK_LISTEN = "127.0.0.1"
DEFAULT_WEBHOOK_PORT = 8443
_TRUE = {"1", "true", "yes", "on", "y"}
_FALSE = {"0", "false", "no", "off", "n", ""}
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class SettingsError(ValueError):
    """A missing or invalid environment variable."""


@dataclass(frozen=True)
class Settings:
    """Everything the Telegram adapter needs to run, already validated."""

    token: str = field(repr=False)
    api_url: str = DEFAULT_API_URL
    admin_ids: frozenset[int] = field(default_factory=frozenset)
    db_path: Path = Path(DEFAULT_DB)
    knowledge_dir: Path = Path(DEFAULT_KNOWLEDGE)
    log_secret: str | None = field(default=None, repr=False)
    log_retention_days: int = DEFAULT_RETENTION_DAYS
    webhook_url: str | None = None
    webhook_listen: str = DEFAULT_WEBHOOK_LISTEN
    webhook_port: int = DEFAULT_WEBHOOK_PORT
    webhook_secret: str | None = field(default=None, repr=False)
    watch_knowledge: bool = True

    @property
    def use_webhook(self) -> bool:
        """Whether updates come by webhook (``BOT_WEBHOOK_URL`` set) rather than polling."""
        return self.webhook_url is not None

    @property
    def webhook_path(self) -> str:
        """The URL path the webhook server listens on (the path of ``BOT_WEBHOOK_URL``)."""
        if self.webhook_url is None:
            return ""
        return urlsplit(self.webhook_url).path.lstrip("/")

    def describe(self) -> str:
        """A one-line summary for the start-up log; never shows the token or secrets."""
        mode = f"webhook {self.webhook_url}" if self.use_webhook else "polling"
        return (
            f"mode={mode} api={self.api_url} admins={len(self.admin_ids)} db={self.db_path} "
            f"knowledge={self.knowledge_dir} retention={self.log_retention_days}d "
            f"watch={'on' if self.watch_knowledge else 'off'}"
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and validate the settings from ``env`` (default: ``os.environ``)."""
        env = os.environ if env is None else env

        def get(name: str) -> str:
            return env.get(name, "").strip()

        token = get("TELEGRAM_BOT_TOKEN")
        if not token:
            raise SettingsError(
                "TELEGRAM_BOT_TOKEN is not set: put the token from @BotFather in the environment "
                "(see deploy/.env.example)"
            )
        if any(ch.isspace() for ch in token) or "/" in token:
            raise SettingsError("TELEGRAM_BOT_TOKEN must not contain spaces or '/'")
        webhook_url = get("BOT_WEBHOOK_URL") or None
        if webhook_url is not None:
            _check_url("BOT_WEBHOOK_URL", webhook_url, https_only=True)
        webhook_secret = get("BOT_WEBHOOK_SECRET") or None
        if webhook_secret is not None and not _SECRET_TOKEN.match(webhook_secret):
            raise SettingsError(
                "BOT_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, '_' and '-'"
            )
        return cls(
            token=token,
            api_url=_api_url(get("TELEGRAM_API_URL")),
            admin_ids=_admin_ids(get("BOT_ADMIN_IDS")),
            db_path=Path(get("BOT_DB") or DEFAULT_DB),
            knowledge_dir=Path(get("BOT_KNOWLEDGE") or DEFAULT_KNOWLEDGE),
            log_secret=get("BOT_LOG_SECRET") or None,
            log_retention_days=_int(
                "BOT_LOG_RETENTION_DAYS", get("BOT_LOG_RETENTION_DAYS"), DEFAULT_RETENTION_DAYS
            ),
            webhook_url=webhook_url,
            webhook_listen=get("BOT_WEBHOOK_LISTEN") or DEFAULT_WEBHOOK_LISTEN,
            webhook_port=_port(get("BOT_WEBHOOK_PORT")),
            webhook_secret=webhook_secret,
            watch_knowledge=_bool("BOT_WATCH_KNOWLEDGE", get("BOT_WATCH_KNOWLEDGE"), True),
        )


def _check_url(name: str, value: str, *, https_only: bool = False) -> None:
    parts = urlsplit(value)
    schemes = ("https",) if https_only else ("http", "https")
    if parts.scheme not in schemes or not parts.netloc:
        want = "an https:// URL" if https_only else "an http:// or https:// URL"
        raise SettingsError(f"{name} must be {want}, got {value!r}")


def _api_url(value: str) -> str:
    if not value:
        return DEFAULT_API_URL
    _check_url("TELEGRAM_API_URL", value)
    return value


def _admin_ids(value: str) -> frozenset[int]:
    ids: set[int] = set()
    for part in value.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            ids.add(int(part))
        except ValueError:
            raise SettingsError(
                f"BOT_ADMIN_IDS must be a comma-separated list of numeric Telegram user ids, "
                f"got {part!r}"
            ) from None
    return frozenset(ids)


def _int(name: str, value: str, default: int) -> int:
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {value!r}") from None


def _port(value: str) -> int:
    port = _int("BOT_WEBHOOK_PORT", value, DEFAULT_WEBHOOK_PORT)
    if not 1 <= port <= 65535:
        raise SettingsError(f"BOT_WEBHOOK_PORT must be within 1..65535, got {port}")
    return port


def _bool(name: str, value: str, default: bool) -> bool:
    if not value:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise SettingsError(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {value!r}")
