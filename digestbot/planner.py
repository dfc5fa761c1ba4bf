"""Scheduled digests: find the chats whose digest is due, assemble, queue in the outbox.

The schedule lives in the database (``Chat.next_digest_at``), so a restart loses
nothing. A digest that fell due while the bot was down is still sent the same local
day; one whose whole day passed is skipped (the next digest covers its briefs, since
every digest holds what arrived since the previous one). The outbox key
``digest:CHAT:LOCAL-DATE:PART`` makes a second planning of the same day a no-op.

Chats that would get the same digest (same tags, minimum score, size, window and
local date) share one query and one rendering.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from digestbot import render, store
from digestbot.db import SessionFactory, session_scope
from digestbot.models import Chat, Frequency, OutboxKind, Subscription, Tag, utcnow
from digestbot.schedule import local_day, next_due

log = logging.getLogger(__name__)

BATCH = 2000


@dataclass
class PlanReport:
    due: int = 0
    queued: int = 0  # chats that got a digest queued
    messages: int = 0
    distinct: int = 0  # distinct digests assembled
    empty: int = 0  # due, but nothing new: no push
    stale: int = 0  # due on a day that has passed: skipped
    scheduled: int = 0  # chats given their first (or a changed) schedule


@dataclass(frozen=True, slots=True)
class _Key:
    tags: tuple[str, ...]
    min_score: int
    size: int
    start: int
    end: int
    day: date


def schedule_of(chat: Chat, after: datetime) -> datetime | None:
    return next_due(
        after=after,
        digest_time=chat.digest_time,
        timezone=chat.timezone,
        frequency=chat.frequency,
        weekly_day=chat.weekly_day,
    )


def digest_heading(day: date) -> str:
    return f"Your digest · {day.day} {day:%b}"


async def _tags_by_chat(
    session: AsyncSession, chat_ids: Sequence[int]
) -> dict[int, tuple[str, ...]]:
    out: dict[int, list[str]] = defaultdict(list)
    stmt = (
        select(Subscription.chat_id, Tag.slug)
        .join(Tag, col(Tag.id) == col(Subscription.tag_id))
        .where(col(Subscription.chat_id).in_(list(chat_ids)))
        .order_by(col(Subscription.chat_id), col(Tag.slug))
    )
    for chat_id, slug in await session.exec(stmt):
        out[chat_id].append(slug)
    return {chat_id: tuple(tags) for chat_id, tags in out.items()}


class DigestPlanner:
    """Turns due schedules into outbox rows; run it every minute (see jobs.py)."""

    def __init__(
        self,
        sessions: SessionFactory,
        clock: Callable[[], datetime] = utcnow,
        on_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._on_queued = on_queued

    async def plan(self) -> PlanReport:
        """Schedule new chats and queue every digest due now."""
        now = self._clock()
        report = PlanReport()
        await self._schedule_new(now, report)
        after_id = -(2**63)  # group and channel ids are negative
        while True:
            async with session_scope(self._sessions) as session:
                chats = list(
                    await session.exec(
                        select(Chat)
                        .where(
                            col(Chat.next_digest_at) <= now,
                            col(Chat.active),
                            ~col(Chat.paused),
                            col(Chat.frequency) != Frequency.OFF,
                            col(Chat.id) > after_id,
                        )
                        .order_by(col(Chat.id))
                        .limit(BATCH)
                    )
                )
                if not chats:
                    break
                after_id = chats[-1].id
                await self._plan_batch(session, chats, now, report)
        if report.queued:
            self._on_queued()
        if report.due:
            log.info(
                "planned digests: %s due, %s queued (%s distinct), %s empty, %s stale",
                report.due, report.queued, report.distinct, report.empty, report.stale,
            )  # fmt: skip
        return report

    async def _schedule_new(self, now: datetime, report: PlanReport) -> None:
        while True:
            async with session_scope(self._sessions) as session:
                chats = list(
                    await session.exec(
                        select(Chat).where(col(Chat.next_digest_at).is_(None)).limit(BATCH)
                    )
                )
                for chat in chats:
                    # a chat that gets none (frequency off) waits a year to be looked at again
                    chat.next_digest_at = schedule_of(chat, now) or now.replace(year=now.year + 1)
                report.scheduled += len(chats)
            if len(chats) < BATCH:
                return

    async def _plan_batch(
        self, session: AsyncSession, chats: list[Chat], now: datetime, report: PlanReport
    ) -> None:
        report.due += len(chats)
        tags = await _tags_by_chat(session, [c.id for c in chats])
        end = await store.max_brief_id(session=session)
        groups: dict[_Key, list[Chat]] = defaultdict(list)
        for chat in chats:
            due_at = chat.next_digest_at
            assert due_at is not None
            chat.next_digest_at = schedule_of(chat, now) or now.replace(year=now.year + 1)
            today = local_day(now, chat.timezone)
            if local_day(due_at, chat.timezone) != today:
                report.stale += 1
                continue
            if not tags.get(chat.id):
                report.empty += 1
                continue
            start = chat.window_end_id if chat.window_shown else chat.last_brief_id
            key = _Key(tags[chat.id], chat.min_score, chat.digest_size, start, end, today)
            groups[key].append(chat)
        rows = []
        for key, members in groups.items():
            total = await store.count_items(
                session=session,
                tags=key.tags,
                min_score=key.min_score,
                after_id=key.start,
                upto_id=key.end,
            )
            if total == 0:
                report.empty += len(members)
                for chat in members:
                    chat.last_brief_id, chat.window_end_id, chat.window_shown = key.end, key.end, 0
                continue
            items = await store.find_items(
                session=session,
                tags=key.tags,
                min_score=key.min_score,
                after_id=key.start,
                upto_id=key.end,
                limit=key.size,
            )
            more = total - len(items)
            messages = render.digest(items, heading=digest_heading(key.day), more=more)
            report.distinct += 1
            for chat in members:
                if more:
                    chat.last_brief_id, chat.window_end_id = key.start, key.end
                    chat.window_shown = len(items)
                else:
                    chat.last_brief_id, chat.window_end_id, chat.window_shown = key.end, key.end, 0
                chat.last_digest_at = now
                for part, text in enumerate(messages):
                    rows.append(
                        {
                            "key": f"digest:{chat.id}:{key.day.isoformat()}:{part}",
                            "chat_id": chat.id,
                            "kind": OutboxKind.DIGEST,
                            "part": part,
                            "payload": json.dumps({"text": text}, ensure_ascii=False),
                            "next_attempt_at": now,
                            "created_at": now,
                            "status": "pending",
                            "attempts": 0,
                        }
                    )
                report.queued += 1
                report.messages += len(messages)
        await store.enqueue(session=session, rows=rows)
