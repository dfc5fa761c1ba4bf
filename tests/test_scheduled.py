"""Scheduled digests end to end: planner, outbox and sender, against the fake Bot API server."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import OperationalError

from digestbot import store
from digestbot.delivery import planner
from digestbot.delivery.planner import PARKED
from digestbot.delivery.sender import SendBudget, Sender
from digestbot.fakeapi import Fault
from digestbot.store import db
from digestbot.store.models import Brief, Chat, FilterKind, OutboxStatus
from tests.factories import make_brief


async def user(bot, chat_id: int, *, zone: str = "UTC", at: str = "08:00", tags=("llm",)):
    """A private chat registered with these settings and tags, as the commands would do."""
    chats = bot.services.chats
    await chats.register(chat_id=chat_id)
    result = await chats.subscribe(chat_id, list(tags))
    assert not result.unknown, "store a brief with these tags first"
    await chats.set_timezone(chat_id, zone)
    await chats.set_time(chat_id, at)
    return bot.server.private_chat(chat_id)


async def tick_until(bot, until: datetime, *, step=timedelta(minutes=15)) -> None:
    """Run the minute job's work every ``step`` up to ``until``, delivering as we go."""
    while bot.clock.now < until:
        bot.clock.set(min(bot.clock.now + step, until))
        await bot.services.planner.plan()
        await bot.deliver()


def digests_in(bot, chat) -> list[str]:
    return [t for t in bot.server.sent_texts(chat) if "Your digest" in t]


async def test_three_timezones_each_get_one_digest_at_their_local_time(bot):
    await bot.add_briefs([make_brief(title="Model news", tags=("llm",), score=7)])
    bot.clock.set(datetime(2026, 11, 27, 0, 0, tzinfo=UTC))
    kolkata = await user(bot, 1, zone="Asia/Kolkata")  # 08:00 IST = 02:30 UTC
    berlin = await user(bot, 2, zone="Europe/Berlin")  # 08:00 CET = 07:00 UTC
    new_york = await user(bot, 3, zone="America/New_York")  # 08:00 EST = 13:00 UTC

    seen: dict[int, datetime] = {}
    while bot.clock.now < datetime(2026, 11, 27, 23, 59, tzinfo=UTC):
        bot.clock.advance(minutes=30)  # every due time here is on the hour or half hour
        await bot.services.planner.plan()
        await bot.deliver()
        for chat in (kolkata, berlin, new_york):
            if digests_in(bot, chat) and chat.id not in seen:
                seen[chat.id] = bot.clock.now

    assert seen == {
        1: datetime(2026, 11, 27, 2, 30, tzinfo=UTC),
        2: datetime(2026, 11, 27, 7, 0, tzinfo=UTC),
        3: datetime(2026, 11, 27, 13, 0, tzinfo=UTC),
    }
    for chat in (kolkata, berlin, new_york):
        (digest,) = digests_in(bot, chat)
        assert "Model news" in digest


async def test_daylight_saving_change_neither_skips_nor_doubles_a_day(bot):
    bot.clock.set(datetime(2026, 10, 30, 0, 0, tzinfo=UTC))
    await bot.add_briefs([make_brief(title="Before", tags=("llm",))])
    chat = await user(bot, 7, zone="America/New_York", at="08:00")
    for day in range(30, 35):  # 30 Oct .. 3 Nov; clocks go back on 1 Nov
        when = datetime(2026, 10, 1, tzinfo=UTC) + timedelta(days=day - 1)
        bot.clock.set(when)
        await bot.add_briefs([make_brief(title=f"News of day {day}", tags=("llm",))])
        await tick_until(bot, when + timedelta(days=1), step=timedelta(minutes=30))

    digests = digests_in(bot, chat)
    assert len(digests) == 5
    for day, digest in zip(range(30, 35), digests, strict=True):
        assert f"News of day {day}" in digest
    sends = [
        r for r in bot.server.calls("sendMessage", chat_id=7) if "Your digest" in r.params["text"]
    ]
    assert len(sends) == 5


async def test_no_new_briefs_means_no_push_and_planning_twice_sends_once(bot):
    bot.clock.set(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    await bot.add_briefs([make_brief(tags=("llm",))])
    chat = await user(bot, 5)
    await bot.services.digests.digest_now(5)  # an on-demand digest counts as the latest
    await bot.services.planner.plan()  # schedules 08:00
    bot.clock.set(datetime(2026, 11, 27, 8, 0, tzinfo=UTC))
    report = await bot.services.planner.plan()
    assert report.due == 1 and report.queued == 0 and report.empty == 1
    assert await bot.deliver() == 0

    await bot.add_briefs([make_brief(tags=("llm",))])
    await tick_until(bot, datetime(2026, 11, 28, 9, 0, tzinfo=UTC))
    assert len(digests_in(bot, chat)) == 1
    # the same day planned again (as after a crash between planning and the next tick)
    async with bot.services.sessions() as session:
        row = await session.get(Chat, 5)
        row.next_digest_at = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
        row.last_brief_id = 0
        session.add(row)
        await session.commit()
    await bot.services.planner.plan()
    await bot.deliver()
    assert len(digests_in(bot, chat)) == 1


async def test_catch_up_the_same_day_but_not_a_day_later(bot):
    bot.clock.set(datetime(2026, 11, 27, 6, 0, tzinfo=UTC))
    await bot.add_briefs([make_brief(title="Morning news", tags=("llm",))])
    chat = await user(bot, 9)
    await bot.services.planner.plan()
    # down from 06:00 until 11:00: the 08:00 digest still comes the same day
    bot.clock.set(datetime(2026, 11, 27, 11, 0, tzinfo=UTC))
    await bot.services.planner.plan()
    await bot.deliver()
    assert len(digests_in(bot, chat)) == 1

    # down for all of the 28th: no stale digest on the 29th before 08:00, then one at 08:00
    await bot.add_briefs([make_brief(title="While down", tags=("llm",))])
    bot.clock.set(datetime(2026, 11, 29, 7, 0, tzinfo=UTC))
    report = await bot.services.planner.plan()
    assert report.stale == 1
    await bot.deliver()
    assert len(digests_in(bot, chat)) == 1
    await tick_until(bot, datetime(2026, 11, 29, 8, 30, tzinfo=UTC))
    assert len(digests_in(bot, chat)) == 2
    assert "While down" in digests_in(bot, chat)[-1]


async def test_chats_with_the_same_digest_share_one_assembly(bot):
    await bot.add_briefs([make_brief(tags=("llm",)) for _ in range(3)])
    await bot.add_briefs([make_brief(tags=("chips",))])
    bot.clock.set(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    for chat_id in range(100, 130):
        await user(bot, chat_id)
    await user(bot, 200, tags=("llm", "chips"))
    await bot.services.planner.plan()
    bot.clock.set(datetime(2026, 11, 27, 8, 0, tzinfo=UTC))

    report = await bot.services.planner.plan()

    assert (report.due, report.queued, report.distinct) == (31, 31, 2)
    await bot.deliver()
    texts = {bot.server.sent_texts(chat_id)[0] for chat_id in range(100, 130)}
    assert len(texts) == 1


async def test_a_long_digest_goes_in_parts_a_second_apart_in_order(bot):
    long_title = "A long headline " * 12
    await bot.add_briefs([make_brief(title=f"{long_title}{n}", tags=("llm",)) for n in range(30)])
    bot.clock.set(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    chat = await user(bot, 11)
    await bot.services.chats.set_size(11, "30")
    await tick_until(bot, datetime(2026, 11, 27, 8, 0, tzinfo=UTC))

    sends = bot.server.calls("sendMessage", chat_id=11)
    assert len(sends) >= 2
    rows = [r for r in await bot.outbox() if r.chat_id == 11]
    assert [r.part for r in rows] == list(range(len(sends)))
    assert all(r.status == OutboxStatus.SENT for r in rows)
    gaps = [(b.sent_at - a.sent_at).total_seconds() for a, b in itertools.pairwise(rows)]
    assert all(gap >= 1.0 for gap in gaps)
    assert digests_in(bot, chat)  # the first part carries the heading


async def queue_digests(bot, chat_ids, tags=("llm",)):
    await bot.add_briefs([make_brief(tags=tags)])
    bot.clock.set(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    for chat_id in chat_ids:
        await user(bot, chat_id, tags=tags)
    await bot.services.planner.plan()
    bot.clock.set(datetime(2026, 11, 27, 8, 0, tzinfo=UTC))
    await bot.services.planner.plan()


async def test_429_pauses_all_sending_then_everything_arrives_once(bot):
    await queue_digests(bot, range(1, 21))
    bot.server.fail("sendMessage", Fault.retry_after(7), chat_id=5)
    start = bot.clock.monotonic()

    await bot.deliver()

    assert bot.clock.monotonic() - start >= 7
    for chat_id in range(1, 21):
        assert len(bot.server.calls("sendMessage", chat_id=chat_id)) == (2 if chat_id == 5 else 1)
        assert len([r for r in bot.server.calls("sendMessage", chat_id=chat_id) if r.ok]) == 1
    assert all(r.status == OutboxStatus.SENT for r in await bot.outbox())


async def test_5xx_and_timeouts_retry_with_backoff_then_fail_visibly(bot):
    await queue_digests(bot, [1, 2])
    bot.server.fail("sendMessage", Fault.server_error(502), chat_id=1, times=2)
    bot.server.fail("sendMessage", Fault.server_error(500), chat_id=2, times=50)

    await bot.deliver()

    rows = {r.chat_id: r for r in await bot.outbox()}
    assert rows[1].status == OutboxStatus.SENT and rows[1].attempts == 2
    assert rows[2].status == OutboxStatus.FAILED
    assert "after 8 attempts" in rows[2].last_error
    assert len(bot.server.calls("sendMessage", chat_id=2)) == 8


async def test_blocked_chat_goes_inactive_and_its_rows_are_cancelled(bot):
    await queue_digests(bot, [1, 2])
    bot.server.fail("sendMessage", Fault.blocked(), chat_id=1)

    await bot.deliver()

    rows = {r.chat_id: r for r in await bot.outbox()}
    assert rows[1].status == OutboxStatus.FAILED and "blocked" in rows[1].last_error
    assert rows[2].status == OutboxStatus.SENT
    assert not (await bot.services.chats.get(1)).active
    bot.clock.set(datetime(2026, 11, 28, 8, 0, tzinfo=UTC))
    await bot.add_briefs([make_brief(tags=("llm",))])
    report = await bot.services.planner.plan()
    assert report.due == 1  # only chat 2: inactive chats are not planned


async def test_migrated_group_moves_and_gets_its_digest(bot):
    await bot.add_briefs([make_brief(tags=("llm",))])
    bot.clock.set(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    bot.server.group_chat(-100, "Old group", admins=[1])
    bot.server.group_chat(-1001234, "New supergroup", type="supergroup", admins=[1])
    await bot.services.chats.register(chat_id=-100, type="group")
    await bot.services.chats.subscribe(-100, ["llm"])
    await bot.services.planner.plan()
    bot.clock.set(datetime(2026, 11, 27, 8, 0, tzinfo=UTC))
    await bot.services.planner.plan()
    bot.server.fail("sendMessage", Fault.migrated(-1001234), chat_id=-100)

    await bot.deliver()

    assert digests_in(bot, -1001234)
    assert await bot.services.chats.get(-100) is None
    assert await bot.services.chats.tags(-1001234) == ["llm"]


async def test_unparseable_html_is_resent_once_as_plain_text(bot, caplog):
    await queue_digests(bot, [1])
    bot.server.fail("sendMessage", Fault.cant_parse(), chat_id=1)

    await bot.deliver()

    first, second = bot.server.calls("sendMessage", chat_id=1)
    assert first.params.get("parse_mode") == "HTML" and "parse_mode" not in second.params
    assert "<b>" not in second.params["text"] and "Your digest" in second.params["text"]
    assert "resending as plain text" in caplog.text


async def test_a_forgotten_chat_gets_nothing_already_queued(bot):
    await queue_digests(bot, [1, 2])
    assert await bot.services.chats.forget(1)

    await bot.deliver()

    assert bot.server.calls("sendMessage", chat_id=1) == []
    # /forget deletes the chat's rows outright (nothing kept names it); the others are sent
    rows = {r.chat_id: r for r in await bot.outbox()}
    assert 1 not in rows and rows[2].status == OutboxStatus.SENT


async def test_a_migrated_group_keeps_its_filters_and_weights(bot):
    (liked,) = await bot.add_briefs([make_brief(tags=("llm",))])
    await bot.services.chats.register(chat_id=-100, type="group")
    await bot.services.chats.subscribe(-100, ["llm"])
    await bot.services.filters.add_words(-100, FilterKind.MUTE, "crypto")
    await bot.services.filters.feedback(-100, [liked], 1.0)
    async with db.session_scope(bot.services.sessions) as session:
        await store.move_chat(session=session, old_id=-100, new_id=-1001234)

    text, entries = await bot.services.filters.listing(-1001234)
    assert "crypto" in text and len(entries) == 1
    async with bot.services.sessions() as session:
        weights = await store.weights_of(session=session, chat_ids=[-1001234])
    assert [w.tag for w in weights.get(-1001234, [])] == ["llm"]


async def test_migrating_into_a_supergroup_the_bot_already_knows_merges_tags(bot):
    await bot.add_briefs([make_brief(tags=("llm",)), make_brief(tags=("chips",))])
    bot.clock.set(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    bot.server.group_chat(-100, "Old group", admins=[1])
    bot.server.group_chat(-1001234, "New supergroup", type="supergroup", admins=[1])
    for chat_id, tags in ((-100, ["llm", "chips"]), (-1001234, ["llm"])):
        await bot.services.chats.register(chat_id=chat_id, type="group")
        await bot.services.chats.subscribe(chat_id, tags)
    await bot.services.planner.plan()
    bot.clock.set(datetime(2026, 11, 27, 8, 0, tzinfo=UTC))
    await bot.services.planner.plan()
    bot.server.fail("sendMessage", Fault.migrated(-1001234), chat_id=-100)

    await bot.deliver()

    assert await bot.services.chats.tags(-1001234) == ["chips", "llm"]
    statuses = sorted(r.status for r in await bot.outbox())
    assert statuses == [OutboxStatus.CANCELLED, OutboxStatus.SENT]  # the old group's: merged


async def test_a_digest_retimed_later_the_same_day_brings_the_new_briefs(bot):
    await bot.add_briefs([make_brief(title="Morning", tags=("llm",))])
    bot.clock.set(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    chat = await user(bot, 21)
    await tick_until(bot, datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    await bot.add_briefs([make_brief(title="Afternoon", tags=("llm",))])
    await bot.services.chats.set_time(21, "20:00")

    await tick_until(bot, datetime(2026, 11, 27, 21, 0, tzinfo=UTC))

    digests = digests_in(bot, chat)
    assert len(digests) == 2 and "Afternoon" in digests[1] and "Morning" not in digests[1]


async def test_a_weekly_digest_across_the_clock_change_misses_nothing(bot):
    bot.clock.set(datetime(2026, 10, 25, 0, 0, tzinfo=UTC))
    await bot.add_briefs([make_brief(title="Old", tags=("llm",))])
    chat = await user(bot, 22, zone="America/New_York")
    await bot.services.chats.set_frequency(22, "weekly", "monday")
    await tick_until(bot, datetime(2026, 10, 26, 13, 0, tzinfo=UTC), step=timedelta(hours=1))
    bot.clock.set(datetime(2026, 10, 26, 13, 0, tzinfo=UTC))
    await bot.add_briefs([make_brief(title="Just after the digest", tags=("llm",))])

    await tick_until(bot, datetime(2026, 11, 2, 15, 0, tzinfo=UTC), step=timedelta(hours=1))

    digests = digests_in(bot, chat)
    assert len(digests) == 2
    assert "Just after the digest" in digests[1]


class FlakySender(Sender):
    """The real sender, whose database fails once while claiming, as a dropped
    connection or a long lock would make it."""

    failures = 1
    claims = 0

    async def _claim(self, record=None):
        type(self).claims += 1
        if type(self).claims == 3 and self.failures:
            type(self).failures -= 1
            raise OperationalError("claim", {}, Exception("database is locked"))
        return await super()._claim(record)


async def test_a_database_failure_mid_drain_neither_resends_nor_strands_anything(bot):
    await queue_digests(bot, range(1, 41))
    services = bot.services
    sender = FlakySender(
        services.sessions,
        services.sender._bot,
        budget=SendBudget(1e9),
        clock=bot.clock,
        monotonic=bot.clock.monotonic,
        in_flight=4,
    )
    stop = asyncio.Event()
    bot.server.add_listener(
        lambda r: stop.set() if len(bot.server.calls("sendMessage")) >= 40 else None
    )

    await asyncio.wait_for(sender.run(stop, idle=0.01), timeout=30)

    for chat_id in range(1, 41):
        assert len(bot.server.calls("sendMessage", chat_id=chat_id)) == 1, chat_id
    assert {r.status for r in await bot.outbox()} == {OutboxStatus.SENT}


async def test_stopping_mid_drain_returns_unsent_rows_to_the_queue(bot):
    await queue_digests(bot, range(1, 41))
    services = bot.services
    sender = Sender(
        services.sessions,
        services.sender._bot,
        budget=SendBudget(1e9),
        clock=bot.clock,
        monotonic=bot.clock.monotonic,
        in_flight=4,
    )
    stop = asyncio.Event()
    bot.server.add_listener(
        lambda r: stop.set() if len(bot.server.calls("sendMessage")) >= 8 else None
    )

    await sender.drain(stop)

    rows = await bot.outbox()
    sent = len(bot.server.calls("sendMessage"))
    assert sent < 40
    assert sum(r.status == OutboxStatus.SENT for r in rows) == sent
    assert {r.status for r in rows} == {OutboxStatus.SENT, OutboxStatus.PENDING}


async def test_migrating_into_a_known_supergroup_sends_one_digest_there(bot):
    await bot.add_briefs([make_brief(tags=("llm",))])
    bot.clock.set(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    bot.server.group_chat(-100, "Old group", admins=[1])
    bot.server.group_chat(-1001234, "New supergroup", type="supergroup", admins=[1])
    for chat_id in (-100, -1001234):
        await bot.services.chats.register(chat_id=chat_id, type="group")
        await bot.services.chats.subscribe(chat_id, ["llm"])
    await bot.services.planner.plan()
    bot.clock.set(datetime(2026, 11, 27, 8, 0, tzinfo=UTC))
    await bot.services.planner.plan()
    bot.server.fail("sendMessage", Fault.migrated(-1001234), chat_id=-100)

    await bot.deliver()

    assert len([r for r in bot.server.calls("sendMessage", chat_id=-1001234) if r.ok]) == 1


async def test_a_brief_corrected_between_two_ticks_goes_out_corrected(bot):
    # the planner keeps the briefs it loaded from tick to tick; a correction must show
    bot.clock.set(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    original = make_brief(id="src-9", title="Chip news, first take", tags=("llm",), score=7)
    await bot.add_briefs([original])
    early, late = await user(bot, 1, at="08:00"), await user(bot, 2, at="09:00")

    await tick_until(bot, datetime(2026, 11, 27, 8, 30, tzinfo=UTC))
    await bot.add_briefs([dataclasses.replace(original, title="Chip news, corrected")])
    await tick_until(bot, datetime(2026, 11, 27, 9, 30, tzinfo=UTC))

    (first,) = digests_in(bot, early)
    (second,) = digests_in(bot, late)
    assert "first take" in first
    assert "corrected" in second and "first take" not in second


async def ingested(bot, brief_id: int, at: datetime) -> None:
    """Back-date a brief's ingestion (ingestion stamps the real clock)."""
    async with bot.services.sessions() as session:
        row = await session.get(Brief, brief_id)
        row.ingested_at = at
        session.add(row)
        await session.commit()


async def test_a_brief_that_ages_out_of_the_window_leaves_the_next_digests(bot):
    # the planner keeps its briefs while they only age out (a year of briefs ages one
    # out every few minutes); what aged out must still stay out, what comes must show
    start = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    bot.clock.set(start)
    old_id, fresh_id = await bot.add_briefs(
        [
            make_brief(title="Fortnight-old news", tags=("llm",)),
            make_brief(title="Fresh news", tags=("llm",)),
        ]
    )
    await ingested(bot, old_id, start - planner.RECENT + timedelta(minutes=30))
    await ingested(bot, fresh_id, start - timedelta(hours=1))
    before = await user(bot, 1, at="06:15")
    after = await user(bot, 2, at="07:00")
    later = await user(bot, 3, at="08:00")
    await bot.services.planner.plan()  # their schedules

    await tick_until(bot, start + timedelta(minutes=15), step=timedelta(minutes=15))
    window = bot.services.planner._window
    await tick_until(bot, start + timedelta(hours=1), step=timedelta(minutes=15))
    assert bot.services.planner._window is window  # kept: only a brief aged out
    (newest_id,) = await bot.add_briefs([make_brief(title="Newer news", tags=("llm",))])
    await ingested(bot, newest_id, start + timedelta(hours=1))
    await tick_until(bot, start + timedelta(hours=2), step=timedelta(minutes=15))

    (first,) = digests_in(bot, before)
    (second,) = digests_in(bot, after)
    (third,) = digests_in(bot, later)
    assert "Fortnight-old news" in first and "Fresh news" in first
    assert "Fortnight-old news" not in second and "Fresh news" in second
    assert "Fortnight-old news" not in third and "Newer news" in third


async def test_paused_and_unreachable_chats_are_parked_until_they_come_back(bot):
    """Their past due time would otherwise sit at the front of every tick's read of the
    schedule index, forever (200k such chats cost each tick 19 ms on SQLite)."""
    await bot.add_briefs([make_brief(tags=("llm",))])
    bot.clock.set(datetime(2026, 11, 27, 0, 0, tzinfo=UTC))
    for chat_id in (1, 2, 3):
        await user(bot, chat_id)
    await bot.services.planner.plan()
    await bot.services.chats.pause(2)
    await bot.services.chats.set_active(3, False)
    await bot.services.planner.plan()

    async def due(chat_id):
        return (await bot.services.chats.get(chat_id)).next_digest_at

    assert await due(1) == datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    assert await due(2) == PARKED and await due(3) == PARKED

    await bot.services.chats.register(chat_id=2)  # /start resumes
    await bot.services.chats.set_active(3, True)  # added back to the group
    await bot.services.planner.plan()
    assert await due(2) == await due(3) == datetime(2026, 11, 27, 8, 0, tzinfo=UTC)

    bot.server.fail("sendMessage", Fault.blocked(), chat_id=1)
    bot.clock.set(datetime(2026, 11, 27, 8, 0, tzinfo=UTC))
    await bot.services.planner.plan()
    await bot.deliver()
    await bot.services.planner.plan()
    assert await due(1) == PARKED  # blocked the bot: parked too


async def test_down_for_days_then_back_after_digest_time_still_sends_todays(bot):
    bot.clock.set(datetime(2026, 11, 25, 6, 0, tzinfo=UTC))
    await bot.add_briefs([make_brief(title="Old news", tags=("llm",))])
    chat = await user(bot, 9)
    await bot.services.planner.plan()  # due 25 Nov 08:00, then the bot goes down
    await bot.add_briefs([make_brief(title="While down", tags=("llm",))])

    bot.clock.set(datetime(2026, 11, 27, 10, 0, tzinfo=UTC))  # back on the 27th at 10:00
    await bot.services.planner.plan()
    await bot.deliver()

    (digest,) = digests_in(bot, chat)  # the 27th's digest, once; the 25th's is gone
    assert "While down" in digest and "27 Nov" in digest
    assert (await bot.outbox())[0].key.startswith("digest:20261127T0800Z:9:")
    assert (await bot.services.chats.get(9)).next_digest_at == datetime(
        2026, 11, 28, 8, 0, tzinfo=UTC
    )


async def test_a_schedule_that_fails_to_move_parks_that_chat_and_spares_the_rest(
    bot, monkeypatch, caplog
):
    await bot.add_briefs([make_brief(tags=("llm",))])
    bot.clock.set(datetime(2026, 11, 27, 0, 0, tzinfo=UTC))
    for chat_id in (1, 2, 3):  # chat 2's own rule (same times), so its schedule is its own
        await user(bot, chat_id, zone="Europe/London" if chat_id == 2 else "UTC")
    await bot.services.planner.plan()
    real = planner.next_schedule

    def broken_for_chat_2(chat, after):  # stands for a bug in the schedule rules
        return after - timedelta(minutes=1) if chat.id == 2 else real(chat, after)

    monkeypatch.setattr(planner, "next_schedule", broken_for_chat_2)
    monkeypatch.setattr(planner, "BATCH", 1)  # a batch each, so chat 2 comes back in the tick
    bot.clock.set(datetime(2026, 11, 27, 8, 0, tzinfo=UTC))
    await asyncio.wait_for(bot.services.planner.plan(), timeout=10)

    assert (await bot.services.chats.get(2)).next_digest_at == PARKED
    assert "parked: [2]" in caplog.text
    await bot.deliver()
    assert all(len(digests_in(bot, bot.server.chat(n))) == 1 for n in (1, 2, 3))


async def test_a_queued_digest_names_its_briefs_and_goes_out_as_they_read_when_sent(bot):
    bot.clock.set(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    original = make_brief(id="src-5", title="Chip news, first take", tags=("llm",), score=7)
    await bot.add_briefs([original, make_brief(title="Other news", tags=("llm",), score=5)])
    chat = await user(bot, 1)
    await bot.services.planner.plan()  # scheduled for 08:00
    bot.clock.set(datetime(2026, 11, 27, 8, 0, 30, tzinfo=UTC))
    await bot.services.planner.plan()

    (row,) = await bot.outbox()
    assert len(row.payload) < 100  # a reference to the briefs, not ~2 KB of text
    await bot.add_briefs([dataclasses.replace(original, title="Chip news, corrected")])
    await bot.deliver()

    (digest,) = digests_in(bot, chat)
    assert digest.startswith("<b>Your digest · 27 Nov</b>")
    assert "Chip news, corrected" in digest and "first take" not in digest
    assert digest.index("Chip news") < digest.index("Other news")  # best first, as planned


async def test_a_brief_that_grew_after_planning_still_arrives_whole(bot):
    chat, grown = await grown_digest(bot)
    assert len(await bot.outbox()) == 1  # it fitted one message when planned
    bot.server.enforce_limits(clock=bot.clock.monotonic)  # 1 a second per chat, or 429

    await bot.deliver()

    sent = bot.server.sent_texts(chat)
    assert len(sent) == 2 and all(len(text) <= 4096 for text in sent)
    assert all(any(b.title in text for text in sent) for b in grown)
    calls = bot.server.calls("sendMessage", chat_id=1)
    assert all(c.ok for c in calls)  # the second waited its second: no 429


async def test_a_schedule_written_behind_the_planners_last_read_is_found_within_the_hour(bot):
    # each tick reads only what fell due since the last (see DigestPlanner._since); a
    # schedule set behind that by someone else is still found by the hourly full read
    await bot.add_briefs([make_brief(tags=("llm",))])
    bot.clock.set(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    chat = await user(bot, 1, at="23:00")
    for _ in range(3):
        bot.clock.advance(minutes=1)
        await bot.services.planner.plan()
    async with bot.services.sessions() as session:
        row = await session.get(Chat, 1)
        row.next_digest_at = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
        await session.commit()

    start = bot.clock.now
    while not digests_in(bot, chat) and bot.clock.now < start + timedelta(hours=2):
        bot.clock.advance(minutes=1)
        await bot.services.planner.plan()
        await bot.deliver()
    assert digests_in(bot, chat) and bot.clock.now - start <= timedelta(hours=1)


async def test_a_write_failing_mid_tick_queues_nothing_of_it_and_the_next_tick_queues_all(
    bot, monkeypatch
):
    await bot.add_briefs([make_brief(tags=("llm",))])
    bot.clock.set(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    chats = [await user(bot, chat_id) for chat_id in (1, 2, 3)]
    await bot.services.planner.plan()
    real, calls = planner.store.save_plan, []

    async def second_write_fails(**kwargs):
        calls.append(kwargs)
        if len(calls) == 2:
            raise OperationalError("INSERT", {}, Exception("disk I/O error"))
        await real(**kwargs)

    monkeypatch.setattr(planner.store, "save_plan", second_write_fails)
    monkeypatch.setattr(planner, "CHUNK", 1)  # a write per chat, each while the next assembles
    monkeypatch.setattr(planner, "server_side", lambda session: True)  # on SQLite too
    bot.clock.set(datetime(2026, 11, 27, 8, 0, 30, tzinfo=UTC))
    try:
        await bot.services.planner.plan()
    except OperationalError:
        pass
    else:
        raise AssertionError("the failed write was swallowed")
    assert await bot.outbox() == []  # the first chunk's rows went with the rollback

    monkeypatch.setattr(planner.store, "save_plan", real)
    report = await bot.services.planner.plan()
    await bot.deliver()
    assert report.queued == 3
    assert all(len(digests_in(bot, chat)) == 1 for chat in chats)


async def grown_digest(bot):
    """A digest planned as one message whose briefs then grew past one message."""
    bot.clock.set(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    briefs = [make_brief(id=f"s{n}", title=f"{n} " + "x" * 380, tags=("llm",)) for n in range(8)]
    await bot.add_briefs(briefs)
    chat = await user(bot, 1)
    await bot.services.planner.plan()
    bot.clock.set(datetime(2026, 11, 27, 8, 0, 30, tzinfo=UTC))
    await bot.services.planner.plan()
    grown = [dataclasses.replace(b, title=f"{n} " + "y" * 497) for n, b in enumerate(briefs)]
    await bot.add_briefs(grown)
    return chat, grown


async def test_a_row_that_became_two_messages_resumes_after_the_one_delivered(bot, monkeypatch):
    chat, grown = await grown_digest(bot)
    sender = bot.services.sender
    real, sends = sender._deliver, []

    async def then_429(chat_id, payload, *, plain, buttons=None):  # 429 to the second
        sends.append(payload)
        if len(sends) == 2:
            bot.server.fail("sendMessage", Fault.retry_after(3), chat_id=1)
        await real(chat_id, payload, plain=plain, buttons=buttons)

    monkeypatch.setattr(sender, "_deliver", then_429)
    await bot.deliver()

    accepted = [c for c in bot.server.calls("sendMessage", chat_id=1) if c.ok]
    assert len(accepted) == 2  # the first message was not sent again
    assert all(any(b.title in text for text in bot.server.sent_texts(chat)) for b in grown)
    (row,) = await bot.outbox()
    assert row.status == OutboxStatus.SENT


async def test_a_digest_row_that_cannot_be_rendered_fails_alone(bot):
    await queue_digests(bot, [1, 2])
    async with bot.services.sessions() as session:
        row = (await bot.outbox())[0]
        broken = await session.get(type(row), row.id)
        broken.payload = '{"digest":[1],"day":"27 Nov"}'  # not a date
        await session.commit()

    await bot.deliver()

    rows = {r.chat_id: r for r in await bot.outbox()}
    other = 2 if row.chat_id == 1 else 1
    assert rows[other].status == OutboxStatus.SENT and digests_in(bot, other)
    assert rows[row.chat_id].status == OutboxStatus.FAILED
    # given up at once (a retry would read the same), saying what is wrong
    assert rows[row.chat_id].attempts == 1
    assert rows[row.chat_id].last_error == "bad payload: day is not a date: '27 Nov'"


async def test_unreadable_payloads_fail_their_rows_alone_with_the_reason(bot):
    await queue_digests(bot, [1, 2, 3, 4])
    broken = {
        1: ("not json at all", "bad payload: not JSON"),
        2: ('{"v":9,"digest":[1]}', "bad payload: unknown payload version 9"),
        3: ('{"poll":1}', "bad payload: unknown payload kind: ['poll']"),
    }
    async with bot.services.sessions() as session:
        for row in await bot.outbox():
            if row.chat_id in broken:
                stored = await session.get(type(row), row.id)
                stored.payload = broken[row.chat_id][0]
        await session.commit()

    await bot.deliver()

    rows = {r.chat_id: r for r in await bot.outbox()}
    assert rows[4].status == OutboxStatus.SENT and digests_in(bot, 4)
    for chat_id, (_, reason) in broken.items():
        assert rows[chat_id].status == OutboxStatus.FAILED
        assert (rows[chat_id].last_error or "").startswith(reason)
        assert not digests_in(bot, chat_id)


async def test_a_digest_takes_the_best_of_a_large_window_however_its_tags_lie_in_it(bot):
    # 415 briefs: each chat's digest is its tags' 10 best in rank order (score, then
    # the newest), whether they lead the window (llm), come after most of it
    # (robotics), or lie beyond every llm brief (chips)
    bot.clock.set(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    start = datetime(2026, 11, 26, 0, 0, tzinfo=UTC)

    def at(minute: int) -> datetime:
        return start + timedelta(minutes=minute)

    briefs = [
        make_brief(title=f"Robotics {n:03}", tags=("robotics",), score=9, published_at=at(n))
        for n in range(10)
    ]  # older than every llm brief of their score: ranked after them
    briefs += [
        make_brief(title=f"Weak robotics {n:03}", tags=("robotics",), score=2, published_at=at(n))
        for n in range(5)
    ]
    briefs += [
        make_brief(title=f"Chips {n:03}", tags=("chips",), score=3, published_at=at(20 + n))
        for n in range(60)
    ]
    briefs += [
        make_brief(title=f"Model {n:03}", tags=("llm",), score=9, published_at=at(100 + n))
        for n in range(330)
    ]
    briefs += [
        make_brief(title=f"Top model {n:03}", tags=("llm",), score=10, published_at=at(500 + n))
        for n in range(10)
    ]
    await bot.add_briefs(briefs)
    llm = await user(bot, 1, tags=("llm",))
    robotics = await user(bot, 2, tags=("robotics",))
    chips = await user(bot, 3, tags=("chips",))
    await bot.services.planner.plan()  # scheduled for 08:00
    bot.clock.set(datetime(2026, 11, 27, 8, 0, 30, tzinfo=UTC))
    await bot.services.planner.plan()
    await bot.deliver()

    def titles(chat, prefix: str) -> list[str]:
        (digest,) = digests_in(bot, chat)
        return re.findall(rf"{prefix} \d{{3}}", digest)

    assert titles(llm, "Top model") == [f"Top model {n:03}" for n in range(9, -1, -1)]
    assert titles(llm, "Model") == []  # every llm brief of score 9 is below those
    assert titles(robotics, "Robotics") == [f"Robotics {n:03}" for n in range(9, -1, -1)]
    assert titles(robotics, "Weak robotics") == []
    assert titles(chips, "Chips") == [f"Chips {n:03}" for n in range(59, 49, -1)]


async def test_a_chat_with_two_digest_times_gets_both_and_its_row_follows_the_next(bot):
    # on SQLite the planner keeps a chat's row with those due at the same minute of the
    # day (store.place_chats): one with two times moves between them
    await bot.add_briefs([make_brief(title="Morning news", tags=("llm",))])
    bot.clock.set(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    chat = await user(bot, 5, at="08:00 18:00")

    async def minute() -> int | None:
        async with bot.services.sessions() as session:
            conn = await session.connection()
            if conn.dialect.name != "sqlite":
                return None  # PostgreSQL keeps no order of rows
            rows = await conn.exec_driver_sql("SELECT rowid FROM chats WHERE id = 5")
            return int(rows.scalar_one()) >> store.PLACE_BITS

    await bot.services.planner.plan()  # scheduled for 08:00
    assert await minute() in (8 * 60, None)
    bot.clock.set(datetime(2026, 11, 27, 8, 0, 30, tzinfo=UTC))
    await bot.services.planner.plan()
    assert await minute() in (18 * 60, None)
    await bot.add_briefs([make_brief(title="Evening news", tags=("llm",))])
    bot.clock.set(datetime(2026, 11, 27, 18, 0, 30, tzinfo=UTC))
    await bot.services.planner.plan()
    assert await minute() in (8 * 60, None)
    await bot.deliver()

    morning, evening = digests_in(bot, chat)
    assert "Morning news" in morning and "Evening news" in evening
