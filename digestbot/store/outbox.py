"""The outbox every pushed message goes through: queueing, claiming, the outcome of
each send, and the figures /stats and /metrics show.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from digestbot.store.models import Outbox, OutboxKind, OutboxStatus, waiting
from digestbot.store.sql import dialect_insert


async def enqueue(*, session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Add outbox rows; a row whose key exists already is skipped (never sent twice)."""
    if not rows:
        return
    table = Outbox.__table__  # type: ignore[attr-defined]
    # One compiled statement, executed for many rows (SQLAlchemy batches the VALUES).
    stmt = dialect_insert(session, table).on_conflict_do_nothing(index_elements=["key"])
    conn = await session.connection()
    await conn.execute(stmt, list(rows))


@dataclass(frozen=True, slots=True)
class Claimed:
    """An outbox row the sender has claimed (marked ``sending``)."""

    id: int
    key: str
    chat_id: int
    payload: str
    attempts: int
    last_error: str | None
    kind: str = OutboxKind.DIGEST
    # when it was queued: a digest row is queued at its due minute, so its lateness
    # is measured from here (next_attempt_at moves with every retry)
    created_at: datetime | None = None


_OUTBOX = Outbox.__table__  # type: ignore[attr-defined]


async def claim_due(
    *, session: AsyncSession, now: datetime, limit: int, kind: str
) -> list[Claimed]:
    """Up to ``limit`` due rows of ``kind``, marked ``sending``: at most
    one per chat, none for a chat with a row on its way already, and only each chat's
    oldest waiting row of its kind (so a digest's parts go in order, while a chat's
    digest never waits behind its copy of a long broadcast)."""
    # Core, not the ORM: this runs for every few messages sent.
    earlier = _OUTBOX.alias("earlier")
    blocked = (
        sa.select(earlier.c.id)
        .where(
            earlier.c.chat_id == _OUTBOX.c.chat_id,
            waiting(earlier.c.status),  # read from ix_outbox_chat_waiting
            sa.or_(
                earlier.c.status == OutboxStatus.SENDING,
                sa.and_(
                    earlier.c.status == OutboxStatus.PENDING,
                    earlier.c.kind == _OUTBOX.c.kind,
                    earlier.c.id < _OUTBOX.c.id,
                ),
            ),
        )
        .exists()
    )
    due = (
        sa.select(_OUTBOX.c.id)
        .where(
            _OUTBOX.c.status == OutboxStatus.PENDING,
            _OUTBOX.c.next_attempt_at <= now,
            ~blocked,
            _OUTBOX.c.kind == kind,  # with the order by id: read from ix_outbox_claim
        )
        .order_by(_OUTBOX.c.id)
        .limit(limit)
        # PostgreSQL: a second sender skips rows this one holds (SQLite has one writer)
        .with_for_update(skip_locked=True)
    )
    # One statement claims and returns the rows: this runs for every batch sent.
    stmt = (
        _OUTBOX.update()
        .where(_OUTBOX.c.id.in_(due.scalar_subquery()))
        .values(status=OutboxStatus.SENDING)
        .returning(
            _OUTBOX.c.id,
            _OUTBOX.c.key,
            _OUTBOX.c.chat_id,
            _OUTBOX.c.payload,
            _OUTBOX.c.attempts,
            _OUTBOX.c.last_error,
            _OUTBOX.c.kind,
            _OUTBOX.c.created_at,
        )
    )
    conn = await session.connection()
    return sorted((Claimed(*row) for row in await conn.execute(stmt)), key=lambda r: r.id)


async def mark_sent(*, session: AsyncSession, ids: Sequence[int], now: datetime) -> None:
    if ids:
        conn = await session.connection()
        await conn.execute(
            _OUTBOX.update()
            .where(_OUTBOX.c.id.in_(list(ids)))
            .values(status=OutboxStatus.SENT, sent_at=now, last_error=None)
        )


class Accepted(NamedTuple):
    """A row Telegram accepted: when, and (digests only) how late, for :func:`record_sent`."""

    id: int
    at: datetime
    lateness_ms: int | None


_RECORD_SENT = (
    _OUTBOX.update()
    .where(_OUTBOX.c.id == sa.bindparam("row_id"))
    .values(
        status=OutboxStatus.SENT,
        sent_at=sa.bindparam("at"),
        lateness_ms=sa.bindparam("late"),
        last_error=None,
    )
)


async def record_sent(*, session: AsyncSession, rows: Sequence[Accepted]) -> None:
    """Mark rows sent, each with the moment Telegram accepted it and its lateness.

    One statement executed for the batch (the sender records a batch at a time): a
    row's own moment, not the batch's, so a digest's lateness is what its reader saw.
    """
    if rows:
        conn = await session.connection()
        await conn.execute(
            _RECORD_SENT, [{"row_id": r.id, "at": r.at, "late": r.lateness_ms} for r in rows]
        )


async def reschedule(
    *,
    session: AsyncSession,
    outbox_id: int,
    at: datetime,
    error: str | None,
    attempts: int,
    status: str = OutboxStatus.PENDING,
) -> None:
    """Put a claimed row back to wait (or fail it), recording why; a row cancelled
    meanwhile (the chat left or was forgotten) stays cancelled."""
    await session.exec(
        sa.update(Outbox)
        .where(col(Outbox.id) == outbox_id, col(Outbox.status) == OutboxStatus.SENDING)
        .values(status=status, next_attempt_at=at, last_error=error, attempts=attempts)
    )


async def cancel_chat_rows(*, session: AsyncSession, chat_id: int, reason: str) -> int:
    """Cancel every unsent row of a chat the bot can no longer reach."""
    result = await session.exec(
        sa.update(Outbox)
        .where(
            col(Outbox.chat_id) == chat_id,
            waiting(col(Outbox.status)),
        )
        .values(status=OutboxStatus.CANCELLED, last_error=reason)
    )
    return int(result.rowcount)


async def release_rows(*, session: AsyncSession, ids: Sequence[int]) -> None:
    """Claimed rows that were never sent go back to the queue as they were."""
    if ids:
        conn = await session.connection()
        await conn.execute(
            _OUTBOX.update()
            .where(_OUTBOX.c.id.in_(list(ids)), _OUTBOX.c.status == OutboxStatus.SENDING)
            .values(status=OutboxStatus.PENDING)
        )


async def release_in_flight(*, session: AsyncSession) -> int:
    """After a restart: rows left ``sending`` by a killed process go back to pending."""
    result = await session.exec(
        sa.update(Outbox)
        .where(col(Outbox.status) == OutboxStatus.SENDING)
        .values(status=OutboxStatus.PENDING)
    )
    return int(result.rowcount)


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """The outbox at a glance, for /metrics: rows not yet sent, and the oldest one's age."""

    pending: int  # pending or being sent
    oldest_pending_at: datetime | None


async def outbox_stats(*, session: AsyncSession) -> OutboxStats:
    """Rows not yet sent and when the oldest was queued, for /stats and /metrics.

    Both read ``ix_outbox_claim`` only: the count over its status prefix, and the oldest
    row as the lowest id of each (status, kind), one index probe each; ``min(created_at)``
    would read every waiting row of the table instead.
    """
    conn = await session.connection()
    waiting = [OutboxStatus.PENDING, OutboxStatus.SENDING]
    count = (
        await conn.execute(sa.select(sa.func.count()).where(_OUTBOX.c.status.in_(waiting)))
    ).scalar_one()
    firsts = []
    for status in waiting:
        for kind in OutboxKind:
            first = (
                await conn.execute(
                    sa.select(sa.func.min(_OUTBOX.c.id)).where(
                        _OUTBOX.c.status == status, _OUTBOX.c.kind == kind
                    )
                )
            ).scalar_one()
            if first is not None:
                firsts.append(first)
    oldest = None
    if firsts:
        oldest = (
            await session.exec(select(Outbox.created_at).where(col(Outbox.id) == min(firsts)))
        ).first()
    return OutboxStats(pending=int(count), oldest_pending_at=oldest)


PRUNE_BATCH = 5_000  # rows a statement deletes: short locks, however big the backlog


async def prune_outbox(*, session: AsyncSession, before: datetime, limit: int = PRUNE_BATCH) -> int:
    """Delete up to ``limit`` finished rows that ended before ``before``: sent ones by when
    they were sent, failed and cancelled ones by their last attempt (when a failed row
    failed, when a cancelled one was due). Returns how many went; fewer than ``limit``
    means none is left. Each call is meant for its own transaction."""
    finished = [
        # read from ix_outbox_sent_at, which holds only sent rows
        sa.select(_OUTBOX.c.id).where(
            _OUTBOX.c.sent_at.is_not(None),
            _OUTBOX.c.sent_at < before,
            _OUTBOX.c.status == OutboxStatus.SENT,
        ),
        # read from ix_outbox_claim's status prefix
        sa.select(_OUTBOX.c.id).where(
            _OUTBOX.c.status.in_([OutboxStatus.FAILED, OutboxStatus.CANCELLED]),
            _OUTBOX.c.next_attempt_at < before,
        ),
    ]
    conn = await session.connection()
    pruned = 0
    for rows in finished:
        if pruned >= limit:
            break
        ids = rows.limit(limit - pruned).scalar_subquery()
        pruned += (await conn.execute(_OUTBOX.delete().where(_OUTBOX.c.id.in_(ids)))).rowcount
    return pruned


async def sent_since(*, session: AsyncSession, kind: str, since: datetime) -> int:
    query = sa.select(sa.func.count()).where(
        col(Outbox.sent_at) >= since,
        col(Outbox.kind) == kind,
        col(Outbox.status) == OutboxStatus.SENT,
    )
    return int((await session.exec(query)).one()[0])  # type: ignore[call-overload]


async def failures_since(
    *, session: AsyncSession, kind: str, since: datetime
) -> list[tuple[str | None, int]]:
    """Rows of ``kind`` that failed since ``since`` (a failed row's next attempt is when
    it failed), grouped by their error."""
    query = (
        select(col(Outbox.last_error), sa.func.count())
        .where(
            col(Outbox.status) == OutboxStatus.FAILED,
            col(Outbox.next_attempt_at) >= since,
            col(Outbox.kind) == kind,
        )
        .group_by(col(Outbox.last_error))
    )
    return [(error, int(n)) for error, n in await session.exec(query)]


@dataclass(frozen=True, slots=True)
class Lateness:
    """How late the digests sent in a period went out (seconds): for /stats."""

    sent: int  # digests with a recorded lateness
    p50: float
    p95: float
    worst: float


async def digest_lateness(*, session: AsyncSession, since: datetime) -> Lateness | None:
    """p50, p95 and worst lateness of the digests sent since ``since`` (None: none sent).

    Read through ``ix_outbox_sent_at`` (only the period's rows); each percentile is one
    row picked in order by the database (nearest rank), so only three numbers, never
    the day's rows, come back: a morning of a million digests stays cheap in memory.
    """
    conn = await session.connection()
    today = sa.and_(
        _OUTBOX.c.sent_at.is_not(None),
        _OUTBOX.c.sent_at >= since,
        _OUTBOX.c.status == OutboxStatus.SENT,
        _OUTBOX.c.kind == OutboxKind.DIGEST,
        _OUTBOX.c.lateness_ms.is_not(None),
    )
    count, worst = (
        await conn.execute(
            sa.select(sa.func.count(), sa.func.max(_OUTBOX.c.lateness_ms)).where(today)
        )
    ).one()
    if not count:
        return None

    async def rank(fraction: float) -> float:
        offset = max(0, math.ceil(fraction * count) - 1)  # nearest rank
        value = (
            await conn.execute(
                sa.select(_OUTBOX.c.lateness_ms)
                .where(today)
                .order_by(_OUTBOX.c.lateness_ms)
                .limit(1)
                .offset(offset)
            )
        ).scalar_one()
        return int(value) / 1000

    return Lateness(sent=int(count), p50=await rank(0.5), p95=await rank(0.95), worst=worst / 1000)
