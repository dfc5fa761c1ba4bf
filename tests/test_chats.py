"""ChatService on real databases: registration, tags, the picker, settings, pause, forget."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from digestbot import store
from digestbot.errors import InputError
from digestbot.readers.chats import ChatDefaults, ChatService, suggest_tags
from digestbot.store import db
from digestbot.store.models import Chat, Subscription
from tests.factories import make_brief

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
DEFAULTS = ChatDefaults(timezone="Europe/Berlin", digest_time="07:15")
CHAT = 4242


@pytest.fixture
def chats(sessions: db.SessionFactory) -> ChatService:
    return ChatService(sessions, DEFAULTS, clock=lambda: NOW)


async def add_briefs(sessions: db.SessionFactory, tag_sets: list[tuple[str, ...]]) -> None:
    async with db.session_scope(sessions) as session:
        await store.upsert_briefs(session=session, briefs=[make_brief(tags=t) for t in tag_sets])


async def subscription_rows(sessions: db.SessionFactory, chat_id: int) -> int:
    async with sessions() as session:
        stmt = (
            select(sa.func.count())
            .select_from(Subscription)
            .where(col(Subscription.chat_id) == chat_id)
        )
        return int((await session.exec(stmt)).one())


# --- registration ---------------------------------------------------------------------


async def test_register_creates_the_chat_with_the_configured_defaults(chats):
    _, created = await chats.register(chat_id=CHAT, type="group", title="Newsroom")

    assert created
    stored = await chats.get(CHAT)
    assert stored is not None
    assert (stored.type, stored.title) == ("group", "Newsroom")
    assert (stored.timezone, stored.digest_time) == ("Europe/Berlin", "07:15")
    assert (stored.frequency, stored.min_score, stored.digest_size) == ("daily", 0, 10)
    assert stored.active and not stored.paused
    assert stored.created_at == NOW
    assert await chats.tags(CHAT) == []


async def test_registering_again_wakes_a_paused_or_unreachable_chat_and_keeps_its_choices(
    chats, sessions
):
    await chats.register(chat_id=CHAT, title="Old name")
    await add_briefs(sessions, [("chips",)])
    await chats.subscribe(CHAT, ["chips"])
    await chats.set_time(CHAT, "06:45")
    await chats.pause(CHAT)
    await chats.set_active(CHAT, False)
    paused = await chats.get(CHAT)
    assert paused is not None and paused.paused and not paused.active

    _, created = await chats.register(chat_id=CHAT)

    assert not created
    stored = await chats.get(CHAT)
    assert stored is not None
    assert stored.active and not stored.paused
    assert stored.digest_time == "06:45"
    assert stored.title == "Old name"  # no new title given: the old one stays
    assert await chats.tags(CHAT) == ["chips"]


async def test_ensure_registers_quietly_once(chats):
    first = await chats.ensure(CHAT)
    await chats.set_time(CHAT, "09:00")
    again = await chats.ensure(CHAT)

    assert first.id == again.id == CHAT
    assert again.digest_time == "09:00"  # not reset by a second ensure


# --- subscriptions ----------------------------------------------------------------------


async def test_subscribe_accepts_hash_and_capitals_and_reports_each_tag(chats, sessions):
    await add_briefs(sessions, [("generative-ai", "research"), ("chips",), ("policy",)])
    await chats.register(chat_id=CHAT)

    result = await chats.subscribe(CHAT, ["#Chips", "GENERATIVE-AI", "research"])

    assert result.added == ["chips", "generative-ai", "research"]
    assert result.already == [] and result.unknown == {}
    assert await chats.tags(CHAT) == ["chips", "generative-ai", "research"]

    again = await chats.subscribe(CHAT, ["chips", "#policy"])
    assert again.added == ["policy"]
    assert again.already == ["chips"]
    assert await chats.tags(CHAT) == ["chips", "generative-ai", "policy", "research"]


async def test_unknown_tags_are_not_followed_and_come_back_with_suggestions(chats, sessions):
    await add_briefs(
        sessions,
        [
            ("generative-ai",),
            ("generative-ai",),
            ("ai-chips",),
            ("ai-policy",),
            ("openai",),
            ("chips",),
        ],
    )
    await chats.register(chat_id=CHAT)

    result = await chats.subscribe(CHAT, ["generativ-ai", "ai", "quantum-knitting"])

    assert result.added == [] and result.already == []
    assert result.unknown["generativ-ai"][0] == "generative-ai"
    ai = result.unknown["ai"]
    assert set(ai) == {"generative-ai", "ai-chips", "ai-policy"}  # the word ai, not "openai"
    assert result.unknown["quantum-knitting"] == []
    assert await chats.tags(CHAT) == []  # nothing was followed by guesswork


async def test_a_tag_without_briefs_is_unknown_to_subscribe(chats, sessions):
    """/subscribe looks up only the typed tags (see ChatService.subscribe): a tag row
    left with no brief is refused as before, when every tag was counted."""
    await add_briefs(sessions, [("chips",)])
    async with db.session_scope(sessions) as session:
        await store.ensure_tags(session=session, slugs=["orphan", "chips-design"])
    await chats.register(chat_id=CHAT)

    result = await chats.subscribe(CHAT, ["orphan", "chips-design", "chips"])

    assert result.added == ["chips"]
    assert result.unknown == {"orphan": [], "chips-design": ["chips"]}
    assert await chats.tags(CHAT) == ["chips"]


def test_suggestions_by_spelling_come_before_suggestions_by_shared_word():
    known = ["ai-policy", "generative-ai", "chips", "chip-design"]

    assert suggest_tags("generativ-ai", known)[0] == "generative-ai"
    assert suggest_tags("#Chip", known)[:2] == ["chips", "chip-design"]
    assert len(suggest_tags("ai", [*known, "ai-safety", "ai-art", "ai-labs"])) == 3


async def test_unsubscribe_some_or_all(chats, sessions):
    await add_briefs(sessions, [("chips", "policy", "research")])
    await chats.register(chat_id=CHAT)
    await chats.subscribe(CHAT, ["chips", "policy", "research"])

    result = await chats.unsubscribe(CHAT, ["#CHIPS", "quantum", "#"])

    assert result.removed == ["chips"]
    assert result.not_subscribed == ["quantum", "#"]
    assert await chats.tags(CHAT) == ["policy", "research"]

    assert await chats.unsubscribe_all(CHAT) == 2
    assert await chats.tags(CHAT) == []
    assert await chats.unsubscribe_all(CHAT) == 0


async def test_unsubscribing_one_chat_leaves_other_chats_alone(chats, sessions):
    await add_briefs(sessions, [("chips",)])
    for chat_id in (1, 2):
        await chats.register(chat_id=chat_id)
        await chats.subscribe(chat_id, ["chips"])

    await chats.unsubscribe_all(1)

    assert await chats.tags(1) == []
    assert await chats.tags(2) == ["chips"]


# --- the tag picker -----------------------------------------------------------------------


async def test_tag_page_lists_most_used_first_with_ticks_and_clamps_the_page(chats, sessions):
    # counts: chips 3, policy 2, alpha 1, beta 1, gamma 1
    await add_briefs(
        sessions,
        [("chips", "policy"), ("chips", "policy"), ("chips", "gamma"), ("beta",), ("alpha",)],
    )
    await chats.register(chat_id=CHAT)
    await chats.subscribe(CHAT, ["policy", "gamma"])

    first = await chats.tag_page(CHAT, 0, per_page=2)
    second = await chats.tag_page(CHAT, 1, per_page=2)
    last = await chats.tag_page(CHAT, 2, per_page=2)

    assert (first.page, first.pages) == (0, 3)
    assert [(e.slug, e.briefs, e.subscribed) for e in first.entries] == [
        ("chips", 3, False),
        ("policy", 2, True),
    ]
    assert [e.slug for e in second.entries] == ["alpha", "beta"]  # ties alphabetically
    assert [(e.slug, e.subscribed) for e in last.entries] == [("gamma", True)]
    assert (await chats.tag_page(CHAT, 99, per_page=2)) == last
    assert (await chats.tag_page(CHAT, -5, per_page=2)) == first
    everything = await chats.tag_page(CHAT, 0)
    assert everything.pages == 1 and len(everything.entries) == 5
    assert len({e.id for e in everything.entries}) == 5


async def test_tag_page_with_no_briefs_is_one_empty_page(chats):
    await chats.register(chat_id=CHAT)

    page = await chats.tag_page(CHAT, 3)

    assert (page.entries, page.page, page.pages) == ([], 0, 1)


async def test_toggle_follows_then_unfollows_and_ignores_unknown_tag_ids(chats, sessions):
    await add_briefs(sessions, [("chips",), ("policy",)])
    await chats.register(chat_id=CHAT)
    page = await chats.tag_page(CHAT, 0)
    chips = next(e for e in page.entries if e.slug == "chips")

    assert await chats.toggle(CHAT, chips.id) == ("chips", True)
    assert await chats.tags(CHAT) == ["chips"]
    ticked = await chats.tag_page(CHAT, 0)
    assert next(e for e in ticked.entries if e.slug == "chips").subscribed

    assert await chats.toggle(CHAT, chips.id) == ("chips", False)
    assert await chats.tags(CHAT) == []

    assert await chats.toggle(CHAT, 987_654) is None
    assert await chats.tags(CHAT) == []


# --- settings -----------------------------------------------------------------------------


async def test_set_time_pads_hours_and_rejects_what_is_not_a_time(chats):
    await chats.register(chat_id=CHAT)

    assert (await chats.set_time(CHAT, "7:30")).digest_time == "07:30"
    assert (await chats.set_time(CHAT, " 23:59 ")).digest_time == "23:59"
    assert (await chats.set_time(CHAT, "0:05")).digest_time == "00:05"

    for bad in ("25:00", "24:00", "07:60", "noon", "7", "7.30", "", "7:30pm"):
        with pytest.raises(InputError) as caught:
            await chats.set_time(CHAT, bad)
        assert "HH:MM" in caught.value.reason and "07:30" in caught.value.reason
        assert repr(bad) in caught.value.reason
    stored = await chats.get(CHAT)
    assert stored is not None and stored.digest_time == "00:05"


async def test_set_timezone_takes_exact_names_and_suggests_for_near_misses(chats):
    await chats.register(chat_id=CHAT)

    assert (await chats.set_timezone(CHAT, "asia/kolkata")).timezone == "Asia/Kolkata"
    assert (await chats.set_timezone(CHAT, "America/New_York")).timezone == "America/New_York"

    for typed in ("kolkata", "IST"):
        with pytest.raises(InputError) as caught:
            await chats.set_timezone(CHAT, typed)
        assert "Did you mean Asia/Kolkata" in caught.value.reason
    with pytest.raises(InputError) as caught:
        await chats.set_timezone(CHAT, "Mars/Olympus_Mons")
    assert "Mars/Olympus_Mons" in caught.value.reason
    assert "Did you mean" not in caught.value.reason

    stored = await chats.get(CHAT)
    assert stored is not None and stored.timezone == "America/New_York"


async def test_set_frequency_daily_weekdays_weekly_with_a_day_and_off(chats):
    await chats.register(chat_id=CHAT)

    assert (await chats.set_frequency(CHAT, "WEEKDAYS")).frequency == "weekdays"
    friday = await chats.set_frequency(CHAT, "weekly", "Friday")
    assert (friday.frequency, friday.weekly_day) == ("weekly", 4)
    for day, index in (("tue", 1), ("thurs", 3), ("SUN", 6), ("mondays", 0), ("weds", 2)):
        assert (await chats.set_frequency(CHAT, "weekly", day)).weekly_day == index
    kept = await chats.set_frequency(CHAT, "weekly")
    assert (kept.frequency, kept.weekly_day) == ("weekly", 2)  # no day: the day stays
    assert (await chats.set_frequency(CHAT, " Off ")).frequency == "off"
    assert (await chats.set_frequency(CHAT, "daily")).frequency == "daily"


async def test_set_frequency_rejects_bad_values_and_bad_days(chats):
    await chats.register(chat_id=CHAT)
    await chats.set_frequency(CHAT, "weekly", "sunday")

    for typed in ("hourly", "", "week"):
        with pytest.raises(InputError) as caught:
            await chats.set_frequency(CHAT, typed)
        assert "daily, weekdays, weekly, off" in caught.value.reason
    for day in ("fr", "funday", "monkey", "friendly", "7", ""):
        with pytest.raises(InputError) as caught:
            await chats.set_frequency(CHAT, "weekly", day)
        assert "not a day of the week" in caught.value.reason

    stored = await chats.get(CHAT)
    assert stored is not None
    assert (stored.frequency, stored.weekly_day) == ("weekly", 6)


async def test_min_score_is_a_whole_number_from_0_to_10(chats):
    await chats.register(chat_id=CHAT)

    assert (await chats.set_min_score(CHAT, "10")).min_score == 10
    assert (await chats.set_min_score(CHAT, "0")).min_score == 0
    assert (await chats.set_min_score(CHAT, " 7 ")).min_score == 7

    for bad in ("11", "-1", "seven", "", "7.5", "²", "1e1"):
        with pytest.raises(InputError) as caught:
            await chats.set_min_score(CHAT, bad)
        assert "0 to 10" in caught.value.reason
    stored = await chats.get(CHAT)
    assert stored is not None and stored.min_score == 7


async def test_digest_size_is_a_whole_number_from_1_to_30(chats):
    await chats.register(chat_id=CHAT)

    assert (await chats.set_size(CHAT, "1")).digest_size == 1
    assert (await chats.set_size(CHAT, "30")).digest_size == 30
    assert (await chats.set_size(CHAT, "5")).digest_size == 5

    for bad in ("0", "31", "ten", "", "-3", "³"):
        with pytest.raises(InputError) as caught:
            await chats.set_size(CHAT, bad)
        assert "1 to 30" in caught.value.reason
    stored = await chats.get(CHAT)
    assert stored is not None and stored.digest_size == 5


async def test_pause_stops_digests_but_keeps_tags_and_settings(chats, sessions):
    await add_briefs(sessions, [("chips",)])
    await chats.register(chat_id=CHAT)
    await chats.subscribe(CHAT, ["chips"])
    await chats.set_size(CHAT, "4")

    paused = await chats.pause(CHAT)

    assert paused.paused and paused.active
    stored = await chats.get(CHAT)
    assert stored is not None and stored.paused and stored.digest_size == 4
    assert await chats.tags(CHAT) == ["chips"]


async def test_a_very_long_bad_value_is_quoted_short_in_the_reason(chats):
    await chats.register(chat_id=CHAT)

    for attempt in (
        lambda: chats.set_time(CHAT, "9" * 4000),
        lambda: chats.set_timezone(CHAT, "Zone " * 800),
        lambda: chats.set_frequency(CHAT, "weekly", "d" * 4000),
    ):
        with pytest.raises(InputError) as caught:
            await attempt()
        assert len(caught.value.reason) < 300  # the reply must fit one Telegram message


# --- forget -------------------------------------------------------------------------------


async def test_forget_deletes_the_chat_and_its_subscriptions(chats, sessions):
    await add_briefs(sessions, [("chips", "policy")])
    for chat_id in (CHAT, CHAT + 1):
        await chats.register(chat_id=chat_id)
        await chats.subscribe(chat_id, ["chips", "policy"])
    await chats.set_time(CHAT, "05:00")

    assert await chats.forget(CHAT) is True

    assert await chats.get(CHAT) is None
    assert await chats.tags(CHAT) == []
    assert await subscription_rows(sessions, CHAT) == 0
    assert await chats.tags(CHAT + 1) == ["chips", "policy"]  # other chats untouched
    async with sessions() as session:
        assert await session.get(Chat, CHAT + 1) is not None

    chat, created = await chats.register(chat_id=CHAT)  # coming back starts afresh
    assert created and chat.digest_time == "07:15"
    assert await chats.tags(CHAT) == []


async def test_forget_an_unknown_chat_says_so(chats):
    assert await chats.forget(CHAT) is False
