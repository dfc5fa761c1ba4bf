"""Feed entries without categories: tagged from the known tags they mention, never dropped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from digestbot import store
from digestbot.briefs import fetcher
from digestbot.briefs.feeds import parse_feed
from digestbot.briefs.ingest import Ingester
from digestbot.briefs.parse import BriefData
from digestbot.briefs.tagging import UNTAGGED, TagIndex
from tests.factories import make_brief
from tests.httpserver import LocalHTTPServer, Reply

RSS_TYPE = [("Content-Type", "application/rss+xml")]


@pytest.fixture
def web() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as running:
        yield running


def rss(*titles: str) -> bytes:
    items = "".join(
        f"<item><title>{title}</title><pubDate>Fri, 01 May 2026 02:01:00 GMT</pubDate>"
        f"<guid isPermaLink='false'>{number}</guid></item>"
        for number, title in enumerate(titles)
    )
    return f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>".encode()


async def tags_by_title(sessions) -> dict[str, list[str]]:
    async with sessions() as session:
        return {b.title: list(b.tags) async for b in store.iter_briefs(session=session)}


async def test_entries_without_categories_take_the_known_tags_they_name(web, sessions) -> None:
    known = make_brief(title="Seen before", tags=("generative-ai", "c-plus-plus", "eu"))
    ingester = Ingester(sessions)
    await ingester.store([known])
    url = web.serve(
        "/feed.rss",
        Reply(
            body=rss(
                "A Generative AI model for the EU",
                "C++26 is out; C++ compilers follow",
                "Neural nets in Europe",  # "eu" inside a word names no tag
                "Weather tomorrow",
            ),
            headers=RSS_TYPE,
        ),
    )

    async with fetcher.make_client(timeout=2.0, allow_private=True) as http:
        report = await Ingester(sessions, http).ingest_url(url)

    assert (report.added, report.rejected) == (4, [])
    tags = await tags_by_title(sessions)
    assert tags["A Generative AI model for the EU"] == ["generative-ai", "eu"]
    assert tags["C++26 is out; C++ compilers follow"] == ["c-plus-plus"]
    assert tags["Neural nets in Europe"] == [UNTAGGED]
    assert tags["Weather tomorrow"] == [UNTAGGED]


def test_whole_words_in_any_script() -> None:
    index = TagIndex(["india", "ai"], aliases={"india": ["भारत"]})

    assert index.find("भारत में नई नीति") == ["india"]
    # A vowel sign continues the word (it is a mark, not \w): "Indian" is not "India".
    assert index.find("भारतीय बाज़ार") == []
    assert index.find("यह AI मॉडल") == ["ai"]
    assert index.find("मॉडलai") == []
    assert index.find("Said the AIs") == []


def test_tags_spelled_out_are_found_as_written() -> None:
    index = TagIndex(["c-sharp", "dot-net", "c-plus-plus", "c"])

    assert index.find("Porting C# code to .NET 9") == ["c-sharp", "dot-net"]
    assert index.find("C++ and C") == ["c-plus-plus", "c"]


def test_parse_feed_tags_at_once_when_given_the_known_tags() -> None:
    body = (
        b"<rss version='2.0'><channel><title>t</title><item><title>Robots in the EU</title>"
        b"<pubDate>Fri, 01 May 2026 02:01:00 GMT</pubDate></item></channel></rss>"
    )

    (item,) = parse_feed(body, content_type=None, source="f", known_tags=TagIndex(["eu"]))

    assert isinstance(item, BriefData)
    assert (item.tags, item.extra) == (("eu",), {})
