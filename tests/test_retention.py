"""What the bot keeps about a chat, and for how long: /forget leaves no row naming the
chat, and finished outbox rows go after OUTBOX_RETENTION_DAYS, in the minute tick; the
real bot against the fake Bot API, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel, col, select

from digestbot import store
from digestbot.bot import jobs
from digestbot.bot.context import BotContext
from digestbot.config import load_settings
from digestbot.errors import ConfigError
from digestbot.store import db
from digestbot.store.models import Outbox, OutboxKind, OutboxStatus
from tests.bot import running_bot
from tests.factories import audit_entries, make_brief

ADMIN = 9000
CHAT = 738_291_504  # an id no count, time stamp or hash in the tables would spell


@pytest.fixture
async def bot(database_url):
    async with running_bot(database_url, admin_ids=[ADMIN]) as running:
        running.server.private_chat(ADMIN)
        yield running


async def rows_naming(bot, chat_id: int) -> list[str]:
    """Every table.column holding the chat's id, or a text with it inside (keys, payloads)."""
    found = []
    async with bot.services.sessions() as session:
        conn = await session.connection()
        for table in SQLModel.metadata.sorted_tables:
            for row in (await conn.execute(sa.select(table))).mappings():
                for column, value in row.items():
                    if value == chat_id or (isinstance(value, str) and str(chat_id) in value):
                        found.append(f"{table.name}.{column}")
    return sorted(set(found))


async def test_forget_leaves_no_row_that_names_the_chat(bot):
    bot.clock.set(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    await bot.add_briefs([make_brief(tags=("llm",))])
    chat = bot.server.private_chat(CHAT)
    await bot.say(chat, "/subscribe llm")
    await bot.services.planner.plan()  # schedules 08:00
    bot.clock.set(datetime(2026, 11, 27, 8, 0, tzinfo=UTC))
    await bot.services.planner.plan()
    await bot.deliver()  # a digest sent: its row names the chat and the briefs it got
    await bot.say(bot.server.chat(ADMIN), "/broadcast Maintenance tonight", ADMIN)
    (status,) = [m for m in bot.server.messages(bot.server.chat(ADMIN)) if m.reply_markup]
    await bot.press(bot.server.chat(ADMIN), status.message_id, "bc:go:1", ADMIN)
    await bot.deliver()
    assert any("Your digest" in t for t in bot.server.sent_texts(chat))
    assert "Maintenance tonight" in bot.server.sent_texts(chat)
    await bot.say(chat, "/alerts 8")  # an alert sent: its row, and the chat's count
    await bot.add_briefs([make_brief(title="Alert me", tags=("llm",), score=9)])
    await jobs.minute_tick(bot.services)
    await bot.deliver()
    assert any("Alert me" in t for t in bot.server.sent_texts(chat))
    assert "outbox.chat_id" in await rows_naming(bot, CHAT)  # the test can fail
    # a filter and a tag weight name the chat too
    await bot.say(chat, "/mute crypto")
    (brief_id,) = await bot.add_briefs([make_brief(title="Liked one", tags=("llm",))])
    await bot.say(chat, f"/brief {brief_id}")
    view = bot.server.messages(chat)[-1]
    await bot.press(chat, view.message_id, view.button("👍").callback_data)
    naming = await rows_naming(bot, CHAT)
    assert "chat_filters.chat_id" in naming and "tag_weights.chat_id" in naming

    await bot.say(chat, "/forget")
    question = bot.server.messages(chat)[-1]
    await bot.press(
        chat, question.message_id, question.button("Yes, delete everything").callback_data
    )

    assert bot.server.message(chat, question.message_id).text.startswith("Done: I deleted")
    assert await rows_naming(bot, CHAT) == []
    async with bot.services.sessions() as session:  # the admin's own record stays
        actions = [e.action for e in await audit_entries(session)]
    assert actions == ["broadcast.draft", "broadcast.send"]


async def queue(bot, rows: list[tuple[OutboxStatus, datetime]]) -> None:
    """Outbox rows that ended (or wait) at these moments, one per status and moment."""
    async with db.session_scope(bot.services.sessions) as session:
        await store.enqueue(
            session=session,
            rows=[
                {
                    "key": f"digest:{n}",
                    "chat_id": n,
                    "kind": OutboxKind.DIGEST,
                    "payload": "[]",
                    "status": status,
                    "next_attempt_at": at,
                    "created_at": at,
                    "sent_at": at if status == OutboxStatus.SENT else None,
                }
                for n, (status, at) in enumerate(rows, start=1)
            ],
        )


async def left(bot) -> list[str]:
    async with bot.services.sessions() as session:
        return list(await session.exec(select(Outbox.key).order_by(col(Outbox.id))))


async def test_the_minute_tick_prunes_rows_that_ended_past_retention_and_keeps_the_rest(bot):
    now = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    bot.clock.set(now)
    old, recent = now - timedelta(days=15), now - timedelta(days=13)
    await queue(
        bot,
        [
            (OutboxStatus.SENT, old),  # 1: goes
            (OutboxStatus.FAILED, old),  # 2: goes
            (OutboxStatus.CANCELLED, old),  # 3: goes
            (OutboxStatus.SENT, recent),  # 4: kept for /stats and questions
            (OutboxStatus.FAILED, recent),  # 5
            (OutboxStatus.PENDING, old),  # 6: still to send, however old
            (OutboxStatus.SENDING, old),  # 7: on its way
        ],
    )

    await jobs.plan_digests(BotContext(bot.app))

    assert await left(bot) == ["digest:4", "digest:5", "digest:6", "digest:7"]


async def test_retention_is_a_setting_and_a_prune_statement_is_bounded(bot):
    now = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    bot.clock.set(now)
    await queue(bot, [(OutboxStatus.SENT, now - timedelta(days=d)) for d in (1, 3, 3, 3)])
    bot.services.settings = load_settings(None, outbox_retention_days=2)
    async with db.session_scope(bot.services.sessions) as session:
        first = await store.prune_outbox(session=session, before=now - timedelta(days=2), limit=2)
    assert first == 2  # a full batch: the caller goes on in a new transaction
    assert await jobs.prune_outbox(bot.services) == 1
    assert await left(bot) == ["digest:1"]
    with pytest.raises(ConfigError, match="OUTBOX_RETENTION_DAYS"):
        load_settings(None, outbox_retention_days=0)


async def test_forget_also_deletes_saved_briefs_shares_and_channel_choices(bot):
    await bot.add_briefs([make_brief(tags=("llm",))])
    chat = bot.server.private_chat(CHAT)
    channel = bot.server.group_chat(-1009988, "Kept", type="channel", admins=[CHAT])
    await bot.update(
        await bot.server.chat_member_update(channel, "administrator", "left", from_user=CHAT)
    )
    await bot.say(chat, "/channels")
    picker = bot.server.messages(chat)[-1]
    await bot.press(chat, picker.message_id, picker.button("Kept").callback_data)
    await bot.services.saved.save(CHAT, 1)
    await bot.say(chat, "/subscribe llm")  # the channel's tags...
    await bot.say(chat, "/share")  # ...shared: the share names the channel, not the user
    await bot.press(chat, picker.message_id, "ch:me")
    await bot.say(chat, "/subscribe llm")
    await bot.say(chat, "/share")
    await bot.press(chat, picker.message_id, "ch:-1009988")  # managing the channel again
    naming = await rows_naming(bot, CHAT)
    assert {"channels.added_by", "managing.user_id", "saved_briefs.user_id"} <= set(naming)
    assert "tag_shares.chat_id" in naming

    await bot.say(chat, "/forget")
    question = bot.server.messages(chat)[-1]
    await bot.press(
        chat, question.message_id, question.button("Yes, delete everything").callback_data
    )

    assert await rows_naming(bot, CHAT) == []
    assert (await bot.services.chats.get(-1009988)).active  # the channel itself stays


async def test_forget_deletes_the_chats_outbox_rows_in_every_status_and_no_one_elses(bot):
    # the outbox is indexed by chat in two parts (rows still to send, the rest): /forget
    # must reach both, and a chat's rows only
    chat = bot.server.private_chat(CHAT)
    await bot.say(chat, "/start")
    now = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    async with db.session_scope(bot.services.sessions) as session:
        await store.enqueue(
            session=session,
            rows=[
                {
                    "key": f"digest:{owner}:{status}",
                    "chat_id": owner,
                    "kind": OutboxKind.DIGEST,
                    "payload": "[]",
                    "status": status,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for owner in (CHAT, CHAT + 1)
                for status in OutboxStatus
            ],
        )
    await bot.say(chat, "/forget")
    question = bot.server.messages(chat)[-1]
    await bot.press(
        chat, question.message_id, question.button("Yes, delete everything").callback_data
    )

    assert await rows_naming(bot, CHAT) == []
    assert await left(bot) == [f"digest:{CHAT + 1}:{status}" for status in OutboxStatus]
