"""Broadcasts: drafts, queueing one outbox row per chat of the audience, and their outcome."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from digestbot.store.models import (
    Broadcast,
    BroadcastStatus,
    Chat,
    Outbox,
    OutboxKind,
    OutboxStatus,
    Subscription,
    UTCDateTime,
)
from digestbot.store.sql import dialect_insert

_OUTBOX = Outbox.__table__  # type: ignore[attr-defined]


def _audience(tag_id: int | None) -> Any:
    """Chat ids a broadcast goes to: reachable chats that have not paused the bot (``/stop``),
    and for a tag only its followers."""
    query = sa.select(Chat.id).where(col(Chat.active), ~col(Chat.paused))  # type: ignore[call-overload]
    if tag_id is not None:
        query = query.where(
            sa.exists().where(
                col(Subscription.chat_id) == col(Chat.id), col(Subscription.tag_id) == tag_id
            )
        )
    return query


async def count_audience(*, session: AsyncSession, tag_id: int | None) -> int:
    query = sa.select(sa.func.count()).select_from(_audience(tag_id).subquery())
    return int((await session.exec(query)).one()[0])  # type: ignore[call-overload]


async def add_broadcast(*, session: AsyncSession, broadcast: Broadcast) -> Broadcast:
    if broadcast.text is not None:
        # NUL is no text (Telegram shows nothing for it) and PostgreSQL refuses it in a
        # text column: dropped on both databases, so a broadcast reads the same on either.
        broadcast.text = broadcast.text.replace("\x00", "")
    session.add(broadcast)
    await session.flush()
    return broadcast


async def get_broadcast(*, session: AsyncSession, broadcast_id: int) -> Broadcast | None:
    return await session.get(Broadcast, broadcast_id)


async def start_broadcast(
    *, session: AsyncSession, broadcast_id: int, tag_id: int | None, payload: str, now: datetime
) -> int | None:
    """Draft to sending, queueing one outbox row per chat of the audience, in one
    statement; None when it was not a draft any more (a second Send press)."""
    started = await session.exec(
        sa.update(Broadcast)
        .where(col(Broadcast.id) == broadcast_id, col(Broadcast.status) == BroadcastStatus.DRAFT)
        .values(status=BroadcastStatus.SENDING, started_at=now)
    )
    if started.rowcount != 1:
        return None
    audience = _audience(tag_id).subquery()
    rows = sa.select(
        sa.literal(f"broadcast:{broadcast_id}:") + sa.cast(audience.c.id, sa.String),
        audience.c.id,
        sa.literal(OutboxKind.BROADCAST.value),
        sa.literal(0),
        sa.literal(payload),
        sa.literal(broadcast_id),
        sa.literal(OutboxStatus.PENDING.value),
        sa.literal(0),
        sa.literal(now, UTCDateTime()),
        sa.literal(now, UTCDateTime()),
    ).where(sa.true())  # SQLite needs a WHERE to read the ON CONFLICT after a SELECT
    columns = ["key", "chat_id", "kind", "part", "payload", "broadcast_id", "status"]
    columns += ["attempts", "next_attempt_at", "created_at"]
    insert = dialect_insert(session, _OUTBOX).from_select(columns, rows)
    conn = await session.connection()
    queued = (await conn.execute(insert.on_conflict_do_nothing(index_elements=["key"]))).rowcount
    await session.exec(
        sa.update(Broadcast).where(col(Broadcast.id) == broadcast_id).values(audience=queued)
    )
    return int(queued)


async def cancel_broadcast(
    *, session: AsyncSession, broadcast_id: int, now: datetime
) -> int | None:
    """Stop a draft or a broadcast under way: its unsent rows are cancelled (rows already
    on their way still arrive). Returns how many were cancelled; None when it had ended."""
    stopped = await session.exec(
        sa.update(Broadcast)
        .where(
            col(Broadcast.id) == broadcast_id,
            col(Broadcast.status).in_([BroadcastStatus.DRAFT, BroadcastStatus.SENDING]),
        )
        .values(status=BroadcastStatus.CANCELLED, finished_at=now)
    )
    if stopped.rowcount != 1:
        return None
    result = await session.exec(
        sa.update(Outbox)
        .where(col(Outbox.broadcast_id) == broadcast_id, col(Outbox.status) == OutboxStatus.PENDING)
        .values(status=OutboxStatus.CANCELLED, last_error="cancelled by an admin")
    )
    return int(result.rowcount)


async def finish_broadcast(
    *, session: AsyncSession, broadcast_id: int, now: datetime, counts: dict[str, int]
) -> bool:
    """Sending to done, once nothing of it is left to send, keeping its final counts."""
    result = await session.exec(
        sa.update(Broadcast)
        .where(col(Broadcast.id) == broadcast_id, col(Broadcast.status) == BroadcastStatus.SENDING)
        .values(
            status=BroadcastStatus.DONE,
            finished_at=now,
            counts=json.dumps(counts, sort_keys=True),
        )
    )
    return bool(result.rowcount)


async def broadcasts_with_status(
    *, session: AsyncSession, statuses: Sequence[str]
) -> list[Broadcast]:
    query = select(Broadcast).where(col(Broadcast.status).in_(list(statuses)))
    return list(await session.exec(query.order_by(col(Broadcast.id))))


async def recent_broadcasts(*, session: AsyncSession, limit: int) -> list[Broadcast]:
    query = select(Broadcast).where(col(Broadcast.status) != BroadcastStatus.DRAFT)
    return list(await session.exec(query.order_by(col(Broadcast.id).desc()).limit(limit)))


async def outbox_outcomes(
    *, session: AsyncSession, broadcast_ids: Sequence[int]
) -> dict[int, list[tuple[str, str | None, int]]]:
    """Per broadcast: (status, last_error, rows) groups of its outbox rows."""
    found: dict[int, list[tuple[str, str | None, int]]] = defaultdict(list)
    if not broadcast_ids:
        return found
    query = (
        select(
            col(Outbox.broadcast_id), col(Outbox.status), col(Outbox.last_error), sa.func.count()
        )
        .where(col(Outbox.broadcast_id).in_(list(broadcast_ids)))
        .group_by(col(Outbox.broadcast_id), col(Outbox.status), col(Outbox.last_error))
    )
    for broadcast_id, status, error, rows in await session.exec(query):
        if broadcast_id is not None:
            found[broadcast_id].append((status, error, rows))
    return found
