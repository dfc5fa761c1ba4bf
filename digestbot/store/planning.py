"""Digest planning: the chats that are due, the briefs' window, and saving a plan
(the outbox rows it queues and the schedules it moves) in bulk.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from digestbot.store.briefs import BRIEFS_REVISION
from digestbot.store.models import (
    Brief,
    Chat,
    ChatFilter,
    ChatType,
    KeyValue,
    OutboxKind,
    OutboxStatus,
    TagWeight,
    UTCDateTime,
)
from digestbot.store.sql import dialect_name

_CHATS = Chat.__table__  # type: ignore[attr-defined]
_FILTERS = ChatFilter.__table__  # type: ignore[attr-defined]
_WEIGHTS = TagWeight.__table__  # type: ignore[attr-defined]
# What planning reads of a chat; Core rows, not ORM objects: thousands per tick.
_SCHEDULE_COLUMNS = (
    "id",
    "timezone",
    "digest_time",
    "frequency",
    "weekly_day",
    "min_score",
    "digest_size",
    "last_brief_id",
    "window_end_id",
    "window_shown",
    "next_digest_at",
    "active",
    "paused",
)
_NOT_DUE = {"active", "paused"}  # due chats are all active and unpaused
# What a due chat's digest looks like (DueChat's last fields, in order).
_STYLE = (_CHATS.c.language, _CHATS.c.compact, _CHATS.c.type)
# A chat's digest times as schedule.py takes them ("08:00" or "08:00,18:00"), read as
# digest_time: digest_times when it has several (see models.Chat.times).
_TIMES = sa.func.coalesce(sa.func.nullif(_CHATS.c.digest_times, ""), _CHATS.c.digest_time)


def _column(name: str) -> Any:
    return _TIMES.label("digest_time") if name == "digest_time" else _CHATS.c[name]


# The planner's statements run every tick (1,440 a day, most with little to do), so each
# is built once, with parameters: building a select and keying it for SQLAlchemy's
# compiled cache cost more than running it on a quiet tick.
_LIMIT = sa.bindparam("limit", type_=sa.Integer)
_UNSCHEDULED = (
    sa.select(*(_column(name) for name in _SCHEDULE_COLUMNS))
    .where(_CHATS.c.next_digest_at.is_(None))
    .order_by(_CHATS.c.id)
    .limit(_LIMIT)
)


class DueChat(NamedTuple):
    """A chat whose digest is due, with what planning it needs (see :func:`due_chats`)."""

    id: int
    timezone: str
    digest_time: str
    frequency: str
    weekly_day: int
    min_score: int
    digest_size: int
    last_brief_id: int
    window_end_id: int
    window_shown: int
    next_digest_at: datetime
    tag_ids: tuple[int, ...]  # the tags it follows
    alerted_ids: tuple[int, ...] = ()  # briefs it had as alerts: left out of its digest
    shaped: bool = False  # it has filters or tag weights (see store.shaping_of)
    # how its digest is made: its language code as stored (None: not chosen), /style
    # compact, and its type (a private chat's digest has the feedback row)
    language: str | None = None
    compact: bool = False
    type: str = ChatType.PRIVATE


def _due(*, since: bool) -> Any:
    """The due chats' statement (see :func:`due_chats`), reading from ``:since`` on or
    from the start."""
    # The due moment comes as the driver gives it (no per-row type processing); the
    # few distinct moments of a tick are converted once, in due_chats.
    raw = sa.types.NullType()
    due = _CHATS.c.next_digest_at
    return (
        sa.select(
            *(
                sa.type_coerce(_CHATS.c[name], raw) if name == "next_digest_at" else _column(name)
                for name in _SCHEDULE_COLUMNS
                if name not in _NOT_DUE
            ),
            _CHATS.c.tag_ids,
            _CHATS.c.alerted_ids,
            sa.or_(
                sa.exists().where(_FILTERS.c.chat_id == _CHATS.c.id),
                sa.exists().where(_WEIGHTS.c.chat_id == _CHATS.c.id),
            ),
            *_STYLE,
        )
        .where(
            due <= sa.bindparam("now", type_=due.type),
            due > sa.bindparam("since", type_=due.type) if since else sa.true(),
            _CHATS.c.active != sa.false(),
            ~_CHATS.c.paused,
            _CHATS.c.frequency != "off",
        )
        .order_by(due)
        .limit(_LIMIT)
    )


_DUE, _DUE_SINCE = _due(since=False), _due(since=True)


async def due_chats(
    *, session: AsyncSession, now: datetime, since: datetime | None = None, limit: int
) -> list[DueChat]:
    """Reachable, unpaused chats whose digest is due, the earliest due first, each with
    the ids of the tags it follows (from ``chats.tag_ids``, so a due chat costs one row:
    a million chats' day reads hundreds of them every minute).

    The planner moves every chat it gets past ``now`` before it asks again, so the next
    call returns the next ones without an offset, and each call reads no more of the
    ``next_digest_at`` index than the rows it returns: a tick costs what is due, not
    what is stored (a day of minute ticks over a million chats). ``since``, when given,
    skips what is due at or before it: on PostgreSQL a moved schedule leaves its old
    index entry behind until vacuum, so an open-ended read would walk over every
    schedule moved since then (by evening, most of a million).

    Each chat also says whether it has filters or tag weights (``shaped``: two index
    probes in the same query), so the planner reads those only for the chats that have
    some, rather than looking up every due chat (most have none).
    """
    stmt = _DUE_SINCE if since is not None else _DUE
    conn = await session.connection()
    rows = (await conn.execute(stmt, {"now": now, "since": since, "limit": limit})).all()
    style = len(_STYLE)
    at, tags, alerts, shaped = -4 - style, -3 - style, -2 - style, -1 - style
    # each distinct value converted once: a batch's chats share a few due moments and a
    # few hundred sets of tags, and most have no alerts (one empty tuple, shared)
    moments = _moments(session, {r[at] for r in rows})
    ids = {text: _ids(text) for text in {r[tags] for r in rows} | {r[alerts] for r in rows}}
    make = tuple.__new__  # as DueChat._make, without its call in Python
    return [
        make(
            DueChat,
            (
                *r[:at],
                moments[r[at]],
                ids[r[tags]],
                ids[r[alerts]],
                bool(r[shaped]),
                *r[-style:],
            ),
        )
        for r in rows
    ]


def _ids(text: str) -> tuple[int, ...]:
    """Ids as a text column keeps them ("3,17,22"), as a tuple."""
    return tuple(map(int, text.split(","))) if text else ()


def _moments(session: AsyncSession, values: set[Any]) -> dict[Any, datetime]:
    """The driver's values of a UTC column as ``UTCDateTime`` reads them, by value."""
    dialect = session.get_bind().dialect
    read = UTCDateTime().dialect_impl(dialect).result_processor(dialect, None)
    out: dict[Any, datetime] = {}
    for value in values:
        moment = read(value) if read is not None else value
        assert isinstance(moment, datetime)  # due, so set
        out[value] = moment
    return out


async def unscheduled_chats(*, session: AsyncSession, limit: int) -> Sequence[Any]:
    """Chats whose schedule was cleared (new, or settings changed)."""
    conn = await session.connection()
    return (await conn.execute(_UNSCHEDULED, {"limit": limit})).all()


async def update_chats(*, session: AsyncSession, updates: Sequence[dict[str, Any]]) -> None:
    """Set fields of many chats (each dict: ``b_id`` and the fields), one executemany per
    shape of change rather than an UPDATE per chat through the ORM."""
    by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for change in updates:
        by_shape[tuple(sorted(change))].append(change)
    conn = await session.connection()
    for shape, params in by_shape.items():
        values: dict[str, Any] = {name: sa.bindparam(name) for name in shape if name != "b_id"}
        stmt = _CHATS.update().where(_CHATS.c.id == sa.bindparam("b_id")).values(**values)
        await conn.execute(stmt, params)


@dataclass(frozen=True, slots=True)
class BriefWindow:
    """Where the briefs ingested since some moment lie, and whether they changed."""

    end: int  # the newest brief's id (0: none)
    first: int | None  # the oldest brief's id ingested since then (None: none)
    count: int  # briefs with ids from ``first`` on
    changed: datetime | None  # when the latest of those was added or updated
    revision: str | None = None  # counts every change to the briefs (see upsert_briefs)
    first_at: datetime | None = None  # when ``first`` was ingested: until then it stays first


async def brief_head(*, session: AsyncSession) -> tuple[int, str | None]:
    """The newest brief's id and the briefs' revision (see upsert_briefs): while both
    stay the same no brief came or changed. Two index probes, for the planner's ticks
    between two briefs leaving its window (see :func:`brief_window`)."""
    conn = await session.connection()
    row = (await conn.execute(_HEAD)).one()
    return row[0] or 0, row[1]


def _revision() -> Any:
    kv = KeyValue.__table__  # type: ignore[attr-defined]
    return (
        sa.select(kv.c.value).where(kv.c.key == BRIEFS_REVISION).scalar_subquery().correlate(None)
    )


_HEAD = sa.select(
    sa.select(sa.func.max(Brief.id)).scalar_subquery().correlate(None), _revision()
)  # built once: see _UNSCHEDULED


async def brief_window(*, session: AsyncSession, since: datetime) -> BriefWindow:
    """The newest brief's id, the oldest one ingested at or after ``since`` (and when),
    and how many briefs there are from that one on and when the latest of them changed,
    in one round trip: the planner asks whenever a brief may have left its window. Ids
    grow with ingestion, and a brief is only ever added or updated (``upsert_briefs``
    stamps ``updated_at``), so while these stay the same so do the briefs from
    ``first`` on."""
    # min(id + 0), not min(id): given min(id), both databases walk the primary key
    # from the first brief until one is recent enough, most of a year of briefs every
    # minute (87 ms on SQLite, bench/RESULTS.md issue 19); this reads the recent end of
    # ix_briefs_ingested_at instead
    first = (
        sa.select(sa.func.min(col(Brief.id) + 0))
        .where(col(Brief.ingested_at) >= since)
        .scalar_subquery()
        .correlate(None)
    )
    newest = sa.select(sa.func.max(Brief.id)).scalar_subquery().correlate(None)
    count = (
        sa.select(sa.func.count())
        .select_from(Brief)
        .where(col(Brief.id) >= first)
        .scalar_subquery()
        .correlate(None)
    )
    changed = (
        sa.select(sa.func.max(Brief.updated_at))
        .where(col(Brief.id) >= first)
        .scalar_subquery()
        .correlate(None)
    )
    first_at = sa.select(col(Brief.ingested_at)).where(col(Brief.id) == first).scalar_subquery()
    conn = await session.connection()
    stmt = sa.select(newest, first, count, changed, _revision(), first_at.correlate(None))
    row = (await conn.execute(stmt)).one()
    return BriefWindow(
        end=row[0] or 0,
        first=row[1],
        count=row[2],
        changed=row[3],
        revision=row[4],
        first_at=row[5],
    )


# What save_plan takes: plain tuples, not NamedTuples, since a day of a million chats
# builds a million of each (a NamedTuple costs five times a tuple to make).
DigestRow = tuple[str, int, int, str]
"""One message of a planned digest: (outbox key, chat id, part, payload)."""
ScheduleMove = tuple[int, datetime, int | None, int | None, int | None, datetime | None]
"""A planned chat's next digest moment and digest cursor: (chat id, next_digest_at,
last_brief_id, window_end_id, window_shown, last_digest_at); a None leaves that column
as it is."""


_QUEUE_COLUMNS = "key, chat_id, kind, part, payload, status, attempts, next_attempt_at, created_at"
_PG_QUEUE = f"""
INSERT INTO outbox ({_QUEUE_COLUMNS})
SELECT u.key, u.chat_id, '{OutboxKind.DIGEST}', u.part, u.payload,
    '{OutboxStatus.PENDING}', 0, $5, $5
FROM unnest($1::varchar[], $2::bigint[], $3::int[], $4::text[])
    WITH ORDINALITY AS u(key, chat_id, part, payload, n)
ORDER BY u.n
ON CONFLICT (key) DO NOTHING"""
_PG_MOVE = """
UPDATE chats AS c SET next_digest_at = u.next_at,
    last_brief_id = COALESCE(u.last_id, c.last_brief_id),
    window_end_id = COALESCE(u.end_id, c.window_end_id),
    window_shown = COALESCE(u.shown, c.window_shown),
    last_digest_at = COALESCE(u.digest_at, c.last_digest_at)
FROM unnest($1::bigint[], $2::timestamp[], $3::int[], $4::int[], $5::int[], $6::timestamp[])
    AS u(id, next_at, last_id, end_id, shown, digest_at)
WHERE c.id = u.id"""
_SQLITE_QUEUE = f"""
INSERT INTO outbox ({_QUEUE_COLUMNS})
VALUES (?, ?, '{OutboxKind.DIGEST}', ?, ?, '{OutboxStatus.PENDING}', 0, ?, ?)
ON CONFLICT (key) DO NOTHING"""
_SQLITE_MOVE = """
UPDATE chats SET next_digest_at = ?, last_brief_id = COALESCE(?, last_brief_id),
    window_end_id = COALESCE(?, window_end_id), window_shown = COALESCE(?, window_shown),
    last_digest_at = COALESCE(?, last_digest_at)
WHERE id = ?"""


# SQLite: where a chat's row lies. A day's due chats are scattered over the table, so
# every schedule move wrote a page of its own; rows kept in the order of their digest's
# UTC minute make a tick's moves share pages (a million chats' day: 76 s against 55 s,
# bench/RESULTS.md, issue 19). A table with no INTEGER PRIMARY KEY (chats.id is a
# BIGINT) may give a row any rowid: a chat's is its minute of the day above PLACE_BITS
# bits of its id. OR IGNORE: were two ids the same in those bits (none are today:
# Telegram's ids use fewer), the second keeps its place, which costs speed, never a row.
PLACE_BITS = 44
_MINUTE = (
    "(CAST(strftime('%H', next_digest_at) AS INTEGER) * 60"
    " + CAST(strftime('%M', next_digest_at) AS INTEGER))"
)
SQLITE_PLACE_ALL = (
    f"UPDATE OR IGNORE chats SET rowid = ({_MINUTE} << {PLACE_BITS})"
    f" | (id & {(1 << PLACE_BITS) - 1}) WHERE next_digest_at IS NOT NULL"
)
_SQLITE_PLACE = f"{SQLITE_PLACE_ALL} AND id = ?"


async def place_chats(*, session: AsyncSession, chat_ids: Sequence[int]) -> None:
    """On SQLite, put these chats' rows with those of the chats whose digest falls in the
    same minute of the day (see PLACE_BITS); call it when a chat's minute changed.
    On PostgreSQL, nothing: its rows cannot be kept in an order."""
    if chat_ids and dialect_name(session) == "sqlite":
        conn = await session.connection()
        await conn.exec_driver_sql(_SQLITE_PLACE, [(chat_id,) for chat_id in chat_ids])


async def save_plan(
    *,
    session: AsyncSession,
    rows: Sequence[DigestRow],
    moves: Sequence[ScheduleMove],
    now: datetime,
    placed: Sequence[int] = (),
) -> None:
    """Queue planned digest messages (``pending`` from ``now``; a key that exists is
    skipped, never sent twice) and move the planned chats' schedules and cursors.

    A day of a million chats is a million of each, so this goes past SQLAlchemy's
    per-value processing: one ``unnest`` statement each on PostgreSQL, one
    ``executemany`` of plain tuples each on SQLite, with the few distinct timestamps
    converted once. ``placed``: the moved chats whose digest's minute of the day changed
    (see :func:`place_chats`).
    """
    conn = await session.connection()
    stamp = _timestamps(session)
    if dialect_name(session) == "postgresql":
        if rows:
            await conn.exec_driver_sql(_PG_QUEUE, (*map(list, zip(*rows, strict=True)), stamp(now)))
        if moves:
            ids, next_at, last_id, end_id, shown, digest_at = map(list, zip(*moves, strict=True))
            next_at, digest_at = list(map(stamp, next_at)), list(map(stamp, digest_at))
            await conn.exec_driver_sql(_PG_MOVE, (ids, next_at, last_id, end_id, shown, digest_at))
        return
    at = stamp(now)
    if rows:
        await conn.exec_driver_sql(_SQLITE_QUEUE, [(*row, at, at) for row in rows])
    if moves:
        await conn.exec_driver_sql(
            _SQLITE_MOVE,
            [(stamp(m[1]), m[2], m[3], m[4], stamp(m[5]), m[0]) for m in moves],
        )
    await place_chats(session=session, chat_ids=placed)


def _timestamps(session: AsyncSession) -> Callable[[datetime | None], Any]:
    """Aware datetimes as the driver takes them for a UTC column (as ``UTCDateTime``
    binds them), each distinct one converted once."""
    dialect = session.get_bind().dialect
    bind = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert bind is not None  # a TypeDecorator always has one
    seen: dict[datetime | None, Any] = {None: None}

    def convert(value: datetime | None) -> Any:
        if value not in seen:
            seen[value] = bind(value)
        return seen[value]

    return convert
