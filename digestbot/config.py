"""Settings, read from the environment and a ``.env`` file.

Build them with :func:`load_settings` in ``main()``, never at import time. Every
problem comes out as a :class:`~digestbot.errors.ConfigError` naming the variable.
"""

from __future__ import annotations

import difflib
import re
from datetime import time
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values  # the .env reader pydantic-settings itself uses
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from digestbot import i18n
from digestbot.errors import ConfigError

TELEGRAM_API_BASE_URL = "https://api.telegram.org/bot"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
MAX_FEED_URL = 2048  # the feeds table's url column


def async_database_url(url: str) -> str:
    """``sqlite:///x.db`` / ``postgresql://...`` mapped to the async drivers digestbot uses."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError("expected a URL like sqlite:///digestbot.db or postgresql://user@host/db")
    driver = _ASYNC_DRIVERS.get(scheme.lower())
    if driver is None:
        raise ValueError(f"unsupported scheme {scheme!r}; use sqlite:/// or postgresql://")
    if driver.startswith("sqlite") and not rest.startswith("/"):
        raise ValueError("a SQLite URL needs three slashes, like sqlite:///digestbot.db")
    return f"{driver}://{rest}"


def parse_hhmm(value: str) -> time:
    """``08:00`` -> ``time(8, 0)``; ValueError with a human message otherwise."""
    m = _HHMM.match(value.strip())
    if not m:
        raise ValueError(f"{value!r} is not a time like 08:00 (24-hour HH:MM)")
    return time(int(m.group(1)), int(m.group(2)))


def parse_hhmm_range(value: str) -> tuple[time, time]:
    """``22:00-07:00`` -> ``(time(22, 0), time(7, 0))`` (quiet hours; across midnight when
    the end comes first); ValueError with a human message otherwise, or when empty."""
    start, sep, end = value.partition("-")
    if not sep:
        raise ValueError(f"{value!r} is not a range of times like 22:00-07:00")
    span = parse_hhmm(start), parse_hhmm(end)
    if span[0] == span[1]:
        raise ValueError("a range of times must start and end at different times")
    return span


def parse_listen(value: str) -> tuple[str, int]:
    """``0.0.0.0:8080`` -> ``("0.0.0.0", 8080)``; ValueError with a human message otherwise."""
    host, sep, port = value.strip().rpartition(":")
    host = host.strip("[]")  # [::]:8080
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"{value!r} is not host:port, like 0.0.0.0:8080")
    return host, int(port)


def _check_feed_url(url: str) -> None:
    """ValueError unless ``url`` is an http(s) URL with a host that fits the feeds table."""
    shown = repr(url[:60] + "..." if len(url) > 60 else url)
    if len(url) > MAX_FEED_URL:
        # Stored in a 2048-character column: a longer one would fail every poll.
        raise ValueError(f"{shown} is longer than {MAX_FEED_URL} characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:  # a bad port or IPv6 literal
        raise ValueError(f"{shown} is not a valid URL ({exc})") from exc
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{shown} is not an http(s) URL")
    if not host:
        raise ValueError(f"{shown} has no host, like https://example.com/feed.xml")


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Everything digestbot reads from its environment; ``.env.example`` documents each."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = TELEGRAM_API_BASE_URL
    database_url: str = "sqlite:///digestbot.db"
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    feed_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    default_timezone: str = "UTC"
    default_digest_time: str = "08:00"
    # The language of chats whose users' Telegram is set to none we speak (i18n.NAMES).
    default_language: str = "en"
    send_rate: float = 25.0
    feed_poll_minutes: int = 10
    # Seconds a whole feed fetch may take; private addresses (SSRF) only when allowed.
    feed_timeout: float = 30.0
    feed_allow_private: bool = False
    log_level: str = "INFO"
    # Webhook mode (production): unset WEBHOOK_URL means long polling.
    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0:8080"
    webhook_secret: SecretStr | None = None
    # Polling mode has no HTTP server of its own: set, /healthz and /metrics are served
    # here (a systemd or container health check needs them too).
    health_listen: str | None = None
    # How often a standby replica tries to become the leader, and the leader checks
    # it still is; a dead leader is replaced within about this long (README: Deployment).
    leader_retry_seconds: float = 5.0
    # Sent, failed and cancelled outbox rows name a chat and what it got: kept this
    # long for /stats and for finding out what happened, then deleted.
    outbox_retention_days: int = Field(default=14, ge=1)

    @field_validator("telegram_bot_token")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        token = value.get_secret_value().strip()
        if not re.fullmatch(r"\d+:[A-Za-z0-9_-]{20,}", token):
            raise ValueError("does not look like a bot token from @BotFather (digits:letters)")
        return SecretStr(token)

    @field_validator("default_language")
    @classmethod
    def _default_language(cls, value: str) -> str:
        code = value.strip().lower()
        if code not in i18n.NAMES:
            raise ValueError(f"is not a language I speak; use one of {', '.join(i18n.NAMES)}")
        return code

    @field_validator("telegram_api_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        async_database_url(value)  # validation only; keep what the user wrote
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _admin_ids(cls, value: Any) -> Any:
        parts = _split_csv(value)
        if isinstance(parts, list):
            for part in parts:
                if isinstance(part, str) and not re.fullmatch(r"-?\d+", part):
                    raise ValueError(f"{part!r} is not a Telegram user id (a number)")
        return parts

    @field_validator("feed_urls", mode="before")
    @classmethod
    def _feed_urls(cls, value: Any) -> Any:
        parts = _split_csv(value)
        if isinstance(parts, list):
            for part in parts:
                _check_feed_url(str(part))
        return parts

    @field_validator("feed_timeout")
    @classmethod
    def _feed_timeout(cls, value: float) -> float:
        if not 0 < value <= 600:
            raise ValueError("must be seconds above 0, at most 600")
        return value

    @field_validator("default_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown timezone {value!r}; use an IANA name like Europe/Berlin"
            ) from exc
        return value

    @field_validator("default_digest_time")
    @classmethod
    def _digest_time(cls, value: str) -> str:
        parse_hhmm(value)
        return value.strip().zfill(5)

    @field_validator("send_rate")
    @classmethod
    def _send_rate(cls, value: float) -> float:
        if not 0 < value <= 1000:
            raise ValueError(
                "must be a number of messages per second above 0 (Telegram allows ~30)"
            )
        return value

    @field_validator("feed_poll_minutes")
    @classmethod
    def _feed_poll(cls, value: int) -> int:
        if not 1 <= value <= 24 * 60:
            raise ValueError("must be minutes between 1 and 1440")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)}")
        return value.upper()

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        parts = urlsplit(value)
        local = parts.hostname in {"localhost", "127.0.0.1", "::1"}
        # Telegram only calls HTTPS webhooks; plain http is for a local Bot API server.
        if parts.scheme != "https" and not (parts.scheme == "http" and local):
            raise ValueError(
                "must be the bot's public https:// URL, like https://bot.example.com/tg"
            )
        if not parts.hostname:
            raise ValueError("must be a full URL with a host, like https://bot.example.com/tg")
        if parts.path in {"/healthz", "/metrics"}:
            raise ValueError(f"its path cannot be {parts.path}, which the bot serves itself")
        return value

    @field_validator("webhook_listen")
    @classmethod
    def _webhook_listen(cls, value: str) -> str:
        parse_listen(value)
        return value.strip()

    @field_validator("health_listen")
    @classmethod
    def _health_listen(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parse_listen(value)
        return value.strip()

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        secret = value.get_secret_value().strip()
        if not _SECRET.fullmatch(secret):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        return SecretStr(secret)

    @field_validator("leader_retry_seconds")
    @classmethod
    def _leader_retry(cls, value: float) -> float:
        # Above 6 s a takeover after a leader's machine vanished (its session timing
        # out, 15 s, then 2 * retry + 1 s, see leader.py) could exceed the promised 30 s.
        if not 0.05 <= value <= 6:
            raise ValueError("must be seconds between 0.05 and 6")
        return value

    @property
    def webhook_address(self) -> tuple[str, int]:
        """``WEBHOOK_LISTEN`` as (host, port)."""
        return parse_listen(self.webhook_listen)

    @property
    def health_address(self) -> tuple[str, int] | None:
        """``HEALTH_LISTEN`` as (host, port); None when unset."""
        return parse_listen(self.health_listen) if self.health_listen else None

    @property
    def webhook_path(self) -> str:
        """The path Telegram posts updates to: ``WEBHOOK_URL``'s own (``/`` when it has none)."""
        return urlsplit(self.webhook_url or "").path or "/"

    @property
    def async_database_url(self) -> str:
        """The database URL with its async driver (aiosqlite or asyncpg)."""
        return async_database_url(self.database_url)

    @property
    def is_sqlite(self) -> bool:
        return self.async_database_url.startswith("sqlite")

    @property
    def default_zone(self) -> ZoneInfo:
        return ZoneInfo(self.default_timezone)

    @property
    def default_time(self) -> time:
        return parse_hhmm(self.default_digest_time)

    def token(self) -> str:
        """The bot token, or ConfigError when it is not set."""
        if self.telegram_bot_token is None:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN",
                "not set; get one from @BotFather, or try `digestbot console` without one",
            )
        return self.telegram_bot_token.get_secret_value()


def load_settings(env_file: Path | str | None = ".env", **overrides: Any) -> Settings:
    """Settings from the environment (and ``env_file``), or one ConfigError naming the variable."""
    try:
        return Settings(_env_file=env_file, **overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        variable = str(error["loc"][0]).upper() if error["loc"] else "settings"
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] in {"float_parsing", "int_parsing"}:
            message = f"{error.get('input')!r} is not a number"
        raise ConfigError(variable, message) from None


def env_file_warnings(env_file: Path | str) -> list[str]:
    """A warning for each key in ``env_file`` that no setting reads (a typo is otherwise
    ignored without a word), naming the nearest known setting; none for a missing file."""
    path = Path(env_file)
    if not path.is_file():
        return []
    known = [name.upper() for name in Settings.model_fields]
    warnings = []
    for key in dotenv_values(path):
        if key.upper() in known:
            continue
        close = difflib.get_close_matches(key.upper(), known, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        warnings.append(f"{path}: unknown setting {key[:60]!r}{hint}")
    return warnings
