"""A bot killed with SIGKILL while sending, then restarted: everyone has their digest once
(but for the few messages in flight at the kill). Real processes, real databases."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from telegram import Bot

from digestbot import store
from digestbot.delivery.broadcasts import BroadcastService, UnknownTag
from digestbot.delivery.sender import max_duplicates
from digestbot.fakeapi import FakeBotAPI
from digestbot.store import db
from digestbot.store.models import Chat, Subscription, utcnow
from tests.factories import make_brief

DIGESTBOT = str(Path(sys.executable).with_name("digestbot"))
CHATS = 60


async def prepare(database_url: str, chats: int = CHATS) -> None:
    """Briefs, and ``chats`` private chats whose digest fell due a moment ago."""
    engine = db.create_engine(database_url)
    await db.upgrade(engine)
    now = utcnow()
    async with db.session_scope(db.session_factory(engine)) as session:
        await store.upsert_briefs(session=session, briefs=[make_brief(tags=("llm",))])
        tag_ids = await store.ensure_tags(session=session, slugs=["llm"])
        for chat_id in range(1, chats + 1):
            due = now - timedelta(seconds=1)
            session.add(Chat(id=chat_id, next_digest_at=due, tag_ids=str(tag_ids["llm"])))
        await session.flush()
        for chat_id in range(1, chats + 1):
            session.add(Subscription(chat_id=chat_id, tag_id=tag_ids["llm"]))
    await engine.dispose()


async def start_bot(
    server: FakeBotAPI, database_url: str, cwd: Path, **extra_env: str
) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": server.token,
        "TELEGRAM_API_BASE_URL": server.base_url,
        "DATABASE_URL": database_url,
        "SEND_RATE": "30",
        "LOG_LEVEL": "WARNING",
        **extra_env,
    }
    return await asyncio.create_subprocess_exec(
        DIGESTBOT, "run", env=env, cwd=cwd,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def outbox_statuses(database_url: str) -> dict[str, int]:
    """How many outbox rows are in each status."""
    engine = db.create_engine(database_url)
    async with engine.connect() as conn:
        query = sa.text("select status, count(*) from outbox group by status")
        statuses = {status: int(n) for status, n in (await conn.execute(query)).all()}
    await engine.dispose()
    return statuses


def delivered(server: FakeBotAPI) -> dict[int, int]:
    counts: dict[int, int] = {}
    for request in server.calls("sendMessage"):
        if request.ok and "Your digest" in str(request.params.get("text")):
            chat_id = int(request.chat_id)  # type: ignore[arg-type]
            counts[chat_id] = counts.get(chat_id, 0) + 1
    return counts


async def test_sigkill_while_sending_then_restart_delivers_everyone(database_url, tmp_path):
    await prepare(database_url)
    async with FakeBotAPI() as server:
        for chat_id in range(1, CHATS + 1):
            server.private_chat(chat_id)
        first = await start_bot(server, database_url, tmp_path)
        try:  # let a third of the digests out, then kill the process without warning
            await server.wait_for(
                lambda r: r.method == "sendMessage" and r.ok, count=CHATS // 3, timeout=60
            )
        finally:
            first.send_signal(signal.SIGKILL)
            await first.wait()
        before_restart = delivered(server)
        assert 0 < len(before_restart) < CHATS

        second = await start_bot(server, database_url, tmp_path)
        try:
            await server.wait_for(
                lambda r: (
                    r.method == "sendMessage"
                    and r.ok
                    and int(r.chat_id or 0) > 0
                    and len(delivered(server)) == CHATS
                ),
                timeout=60,
            )
        finally:
            second.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(second.communicate(), timeout=30)

    counts = delivered(server)
    assert sorted(counts) == list(range(1, CHATS + 1))  # everyone got their digest
    duplicates = sum(n - 1 for n in counts.values())
    assert duplicates <= max_duplicates(30)  # SEND_RATE=30 below
    assert second.returncode == 0, stderr.decode()[-2000:]
    assert await outbox_statuses(database_url) == {"sent": CHATS}


ADMIN = 9000


async def prepare_broadcast(database_url: str, server: FakeBotAPI) -> None:
    """CHATS chats, and a broadcast to them that the admin has just sent (all queued)."""
    engine = db.create_engine(database_url)
    await db.upgrade(engine)
    sessions = db.session_factory(engine)
    async with db.session_scope(sessions) as session:
        for chat_id in range(1, CHATS + 1):
            session.add(Chat(id=chat_id))
        session.add(Chat(id=ADMIN))
    async with Bot(server.token, base_url=server.base_url) as bot:
        status = await bot.send_message(ADMIN, "Broadcast #1: sending…")
    service = BroadcastService(sessions, send_rate=30)
    audience = await service.audience(None)
    assert not isinstance(audience, UnknownTag)
    draft = await service.draft(admin_id=ADMIN, audience=audience, text="Scheduled maintenance")
    assert draft.id is not None
    await service.attach_status(draft.id, status.message_id)
    result = await service.send(draft.id, admin_id=ADMIN, message_id=status.message_id)
    assert result.queued == CHATS + 1  # the admin's own chat is an active chat too
    await engine.dispose()


def broadcast_counts(server: FakeBotAPI) -> dict[int, int]:
    counts: dict[int, int] = {}
    for request in server.calls("sendMessage"):
        if request.ok and request.params.get("text") == "Scheduled maintenance":
            chat_id = int(request.chat_id)  # type: ignore[arg-type]
            counts[chat_id] = counts.get(chat_id, 0) + 1
    return counts


async def test_sigkill_during_a_broadcast_then_restart_finishes_it_and_reports(
    database_url, tmp_path
):
    async with FakeBotAPI() as server:
        for chat_id in [*range(1, CHATS + 1), ADMIN]:
            server.private_chat(chat_id)
        await prepare_broadcast(database_url, server)
        first = await start_bot(server, database_url, tmp_path, ADMIN_IDS=str(ADMIN))
        try:
            await server.wait_for(
                lambda r: r.method == "sendMessage" and r.ok and len(broadcast_counts(server)) > 20,
                timeout=60,
            )
        finally:
            first.send_signal(signal.SIGKILL)
            await first.wait()
        assert len(broadcast_counts(server)) < CHATS + 1

        second = await start_bot(server, database_url, tmp_path, ADMIN_IDS=str(ADMIN))
        try:  # the progress job reports the end on the admin's status message
            await server.wait_for(
                lambda r: r.method == "editMessageText" and "got it" in str(r.params.get("text")),
                timeout=60,
            )
        finally:
            second.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(second.communicate(), timeout=30)

    counts = broadcast_counts(server)
    assert sorted(counts) == [*range(1, CHATS + 1), ADMIN]  # everyone got it
    assert sum(n - 1 for n in counts.values()) <= max_duplicates(30)
    final = [r for r in server.calls("editMessageText") if "got it" in str(r.params["text"])]
    assert f"{CHATS + 1} of {CHATS + 1} chats got it" in str(final[-1].params["text"])
    assert second.returncode == 0, stderr.decode()[-2000:]
