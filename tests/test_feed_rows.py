"""Feeds as rows, over real HTTP on both databases: default tags, category and score,
paused feeds, FEED_URLS at start, and one story from two feeds stored as one brief."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from sqlmodel import select

from digestbot import store
from digestbot.briefs import fetcher
from digestbot.briefs.feedadmin import FeedAdmin, FeedAdminError, FeedSpec
from digestbot.briefs.ingest import Ingester
from digestbot.briefs.poller import FeedPoller
from digestbot.readers.digests import DigestService
from digestbot.store.models import BriefSource, Feed
from tests.bot import Clock
from tests.factories import make_brief
from tests.httpserver import LocalHTTPServer, Reply

RSS_TYPE = [("Content-Type", "application/rss+xml")]
MAY_1 = datetime(2026, 5, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def web() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as running:
        yield running


@pytest.fixture
async def http():
    async with fetcher.make_client(timeout=2.0, allow_private=True) as client:
        yield client


def entry(
    title: str,
    *,
    guid: str,
    link: str | None = None,
    at: datetime = MAY_1,
    categories: tuple[str, ...] = (),
) -> str:
    parts = [
        f"<title>{title}</title>",
        f"<pubDate>{format_datetime(at)}</pubDate>",
        f"<guid isPermaLink='false'>{guid}</guid>",
        *(f"<link>{link}</link>" for _ in [link] if link),
        *(f"<category>{c}</category>" for c in categories),
    ]
    return "<item>" + "".join(parts) + "</item>"


def rss(*entries: str) -> Reply:
    body = f"<rss version='2.0'><channel><title>t</title>{''.join(entries)}</channel></rss>"
    return Reply(body=body.encode(), headers=RSS_TYPE)


@pytest.fixture
async def poller(sessions, http) -> AsyncIterator[FeedPoller]:
    yield FeedPoller(sessions, http, [], clock=Clock(now=MAY_1))


async def briefs_by_title(sessions) -> dict[str, tuple[str, int, tuple[str, ...]]]:
    async with sessions() as session:
        return {
            b.title: (b.category, b.score, b.tags) async for b in store.iter_briefs(session=session)
        }


async def test_entries_naming_no_tag_get_the_feeds_tags_and_the_known_ones_they_name(
    web, sessions, poller
):
    await Ingester(sessions).store([make_brief(title="Seen", tags=("llm",))])
    admin = FeedAdmin(sessions)
    tagged = web.serve(
        "/rust.rss",
        rss(
            entry("An LLM written in Rust", guid="a"),
            entry("Borrow checker news", guid="b"),
            entry("Says its own tags", guid="c", categories=("Compilers",)),
            entry("Scored and filed", guid="d"),
        ),
    )
    bare = web.serve("/bare.rss", rss(entry("Weather tomorrow", guid="e")))
    rust = await admin.add(FeedSpec(tagged, ("rust",), "Systems", 7))
    await admin.add(FeedSpec(bare))

    results = {r.url: r for r in await poller.poll()}

    assert results[tagged].report is not None and results[tagged].report.added == 4
    stored = await briefs_by_title(sessions)
    assert stored["An LLM written in Rust"] == ("Systems", 7, ("rust", "llm"))
    assert stored["Borrow checker news"] == ("Systems", 7, ("rust",))
    assert stored["Says its own tags"] == ("Systems", 7, ("compilers",))  # its own win
    assert stored["Weather tomorrow"] == ("News", 5, ("untagged",))
    views = {v.feed.url: v for v in await admin.list()}
    assert (views[tagged].briefs, views[tagged].untagged) == (4, 0)
    assert (views[bare].briefs, views[bare].untagged) == (1, 1)
    assert views[tagged].feed.id == rust.id


async def test_the_same_link_from_two_feeds_is_one_brief_with_both_sources(web, sessions, poller):
    link = "https://news.example/story-1"
    first = web.serve("/one.rss", rss(entry("Chip maker ships", guid="1", link=link)))
    second = web.serve("/two.rss", rss(entry("Chipmaker ships new part", guid="x", link=link)))
    admin = FeedAdmin(sessions)
    await admin.add(FeedSpec(first))
    await admin.add(FeedSpec(second))

    results = {r.url: r.report for r in await poller.poll(force=True)}
    again = {r.url: r.report for r in await poller.poll(force=True)}

    assert results[first] is not None and results[second] is not None
    assert (results[first].added + results[second].added) == 1
    assert (results[first].merged + results[second].merged) == 1
    assert "1 merged into stored briefs" in " ".join(
        r.summary() for r in results.values() if r is not None
    )
    assert all(r is not None and (r.added, r.merged) == (0, 0) for r in again.values())
    async with sessions() as session:
        assert await store.count_briefs(session=session) == 1
        (item,) = await store.find_items(session=session)
    shown = "\n".join(await DigestService(sessions).brief(item.id) or [])
    assert shown.count(f'<a href="{link}">news.example</a>') == 1
    assert "via 127.0.0.1" in shown


async def test_the_same_title_within_48_hours_is_one_story_and_later_a_new_one(
    web, sessions, poller
):
    first = web.serve(
        "/one.rss", rss(entry("GPT-6 is out!", guid="1", link="https://a.example/gpt6"))
    )
    second = web.serve(
        "/two.rss",
        rss(
            entry(
                "gpt 6 is OUT",
                guid="2",
                link="https://b.example/gpt-6",
                at=MAY_1 + timedelta(hours=47),
            ),
            entry(
                "GPT 6 is out",
                guid="3",
                link="https://c.example/again",
                at=MAY_1 + timedelta(days=5),
            ),
        ),
    )
    admin = FeedAdmin(sessions)
    await admin.add(FeedSpec(first))
    await admin.add(FeedSpec(second))

    await poller.poll()

    async with sessions() as session:
        items = await store.find_items(session=session, order="latest")
        sources = {
            i.brief.title: [s.url for s in await store.sources_of(session=session, brief_id=i.id)]
            for i in items
        }
    # the two feeds are fetched at once: either may be stored first
    merged = {frozenset(urls) for urls in sources.values()}
    assert merged == {
        frozenset({"https://c.example/again"}),
        frozenset({"https://a.example/gpt6", "https://b.example/gpt-6"}),
    }
    (older,) = [i for i in items if i.brief.published_at < MAY_1 + timedelta(days=2)]
    shown = "\n".join(await DigestService(sessions).brief(older.id) or [])
    assert "Sources: <a href=" in shown
    assert '<a href="https://a.example/gpt6">a.example</a>' in shown
    assert '<a href="https://b.example/gpt-6">b.example</a>' in shown


async def test_cards_with_the_same_title_stay_apart(sessions):
    # Only feed entries are matched by story: an admin's cards are stored as given.
    ingester = Ingester(sessions)
    report = await ingester.store(
        [
            make_brief(title="Weekly notes", url="https://a.example/1"),
            make_brief(title="Weekly notes"),
        ]
    )
    assert report.added == 2


async def test_paused_feeds_are_skipped_and_resumed_ones_polled(web, sessions, poller):
    url = web.serve("/feed.rss", rss(entry("Anything", guid="1")))
    admin = FeedAdmin(sessions)
    feed = await admin.add(FeedSpec(url))
    assert feed.id is not None

    await admin.set_paused(feed.id, paused=True)
    assert await poller.poll(force=True) == []
    assert web.requests == []
    await admin.set_paused(feed.id, paused=False)
    (result,) = await poller.poll()
    assert result.report is not None and result.report.added == 1


async def test_configured_urls_become_feeds_once_with_no_defaults(sessions, http):
    urls = ["https://a.example/feed", "https://b.example/feed"]
    await FeedPoller(sessions, http, urls).ensure_configured()
    await FeedPoller(sessions, http, [*urls, urls[0]]).ensure_configured()

    async with sessions() as session:
        feeds = await store.all_feeds(session=session)
    assert [(f.url, f.tags, f.category, f.score, f.paused) for f in feeds] == [
        (u, "", None, None, False) for u in urls
    ]


async def test_a_removed_feed_leaves_its_briefs_and_their_links(web, sessions, poller):
    link = "https://news.example/kept"
    url = web.serve("/feed.rss", rss(entry("Kept after removal", guid="1", link=link)))
    admin = FeedAdmin(sessions)
    feed = await admin.add(FeedSpec(url, ("rust",)))
    assert feed.id is not None
    await poller.poll()

    removed = await admin.remove(feed.id)

    assert removed.url == url
    async with sessions() as session:
        assert await store.count_briefs(session=session) == 1
        rows = list(await session.exec(select(BriefSource.feed_id, BriefSource.url)))
        assert rows == [(None, link)]
        assert list(await session.exec(select(Feed))) == []
    with pytest.raises(FeedAdminError, match="there is no feed"):
        await admin.remove(feed.id)


async def test_a_url_already_there_is_refused_naming_its_number(sessions):
    admin = FeedAdmin(sessions)
    first = await admin.add(FeedSpec("https://a.example/feed"))

    with pytest.raises(FeedAdminError) as raised:
        await admin.add(FeedSpec("https://a.example/feed", ("other",)))
    assert raised.value.reason == f"'https://a.example/feed' is already feed {first.id}"


def test_sources_are_links_named_by_host_escaped_and_capped():
    from digestbot.briefs.render import MAX_SOURCES_SHOWN, entity_count, sources_line
    from digestbot.store import Source

    tricky = 'https://www.a.example/q?x="1"&y=<2>'
    many = [Source(tricky, "https://feeds.example/rss"), Source(tricky, "https://other.example/")]
    many += [Source(f"https://n{i}.example/", None) for i in range(20)]

    line = sources_line(many)

    assert line.startswith(
        'Sources: <a href="https://www.a.example/q?x=&quot;1&quot;&amp;y=&lt;2&gt;">a.example</a>'
        " via feeds.example, other.example · "
    )
    assert line.endswith(f" · +{21 - MAX_SOURCES_SHOWN} more")
    assert entity_count(line) == MAX_SOURCES_SHOWN
    assert sources_line([Source(None, "https://feeds.example/rss")]) == (
        "Source: no link via feeds.example"
    )
