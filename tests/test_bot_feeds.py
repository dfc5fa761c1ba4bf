"""Feeds managed from the chat, through the real bot and the fake Bot API, on both
databases: /feeds and /feed add, remove, pause, resume; mistakes answered in a line;
every action audited; sources on /brief and the digest's linked titles."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from sqlmodel import select

from digestbot.store.models import Feed
from tests.bot import running_bot
from tests.factories import audit_entries
from tests.httpserver import LocalHTTPServer, Reply

ADMIN = 1001
STRANGER = 2001
READER = 3001
RSS_TYPE = [("Content-Type", "application/rss+xml")]
UNKNOWN_FEEDS = "I don't know /feeds. /help lists what I can do."


@pytest.fixture
def web() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as running:
        yield running


@pytest.fixture
async def bot(database_url):
    # feeds are served by the test server on 127.0.0.1, a private address
    async with running_bot(database_url, admin_ids=[ADMIN], feed_allow_private="true") as running:
        yield running


def rss(*entries: tuple[str, str | None]) -> Reply:
    items = "".join(
        f"<item><title>{title}</title><guid isPermaLink='false'>{title}</guid>"
        + (f"<link>{link}</link>" if link else "")
        + "<pubDate>Thu, 01 Oct 2026 00:00:00 GMT</pubDate></item>"
        for title, link in entries
    )
    body = f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>"
    return Reply(body=body.encode(), headers=RSS_TYPE)


async def say(bot, text: str, user: int = ADMIN) -> list[str]:
    bot.clock.ticks += 60  # let the flood guard refill without moving wall time
    return await bot.texts(bot.server.private_chat(user), text)


async def feeds(bot) -> list[Feed]:
    async with bot.services.sessions() as session:
        return list(await session.exec(select(Feed).order_by(Feed.id)))


async def actions(bot) -> list[str]:
    async with bot.services.sessions() as session:
        return [e.action for e in await audit_entries(session)]


async def test_an_admin_adds_lists_pauses_resumes_and_removes_a_feed(bot, web):
    url = web.serve(
        "/feed.rss", rss(("An LLM in Rust", "https://news.example/1"), ("Weather", None))
    )

    (empty,) = await say(bot, "/feeds")
    (added,) = await say(bot, f"/feed add {url} #rust #Systems category Low level score 7")
    await bot.services.feeds.poll()
    (listing,) = await say(bot, "/feeds")
    (paused,) = await say(bot, "/feed pause 1")
    (paused_listing,) = await say(bot, "/feeds")
    (resumed,) = await say(bot, "/feed resume 1")
    (removed,) = await say(bot, "/feed remove 1")

    assert empty.startswith("No feeds yet.")
    assert added == f"Added feed 1 ({url}); it is polled within a minute."
    assert listing.splitlines() == [
        "<b>Feeds</b>",
        "",
        f"1. {url}",
        "   #rust #systems · category Low level · score 7",
        "   last success 1 Oct 00:00 · 2 briefs, 0 untagged",
    ]
    assert paused == f"Paused feed 1 ({url})."
    assert paused_listing.splitlines()[2] == f"1. {url} (paused)"
    assert resumed == f"Resumed feed 1 ({url})."
    assert removed == f"Removed feed 1 ({url}); the briefs it brought stay."
    assert await feeds(bot) == []
    assert await actions(bot) == [
        "feeds.list",
        "feed.add",
        "feeds.list",
        "feed.pause",
        "feeds.list",
        "feed.resume",
        "feed.remove",
    ]


async def test_feeds_shows_errors_and_how_many_briefs_sit_under_untagged(bot, web):
    bare = web.serve("/bare.rss", rss(("Weather tomorrow", None), ("Rain later", None)))
    broken = web.serve("/broken.rss", Reply(status=500))
    await say(bot, f"/feed add {bare}")
    await say(bot, f"/feed add {broken}")
    await bot.services.feeds.poll()

    (listing,) = await say(bot, "/feeds")

    lines = listing.splitlines()
    assert "   no default tags · category News · score 5" in lines
    assert "   last success 1 Oct 00:00 · 2 briefs, 2 untagged" in lines
    assert "   last success never · 0 briefs, 0 untagged" in lines
    assert any(line.startswith("   last error 1 Oct 00:00: ") and "500" in line for line in lines)


LONG = "x" * 3000  # a message may hold 4096 characters


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        ("/feed add", "Which feed? /feed add URL #tag… [category NAME] [score N]. Nothing "
         "changed."),
        (
            "/feed add not-a-url",
            "'not-a-url' is not an http(s) URL, like https://example.com/feed. Nothing changed.",
        ),
        (
            "/feed add https://a.example/f score 11",
            "The score must be a whole number 0 to 10, not '11'. Nothing changed.",
        ),
        (
            "/feed add https://a.example/f score",
            "Score needs a number 0 to 10: score N. Nothing changed.",
        ),
        (
            "/feed add https://a.example/f rust",
            "I don't understand 'rust': tags start with #, then category NAME and score N. "
            "Nothing changed.",
        ),
        ("/feed add https://a.example/f #!!", "'#!!' is not a tag (letters, digits, dashes). "
         "Nothing changed."),
        ("/feed remove 99", "There is no feed 99; /feeds lists them. Nothing changed."),
        ("/feed pause first", "'first' is not a feed number; /feeds lists them. Nothing changed."),
        ("/feed resume", "Send <code>/feed resume N</code>, N from /feeds."),
        (f"/feed {LONG}", "No such action xxxxxxxx"),
        (f"/feed add https://a.example/{LONG}", "'https://a.example/xxxxxxxxxxx"),
    ],
)  # fmt: skip
async def test_each_mistake_gets_one_short_answer_and_changes_nothing(bot, command, answer):
    (reply,) = await say(bot, command)

    assert reply.startswith(answer)
    assert len(reply) < 400  # the long input is clipped, never echoed whole
    assert await feeds(bot) == []
    assert await actions(bot) == []


async def test_a_url_already_there_is_refused_with_its_number(bot):
    await say(bot, "/feed add https://a.example/feed #one")

    (reply,) = await say(bot, "/feed add https://a.example/feed #two")

    assert reply == "'https://a.example/feed' is already feed 1. Nothing changed."
    assert [(f.url, f.tags) for f in await feeds(bot)] == [("https://a.example/feed", "one")]
    assert await actions(bot) == ["feed.add"]


@pytest.mark.parametrize("command", ["/feeds", "/feed add https://a.example/feed #x"])
async def test_a_non_admin_gets_the_unknown_command_answer(bot, caplog, command):
    with caplog.at_level(logging.WARNING):
        (reply,) = await say(bot, command, STRANGER)

    name = command.split()[0]
    assert reply == UNKNOWN_FEEDS.replace("/feeds", name)
    assert any(str(STRANGER) in r.getMessage() and name in r.getMessage() for r in caplog.records)
    assert await feeds(bot) == []
    assert await actions(bot) == []


async def test_brief_lists_both_sources_and_the_digest_links_the_title(bot, web):
    link = "https://news.example/chips"
    one = web.serve("/one.rss", rss(("Chip maker ships", link)))
    two = web.serve("/two.rss", rss(("Chip maker ships, and more", link)))
    await say(bot, f"/feed add {one} #chips")
    await bot.services.feeds.poll()
    await say(bot, f"/feed add {two} #chips")
    await bot.services.feeds.poll()
    await say(bot, "/start", READER)
    await say(bot, "/subscribe chips", READER)

    brief = "\n".join(await say(bot, "/brief 1", READER))
    digest = "\n".join(await say(bot, "/digest", READER))

    assert f'Source: <a href="{link}">news.example</a> via 127.0.0.1' in brief
    assert f'<a href="{link}"><b>Chip maker ships</b></a>' in digest
    assert "/brief_2" not in digest  # one story, one item


async def test_feed_urls_are_feeds_from_the_start_with_no_default_tags(database_url):
    async with running_bot(
        database_url, admin_ids=[ADMIN], feed_urls="https://a.example/feed"
    ) as bot:
        (listing,) = await say(bot, "/feeds")

    assert listing.splitlines()[2:4] == [
        "1. https://a.example/feed",
        "   no default tags · category News · score 5",
    ]
