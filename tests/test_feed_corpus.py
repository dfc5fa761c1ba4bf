"""A corpus of feeds in the shapes real publishers emit, each beside the briefs it must give.

Each ``tests/fixtures/feeds/<name>`` is parsed as if fetched from
``https://feeds.example.com/<name>`` at :data:`FETCHED` and compared with
``<name>.expected.json``: the briefs in their JSON shape, or ``{"rejected": reason}``.
The content is made up; only the shapes (and quirks) are the publishers'.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digestbot.briefs.feeds import parse_feed
from digestbot.briefs.ingest import Ingester
from digestbot.briefs.parse import BriefData, Rejected

CORPUS = Path(__file__).parent / "fixtures" / "feeds"
FEEDS = sorted(p for p in CORPUS.iterdir() if not p.name.endswith(".expected.json"))
FETCHED = datetime(2026, 5, 2, tzinfo=UTC)


def as_json(item: BriefData | Rejected) -> dict[str, object]:
    return {"rejected": item.reason} if isinstance(item, Rejected) else item.to_dict()


def expected(feed: Path) -> list[dict[str, object]]:
    return json.loads((CORPUS / f"{feed.name}.expected.json").read_text(encoding="utf-8"))


def parse(feed: Path) -> list[BriefData | Rejected]:
    source = f"https://feeds.example.com/{feed.name}"
    return parse_feed(feed.read_bytes(), content_type=None, source=source, now=FETCHED)


def test_the_corpus_covers_the_publishers() -> None:
    assert len(FEEDS) >= 15
    assert all((CORPUS / f"{feed.name}.expected.json").is_file() for feed in FEEDS)


@pytest.mark.parametrize("feed", FEEDS, ids=[feed.name for feed in FEEDS])
def test_feed_gives_its_expected_briefs(feed: Path) -> None:
    assert [as_json(item) for item in parse(feed)] == expected(feed)


async def test_the_whole_corpus_is_stored(sessions) -> None:
    items = [item for feed in FEEDS for item in parse(feed)]

    report = await Ingester(sessions).store(items)

    good = sum(isinstance(item, BriefData) for item in items)
    assert (report.added, len(report.rejected)) == (good, len(items) - good)
