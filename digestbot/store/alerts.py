"""Instant alerts: the briefs not yet looked at for alerts, the chats that may get one,
and saving what a tick alerted (outbox rows and the chats' daily counts) in bulk.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from digestbot.store.briefs import Item, items_by_ids
from digestbot.store.models import Brief, Chat, KeyValue, OutboxKind, OutboxStatus, Subscription
from digestbot.store.outbox import enqueue
from digestbot.store.planning import update_chats
from digestbot.store.sql import chunks, dialect_insert

ALERT_CURSOR = "alerts_cursor"  # kv: the newest brief id the alert tick has looked at
_KV = KeyValue.__table__  # type: ignore[attr-defined]
_CHATS = Chat.__table__  # type: ignore[attr-defined]
_BRIEFS = Brief.__table__  # type: ignore[attr-defined]
_SUBSCRIPTIONS = Subscription.__table__  # type: ignore[attr-defined]


async def alert_cursor(*, session: AsyncSession) -> int | None:
    """The newest brief id looked at for alerts (None: never)."""
    conn = await session.connection()
    value = (
        await conn.execute(sa.select(_KV.c.value).where(_KV.c.key == ALERT_CURSOR))
    ).scalar_one_or_none()
    return None if value is None else int(value)


async def set_alert_cursor(*, session: AsyncSession, brief_id: int) -> None:
    stmt = dialect_insert(session, _KV).values(key=ALERT_CURSOR, value=str(brief_id))
    stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={"value": str(brief_id)})
    await (await session.connection()).execute(stmt)


async def fresh_briefs(
    *, session: AsyncSession, after_id: int | None, since: datetime, min_score: int
) -> list[Item]:
    """Briefs with ids above ``after_id`` (None: any) stored at or after ``since`` and
    scoring at least ``min_score``, best first (the best spend a chat's daily alerts)."""
    stmt = sa.select(_BRIEFS.c.id).where(
        _BRIEFS.c.ingested_at >= since,
        _BRIEFS.c.score >= min_score,
        _BRIEFS.c.id > after_id if after_id is not None else sa.true(),
    )
    conn = await session.connection()
    ids = list((await conn.execute(stmt)).scalars())
    items = await items_by_ids(session=session, brief_ids=ids)
    return sorted(items.values(), key=lambda i: (-i.brief.score, i.id))


class AlertChat(NamedTuple):
    """A chat that wants alerts on one of the tags of the briefs at hand."""

    id: int
    timezone: str
    quiet_hours: str
    alert_score: int
    alert_max: int
    alert_day: str  # the local day alert_count counts ("YYYY-MM-DD")
    alert_count: int
    alerted_ids: tuple[int, ...]
    last_brief_id: int  # its digest cursor: alerts at or below it are history
    tag_ids: tuple[int, ...]
    language: str | None  # its language code as stored (None: not chosen)


async def alert_chats(
    *, session: AsyncSession, tag_ids: Sequence[int], max_score: int
) -> list[AlertChat]:
    """Reachable, unpaused chats with alerts at or below ``max_score`` following any of
    ``tag_ids``."""
    if not tag_ids:
        return []
    following = sa.select(_SUBSCRIPTIONS.c.chat_id).where(
        _SUBSCRIPTIONS.c.tag_id.in_(sorted(set(tag_ids)))
    )
    stmt = (
        sa.select(*(_CHATS.c[name] for name in AlertChat._fields))
        .where(
            _CHATS.c.alert_score.is_not(None),
            _CHATS.c.alert_score <= max_score,
            _CHATS.c.active != sa.false(),
            ~_CHATS.c.paused,
            _CHATS.c.id.in_(following),
        )
        .order_by(_CHATS.c.id)
    )
    conn = await session.connection()
    return [
        AlertChat._make(
            _ids(value) if name in _ID_LISTS else value
            for name, value in zip(AlertChat._fields, row, strict=True)
        )
        for row in await conn.execute(stmt)
    ]


_ID_LISTS = {"alerted_ids", "tag_ids"}


def _ids(text: str) -> tuple[int, ...]:
    """Ids as a text column keeps them ("3,17,22"), as a tuple."""
    return tuple(map(int, text.split(","))) if text else ()


class AlertRow(NamedTuple):
    """One alert queued, for :func:`save_alerts`."""

    chat_id: int
    brief_id: int
    payload: str


async def save_alerts(
    *,
    session: AsyncSession,
    rows: Sequence[AlertRow],
    counts: Sequence[tuple[int, str, int, str]],
    now: datetime,
) -> None:
    """Queue alert messages (key ``alert:BRIEF:CHAT``: a brief alerts a chat once) and
    record each alerted chat's (id, local day, alerts that day, alerted brief ids)."""
    for part in chunks(list(rows)):
        await enqueue(
            session=session,
            rows=[
                {
                    "key": f"alert:{r.brief_id}:{r.chat_id}",
                    "chat_id": r.chat_id,
                    "kind": OutboxKind.ALERT,
                    "payload": r.payload,
                    "status": OutboxStatus.PENDING,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for r in part
            ],
        )
    await update_chats(
        session=session,
        updates=[
            {"b_id": chat, "alert_day": day, "alert_count": count, "alerted_ids": alerted}
            for chat, day, count, alerted in counts
        ],
    )
