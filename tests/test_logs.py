"""The bot token never reaches a log line, whoever logs it."""

from __future__ import annotations

import io
import logging

import httpx
import pytest

from digestbot.logs import setup_logging

TOKEN = "987654321:AAFakeTokenForTestsOnly_abcdefghijklmno"


@pytest.fixture
def redacted_logging():
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    setup_logging("DEBUG", secrets=[TOKEN], stream=stream)
    yield stream
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


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
