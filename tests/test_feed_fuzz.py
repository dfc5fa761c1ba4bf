"""Any feed body, however broken, through the real ingester on a real store.

Hypothesis builds JSON, JSON Lines and RSS documents that mix good items, items that
are surely bad and wild ones (any text at all, lone surrogates and NULs included), and
plain arbitrary bytes. Whatever comes: every good item is stored, every bad one is
reported by its position, and nothing raises but :class:`BriefParseError` for a body
that is no feed at all.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import TypeVar
from xml.sax.saxutils import escape

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digestbot import store
from digestbot.briefs.feeds import parse_feed
from digestbot.briefs.ingest import Ingester
from digestbot.briefs.parse import BriefData, Rejected
from digestbot.errors import BriefParseError

T = TypeVar("T")
FETCHED = datetime(2026, 5, 2, tzinfo=UTC)
SOURCE = "f"
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

BRIEF = {"score": 5, "category": "News", "published_at": "2026-05-01T02:01:00Z", "tags": ["fuzz"]}
good_json = st.uuids().map(lambda u: ("good", {**BRIEF, "title": f"Good {u}"}))
surrogate = st.integers(0xD800, 0xDFFF).map(chr)
bad_json = st.one_of(
    st.one_of(st.integers(), st.text(), st.none(), st.lists(st.integers(), max_size=3)),
    st.builds(lambda t, s: {**BRIEF, "title": t + s}, st.text(max_size=20), surrogate),
    st.builds(lambda s: {**BRIEF, "title": "Overrated", "score": s}, st.integers(11, 10**9)),
    st.builds(lambda t: {**BRIEF, "title": "x", "tags": [t]}, surrogate),
).map(lambda item: ("bad", item))
wild_json = st.fixed_dictionaries(
    {
        **{k: st.just(v) for k, v in BRIEF.items() if k != "tags"},
        "title": st.text(),
        "summary": st.text(),
    },
    optional={"url": st.text(), "id": st.text(), "tags": st.lists(st.text(), max_size=4)},
).map(lambda item: ("wild", item))
# A good item first: a body must start like JSON ({ or [) to be read as JSON Lines at all.
json_items = st.builds(
    lambda first, rest: [first, *rest],
    good_json,
    st.lists(st.one_of(good_json, bad_json, wild_json), max_size=8),
)

xml_text = st.text(
    st.characters(blacklist_categories=["Cs", "Cc"]) | st.sampled_from("\t\n&<>\"'"),
    max_size=40,
)
good_rss = st.uuids().map(lambda u: ("good", f"<title>Good {u}</title><category>fuzz</category>"))
bad_rss = st.just(("bad", "<title> </title><category>fuzz</category>"))
wild_rss = st.builds(
    lambda title, summary, ref: (
        "wild",
        f"<title>{escape(title)}{ref}</title><description>{escape(summary)}</description>",
    ),
    xml_text,
    xml_text,
    st.sampled_from(["", "&#xD800;", "&#0;", "&#x110000;", "&amp;", "&#233;"]),
)
rss_items = st.lists(st.one_of(good_rss, bad_rss, wild_rss), min_size=1, max_size=8)


def json_body(items: list[tuple[str, object]], lines: bool) -> tuple[bytes, str]:
    values = [value for _, value in items]
    if lines:
        return "\n".join(json.dumps(v) for v in values).encode(), f"{SOURCE}:"
    return json.dumps(values).encode(), f"{SOURCE} item "


def rss_body(items: list[tuple[str, str]]) -> bytes:
    inner = "".join(
        f"<item>{xml}<pubDate>Fri, 01 May 2026 02:01:00 GMT</pubDate></item>" for _, xml in items
    )
    return f"<rss version='2.0'><channel><title>t</title>{inner}</channel></rss>".encode()


class Harness:
    """Runs the store's coroutines on the test's loop from Hypothesis's worker thread."""

    def __init__(self, sessions, loop: asyncio.AbstractEventLoop) -> None:
        self.sessions = sessions
        self.loop = loop

    def run(self, coro: Awaitable[T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()  # type: ignore[arg-type]

    async def titles(self) -> set[str]:
        async with self.sessions() as session:
            return {b.title async for b in store.iter_briefs(session=session)}

    def check(self, body: bytes, kinds: list[str], label: str) -> None:
        items = parse_feed(body, content_type=None, source=SOURCE, now=FETCHED)
        report = self.run(Ingester(self.sessions).store(items))
        assert len(items) == len(kinds)
        assert report.stored + len(report.rejected) == len(kinds)
        rejected = {r.source for r in report.rejected}
        stored = self.run(self.titles())
        for position, (kind, item) in enumerate(zip(kinds, items, strict=True), start=1):
            if kind == "good":
                assert isinstance(item, BriefData) and item.title in stored
            elif kind == "bad":
                assert isinstance(item, Rejected) and f"{label}{position}" in rejected


async def test_good_items_are_stored_and_bad_ones_reported_in_any_json(sessions) -> None:
    harness = Harness(sessions, asyncio.get_running_loop())

    @SETTINGS
    @given(json_items, st.booleans())
    def check(items: list[tuple[str, object]], lines: bool) -> None:
        body, label = json_body(items, lines)
        harness.check(body, [kind for kind, _ in items], label)

    await asyncio.to_thread(check)


async def test_good_items_are_stored_and_bad_ones_reported_in_any_rss(sessions) -> None:
    harness = Harness(sessions, asyncio.get_running_loop())

    @SETTINGS
    @given(rss_items)
    def check(items: list[tuple[str, str]]) -> None:
        harness.check(rss_body(items), [kind for kind, _ in items], f"{SOURCE} item ")

    await asyncio.to_thread(check)


async def test_arbitrary_bytes_are_a_feed_or_a_parse_error_never_a_crash(sessions) -> None:
    harness = Harness(sessions, asyncio.get_running_loop())
    prefixes = st.sampled_from([b"", b"<rss><channel><item>", b"{", b"[", b"\xff\xfe", b"<?xml "])

    @SETTINGS
    @given(prefixes, st.binary(max_size=300), st.sampled_from([None, "text/xml; charset=utf-16"]))
    def check(prefix: bytes, junk: bytes, content_type: str | None) -> None:
        try:
            items = parse_feed(prefix + junk, content_type=content_type, source=SOURCE, now=FETCHED)
        except BriefParseError as exc:
            assert exc.reason
            return
        report = harness.run(Ingester(harness.sessions).store(items))
        assert report.stored + len(report.rejected) == len(items)

    await asyncio.to_thread(check)
