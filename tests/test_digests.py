"""DigestService on real databases: /digest with its window and paging, /summary, /watch,
/brief and /search, as the Telegram HTML messages a chat receives."""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from digestbot import store
from digestbot.briefs.parse import BriefData
from digestbot.readers.chats import ChatDefaults, ChatService
from digestbot.readers.digests import DigestService
from digestbot.store import db
from digestbot.store.models import Brief
from tests.factories import make_brief
from tests.telegram_html import assert_valid

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
CHAT = 777
NOTHING_NEW = "Nothing new since your last digest; here are the latest briefs."


def ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


@pytest.fixture
def chats(sessions: db.SessionFactory) -> ChatService:
    return ChatService(sessions, ChatDefaults(), clock=lambda: NOW)


@pytest.fixture
def digests(sessions: db.SessionFactory) -> DigestService:
    return DigestService(sessions, clock=lambda: NOW)


async def add(sessions: db.SessionFactory, *briefs: BriefData) -> None:
    async with db.session_scope(sessions) as session:
        await store.upsert_briefs(session=session, briefs=list(briefs))


def story(title: str, score: int = 5, tags: Sequence[str] = ("chips",), **fields) -> BriefData:
    return make_brief(title=title, score=score, tags=tuple(tags), **fields)


async def reader(chats: ChatService, *tags: str, size: int = 10, min_score: int = 0) -> None:
    """The chat CHAT, registered, following ``tags`` (which must have briefs)."""
    await chats.register(chat_id=CHAT)
    if tags:
        result = await chats.subscribe(CHAT, list(tags))
        assert not result.unknown
    await chats.set_size(CHAT, str(size))
    await chats.set_min_score(CHAT, str(min_score))


def read(messages: list[str]) -> str:
    """What the user reads: every message valid Telegram HTML, then the plain text."""
    assert messages
    for message in messages:
        assert_valid(message)
    return html.unescape(re.sub(r"<[^>]+>", "", "\n\n".join(messages)))


def shown(messages: list[str], titles: Sequence[str]) -> list[str]:
    """Which of ``titles`` the messages show, in the order they appear."""
    text = read(messages)
    return sorted((t for t in titles if t in text), key=text.index)


async def ids_by_title(sessions: db.SessionFactory) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.exec(select(Brief.title, Brief.id))
        return {title: brief_id for title, brief_id in rows if brief_id is not None}


# --- /digest ------------------------------------------------------------------------------


async def test_an_unknown_chat_is_told_to_start(digests):
    messages = await digests.digest_now(CHAT)

    assert read(messages).startswith("Send /start first")


async def test_a_chat_without_tags_gets_the_top_briefs_and_a_nudge_to_pick_tags(
    chats, digests, sessions
):
    await chats.register(chat_id=CHAT)
    assert read(await digests.digest_now(CHAT)) == "There are no briefs yet. Check back soon."

    await add(
        sessions,
        story("Quiet chips news", 3, published_at=ago(5)),
        story("Big policy news", 9, ("policy",), published_at=ago(4)),
        story("Fair research news", 7, ("research",), published_at=ago(3)),
        story("Old giant news", 10, ("policy",), published_at=ago(24 * 30)),
    )
    await chats.set_size(CHAT, "2")

    messages = await digests.digest_now(CHAT)

    text = read(messages)
    assert text.startswith("Top briefs · 2 Nov")
    assert "/tags" in text
    # best first, this week's only, as many as the digest size
    titles = ["Big policy news", "Fair research news", "Quiet chips news", "Old giant news"]
    assert shown(messages, titles) == ["Big policy news", "Fair research news"]


async def test_new_briefs_on_the_chats_tags_above_its_min_score_come_best_first(
    chats, digests, sessions
):
    await add(
        sessions,
        story("Chips six older", 6, published_at=ago(9)),
        story("Chips nine", 9, published_at=ago(8)),
        story("Policy eight", 8, ("policy",), published_at=ago(7)),
        story("Chips three", 3, published_at=ago(6)),
        story("Sports ten", 10, ("sports",), published_at=ago(5)),
        story("Chips and sports seven", 7, ("sports", "chips"), published_at=ago(4)),
        story("Chips six newer", 6, published_at=ago(3)),
    )
    await reader(chats, "chips", "#Policy", min_score=5)

    messages = await digests.digest_now(CHAT)

    text = read(messages)
    assert text.startswith("Your digest · 2 Nov")
    everything = ["Chips three", "Sports ten", "Chips nine", "Policy eight"]
    everything += ["Chips and sports seven", "Chips six newer", "Chips six older"]
    assert shown(messages, everything) == [
        "Chips nine",
        "Policy eight",
        "Chips and sports seven",
        "Chips six newer",  # same score: the newer first
        "Chips six older",
    ]
    assert "more: /digest" not in text
    ids = await ids_by_title(sessions)
    assert f"/brief_{ids['Chips nine']}" in text  # each brief links to its full text


async def test_a_new_chats_first_digest_reaches_back_fifteen_days_of_ingestion_not_further(
    chats, digests, sessions
):
    # briefs ingested over a month: the first digest of a chat that never had one holds
    # those ingested within 15 days of the newest (as the scheduled digests do), rather
    # than counting every brief ever stored
    await add(sessions, story("Chips a month ago", 9), story("Chips sixteen days ago", 9))
    await add(sessions, story("Chips fourteen days ago", 6), story("Chips today", 5))
    ids = await ids_by_title(sessions)
    ingested = {"a month ago": 30, "sixteen days ago": 16, "fourteen days ago": 14, "today": 0}
    async with db.session_scope(sessions) as session:
        for when, days in ingested.items():
            row = await session.get(Brief, ids[f"Chips {when}"])
            assert row is not None
            row.ingested_at = NOW - timedelta(days=days)
    await reader(chats, "chips")

    messages = await digests.digest_now(CHAT)

    titles = [f"Chips {when}" for when in ingested]
    assert shown(messages, titles) == ["Chips fourteen days ago", "Chips today"]
    assert "more: /digest" not in read(messages)
    # and the next one says there is nothing new (the old briefs are not owed)
    assert NOTHING_NEW in read(await digests.digest_now(CHAT))


async def test_a_second_digest_right_after_says_nothing_new_and_shows_the_latest_few(
    chats, digests, sessions
):
    titles = [f"Chips item {name}" for name in ("one", "two", "three", "four", "five", "six")]
    await add(
        sessions,
        *(story(t, 6, published_at=ago(10 - i)) for i, t in enumerate(titles)),
        story("Chips low item", 2, published_at=ago(1)),
        story("Policy item", 9, ("policy",), published_at=ago(1)),
    )
    await reader(chats, "chips", min_score=5)
    first = await digests.digest_now(CHAT)
    assert len(shown(first, titles)) == 6

    again = await digests.digest_now(CHAT)

    text = read(again)
    assert text.startswith("Latest on your tags · 2 Nov")
    assert NOTHING_NEW in text
    # the five newest on the chat's tags at its minimum score, newest first
    assert shown(again, [*titles, "Chips low item", "Policy item"]) == titles[::-1][:5]


async def test_a_chat_whose_tags_have_nothing_at_its_min_score_is_told_how_to_get_more(
    chats, digests, sessions
):
    await add(sessions, story("Mediocre chips", 5), story("Great policy", 10, ("policy",)))
    await reader(chats, "chips", min_score=9)

    text = read(await digests.digest_now(CHAT))

    assert text == "Nothing on your tags yet at score 9+. Add tags with /tags, or lower /minscore."


async def test_a_capped_digest_pages_through_the_rest_with_digest(chats, digests, sessions):
    titles = ["Nine alpha", "Eight bravo", "Seven charlie", "Six delta", "Five echo"]
    await add(sessions, *(story(t, 9 - i) for i, t in enumerate(titles)))
    await reader(chats, "chips", size=3)

    first = await digests.digest_now(CHAT)
    second = await digests.digest_now(CHAT)
    third = await digests.digest_now(CHAT)

    assert shown(first, titles) == titles[:3]
    assert read(first).endswith("+2 more: /digest")
    assert read(second).startswith("Your digest")
    assert shown(second, titles) == titles[3:]
    assert "more: /digest" not in read(second)
    assert NOTHING_NEW in read(third)


async def test_briefs_arriving_while_paging_come_in_the_following_digest_never_lost_or_repeated(
    chats, digests, sessions
):
    await add(sessions, story("Old nine", 9), story("Old eight", 8), story("Old seven", 7))
    await reader(chats, "chips", size=2)
    titles = ["Old nine", "Old eight", "Old seven", "New ten", "New four"]

    first = await digests.digest_now(CHAT)
    await add(sessions, story("New ten", 10), story("New four", 4))
    second = await digests.digest_now(CHAT)
    third = await digests.digest_now(CHAT)
    fourth = await digests.digest_now(CHAT)

    assert shown(first, titles) == ["Old nine", "Old eight"]
    assert read(first).endswith("+1 more: /digest")
    assert shown(second, titles) == ["Old seven"]  # finishes the page it promised
    assert "more: /digest" not in read(second)
    assert shown(third, titles) == ["New ten", "New four"]
    assert NOTHING_NEW in read(fourth)


async def test_briefs_ingested_again_or_corrected_are_not_sent_again(chats, digests, sessions):
    original = story("Chips story", 6)
    await add(sessions, original)
    await reader(chats, "chips")
    assert shown(await digests.digest_now(CHAT), ["Chips story"]) == ["Chips story"]

    await add(sessions, original, dataclasses.replace(original, score=8, summary="Corrected."))

    assert NOTHING_NEW in read(await digests.digest_now(CHAT))


async def test_the_digest_heading_uses_the_chats_own_date(chats, sessions):
    late = DigestService(sessions, clock=lambda: datetime(2026, 11, 2, 23, 30, tzinfo=UTC))
    await add(sessions, story("Chips story"))
    await reader(chats, "chips")
    await chats.set_timezone(CHAT, "Asia/Kolkata")

    assert read(await late.digest_now(CHAT)).startswith("Your digest · 3 Nov")


async def test_brief_text_with_markup_characters_arrives_escaped(chats, digests, sessions):
    nasty = "<Chips> & Co: 5 < 6 > 4 <b>bold</b>"
    await add(sessions, story(nasty, category="R&D <lab>"))
    await reader(chats, "chips")

    messages = await digests.digest_now(CHAT)

    text = read(messages)  # read() checks the HTML is valid
    assert nasty in text and "R&D <lab>" in text
    assert "<b>bold</b>" not in "".join(messages)


async def test_a_big_digest_is_split_into_valid_messages_with_every_brief(chats, digests, sessions):
    titles = [f"Story {n:02d} " + "with a long and winding title " * 14 for n in range(35)]
    await add(sessions, *(story(t, 5, published_at=ago(n)) for n, t in enumerate(titles)))
    await reader(chats, "chips", size=30)

    messages = await digests.digest_now(CHAT)

    assert len(messages) > 1
    assert len(shown(messages, titles)) == 30
    assert shown(messages, titles) == titles[:30]  # same score: newest first
    assert read(messages).endswith("+5 more: /digest")
    assert len(shown(await digests.digest_now(CHAT), titles)) == 5


# --- /summary and /watch ------------------------------------------------------------------


async def test_summary_covers_the_chats_tags_or_the_tag_asked_for(chats, digests, sessions):
    await add(
        sessions,
        story("Chips older", published_at=ago(5)),
        story("Chips newer", published_at=ago(1)),
        story("Policy only", tags=("policy",), published_at=ago(2)),
    )
    titles = ["Chips older", "Chips newer", "Policy only"]

    await chats.register(chat_id=CHAT)
    everything = await digests.summary(CHAT)  # no tags yet: everything
    assert shown(everything, titles) == ["Chips newer", "Policy only", "Chips older"]

    await chats.subscribe(CHAT, ["chips"])
    mine = await digests.summary(CHAT)
    assert read(mine).startswith("Summary · 2 Nov")
    assert shown(mine, titles) == ["Chips newer", "Chips older"]  # newest first

    policy = await digests.summary(CHAT, "#Policy")
    assert read(policy).startswith("Summary: policy · 2 Nov")
    assert shown(policy, titles) == ["Policy only"]

    assert read(await digests.summary(CHAT, "Quantum")) == (
        "No briefs on quantum yet. See /tags for what there is."
    )


async def test_summary_on_an_empty_store_says_so(digests):
    assert read(await digests.summary(CHAT)) == "No briefs yet. Check back soon."


async def test_watch_lists_what_to_watch_on_the_chats_tags_each_point_once(
    chats, digests, sessions
):
    await add(
        sessions,
        story("Fab plans", 8, what_to_watch="Watch the new fab in Q3."),
        story("Fab plans again", 7, what_to_watch="watch the NEW fab   in Q3."),
        story("Nothing to watch", 9, what_to_watch=None),
        story("Memory prices", 6, what_to_watch="Memory contract prices in December."),
        story("Export rules", 9, ("policy",), what_to_watch="The export rule vote."),
        story("Old chips", 10, published_at=ago(24 * 30), what_to_watch="Ancient history."),
    )
    await reader(chats, "chips")

    messages = await digests.watch(CHAT)

    text = read(messages)
    assert text.startswith("What to watch · 2 Nov")
    assert text.lower().count("watch the new fab in q3.") == 1  # identical points said once
    assert "Memory contract prices in December." in text
    assert "Nothing to watch" not in text  # a brief without a point adds nothing
    assert "The export rule vote." not in text  # not the chat's tag
    assert "Ancient history." not in text  # this week's briefs first

    policy = read(await digests.watch(CHAT, "policy"))
    assert policy.startswith("What to watch: policy · 2 Nov")
    assert "The export rule vote." in policy and "fab" not in policy


async def test_watch_falls_back_to_older_briefs_and_says_when_there_is_nothing(
    chats, digests, sessions
):
    await add(
        sessions,
        story("Archived", tags=("archive",), published_at=ago(24 * 60), what_to_watch="Later."),
        story("Silent", tags=("silent",), what_to_watch=None),
    )
    await chats.register(chat_id=CHAT)

    assert "Later." in read(await digests.watch(CHAT, "archive"))
    assert read(await digests.watch(CHAT, "silent")) == (
        "No briefs on silent yet. See /tags for what there is."
    )
    assert read(await digests.watch(CHAT, "nope")) == (
        "No briefs on nope yet. See /tags for what there is."
    )


async def test_watch_finds_points_past_top_briefs_that_have_none(chats, digests, sessions):
    # feed items often have no "what to watch" section; they must not hide the ones that do
    await add(
        sessions,
        *(story(f"Pointless {n}", 9, what_to_watch=None) for n in range(12)),
        story("Pointed", 3, what_to_watch="The one thing to watch."),
    )
    await reader(chats, "chips")

    assert "The one thing to watch." in read(await digests.watch(CHAT))


# --- /brief and /search -------------------------------------------------------------------


async def test_brief_shows_one_brief_in_full_in_the_chats_timezone(digests, sessions):
    await add(
        sessions,
        story(
            "The whole story",
            8,
            ("chips", "policy"),
            published_at=datetime(2026, 11, 1, 8, 5, tzinfo=UTC),
            summary="A short summary.",
            what_happened="Something big happened.",
            technical_details="Three nanometres.",
            why_it_matters="Costs fall.",
            what_to_watch="Next quarter's numbers.",
            url="https://example.org/story?a=1&b=2",
        ),
    )
    brief_id = (await ids_by_title(sessions))["The whole story"]

    messages = await digests.brief(brief_id, timezone="Asia/Kolkata")

    assert messages is not None
    text = read(messages)
    for part in (
        "8/10",
        "The whole story",
        "A short summary.",
        "What happened",
        "Something big happened.",
        "Technical details",
        "Three nanometres.",
        "Why it matters",
        "Costs fall.",
        "What to watch next",
        "Next quarter's numbers.",
        "chips · policy",
        "1 Nov 2026, 13:35",  # 08:05 UTC in Kolkata
    ):
        assert part in text
    assert 'href="https://example.org/story?a=1&amp;b=2"' in "".join(messages)


async def test_a_missing_brief_is_none(digests, sessions):
    await add(sessions, story("Only one"))

    for missing in (123_456, 0, -1, 2**31, 3_000_000_000, 10**23):  # never a database error
        assert await digests.brief(missing) is None


async def test_the_brief_link_in_a_digest_opens_that_brief(chats, digests, sessions):
    await add(sessions, story("Linked story", summary="Read me in full."))
    await reader(chats, "chips")

    (link,) = re.findall(r"/brief_(\d+)", read(await digests.digest_now(CHAT)))
    messages = await digests.brief(int(link))

    assert messages is not None and "Read me in full." in read(messages)


async def test_search_matches_title_or_summary_case_insensitively_with_every_word(
    digests, sessions
):
    other = ("hardware",)  # tags are searched too (see test_search.py)
    await add(
        sessions,
        story(
            "Chip shortage eases",
            5,
            other,
            summary="Foundries report capacity.",
            published_at=ago(5),
        ),
        story("Export rules tighten", 5, other, summary="New CHIP controls.", published_at=ago(3)),
        story("Memory prices", 5, other, summary=None, published_at=ago(1)),
        story("R&D budgets grow", 5, other, summary="Labs spend more.", published_at=ago(2)),
        *(story(f"Filler {n}", 5, other, summary=None) for n in range(4)),
    )
    titles = ["Chip shortage eases", "Export rules tighten", "Memory prices", "R&D budgets grow"]

    chip = await digests.search(["cHiP"])
    assert read(chip).startswith("Search: cHiP")
    # the word in a title counts more than in a summary
    assert shown(chip, titles) == ["Chip shortage eases", "Export rules tighten"]
    assert shown(await digests.search(["chip", "EXPORT"]), titles) == ["Export rules tighten"]
    assert shown(await digests.search(["memory"]), titles) == ["Memory prices"]
    assert shown(await digests.search(["r&d"]), titles) == ["R&D budgets grow"]


async def test_search_reads_punctuation_as_a_word_break_never_a_wildcard(digests, sessions):
    await add(
        sessions,
        story("Revenue up 50% at Nordfab"),
        story("Revenue up 50 points at Nordfab"),
        story("snake_case wins", summary="Style guide."),
        story("snakeXcase loses", summary="Style guide."),
    )
    titles = [
        "Revenue up 50% at Nordfab",
        "Revenue up 50 points at Nordfab",
        "snake_case wins",
        "snakeXcase loses",
    ]

    assert sorted(shown(await digests.search(["50%"]), titles)) == sorted(titles[:2])  # word 50
    assert read(await digests.search(["%"])).startswith("No briefs match %.")
    assert shown(await digests.search(["snake_case"]), titles) == ["snake_case wins"]
    assert read(await digests.search(["_"])).startswith("No briefs match _.")


async def test_search_without_matches_says_so_safely(digests, sessions):
    await add(sessions, story("Chips"))

    messages = await digests.search(["<quantum>", "&"])

    assert read(messages) == "No briefs match <quantum> &. Try fewer or other words."


async def test_a_very_long_search_still_gets_a_reply_telegram_accepts(digests, sessions):
    # (PostgreSQL leaves words over 2,047 bytes out of its index: this one is shorter)
    await add(sessions, story("Long one", summary="z" * 1000))

    missing = read(await digests.search(["x" * 4000]))  # read() checks Telegram's limits
    found = await digests.search(["z" * 4000])  # a term's first 100 letters, as a prefix

    assert missing.startswith("No briefs match xxx") and len(missing) < 300
    assert shown(found, ["Long one"]) == ["Long one"]


async def test_a_nul_character_in_a_search_is_ignored(digests, sessions):
    await add(sessions, story("Chip shortage eases"))

    assert shown(await digests.search(["ch\x00ip"]), ["Chip shortage eases"]) == [
        "Chip shortage eases"
    ]
    assert read(await digests.search(["\x00zz"])).startswith("No briefs match zz.")
