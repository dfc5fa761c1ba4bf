"""Logging setup: one line per event, and the bot token never in any of them.

httpx logs every request URL at INFO, and Bot API URLs contain the token
(``.../bot<TOKEN>/sendMessage``); so every record passes through a filter that
replaces secrets before any handler formats it.

Lines are ``key=value`` (logfmt), one per event, a traceback included as one
escaped value, so log collectors can index them::

    ts=2026-11-27T08:00:00.123Z level=INFO logger=digestbot.delivery chat_id=42 msg="..."

``chat_id`` comes from the record's ``extra``, else from :data:`chat_id` (set for
each update's task), else from a message starting ``chat <id>:``. A user's message
text is never logged at INFO or above.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import traceback
from collections.abc import Iterable
from types import TracebackType
from typing import TextIO

# The chat the current update (asyncio task) is about; app.py sets it per update.
chat_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("chat_id", default=None)
_CHAT_PREFIX = re.compile(r"^chat (-?\d+):")
_BARE = re.compile(r"^[A-Za-z0-9_.:/@+-]+$")
# Anything shaped like a bot token, even one we were not told about (e.g. in a traceback).
_TOKEN_SHAPE = re.compile(r"(?<![0-9])\d{5,}:[A-Za-z0-9_-]{30,}")


class RedactingFilter(logging.Filter):
    """Replaces secrets in a record's message, arguments and traceback text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[REDACTED]")
        return _TOKEN_SHAPE.sub("[REDACTED]", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
            record.exc_info = None  # keep the redacted text; don't let a formatter redo it
        return True


def _value(value: object) -> str:
    text = str(value)
    return text if _BARE.match(text) else json.dumps(text, ensure_ascii=False)


class LogfmtFormatter(logging.Formatter):
    """One ``key=value`` line per record, whatever the message or traceback holds."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        fields: list[tuple[str, object]] = [
            ("ts", f"{ts}.{int(record.msecs):03d}Z"),
            ("level", record.levelname),
            ("logger", record.name),
        ]
        chat = getattr(record, "chat_id", None)
        if chat is None:
            chat = chat_id.get()
        if chat is None and (m := _CHAT_PREFIX.match(message)):
            chat = m.group(1)
        if chat is not None:
            fields.append(("chat_id", chat))
        fields.append(("msg", message))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            fields.append(("exc", record.exc_text))
        return " ".join(f"{key}={_value(value)}" for key, value in fields)


def setup_logging(
    level: str = "INFO", *, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> RedactingFilter:
    """Configure the root logger (to stderr, or ``stream``); returns the redacting filter."""
    redactor = RedactingFilter(secrets)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(LogfmtFormatter())
    handler.addFilter(redactor)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Request lines are noise at INFO and the riskiest place for the token.
    for noisy in ("httpx", "httpcore", "apscheduler", "alembic", "tornado.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    return redactor


def install_excepthook(redactor: RedactingFilter) -> None:
    """Uncaught tracebacks go through the same redaction as log lines (PTB's
    InvalidToken, for one, quotes the token in its message)."""

    def hook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        text = "".join(traceback.format_exception(kind, error, tb))
        sys.stderr.write(redactor.redact(text))

    sys.excepthook = hook
