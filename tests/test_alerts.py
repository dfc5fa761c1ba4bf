"""Instant alerts, quiet hours and several digests a day, through the real bot against the
fake Bot API server, on both databases, with an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from digestbot.bot import jobs
from digestbot.store.models import OutboxKind, OutboxStatus
from tests.factories import make_brief


async def tick(bot) -> None:
    """One run of the minute job (alerts, digests, pruning), then the sender."""
    await jobs.minute_tick(bot.services)
    await bot.deliver()


async def follower(bot, chat_id: int, *commands: str, tags=("llm",)):
    """A private chat following ``tags`` that sent ``commands``."""
    chat = bot.server.private_chat(chat_id)
    await bot.say(chat, "/subscribe " + " ".join(tags))
    for command in commands:
        await bot.say(chat, command)
    return chat


def alerts_in(bot, chat) -> list[str]:
    return [t for t in bot.server.sent_texts(chat) if "🔔 Alert" in t]


def digests_in(bot, chat) -> list[str]:
    return [t for t in bot.server.sent_texts(chat) if "Your digest" in t]


async def test_a_top_brief_on_your_tags_arrives_as_an_alert_within_a_minute(bot):
    bot.clock.set(datetime(2026, 11, 27, 12, 0, tzinfo=UTC))
    await bot.add_briefs([make_brief(title="Already here", tags=("llm", "chips"), score=9)])
    await tick(bot)  # looked at for alerts: nobody wanted any yet
    chat = await follower(bot, 1, "/alerts 8")
    other = await follower(bot, 2, tags=("chips",))  # no /alerts: never alerted
    await tick(bot)
    assert alerts_in(bot, chat) == []

    bot.clock.advance(seconds=10)
    await bot.add_briefs(
        [
            make_brief(title="Big model launch", tags=("llm",), score=9),
            make_brief(title="Minor tweak", tags=("llm",), score=7),  # under 8
            make_brief(title="Chip news", tags=("chips",), score=10),  # not its tag
        ]
    )
    bot.clock.advance(seconds=50)  # the next minute tick
    await tick(bot)

    (alert,) = alerts_in(bot, chat)
    assert "Big model launch" in alert and "/brief_" in alert
    assert alerts_in(bot, other) == []
    await tick(bot)  # a brief alerts a chat once
    assert len(alerts_in(bot, chat)) == 1


async def test_at_most_the_daily_number_of_the_chats_own_day_best_first(bot):
    bot.clock.set(datetime(2026, 11, 27, 12, 0, tzinfo=UTC))  # 21:00 in Tokyo
    await bot.add_briefs([make_brief(title="Seed", tags=("llm",))])
    await tick(bot)
    chat = await follower(bot, 1, "/timezone Asia/Tokyo", "/quiet off", "/alerts 5 max 2")

    await bot.add_briefs(
        [make_brief(title=f"Story {s}", tags=("llm",), score=s) for s in (6, 9, 8)]
    )
    bot.clock.advance(minutes=1)
    await tick(bot)
    nine, eight = alerts_in(bot, chat)  # the cap, spent on the best two, best first
    assert "Story 9" in nine and "Story 8" in eight

    bot.clock.set(datetime(2026, 11, 27, 14, 50, tzinfo=UTC))  # 23:50 in Tokyo: same day
    await bot.add_briefs([make_brief(title="Late story", tags=("llm",), score=10)])
    await tick(bot)
    assert len(alerts_in(bot, chat)) == 2

    bot.clock.set(datetime(2026, 11, 27, 15, 10, tzinfo=UTC))  # 00:10 in Tokyo: a new day
    await bot.add_briefs([make_brief(title="New day story", tags=("llm",), score=7)])
    await tick(bot)
    assert "New day story" in alerts_in(bot, chat)[-1]
    assert len(alerts_in(bot, chat)) == 3


async def test_quiet_hours_hold_alerts_for_the_digest_which_leaves_out_what_was_alerted(bot):
    bot.clock.set(datetime(2026, 11, 27, 11, 0, tzinfo=UTC))  # 12:00 in Berlin
    await bot.add_briefs([make_brief(title="Seed", tags=("llm",), score=1)])
    await tick(bot)
    chat = await follower(bot, 1, "/timezone Europe/Berlin", "/minscore 2", "/alerts 8")
    await tick(bot)  # schedules tomorrow's 08:00 digest

    await bot.add_briefs([make_brief(title="Alerted at noon", tags=("llm",), score=9)])
    bot.clock.advance(minutes=1)
    await tick(bot)
    await bot.add_briefs([make_brief(title="Ordinary news", tags=("llm",), score=6)])
    bot.clock.set(datetime(2026, 11, 27, 21, 30, tzinfo=UTC))  # 22:30: quiet (22:00-07:00)
    await bot.add_briefs([make_brief(title="Big news at night", tags=("llm",), score=9)])
    await tick(bot)
    bot.clock.set(datetime(2026, 11, 28, 6, 30, tzinfo=UTC))  # 07:30: no longer quiet
    await tick(bot)  # a held alert stays held: it waits for the digest
    (alert,) = alerts_in(bot, chat)
    assert "Alerted at noon" in alert

    bot.clock.set(datetime(2026, 11, 28, 7, 0, tzinfo=UTC))  # 08:00 in Berlin
    await tick(bot)
    (digest,) = digests_in(bot, chat)
    assert "Big news at night" in digest and "Ordinary news" in digest
    assert "Alerted at noon" not in digest


async def test_an_alert_goes_ahead_of_a_morning_of_queued_digests(bot):
    bot.clock.set(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    await bot.add_briefs([make_brief(title="Morning news", tags=("llm", "chips"), score=5)])
    await jobs.minute_tick(bot.services)
    for chat_id in range(100, 140):
        await bot.services.chats.register(chat_id=chat_id)
        await bot.services.chats.subscribe(chat_id, ["llm"])
    chat = await follower(bot, 1, "/frequency off", "/alerts 8", tags=("chips",))
    await jobs.minute_tick(bot.services)
    bot.clock.set(datetime(2026, 11, 27, 8, 0, tzinfo=UTC))
    await jobs.minute_tick(bot.services)  # forty digests queued, not yet sent

    await bot.add_briefs([make_brief(title="Breaking chips", tags=("chips",), score=9)])
    bot.clock.advance(minutes=1)
    await jobs.minute_tick(bot.services)
    rows = await bot.outbox()
    assert [r.kind for r in rows].count(OutboxKind.DIGEST) == 40
    assert rows[-1].kind == OutboxKind.ALERT  # queued last of all

    await bot.services.sender.drain_once()  # one batch: 13 of 41 at the default rate
    assert "Breaking chips" in alerts_in(bot, chat)[0]
    waiting = [r for r in await bot.outbox() if r.status == OutboxStatus.PENDING]
    assert waiting and all(r.kind == OutboxKind.DIGEST for r in waiting)


async def test_alerts_and_quiet_get_clear_answers_and_bad_input_changes_nothing(bot):
    chat = bot.server.private_chat(42)
    assert (await bot.texts(chat, "/alerts"))[0].startswith("Alerts push a brief")
    assert (await bot.texts(chat, "/quiet"))[0].startswith("When should alerts stay quiet?")
    answers = {
        "/alerts eleven": "'eleven' is not a score from 0 to 10",
        "/alerts 11": "'11' is not a score from 0 to 10",
        "/alerts 8 max 0": "'0' is not a number of alerts a day from 1 to 20",
        "/alerts 8 most 3": "Use /alerts N (a score from 0 to 10), /alerts N max K",
        "/alerts 8 max": "Use /alerts N",
        "/quiet 25:00-07:00": "'25:00-07:00' is not a time range; use HH:MM-HH:MM",
        "/quiet 22:00": "'22:00' is not a time range",
        "/quiet 07:00-07:00": "Quiet hours must start and end at different times",
        "/time 08:00 12:00 18:00 22:00": "Up to 3 digest times a day",
        "/time 08:00 noon": "'noon' is not a time; use 24-hour HH:MM",
    }
    for command, start in answers.items():
        (answer,) = await bot.texts(chat, command)
        assert answer.startswith(start), (command, answer)
    (long,) = await bot.texts(chat, "/alerts " + "9" * 500)
    assert len(long) < 200 and "…" in long  # the echo is clipped
    known = await bot.services.chats.get(42)
    assert (known.alert_score, known.alert_max, known.quiet_hours) == (None, 3, "22:00-07:00")
    assert (known.digest_time, known.digest_times) == ("08:00", "")


async def test_settings_shows_the_times_alerts_and_quiet_hours(bot):
    chat = bot.server.private_chat(42)
    assert await bot.texts(chat, "/time 18:00, 8:00") == [
        "Digests come at <b>08:00, 18:00</b> (UTC)."
    ]
    assert await bot.texts(chat, "/alerts 7 max 5") == [
        "Alerts for briefs scoring <b>7</b>/10 or more, up to <b>5</b> a day, outside quiet"
        " hours (22:00-07:00)."
    ]
    assert await bot.texts(chat, "/quiet 23:00 - 6:30") == [
        "Quiet hours: <b>23:00-06:30</b> (UTC); an alert due then waits for the next digest."
    ]
    (shown,) = await bot.texts(chat, "/settings")
    assert "Digest times: <b>08:00, 18:00</b> (UTC)" in shown
    assert "Alerts: <b>score 7+, up to 5 a day</b>" in shown
    assert "Quiet hours: <b>23:00-06:30</b>" in shown

    assert await bot.texts(chat, "/alerts off") == ["Alerts off."]
    assert await bot.texts(chat, "/quiet off") == ["No quiet hours: alerts may come at any time."]
    assert await bot.texts(chat, "/time 07:15") == ["Digests come at <b>07:15</b> (UTC)."]
    (shown,) = await bot.texts(chat, "/settings")
    assert "Digest time: <b>07:15</b>" in shown
    assert "Alerts: <b>off" in shown and "Quiet hours: <b>none</b>" in shown


# Europe/Berlin: on 29 March 2026 02:00 CET jumps to 03:00 CEST (02:30 does not exist and
# is read as 03:30); on 25 October 2026 03:00 CEST falls back to 02:00 CET (02:30 happens
# twice, and counts once, the first time).
SPRING = (
    datetime(2026, 3, 27, 23, 0, tzinfo=UTC),
    [
        datetime(2026, 3, 28, 1, 30, tzinfo=UTC),  # 02:30 CET
        datetime(2026, 3, 28, 2, 0, tzinfo=UTC),  # 03:00 CET
        datetime(2026, 3, 28, 11, 0, tzinfo=UTC),  # 12:00 CET
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC),  # 03:00 CEST
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC),  # "02:30", in the gap: 03:30 CEST
        datetime(2026, 3, 29, 10, 0, tzinfo=UTC),  # 12:00 CEST
        datetime(2026, 3, 30, 0, 30, tzinfo=UTC),
        datetime(2026, 3, 30, 1, 0, tzinfo=UTC),
        datetime(2026, 3, 30, 10, 0, tzinfo=UTC),
    ],
)
AUTUMN = (
    datetime(2026, 10, 23, 22, 0, tzinfo=UTC),
    [
        datetime(2026, 10, 24, 0, 30, tzinfo=UTC),  # 02:30 CEST
        datetime(2026, 10, 24, 1, 0, tzinfo=UTC),  # 03:00 CEST
        datetime(2026, 10, 24, 10, 0, tzinfo=UTC),  # 12:00 CEST
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 02:30 CEST, the first; not 01:30 UTC
        datetime(2026, 10, 25, 2, 0, tzinfo=UTC),  # 03:00 CET
        datetime(2026, 10, 25, 11, 0, tzinfo=UTC),  # 12:00 CET
        datetime(2026, 10, 26, 1, 30, tzinfo=UTC),
        datetime(2026, 10, 26, 2, 0, tzinfo=UTC),
        datetime(2026, 10, 26, 11, 0, tzinfo=UTC),
    ],
)


@pytest.mark.parametrize(("start", "expected"), [SPRING, AUTUMN], ids=["spring", "autumn"])
async def test_three_digests_a_day_across_a_clock_change_neither_skip_nor_double(
    bot, start, expected
):
    bot.clock.now = start  # midnight in Berlin (spring is before the bot's clock starts)
    await bot.add_briefs([make_brief(title="N000", tags=("llm",))])
    chat = await follower(bot, 1, "/timezone Europe/Berlin", "/size 30", "/time 12:00 03:00 02:30")
    await tick(bot)  # scheduled
    sent_at: list[datetime] = []
    titles = ["N000"]
    for n in range(1, 3 * 48 + 1):  # three days of half-hour ticks, a brief each
        bot.clock.set(start + timedelta(minutes=30 * n))  # delivering may have moved it
        titles.append(f"N{n:03d}")
        await bot.add_briefs([make_brief(title=titles[-1], tags=("llm",))])
        before, at = len(digests_in(bot, chat)), bot.clock.now
        await tick(bot)
        sent_at += [at] * (len(digests_in(bot, chat)) - before)

    assert sent_at == expected
    # each digest held what came since the one before: every brief once, none twice
    everything = "\n".join(bot.server.sent_texts(chat))
    last = (expected[-1] - start) // timedelta(minutes=30)  # the brief of that tick
    for title in titles[: last + 1]:
        assert everything.count(title) == 1, title


async def test_a_chats_filters_hold_back_alerts_it_would_hide_from_its_digest(bot):
    bot.clock.set(datetime(2026, 11, 27, 12, 0, tzinfo=UTC))
    await bot.add_briefs([make_brief(title="Seed", tags=("llm",))])
    await tick(bot)
    chat = await follower(bot, 1, "/alerts 5", "/mute models", "/mute मॉडल")
    await bot.add_briefs(
        [
            make_brief(title="About chips", tags=("llm",), score=7),
            make_brief(title="About models", tags=("llm",), score=8),
            make_brief(title="नया मॉडल जारी", tags=("llm",), score=9),
        ]
    )
    bot.clock.advance(minutes=1)
    await tick(bot)
    (alert,) = alerts_in(bot, chat)
    assert "About chips" in alert
