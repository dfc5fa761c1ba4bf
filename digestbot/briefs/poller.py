"""Feed polling: each feed (a row admins manage; ``FEED_URLS`` adds its own at start)
fetched on its own schedule, failures kept apart; paused feeds are skipped.

Conditional requests (ETag, Last-Modified) make an unchanged feed cost one 304. A
failing feed backs off (doubling, up to six hours) and its error is recorded for
``/stats``; one failing or malformed feed never stops the others. Feeds are
fetched concurrently (at most :data:`CONCURRENCY` at a time), each within its
deadline, so a slow or hostile feed delays nobody else.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from digestbot import store
from digestbot.briefs import fetcher
from digestbot.briefs.ingest import FeedDefaults, Ingester, IngestReport
from digestbot.errors import InputError
from digestbot.store.db import SessionFactory, session_scope
from digestbot.store.models import Feed, utcnow

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)
CONCURRENCY = 8
"""Feeds fetched at once: enough that a few stalled ones leave room for the rest."""


@dataclass
class FeedResult:
    url: str
    report: IngestReport | None = None
    not_modified: bool = False
    error: str | None = None


class FeedPoller:
    """Polls the feeds that are due; run it every minute (see jobs.py).

    ``urls`` (``FEED_URLS``) are added as feeds, with no defaults, before the first
    poll (:meth:`ensure_configured`); removing one of them from the chat lasts until
    the next start, so it belongs out of ``FEED_URLS`` too.
    """

    def __init__(
        self,
        sessions: SessionFactory,
        http: httpx.AsyncClient,
        urls: Sequence[str],
        *,
        interval: timedelta = timedelta(minutes=10),
        deadline: float = fetcher.DEFAULT_DEADLINE,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._http = http
        self._urls = list(dict.fromkeys(urls))
        self._interval = interval
        self._deadline = deadline
        self._clock = clock
        self._ingester = Ingester(sessions, http, deadline=deadline)
        self._slots = asyncio.Semaphore(CONCURRENCY)
        # Fetches overlap; their writes take turns, which SQLite needs anyway.
        self._writing = asyncio.Lock()
        self._configured = False

    async def ensure_configured(self) -> None:
        """Add the configured URLs that are not feeds yet (idempotent)."""
        async with session_scope(self._sessions) as session:
            await store.ensure_feeds(session=session, urls=self._urls)
        self._configured = True

    async def poll(self, *, force: bool = False) -> list[FeedResult]:
        """Fetch every due feed that is not paused (all with ``force``) and store what
        they hold."""
        if not self._configured:
            await self.ensure_configured()
        now = self._clock()
        async with self._sessions() as session:
            feeds = await store.all_feeds(session=session)
        due = [f for f in feeds if not f.paused and (force or _is_due(f, now))]
        # _poll_one catches every Exception, so gather never loses a feed's result.
        return list(await asyncio.gather(*(self._poll_one(feed, now) for feed in due)))

    async def _poll_one(self, feed: Feed, now: datetime) -> FeedResult:
        result = FeedResult(feed.url)
        try:
            async with self._slots:
                fetched = await fetcher.fetch(
                    feed.url,
                    client=self._http,
                    etag=feed.etag,
                    last_modified=feed.last_modified,
                    deadline=self._deadline,
                )
            async with self._writing:
                if fetched.not_modified:
                    result.not_modified = True
                else:
                    result.report = await self._ingester.store(fetched.items, feed=_defaults(feed))
        except InputError as exc:
            result.error = exc.reason
        except Exception as exc:  # one broken feed must not stop the others
            log.exception("feed %s: unexpected failure", feed.url)
            result.error = f"internal error: {type(exc).__name__}"
        async with self._writing, session_scope(self._sessions) as session:
            row = await session.get(Feed, feed.id)
            if row is None:  # removed by an admin while it was being fetched
                pass
            elif result.error is None:
                row.failures, row.last_success_at = 0, now
                if not result.not_modified:
                    # validators longer than the columns are useless to a server anyway
                    row.etag = fetched.etag if len(fetched.etag or "") <= 512 else None
                    modified = fetched.last_modified
                    row.last_modified = modified if len(modified or "") <= 128 else None
                row.next_poll_at = now + self._interval
                if result.report and result.report.rejected:
                    first = result.report.rejected[0]
                    row.last_error = (
                        f"{len(result.report.rejected)} items rejected, e.g. {first.reason}"
                    )
                    row.last_error_at = now
            else:
                row.failures += 1
                row.last_error, row.last_error_at = result.error, now
                row.next_poll_at = now + min(MAX_BACKOFF, self._interval * 2**row.failures)
                log.warning("feed %s failed (%s times): %s", feed.url, row.failures, result.error)
        if result.report:
            log.info("feed %s: %s", feed.url, result.report.summary())
        return result


def _defaults(feed: Feed) -> FeedDefaults:
    assert feed.id is not None
    return FeedDefaults(
        feed_id=feed.id, tags=tuple(feed.tag_list), category=feed.category, score=feed.score
    )


def _is_due(feed: Feed, now: datetime) -> bool:
    return feed.next_poll_at is None or feed.next_poll_at <= now
