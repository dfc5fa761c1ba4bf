"""The bot token never reaches a log line, whoever logs it."""

from __future__ import annotations

import io
import json
import logging

import httpx
import pytest

from digestbot.logs import chat_id, setup_logging

TOKEN = "987654321:AAFakeTokenForTestsOnly_abcdefghijklmno"


def captured(level: str):
    """The bot's logging at ``level``, the token known to the redactor, into a string;
    the root logger (and httpx's level, which setup_logging sets) restored after."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    setup_logging(level, secrets=[TOKEN], stream=stream)
    yield stream
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    logging.getLogger("httpx").setLevel(logging.NOTSET)


@pytest.fixture
def redacted_logging():
    yield from captured("DEBUG")


def test_messages_arguments_and_tracebacks_are_redacted(redacted_logging):
    log = logging.getLogger("digestbot.test")
    log.info("calling https://api.telegram.org/bot%s/getMe", TOKEN)
    try:
        raise RuntimeError(f"boom at /bot{TOKEN}/sendMessage")
    except RuntimeError:
        log.exception("failed")
    log.warning("someone else's token 111111:%s leaked", "B" * 35)

    err = redacted_logging.getvalue()
    assert TOKEN not in err
    assert "B" * 35 not in err
    assert err.count("[REDACTED]") == 3
    assert "RuntimeError: boom at /bot[REDACTED]/sendMessage" in err


async def test_httpx_request_logging_never_shows_the_token(redacted_logging):
    logging.getLogger("httpx").setLevel(logging.DEBUG)  # even when someone turns it up
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": True}))
    async with httpx.AsyncClient(transport=transport) as client:
        await client.post(f"https://api.telegram.org/bot{TOKEN}/getMe")

    err = redacted_logging.getvalue()
    assert "HTTP Request: POST https://api.telegram.org/bot[REDACTED]/getMe" in err
    assert TOKEN not in err


@pytest.fixture
def info_logging():
    """Production's setup: INFO, the token known to the redactor."""
    yield from captured("INFO")


async def test_httpx_info_request_line_over_real_http_carries_no_token(info_logging):
    from telegram import Bot

    from digestbot.fakeapi import FakeBotAPI

    async with FakeBotAPI(token=TOKEN) as server:
        logging.getLogger("httpx").setLevel(logging.INFO)  # someone turns request lines on
        async with Bot(TOKEN, base_url=server.base_url) as bot:
            await bot.get_me()

    err = info_logging.getvalue()
    assert "HTTP Request: POST http://127.0.0.1" in err and "/bot[REDACTED]/getMe" in err
    assert TOKEN not in err and TOKEN.split(":")[1] not in err


def test_lines_are_key_value_one_per_event_with_the_chat(info_logging):
    log = logging.getLogger("digestbot.test")
    log.info("chat %s: digest queued", -100123)  # the sender's and handlers' habit
    token = chat_id.set(42)
    try:
        log.warning('two\nlines and "quotes"')
        try:
            raise ValueError("inner")
        except ValueError:
            log.exception("failed")
    finally:
        chat_id.reset(token)
    log.info("nothing about a chat", extra={"chat_id": 7})
    log.info("plain")

    lines = info_logging.getvalue().splitlines()
    assert len(lines) == 5  # the traceback stays on its event's line
    fields = [dict(shlex_fields(line)) for line in lines]
    assert [f.get("chat_id") for f in fields] == ["-100123", "42", "42", "7", None]
    assert [f["level"] for f in fields] == ["INFO", "WARNING", "ERROR", "INFO", "INFO"]
    assert fields[1]["msg"] == 'two\nlines and "quotes"'
    assert "ValueError: inner" in fields[2]["exc"]
    assert fields[4]["logger"] == "digestbot.test" and fields[4]["ts"].endswith("Z")


def shlex_fields(line: str) -> list[tuple[str, str]]:
    """Parse one logfmt line: key=value, values JSON-quoted when they need it."""
    out, rest = [], line
    while rest:
        key, _, rest = rest.partition("=")
        if rest.startswith('"'):
            value, end = json.JSONDecoder().raw_decode(rest)
            rest = rest[end:].lstrip()
        else:
            value, _, rest = rest.partition(" ")
        out.append((key, str(value)))
    return out


async def test_what_users_write_never_reaches_info_logs(info_logging, tmp_path):
    from tests.bot import running_bot

    async with running_bot(f"sqlite:///{tmp_path / 'bot.db'}") as bot:
        chat = bot.server.private_chat(5)
        for text in ("my private xyzzy plans", "/search xyzzy", "/subscribe xyzzy", "/brief xyzzy"):
            await bot.say(chat, text)
    err = info_logging.getvalue()
    assert "xyzzy" not in err
