"""Instant alerts: a brief at or above a chat's alert score, on its tags, pushed within a
minute of being stored; at most the chat's daily number (its local day), never in its
quiet hours (then the brief waits for the next digest), and left out of that digest
once alerted.

The minute tick plans them (``jobs.minute_tick``, before the digests, so a brief
alerted in a tick is left out of a digest planned in the same one), rather than the
ingester signalling: briefs come from feeds polled here, from ``/ingest``, and from
``digestbot ingest`` in another process entirely, and with replicas only the leader
plans. The tick sees all of them the same way, on the leader, through the database;
a signal would reach only the process that stored the brief.

A tick reads the briefs stored since the last one (a cursor in ``kv``; on a first
start, or back after being down, only those of the last ``FRESH``: an alert hours late
is no alert), then the chats that want alerts on their tags, in one query each. With
no new brief it costs two small reads. Alerts go through the outbox as kind ``alert``,
which the sender claims before digests and broadcasts (see sender.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from digestbot import store
from digestbot.delivery.payload import AlertPayload, payload_language
from digestbot.delivery.schedule import is_quiet, local_day
from digestbot.readers import shaping
from digestbot.store.db import SessionFactory, session_scope
from digestbot.store.models import utcnow

log = logging.getLogger(__name__)

FRESH = timedelta(minutes=10)  # a brief stored longer ago than this alerts nobody


@dataclass
class AlertReport:
    briefs: int = 0  # new briefs at or above some chat's alert score
    queued: int = 0
    quiet: int = 0  # held back by quiet hours (they wait for the digest)
    capped: int = 0  # held back by the daily number
    filtered: int = 0  # held back by the chat's own filters (see wants_alert)


def wants_alert(filters: Sequence[store.FilterKey], item: store.Item) -> bool:
    """THE place an alert candidate is checked against the chat: True when a chat with
    these ``filters`` (its mutes and /only words) wants ``item`` as an alert, its score
    and tags already matching. Quiet hours and the daily number come after, in the planner.
    """
    return shaping.passes(filters, item)


class AlertPlanner:
    """Turns new briefs into alert rows; run it every minute, before the digests."""

    def __init__(
        self,
        sessions: SessionFactory,
        clock: Callable[[], datetime] = utcnow,
        on_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._on_queued = on_queued

    async def plan(self) -> AlertReport:
        """Queue the alerts the briefs stored since the last tick call for."""
        now = self._clock()
        report = AlertReport()
        async with session_scope(self._sessions) as session:
            cursor = await store.alert_cursor(session=session)
            newest = await store.max_brief_id(session=session)
            if cursor is not None and newest <= cursor:
                return report
            items = await store.fresh_briefs(
                session=session, after_id=cursor, since=now - FRESH, min_score=0
            )
            items = [i for i in items if i.id <= newest]  # stored meanwhile: the next tick's
            await store.set_alert_cursor(session=session, brief_id=newest)
            if not items:
                return report
            tag_ids = await store.tag_ids(
                session=session, slugs=sorted({t for i in items for t in i.brief.tags})
            )
            chats = await store.alert_chats(
                session=session,
                tag_ids=list(tag_ids.values()),
                max_score=max(i.brief.score for i in items),
            )
            filters = await store.filters_of(session=session, chat_ids=[c.id for c in chats])
            rows, counts = self._assemble(now, items, tag_ids, chats, filters, report)
            await store.save_alerts(session=session, rows=rows, counts=counts, now=now)
        if rows:
            self._on_queued()
            log.info(
                "alerts: %s queued for %s briefs (%s quiet, %s over the daily number)",
                report.queued, report.briefs, report.quiet, report.capped,
            )  # fmt: skip
        return report

    def _assemble(
        self,
        now: datetime,
        items: list[store.Item],
        tag_ids: dict[str, int],
        chats: list[store.AlertChat],
        filters: dict[int, tuple[store.FilterKey, ...]],
        report: AlertReport,
    ) -> tuple[list[store.AlertRow], list[tuple[int, str, int, str]]]:
        """Each chat's alerts, best brief first; no I/O."""
        report.briefs = len(items)
        tags_of = {i.id: {tag_ids[t] for t in i.brief.tags if t in tag_ids} for i in items}
        rows: list[store.AlertRow] = []
        counts: list[tuple[int, str, int, str]] = []
        for chat in chats:
            wanted = [
                i
                for i in items
                if i.brief.score >= chat.alert_score
                and i.id not in chat.alerted_ids
                and tags_of[i.id] & set(chat.tag_ids)
            ]
            if not wanted:
                continue
            if is_quiet(now, quiet_hours=chat.quiet_hours, timezone=chat.timezone):
                report.quiet += len(wanted)  # they wait for the next digest
                continue
            today = local_day(now, chat.timezone).isoformat()
            sent = chat.alert_count if chat.alert_day == today else 0
            # alerts at or below the digest cursor are in a digest's past: forget them
            alerted = [i for i in chat.alerted_ids if i > chat.last_brief_id]
            language = payload_language(chat.language)
            for item in wanted:
                if not wants_alert(filters.get(chat.id, ()), item):
                    report.filtered += 1
                    continue
                if sent >= chat.alert_max:
                    report.capped += 1
                    continue
                rows.append(
                    store.AlertRow(chat.id, item.id, AlertPayload(item.id, language).encode())
                )
                alerted.append(item.id)
                sent += 1
                report.queued += 1
            if sent != (chat.alert_count if chat.alert_day == today else 0):
                counts.append((chat.id, today, sent, ",".join(map(str, alerted))))
        return rows, counts
