"""Every database query digestbot makes, as keyword-only async functions taking a session.

Callers own the transaction (see :func:`digestbot.db.session_scope`); nothing here commits.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

import sqlalchemy as sa
import sqlalchemy.orm
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from digestbot.store.models import (
    SECTIONS,
    AuditEntry,
    Brief,
    BriefData,
    BriefTag,
    Broadcast,
    BroadcastStatus,
    Chat,
    Feed,
    KeyValue,
    Outbox,
    OutboxKind,
    OutboxStatus,
    Subscription,
    Tag,
    UTCDateTime,
    utcnow,
)

_CHUNK = 500  # stays below SQLite's bound-parameter limit in IN (...) lists


class Outcome(StrEnum):
    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class Item:
    """A stored brief: our id (what ``/brief_ID`` uses) and its parsed fields."""

    id: int
    brief: BriefData


@dataclass(frozen=True, slots=True)
class TagCount:
    slug: str
    briefs: int


def content_hash(brief: BriefData) -> str:
    """A fingerprint of everything a brief says, to tell a changed brief from a re-sent one."""
    canonical = json.dumps(brief.to_dict(), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _insert(session: AsyncSession, table: Any) -> Any:
    """INSERT with ON CONFLICT support on either database."""
    return (postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert)(table)


# --- tags -------------------------------------------------------------------------------


async def all_feeds(*, session: AsyncSession) -> list[Feed]:
    return list(await session.exec(select(Feed)))


async def ensure_tags(*, session: AsyncSession, slugs: Iterable[str]) -> dict[str, int]:
    """Ids of these tag slugs, creating the missing ones (safe against concurrent writers)."""
    wanted = sorted(set(slugs))
    if not wanted:
        return {}
    for chunk in _chunks(wanted):
        stmt = _insert(session, Tag).values([{"slug": s} for s in chunk])
        await session.exec(stmt.on_conflict_do_nothing(index_elements=["slug"]))
    ids: dict[str, int] = {}
    for chunk in _chunks(wanted):
        rows = await session.exec(select(Tag.slug, Tag.id).where(col(Tag.slug).in_(chunk)))
        ids.update({slug: tag_id for slug, tag_id in rows if tag_id is not None})
    return ids


async def tag_counts(*, session: AsyncSession) -> list[TagCount]:
    """Every tag that has briefs, with how many, most used first."""
    stmt = (
        select(Tag.slug, sa.func.count(col(BriefTag.brief_id)))
        .join(BriefTag, col(BriefTag.tag_id) == col(Tag.id))
        .group_by(col(Tag.slug))
        .order_by(sa.func.count(col(BriefTag.brief_id)).desc(), col(Tag.slug))
    )
    return [TagCount(slug, count) for slug, count in await session.exec(stmt)]


# --- briefs -----------------------------------------------------------------------------


def _brief_values(data: BriefData, digest: str) -> dict[str, Any]:
    values: dict[str, Any] = {
        "source_id": data.id,
        "title": data.title,
        "score": data.score,
        "category": data.category,
        "published_at": data.published_at,
        "summary": data.summary,
        "url": data.url,
        "content_hash": digest,
        "tag_text": " ".join(data.tags),  # what full-text search reads (see models.Brief)
    }
    for name, _heading in SECTIONS:
        values[name] = getattr(data, name)
    return values


async def _find_existing(
    session: AsyncSession, briefs: Sequence[BriefData]
) -> tuple[dict[str, Brief], dict[tuple[str, datetime], Brief]]:
    by_source: dict[str, Brief] = {}
    by_title: dict[tuple[str, datetime], Brief] = {}
    source_ids = sorted({b.id for b in briefs if b.id is not None})
    for chunk in _chunks(source_ids):
        for row in await session.exec(select(Brief).where(col(Brief.source_id).in_(chunk))):
            by_source[row.source_id or ""] = row
    titles = sorted({b.title for b in briefs})
    for chunk in _chunks(titles):
        for row in await session.exec(select(Brief).where(col(Brief.title).in_(chunk))):
            by_title[(row.title, row.published_at)] = row
    return by_source, by_title


async def upsert_briefs(*, session: AsyncSession, briefs: Sequence[BriefData]) -> list[Outcome]:
    """Store briefs, one outcome each: a known brief is updated only when it changed.

    A brief is known by its source id, or else by the same title and publish time.
    """
    if session.get_bind().dialect.name == "postgresql":
        # One ingestion at a time, so brief ids become visible in the order they are
        # given: digests take "every id above the last one seen" and must not skip any.
        conn = await session.connection()
        await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(74100001)))
    by_source, by_title = await _find_existing(session, briefs)
    tag_ids = await ensure_tags(session=session, slugs=(t for b in briefs for t in b.tags))
    outcomes: list[Outcome] = []
    now = utcnow()
    # Every brief added or changed, with its tags (by object: a new one has no id yet),
    # and the stored ones whose old tags go: written at the end, so a batch costs a few
    # statements (one INSERT of all the new briefs) rather than a few per brief.
    tagged: dict[int, tuple[Brief, Sequence[str]]] = {}
    retagged: list[int] = []
    for data in briefs:
        digest = content_hash(data)
        row = (by_source.get(data.id) if data.id is not None else None) or by_title.get(
            (data.title, data.published_at)
        )
        if row is not None and row.content_hash == digest:
            outcomes.append(Outcome.UNCHANGED)
            continue
        values = _brief_values(data, digest)
        if row is None:
            row = Brief(**values, ingested_at=now, updated_at=now)
            session.add(row)  # the ORM inserts them in this order: ids follow the input's
            outcomes.append(Outcome.ADDED)
        else:
            if row.source_id is not None and data.id is None:
                values["source_id"] = row.source_id  # a card re-ingested without its id
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = now
            if row.id is not None:  # stored before this batch (else added earlier in it)
                retagged.append(row.id)
            outcomes.append(Outcome.UPDATED)
        tagged[id(row)] = (row, data.tags)
        if row.source_id:
            by_source[row.source_id] = row
        by_title[(row.title, row.published_at)] = row
    for chunk in _chunks(retagged):
        await session.exec(sa.delete(BriefTag).where(col(BriefTag.brief_id).in_(chunk)))
    await session.flush()  # assigns the new briefs' ids
    links = [
        {"brief_id": row.id, "tag_id": tag_ids[slug], "position": i}
        for row, tags in tagged.values()
        for i, slug in enumerate(tags)
    ]
    if links:  # Core, not ORM objects: building those cost more than storing them
        conn = await session.connection()
        await conn.execute(sa.insert(BriefTag.__table__), links)  # type: ignore[attr-defined]
    if any(o != Outcome.UNCHANGED for o in outcomes):
        await _bump_revision(session)
    return outcomes


BRIEFS_REVISION = "briefs_rev"


async def _bump_revision(session: AsyncSession) -> None:
    """Count every change to the briefs, in the changing transaction: the planner keeps
    briefs between ticks while this stays the same. A counter, not a time stamp, so an
    edit from a process whose clock is behind is never mistaken for no change."""
    table = KeyValue.__table__  # type: ignore[attr-defined]
    insert = _insert(session, table).values(key=BRIEFS_REVISION, value="1")
    bumped = sa.cast(sa.cast(table.c.value, sa.Integer) + 1, sa.Text)
    conn = await session.connection()
    await conn.execute(insert.on_conflict_do_update(index_elements=["key"], set_={"value": bumped}))


async def count_briefs(*, session: AsyncSession) -> int:
    return (await session.exec(select(sa.func.count()).select_from(Brief))).one()


async def tags_of(*, session: AsyncSession, brief_ids: Sequence[int]) -> dict[int, list[str]]:
    """Tag slugs of each brief, in the order the source gave them."""
    out: dict[int, list[str]] = {brief_id: [] for brief_id in brief_ids}
    for chunk in _chunks(list(brief_ids)):
        stmt = (
            select(BriefTag.brief_id, Tag.slug)
            .join(Tag, col(Tag.id) == col(BriefTag.tag_id))
            .where(col(BriefTag.brief_id).in_(chunk))
            .order_by(col(BriefTag.brief_id), col(BriefTag.position))
        )
        for brief_id, slug in await session.exec(stmt):
            out[brief_id].append(slug)
    return out


def to_brief_data(row: Brief, tags: Sequence[str]) -> BriefData:
    """The stored brief in its parsed form (what export writes)."""
    return BriefData(
        title=row.title,
        score=row.score,
        category=row.category,
        published_at=row.published_at,
        tags=tuple(tags),
        summary=row.summary,
        what_happened=row.what_happened,
        technical_details=row.technical_details,
        why_it_matters=row.why_it_matters,
        what_to_watch=row.what_to_watch,
        url=row.url,
        id=row.source_id,
    )


async def iter_briefs(*, session: AsyncSession, batch: int = _CHUNK) -> AsyncIterator[BriefData]:
    """Every stored brief, oldest first, in batches so memory stays flat."""
    after = 0
    while True:
        stmt = select(Brief).where(col(Brief.id) > after).order_by(col(Brief.id)).limit(batch)
        rows = list(await session.exec(stmt))
        if not rows:
            return
        ids = [r.id for r in rows if r.id is not None]
        tags = await tags_of(session=session, brief_ids=ids)
        for row in rows:
            assert row.id is not None
            yield to_brief_data(row, tags[row.id])
        after = ids[-1]


async def get_brief(*, session: AsyncSession, brief_id: int) -> Brief | None:
    return await session.get(Brief, brief_id)


async def get_item(*, session: AsyncSession, brief_id: int) -> Item | None:
    """One brief with its tags, or None."""
    row = await session.get(Brief, brief_id)
    if row is None or row.id is None:
        return None
    tags = await tags_of(session=session, brief_ids=[row.id])
    return Item(row.id, to_brief_data(row, tags[row.id]))


async def items_by_ids(*, session: AsyncSession, brief_ids: Iterable[int]) -> dict[int, Item]:
    """The briefs with these ids that exist, with their tags, by id."""
    out: dict[int, Item] = {}
    for chunk in _chunks(sorted(set(brief_ids))):
        rows = (await session.exec(select(Brief).where(col(Brief.id).in_(chunk)))).all()
        out.update((item.id, item) for item in await _items(session, rows))
    return out


async def _items(session: AsyncSession, rows: Sequence[Brief]) -> list[Item]:
    ids = [r.id for r in rows if r.id is not None]
    tags = await tags_of(session=session, brief_ids=ids)
    return [Item(r.id, to_brief_data(r, tags[r.id])) for r in rows if r.id is not None]


async def max_brief_id(*, session: AsyncSession) -> int:
    newest: int | None = (await session.exec(select(sa.func.max(Brief.id)))).one()
    return newest or 0


def _filtered(
    stmt: Any,
    *,
    tags: Sequence[str] | None,
    min_score: int,
    after_id: int | None,
    upto_id: int | None,
    published_after: datetime | None = None,
) -> Any:
    if published_after is not None:
        stmt = stmt.where(col(Brief.published_at) >= published_after)
    if tags is not None:
        on_tags = (
            select(BriefTag.brief_id)
            .join(Tag, col(Tag.id) == col(BriefTag.tag_id))
            .where(col(Tag.slug).in_(list(tags)))
        )
        stmt = stmt.where(col(Brief.id).in_(on_tags))
    if min_score:
        stmt = stmt.where(col(Brief.score) >= min_score)
    if after_id is not None:
        stmt = stmt.where(col(Brief.id) > after_id)
    if upto_id is not None:
        stmt = stmt.where(col(Brief.id) <= upto_id)
    return stmt


async def find_items(
    *,
    session: AsyncSession,
    tags: Sequence[str] | None = None,
    min_score: int = 0,
    after_id: int | None = None,
    upto_id: int | None = None,
    published_after: datetime | None = None,
    order: str = "best",
    limit: int = 10,
    offset: int = 0,
) -> list[Item]:
    """Briefs on any of ``tags`` (None: all), at or above ``min_score``, in an id window.

    ``order`` is ``best`` (score, then newest) or ``latest`` (newest published first).
    """
    ordering = (
        (col(Brief.score).desc(), col(Brief.published_at).desc(), col(Brief.id).desc())
        if order == "best"
        else (col(Brief.published_at).desc(), col(Brief.id).desc())
    )
    stmt = _filtered(
        select(Brief),
        tags=tags,
        min_score=min_score,
        after_id=after_id,
        upto_id=upto_id,
        published_after=published_after,
    )
    rows = list(await session.exec(stmt.order_by(*ordering).offset(offset).limit(limit)))
    return await _items(session, rows)


async def count_items(
    *,
    session: AsyncSession,
    tags: Sequence[str] | None = None,
    min_score: int = 0,
    after_id: int | None = None,
    upto_id: int | None = None,
) -> int:
    stmt = _filtered(
        select(sa.func.count()).select_from(Brief),
        tags=tags,
        min_score=min_score,
        after_id=after_id,
        upto_id=upto_id,
    )
    count: int = (await session.exec(stmt)).one()
    return count


# --- chats and subscriptions ------------------------------------------------------------


async def get_or_create_chat(
    *, session: AsyncSession, chat_id: int, defaults: dict[str, Any] | None = None
) -> tuple[Chat, bool]:
    """The chat, creating it with ``defaults`` when new; returns (chat, created)."""
    chat = await session.get(Chat, chat_id)
    if chat is not None:
        return chat, False
    chat = Chat(id=chat_id, **(defaults or {}))
    session.add(chat)
    await session.flush()
    return chat, True


def _tag_ids_sql(dialect: str) -> str:
    """SQL for a chat's ``tag_ids`` ("3,17,22") from its subscriptions, the chat being
    ``chats.id`` (migration 0003 filled the column with a copy of this)."""
    if dialect == "postgresql":
        each = (
            "SELECT string_agg(tag_id::text, ',' ORDER BY tag_id) FROM subscriptions"
            " WHERE chat_id = chats.id"
        )
    else:
        each = (
            "SELECT group_concat(tag_id) FROM"
            " (SELECT tag_id FROM subscriptions WHERE chat_id = chats.id ORDER BY tag_id)"
        )
    return f"COALESCE(({each}), '')"


async def _lock_chats(session: AsyncSession, *chat_ids: int) -> None:
    """Hold these chats' rows until commit, so two changes to one chat's subscriptions
    (two replicas, two taps) go one after the other and the second copies the first's
    into ``tag_ids`` too (PostgreSQL; SQLite has one writer at a time anyway)."""
    stmt = sa.select(_CHATS.c.id).where(_CHATS.c.id.in_(sorted(chat_ids))).with_for_update()
    await (await session.connection()).execute(stmt)


async def _refresh_tag_ids(session: AsyncSession, *chat_ids: int) -> None:
    """Copy these chats' subscriptions into ``chats.tag_ids`` (see models.Chat)."""
    stmt = sa.text(
        f"UPDATE chats SET tag_ids = {_tag_ids_sql(_dialect(session))} WHERE chats.id = :id"
    )
    conn = await session.connection()
    for chat_id in chat_ids:
        await conn.execute(stmt, {"id": chat_id})


async def add_subscription(*, session: AsyncSession, chat_id: int, tag: str) -> bool:
    """Subscribe a chat to a tag; False when it already was."""
    tag_id = (await ensure_tags(session=session, slugs=[tag]))[tag]
    await _lock_chats(session, chat_id)
    stmt = _insert(session, Subscription).values(
        chat_id=chat_id, tag_id=tag_id, created_at=utcnow()
    )
    result = await session.exec(stmt.on_conflict_do_nothing())
    if result.rowcount:
        await _refresh_tag_ids(session, chat_id)
    return bool(result.rowcount)


async def remove_subscription(*, session: AsyncSession, chat_id: int, tag: str) -> bool:
    """Unsubscribe a chat from a tag; False when it was not subscribed."""
    await _lock_chats(session, chat_id)
    tag_id = select(Tag.id).where(Tag.slug == tag).scalar_subquery()
    stmt = sa.delete(Subscription).where(
        col(Subscription.chat_id) == chat_id, col(Subscription.tag_id) == tag_id
    )
    removed = bool((await session.exec(stmt)).rowcount)
    if removed:
        await _refresh_tag_ids(session, chat_id)
    return removed


async def remove_all_subscriptions(*, session: AsyncSession, chat_id: int) -> int:
    """Unsubscribe a chat from everything; returns how many tags it followed."""
    await _lock_chats(session, chat_id)
    stmt = sa.delete(Subscription).where(col(Subscription.chat_id) == chat_id)
    removed = int((await session.exec(stmt)).rowcount)
    await _refresh_tag_ids(session, chat_id)
    return removed


async def delete_chat(*, session: AsyncSession, chat_id: int) -> bool:
    """Delete a chat and its subscriptions; False when there was no such chat."""
    await remove_all_subscriptions(session=session, chat_id=chat_id)
    result = await session.exec(sa.delete(Chat).where(col(Chat.id) == chat_id))
    return bool(result.rowcount)


async def tag_ids(*, session: AsyncSession, slugs: Sequence[str]) -> dict[str, int]:
    """Ids of the known tags among ``slugs``."""
    out: dict[str, int] = {}
    for chunk in _chunks(list(slugs)):
        rows = await session.exec(select(Tag.slug, Tag.id).where(col(Tag.slug).in_(chunk)))
        out.update({slug: tag_id for slug, tag_id in rows if tag_id is not None})
    return out


async def chat_tags(*, session: AsyncSession, chat_id: int) -> list[str]:
    """The tags a chat follows, alphabetically."""
    stmt = (
        select(Tag.slug)
        .join(Subscription, col(Subscription.tag_id) == col(Tag.id))
        .where(col(Subscription.chat_id) == chat_id)
        .order_by(col(Tag.slug))
    )
    return list(await session.exec(stmt))


# --- scheduling -------------------------------------------------------------------------

_CHATS = Chat.__table__  # type: ignore[attr-defined]
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


async def _chat_rows(
    session: AsyncSession, *where: Any, order: Any = _CHATS.c.id, limit: int
) -> Sequence[Any]:
    conn = await session.connection()
    stmt = sa.select(*(_CHATS.c[name] for name in _SCHEDULE_COLUMNS)).where(*where)
    return (await conn.execute(stmt.order_by(order).limit(limit))).all()


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
    """
    # The due moment comes as the driver gives it (no per-row type processing); the
    # few distinct moments of a tick are converted once, below.
    raw = sa.types.NullType()
    stmt = (
        sa.select(
            *(
                sa.type_coerce(_CHATS.c[name], raw) if name == "next_digest_at" else _CHATS.c[name]
                for name in _SCHEDULE_COLUMNS
                if name not in _NOT_DUE
            ),
            _CHATS.c.tag_ids,
        )
        .where(
            _CHATS.c.next_digest_at <= now,
            _CHATS.c.next_digest_at > since if since is not None else sa.true(),
            _CHATS.c.active != sa.false(),
            ~_CHATS.c.paused,
            _CHATS.c.frequency != "off",
        )
        .order_by(_CHATS.c.next_digest_at)
        .limit(limit)
    )
    conn = await session.connection()
    rows = (await conn.execute(stmt)).all()
    moment = _moments(session)
    return [
        DueChat._make((*r[:-2], moment(r[-2]), tuple(map(int, r[-1].split(","))) if r[-1] else ()))
        for r in rows
    ]


def _moments(session: AsyncSession) -> Callable[[Any], datetime]:
    """The driver's value of a UTC column as ``UTCDateTime`` reads it, each distinct one
    converted once."""
    dialect = session.get_bind().dialect
    read = UTCDateTime().dialect_impl(dialect).result_processor(dialect, None)
    seen: dict[Any, datetime] = {}

    def convert(value: Any) -> datetime:
        if value not in seen:
            moment = read(value) if read is not None else value
            assert isinstance(moment, datetime)  # due, so set
            seen[value] = moment
        return seen[value]

    return convert


async def unscheduled_chats(*, session: AsyncSession, limit: int) -> Sequence[Any]:
    """Chats whose schedule was cleared (new, or settings changed)."""
    return await _chat_rows(session, _CHATS.c.next_digest_at.is_(None), limit=limit)


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


async def brief_window(*, session: AsyncSession, since: datetime) -> BriefWindow:
    """The newest brief's id, the oldest one ingested at or after ``since``, and how many
    briefs there are from that one on and when the latest of them changed, in one round
    trip: the planner asks every minute. Ids grow with ingestion, and a brief is only
    ever added or updated (``upsert_briefs`` stamps ``updated_at``), so while these stay
    the same so do the briefs from ``first`` on."""
    first = (
        sa.select(sa.func.min(Brief.id))
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
    kv = KeyValue.__table__  # type: ignore[attr-defined]
    revision = (
        sa.select(kv.c.value).where(kv.c.key == BRIEFS_REVISION).scalar_subquery().correlate(None)
    )
    conn = await session.connection()
    row = (await conn.execute(sa.select(newest, first, count, changed, revision))).one()
    return BriefWindow(end=row[0] or 0, first=row[1], count=row[2], changed=row[3], revision=row[4])


# --- broadcasts -------------------------------------------------------------------------


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
    insert = _insert(session, _OUTBOX).from_select(columns, rows)
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


# --- audit and stats ---------------------------------------------------------------------


async def add_audit(
    *,
    session: AsyncSession,
    admin_id: int,
    action: str,
    detail: str | None = None,
    audience: str | None = None,
    counts: dict[str, int] | None = None,
    now: datetime,
) -> None:
    session.add(
        AuditEntry(
            admin_id=admin_id,
            action=action,
            detail=detail,
            audience=audience,
            counts=json.dumps(counts, sort_keys=True) if counts is not None else None,
            created_at=now,
        )
    )
    await session.flush()


async def audit_entries(*, session: AsyncSession, limit: int = 100) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    return list(await session.exec(query))


@dataclass(frozen=True, slots=True)
class ChatFigures:
    active: int
    inactive: int
    paused: int
    new: int


async def chat_figures(*, session: AsyncSession, since: datetime) -> ChatFigures:
    """Chats reachable or not, paused, and created since ``since``."""
    query = sa.select(
        sa.func.count().filter(col(Chat.active)),
        sa.func.count().filter(~col(Chat.active)),
        sa.func.count().filter(col(Chat.active), col(Chat.paused)),
        sa.func.count().filter(col(Chat.created_at) >= since),
    )
    active, inactive, paused, new = (await session.exec(query)).one()  # type: ignore[call-overload]
    return ChatFigures(active, inactive, paused, new)


async def top_tags(*, session: AsyncSession, limit: int) -> list[tuple[str, int]]:
    """The most followed tags, with their number of subscribed chats that are reachable
    (a chat that blocked the bot keeps its subscriptions, but follows nothing any more)."""
    followers = sa.func.count(col(Subscription.chat_id))
    query = (
        select(col(Tag.slug), followers)
        .join(Subscription, col(Subscription.tag_id) == col(Tag.id))
        .join(Chat, col(Chat.id) == col(Subscription.chat_id))
        .where(col(Chat.active))
        .group_by(col(Tag.slug))
        .order_by(followers.desc(), col(Tag.slug))
        .limit(limit)
    )
    return [(slug, int(n)) for slug, n in await session.exec(query)]


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


# --- outbox -----------------------------------------------------------------------------


async def enqueue(*, session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Add outbox rows; a row whose key exists already is skipped (never sent twice)."""
    if not rows:
        return
    table = Outbox.__table__  # type: ignore[attr-defined]
    # One compiled statement, executed for many rows (SQLAlchemy batches the VALUES).
    stmt = _insert(session, table).on_conflict_do_nothing(index_elements=["key"])
    conn = await session.connection()
    await conn.execute(stmt, list(rows))


class DigestRow(NamedTuple):
    """One message of a planned digest, for :func:`save_plan`."""

    key: str
    chat_id: int
    part: int
    payload: str


class ScheduleMove(NamedTuple):
    """A planned chat's next digest moment and digest cursor, for :func:`save_plan`;
    a None leaves that column as it is."""

    chat_id: int
    next_digest_at: datetime
    last_brief_id: int | None
    window_end_id: int | None
    window_shown: int | None
    last_digest_at: datetime | None


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


async def save_plan(
    *,
    session: AsyncSession,
    rows: Sequence[DigestRow],
    moves: Sequence[ScheduleMove],
    now: datetime,
) -> None:
    """Queue planned digest messages (``pending`` from ``now``; a key that exists is
    skipped, never sent twice) and move the planned chats' schedules and cursors.

    A day of a million chats is a million of each, so this goes past SQLAlchemy's
    per-value processing: one ``unnest`` statement each on PostgreSQL, one
    ``executemany`` of plain tuples each on SQLite, with the few distinct timestamps
    converted once.
    """
    conn = await session.connection()
    stamp = _timestamps(session)
    if _dialect(session) == "postgresql":
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
            col(Outbox.status).in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
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


async def move_chat(*, session: AsyncSession, old_id: int, new_id: int) -> bool:
    """A group became a supergroup: carry its settings, subscriptions and queue to the new id.

    Returns True when the supergroup was known already: it keeps its own settings and
    digests (now on the merged tags), and the old chat's queued digests are cancelled
    rather than sent there twice.
    """
    old = await session.get(Chat, old_id)
    if old is None:
        return False
    known = await session.get(Chat, new_id) is not None
    if not known:
        data = old.model_dump()
        data.update(id=new_id, type="supergroup")
        session.add(Chat(**data))
        await session.flush()
    else:
        await session.exec(
            sa.update(Outbox)
            .where(
                col(Outbox.chat_id) == old_id,
                col(Outbox.kind) == "digest",
                col(Outbox.status).in_([OutboxStatus.PENDING]),
            )
            .values(status=OutboxStatus.CANCELLED, last_error="merged into a supergroup")
        )
    # The new chat may exist already (someone used the bot there): merge, don't collide.
    await _lock_chats(session, old_id, new_id)
    tags = select(sa.literal(new_id), Subscription.tag_id, Subscription.created_at).where(
        col(Subscription.chat_id) == old_id
    )
    merge = _insert(session, Subscription).from_select(["chat_id", "tag_id", "created_at"], tags)
    await session.exec(merge.on_conflict_do_nothing())
    await session.exec(sa.delete(Subscription).where(col(Subscription.chat_id) == old_id))
    await _refresh_tag_ids(session, new_id)
    await session.exec(
        sa.update(Outbox).where(col(Outbox.chat_id) == old_id).values(chat_id=new_id)
    )
    await session.exec(sa.delete(Chat).where(col(Chat.id) == old_id))
    return known


# --- production: metrics and the generated webhook secret --------------------------------


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


async def get_or_set_value(*, session: AsyncSession, key: str, value: str) -> str:
    """The value kept under ``key``, storing ``value`` first if there is none. Replicas
    starting together agree: only the first insert lands, and everyone reads it back."""
    table = KeyValue.__table__  # type: ignore[attr-defined]
    conn = await session.connection()
    await conn.execute(
        _insert(session, table)
        .values(key=key, value=value)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    stored = (await conn.execute(sa.select(table.c.value).where(table.c.key == key))).scalar_one()
    return str(stored)
