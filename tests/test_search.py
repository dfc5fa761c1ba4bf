"""Full-text /search on both databases (SQLite FTS5, PostgreSQL tsvector): whole words and
prefixes, every word required, ranked by relevance then score then recency, Latin and
Devanagari, kept in step with the briefs, and never broken by what a user types."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from digestbot import store
from digestbot.briefs.parse import BriefData, parse_card
from digestbot.readers.digests import DigestService
from digestbot.store import db
from tests.factories import make_brief
from tests.test_digests import read, shown

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


@pytest.fixture
def digests(sessions: db.SessionFactory) -> DigestService:
    return DigestService(sessions, clock=lambda: NOW)


async def add(sessions: db.SessionFactory, *briefs: BriefData) -> None:
    async with db.session_scope(sessions) as session:
        await store.upsert_briefs(session=session, briefs=list(briefs))


def story(title: str, summary: str | None = None, **fields) -> BriefData:
    """A brief whose tags say nothing the tests search for, unless told."""
    fields.setdefault("tags", ("misc",))
    return make_brief(title=title, summary=summary, **fields)


async def titles(sessions: db.SessionFactory, *words: str) -> list[str]:
    async with sessions() as session:
        found = await store.search_items(session=session, words=list(words))
    return [item.brief.title for item in found]


async def test_open_weights_finds_the_brief_about_released_weights(sessions):
    kestrel = parse_card((SEEDS / "01-northwind-kestrel-7-open-weights.txt").read_text())
    await add(
        sessions,
        kestrel,
        story("Open call for chip designs", "Measures office opens bids."),
        story("Open letter on AI safety", "Researchers sign."),
    )

    # "open" is in its tags (open-source), "weights" in its title: both words are found
    assert await titles(sessions, "open", "weights") == [kestrel.title]
    assert await titles(sessions, "weigh") == [kestrel.title]
    assert await titles(sessions, "kestrel") == [kestrel.title]
    assert await titles(sessions, "KESTREL-7") == [kestrel.title]


async def test_whole_words_and_prefixes_not_the_middle_of_words(sessions):
    await add(
        sessions,
        story("Harborline container escape", "A runtime flaw lets code out."),
        story("AI labels for political ads", "Regulators want disclosure."),
        story("Aim higher, says the lab", "Targets move."),
    )

    assert sorted(await titles(sessions, "AI")) == [
        "AI labels for political ads",
        "Aim higher, says the lab",
    ]  # a prefix of "aim", never the inside of "container"
    assert await titles(sessions, "contain") == ["Harborline container escape"]
    assert await titles(sessions, "tainer") == []
    assert await titles(sessions, "ai", "ads") == ["AI labels for political ads"]  # every word


async def test_title_beats_summary_then_score_then_newest(sessions):
    await add(
        sessions,
        story("Budget talk", "Mentions quantum once.", score=10, published_at=ago(1)),
        story("Quantum chips, part one", "Lab news.", score=6, published_at=ago(9)),
        story("Quantum chips, part two", "Lab news.", score=6, published_at=ago(2)),
        story("Quantum chips, part six", "Lab news.", score=9, published_at=ago(20)),
        # briefs without the word, which must not show
        *(story(f"Other news {n}", "Lab news.") for n in range(6)),
    )

    assert await titles(sessions, "quantum") == [
        "Quantum chips, part six",  # title, best score
        "Quantum chips, part two",  # title, same score, newer
        "Quantum chips, part one",
        "Budget talk",  # the summary alone counts less, whatever the score
    ]


async def test_the_order_is_the_same_however_few_best_briefs_are_looked_through(sessions):
    # The search looks among the `window` best briefs first and through the full-text
    # index only when they hold too few matches; with a few briefs, small windows take
    # every one of those paths (both tiers found in the window, either or both not).
    await add(
        sessions,
        story("Budget talk", "Mentions quantum once.", score=10, published_at=ago(1)),
        story("Grid news", "Lab news.", score=10, published_at=ago(2), tags=("quantum",)),
        story("Quantum chips, part one", "Lab news.", score=6, published_at=ago(9)),
        story("Quantum chips, part two", "Lab news.", score=6, published_at=ago(2)),
        story("Quantum chips, part six", "Lab news.", score=9, published_at=ago(20)),
        story("Quantum leap in batteries", "Lab news.", score=2, published_at=ago(3)),
        story("Old budget", "Quantum is mentioned.", score=1, published_at=ago(30)),
        # better scored briefs without the word, which fill the first windows
        *(story(f"Other news {n}", "Lab news.", score=10, published_at=ago(n)) for n in range(4)),
    )
    expected = [
        "Quantum chips, part six",  # title, best score
        "Quantum chips, part two",  # title, same score, newer
        "Quantum chips, part one",
        "Quantum leap in batteries",
        "Budget talk",  # summary or tags alone: after the titles, best scored first
        "Grid news",
        "Old budget",
    ]

    for window in (0, 1, 2, 4, 5, 7, 9, 12, 2000):
        for limit in (1, 2, 3, 4, 5, 6, 10):
            async with sessions() as session:
                found = await store.search_items(
                    session=session, words=["quant"], limit=limit, window=window
                )
            assert [i.brief.title for i in found] == expected[:limit], (window, limit)


async def test_devanagari_words_and_prefixes(sessions):
    await add(
        sessions,
        story("भारत में नया हिन्दी भाषा मॉडल", "कंपनी ने वज़न जारी किए।", tags=("भाषा",)),
        story("English only", "Nothing in Hindi here."),
    )

    for words in (["हिन्दी"], ["हिन्"], ["मॉडल", "भारत"], ["जारी"], ["model"]):
        expected = [] if words == ["model"] else ["भारत में नया हिन्दी भाषा मॉडल"]
        assert await titles(sessions, *words) == expected, words


async def test_index_follows_edits_retags_and_deletes_in_the_same_transaction(sessions):
    first = story("Sodium battery plant", "Saltmarsh builds.", id="salt-1", tags=("energy",))
    await add(sessions, first)
    assert await titles(sessions, "sodium") == ["Sodium battery plant"]
    assert await titles(sessions, "energy") == ["Sodium battery plant"]

    await add(sessions, story("Lithium battery plant", "Saltmarsh builds.", id="salt-1"))
    assert await titles(sessions, "sodium") == []
    assert await titles(sessions, "lithium") == ["Lithium battery plant"]
    assert await titles(sessions, "energy") == []  # retagged: misc now
    assert await titles(sessions, "misc") == ["Lithium battery plant"]

    async with db.session_scope(sessions) as session:
        conn = await session.connection()
        await conn.execute(sa.text("DELETE FROM briefs"))
        assert await titles_in(session, "lithium") == []  # before the commit, too


async def titles_in(session: AsyncSession, *words: str) -> list[str]:
    return [i.brief.title for i in await store.search_items(session=session, words=list(words))]


HOSTILE = [
    '"',
    '"chip"',
    "*",
    "chip*",
    "NEAR",
    "NEAR(chip policy)",
    "AND",
    "OR",
    "NOT",
    "(",
    ")",
    "-",
    "-chip",
    "chip:*",
    "chip:policy",
    "'",
    "\\",
    "&",
    "|",
    "!",
    "<->",
    "^chip",
    "{chip}",
    "🚀",
    "chip🚀policy",
    "ा",  # a lone Devanagari vowel sign
    "x" * 5000,
]


@pytest.mark.parametrize("word", HOSTILE, ids=range(len(HOSTILE)))
async def test_no_input_breaks_the_query(digests, sessions, word):
    await add(sessions, story("Chip policy NEAR AND OR NOT the border", "Plain words."))

    text = read(await digests.search([word, "border"]))

    assert text.startswith(("Search: ", "No briefs match ")), text
    assert len(text) < 600  # the echo is clipped
    if any(c.isalnum() for c in word) and word != "x" * 5000:
        # operators are words to find: NEAR, AND, chip... all are in the title
        assert "Chip policy NEAR AND OR NOT the border" in text, word


async def test_operator_words_are_searched_for_literally(sessions):
    await add(
        sessions,
        story("Chip policy NEAR the border", "Plain words."),
        story("Chip policy far away", "Plain words."),
    )

    assert await titles(sessions, "NEAR") == ["Chip policy NEAR the border"]
    assert await titles(sessions, "chip", "NOT", "border") == []
    assert await titles(sessions, "(chip", "OR", "far)") == []  # all three words needed
    assert await titles(sessions, "-far") == ["Chip policy far away"]


async def test_punctuation_alone_matches_nothing_and_says_so(digests, sessions):
    await add(sessions, story("Revenue up 50% at Nordfab"), story("snake_case wins"))

    assert read(await digests.search(["%"])) == "No briefs match %. Try fewer or other words."
    assert shown(await digests.search(["50%"]), ["Revenue up 50% at Nordfab"]) == [
        "Revenue up 50% at Nordfab"
    ]
    assert await titles(sessions, "snake_case") == ["snake_case wins"]
    assert await titles(sessions, "snakecase") == []


async def test_search_through_the_bot(bot):
    kestrel = parse_card((SEEDS / "01-northwind-kestrel-7-open-weights.txt").read_text())
    await bot.add_briefs(
        [kestrel, make_brief(title="Harborline container escape", tags=("security",))]
    )
    chat = bot.server.private_chat(42)

    (found,) = await bot.texts(chat, "/search open weights")
    assert kestrel.title in found and "Harborline" not in found
    (none,) = await bot.texts(chat, "/search AI container")
    assert none == "No briefs match AI container. Try fewer or other words."
    (odd,) = await bot.texts(chat, '/search "open" (weights* -')
    assert kestrel.title in odd
