"""bench/send.py still runs: a small subprocess, checked by its JSON; and its Sender
part sends the digest its rows name, rendered from the stored briefs."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from digestbot.fakeapi import FakeBotAPI
from tests.benchrun import assert_explains_itself, run_script


def test_send_quick():
    result = run_script("send.py", "--quick")
    assert {
        "sender_msgs_per_s",
        "baseline_msgs_per_s",
        "ratio",
        "capped_rate",
        "responses_429",
    } <= result.keys()
    assert result["sender_msgs_per_s"] > 0
    assert result["baseline_msgs_per_s"] > 0
    assert result["ratio"] > 0
    # the budget paces evenly at the server's 30 a second: close to it, and never too fast
    assert 25 <= result["capped_rate"] <= 30.5
    assert result["responses_429"] == 0


async def test_send_sender_delivers_the_rendered_digest(tmp_path: Path):
    # (the autouse fixture has set PTB_TIMEDELTA, so importing the script changes no env)
    send = importlib.import_module("bench.send")
    text = await send.digest_text(tmp_path / "briefs.db")
    assert text.startswith("<b>Your digest · 27 Nov</b>\n\n")
    assert text.count("/brief_") == send.BRIEFS
    assert 1500 <= len(text) <= 3000  # about 2 KB, as a real digest of ten briefs
    rows = send.outbox_rows([7], [3, 1, 2])
    assert rows[0]["key"] == "digest:20261127T0700Z:7:0"
    assert rows[0]["payload"] == '{"digest":[3,1,2],"day":"2026-11-27"}'

    chats = range(7_000_001, 7_000_006)
    warm = range(7_100_001, 7_100_003)
    async with FakeBotAPI(strict_html=True) as server:
        for chat_id in (*chats, *warm):
            server.private_chat(chat_id)
        seconds = await send.drain(
            server, text, chats, 1e9, tmp_path / "outbox.db", give_up_after=30, warm_up=warm
        )
        assert seconds > 0
        for chat_id in (*chats, *warm):
            assert server.sent_texts(chat_id) == [text]


async def test_send_stops_when_the_sender_would_send_other_text(tmp_path: Path):
    send = importlib.import_module("bench.send")
    async with FakeBotAPI(strict_html=True) as server:
        server.private_chat(7_200_001)
        with pytest.raises(SystemExit, match="another text"):
            await send.drain(
                server, "not the digest", [7_200_001], 1e9, tmp_path / "o.db", give_up_after=5
            )
        assert server.sent_texts(7_200_001) == []


def test_send_explains_itself():
    assert_explains_itself("send.py")
