"""Feed polling over real HTTP: schedules, conditional requests, backoff, isolation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from digestbot.briefs import fetcher
from digestbot.briefs.poller import FeedPoller
from digestbot.store.models import Feed
from tests.bot import Clock
from tests.factories import make_brief
from tests.httpserver import LocalHTTPServer, Reply, Request, closed_port


@pytest.fixture
def web():
    with LocalHTTPServer() as running:
        yield running


@pytest.fixture
async def http():
    async with fetcher.make_client(timeout=2.0, allow_private=True) as client:
        yield client


def json_reply(*briefs, etag: str = '"v1"') -> Reply:
    body = json.dumps([b.to_dict() for b in briefs]).encode()
    return Reply(body=body, headers=[("Content-Type", "application/json"), ("ETag", etag)])


async def feeds_by_url(sessions) -> dict[str, Feed]:
    async with sessions() as session:
        return {f.url: f for f in await session.exec(select(Feed))}


async def test_feeds_are_polled_on_their_schedule_with_conditional_requests(web, http, sessions):
    etag_seen: list[str | None] = []

    def route(request: Request) -> Reply:
        etag_seen.append(request.headers.get("if-none-match"))
        if request.headers.get("if-none-match") == '"v1"':
            return Reply(status=304)
        return json_reply(make_brief(title="From the feed"))

    url = web.serve("/feed.json", route)
    clock = Clock(now=datetime(2026, 11, 27, 8, 0, tzinfo=UTC))
    poller = FeedPoller(sessions, http, [url], interval=timedelta(minutes=10), clock=clock)

    (first,) = await poller.poll()
    assert first.report is not None and first.report.added == 1
    assert await poller.poll() == []  # not due for ten minutes
    clock.advance(minutes=10)
    (second,) = await poller.poll()

    assert second.not_modified
    assert etag_seen == [None, '"v1"']
    feed = (await feeds_by_url(sessions))[url]
    assert feed.last_success_at == clock.now and feed.failures == 0 and feed.etag == '"v1"'


async def test_one_failing_feed_backs_off_and_never_stops_the_others(web, http, sessions):
    good = web.serve("/good.json", json_reply(make_brief(title="Good news")))
    broken = web.serve("/broken", Reply(body=b"<html>not a feed</html>"))
    down = f"http://127.0.0.1:{closed_port()}/feed"
    clock = Clock(now=datetime(2026, 11, 27, 8, 0, tzinfo=UTC))
    poller = FeedPoller(sessions, http, [broken, down, good], clock=clock)

    results = {r.url: r for r in await poller.poll()}

    assert results[good].report is not None and results[good].report.added == 1
    assert "not a feed" in (results[broken].error or "")
    assert results[down].error == "connection refused"
    feeds = await feeds_by_url(sessions)
    assert feeds[down].failures == 1 and feeds[down].last_error == "connection refused"
    assert feeds[down].next_poll_at == clock.now + timedelta(minutes=20)

    clock.advance(minutes=10)  # the good feed is due again, the failing ones are backing off
    assert [r.url for r in await poller.poll()] == [good]
    clock.advance(minutes=10)
    await poller.poll()
    feeds = await feeds_by_url(sessions)
    assert feeds[down].failures == 2
    assert feeds[down].next_poll_at == clock.now + timedelta(minutes=40)


async def test_rejected_items_are_recorded_for_stats(web, http, sessions):
    body = json.dumps([make_brief().to_dict(), {"title": "no score or tags"}]).encode()
    url = web.serve("/mixed.json", Reply(body=body))
    poller = FeedPoller(sessions, http, [url], clock=Clock())

    (result,) = await poller.poll()

    assert result.report.added == 1 and len(result.report.rejected) == 1
    feed = (await feeds_by_url(sessions))[url]
    assert feed.failures == 0
    assert feed.last_error.startswith("1 items rejected, e.g. ")
