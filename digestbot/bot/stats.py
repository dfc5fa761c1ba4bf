"""Figures for admins (``/stats``), and the audit log every admin action goes into."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from digestbot import store
from digestbot.delivery import failures
from digestbot.store.db import SessionFactory, session_scope
from digestbot.store.models import Feed, OutboxKind, utcnow

TOP_TAGS = 10


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything /stats shows, as of ``now``; "today" is the admin's own calendar day."""

    now: datetime
    today_starts: datetime
    chats: store.ChatFigures
    top_tags: list[tuple[str, int]]
    digests_sent_today: int
    digests_failed_today: list[tuple[str, int]]  # (reason, count), most first
    broadcasts_sent_today: int
    lateness_today: store.Lateness | None  # of the digests sent today (None: none)
    outbox_depth: int
    oldest_pending: datetime | None
    feeds: list[Feed]


def failure_reason(error: str | None) -> str:
    """A failed row's error, shortened to the part that groups alike failures."""
    return failures.grouping(error)[:80]


class StatsService:
    def __init__(self, sessions: SessionFactory, clock: Callable[[], datetime] = utcnow) -> None:
        self._sessions = sessions
        self._clock = clock

    async def snapshot(self, zone: ZoneInfo) -> Snapshot:
        now = self._clock()
        local = now.astimezone(zone)
        today = datetime.combine(local.date(), time(), tzinfo=zone)
        async with self._sessions() as session:
            chats = await store.chat_figures(session=session, since=now - timedelta(days=7))
            tags = await store.top_tags(session=session, limit=TOP_TAGS)
            sent = await store.sent_since(session=session, kind=OutboxKind.DIGEST, since=today)
            failures = await store.failures_since(
                session=session, kind=OutboxKind.DIGEST, since=today
            )
            broadcasts = await store.sent_since(
                session=session, kind=OutboxKind.BROADCAST, since=today
            )
            lateness = await store.digest_lateness(session=session, since=today)
            backlog = await store.outbox_stats(session=session)
            feeds = await store.all_feeds(session=session)
        grouped: dict[str, int] = {}
        for error, rows in failures:
            reason = failure_reason(error)
            grouped[reason] = grouped.get(reason, 0) + rows
        return Snapshot(
            now=now,
            today_starts=today,
            chats=chats,
            top_tags=tags,
            digests_sent_today=sent,
            digests_failed_today=sorted(grouped.items(), key=lambda kv: (-kv[1], kv[0])),
            broadcasts_sent_today=broadcasts,
            lateness_today=lateness,
            outbox_depth=backlog.pending,
            oldest_pending=backlog.oldest_pending_at,
            feeds=feeds,
        )

    async def audit(
        self,
        *,
        admin_id: int,
        action: str,
        detail: str | None = None,
        audience: str | None = None,
        counts: dict[str, int] | None = None,
    ) -> None:
        """Record one admin action (who, what, when, audience, counts)."""
        async with session_scope(self._sessions) as session:
            await store.add_audit(
                session=session,
                admin_id=admin_id,
                action=action,
                detail=detail,
                audience=audience,
                counts=counts,
                now=self._clock(),
            )
