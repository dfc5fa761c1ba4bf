"""Readers' shaping of their digests: keyword, tag and source filters, and the tag
weights their feedback moves. Values come normalised and decayed from readers/;
these are plain reads and writes, a batch of chats at a time for planning."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from digestbot.store.models import ChatFilter, TagWeight, UTCDateTime, utcnow
from digestbot.store.sql import chunks, dialect_insert

# a filter as matching needs it: (kind, normalised term)
FilterKey = tuple[str, str]


async def list_filters(*, session: AsyncSession, chat_id: int) -> list[ChatFilter]:
    """The chat's filters, oldest first."""
    stmt = select(ChatFilter).where(col(ChatFilter.chat_id) == chat_id).order_by(col(ChatFilter.id))
    return list(await session.exec(stmt))


async def add_filter(
    *, session: AsyncSession, chat_id: int, kind: str, term: str, text: str
) -> ChatFilter | None:
    """Add a filter; None when the chat has it already (also when a second tap or
    replica added it a moment ago: the insert does nothing rather than fail)."""
    insert = (
        dialect_insert(session, ChatFilter)
        .values(chat_id=chat_id, kind=kind, term=term, text=text, created_at=utcnow())
        .on_conflict_do_nothing()
        .returning(col(ChatFilter.id))
    )
    added = (await session.exec(insert)).scalar_one_or_none()
    return None if added is None else await session.get(ChatFilter, added)


async def remove_filter(
    *, session: AsyncSession, chat_id: int, filter_id: int
) -> ChatFilter | None:
    """Remove one of the chat's filters by id; None when it has no such filter."""
    row = await session.get(ChatFilter, filter_id)
    if row is None or row.chat_id != chat_id:
        return None
    await session.delete(row)
    await session.flush()
    return row


async def remove_filter_terms(
    *, session: AsyncSession, chat_id: int, terms: Sequence[str], kinds: Sequence[str]
) -> int:
    """Remove the chat's filters of these kinds on these terms; how many went."""
    result = await session.exec(
        sa.delete(ChatFilter).where(
            col(ChatFilter.chat_id) == chat_id,
            col(ChatFilter.kind).in_(kinds),
            col(ChatFilter.term).in_(terms),
        )
    )
    return int(result.rowcount or 0)


async def filters_of(
    *, session: AsyncSession, chat_ids: Sequence[int]
) -> dict[int, tuple[FilterKey, ...]]:
    """The filters of each of these chats that has any, in one query per chunk."""
    found: dict[int, list[FilterKey]] = defaultdict(list)
    for chunk in chunks(sorted(set(chat_ids))):
        stmt = select(col(ChatFilter.chat_id), col(ChatFilter.kind), col(ChatFilter.term)).where(
            col(ChatFilter.chat_id).in_(chunk)
        )
        for chat_id, kind, term in (await session.exec(stmt)).all():
            found[chat_id].append((kind, term))
    return {chat_id: tuple(sorted(keys)) for chat_id, keys in found.items()}


async def weights_of(
    *, session: AsyncSession, chat_ids: Sequence[int]
) -> dict[int, list[TagWeight]]:
    """The tag weights of each of these chats that has any."""
    found: dict[int, list[TagWeight]] = defaultdict(list)
    for chunk in chunks(sorted(set(chat_ids))):
        stmt = select(TagWeight).where(col(TagWeight.chat_id).in_(chunk))
        for row in await session.exec(stmt):
            found[row.chat_id].append(row)
    return dict(found)


_FILTERS = ChatFilter.__table__  # type: ignore[attr-defined]
_WEIGHTS = TagWeight.__table__  # type: ignore[attr-defined]
_WEIGHT = "w"  # the kind of a weight row in shaping_of's union (no filter kind is)
# Built once, the chat ids bound as an expanding parameter: building it per call cost
# more than running it (SQLAlchemy coerced each of a chunk's ids and keyed the
# statement for its cache again, every batch of every tick).
_SHAPING_IDS: sa.BindParameter[list[int]] = sa.bindparam("chat_ids", expanding=True)
_SHAPING = sa.union_all(
    sa.select(
        _WEIGHTS.c.chat_id,
        sa.literal(_WEIGHT).label("kind"),
        _WEIGHTS.c.tag.label("term"),
        _WEIGHTS.c.value,
        _WEIGHTS.c.updated_at,
    ).where(_WEIGHTS.c.chat_id.in_(_SHAPING_IDS)),
    sa.select(
        _FILTERS.c.chat_id,
        _FILTERS.c.kind,
        _FILTERS.c.term,
        sa.literal(0.0, sa.Float),
        sa.cast(sa.null(), UTCDateTime),
    ).where(_FILTERS.c.chat_id.in_(_SHAPING_IDS)),
)


async def shaping_of(
    *, session: AsyncSession, chat_ids: Sequence[int]
) -> tuple[dict[int, tuple[FilterKey, ...]], dict[int, list[tuple[str, float, datetime]]]]:
    """Planning's read of a batch's filters and weights: (filters by chat, (tag, value,
    updated_at) by chat), only for the chats that have any. One Core statement per
    chunk, no ORM objects: it runs for every batch of every tick."""
    filters: dict[int, list[FilterKey]] = defaultdict(list)
    weights: dict[int, list[tuple[str, float, datetime]]] = defaultdict(list)
    conn = await session.connection()
    for chunk in chunks(sorted(set(chat_ids))):
        found = await conn.execute(_SHAPING, {"chat_ids": list(chunk)})
        for chat_id, kind, term, value, updated_at in found.all():
            if kind == _WEIGHT:
                weights[chat_id].append((term, value, updated_at))
            else:
                filters[chat_id].append((kind, term))
    return {c: tuple(sorted(keys)) for c, keys in filters.items()}, dict(weights)


async def save_weights(
    *, session: AsyncSession, chat_id: int, values: dict[str, tuple[float, int]], now: datetime
) -> None:
    """Set the chat's weights on these tags to (value, count) as of ``now``."""
    current = {
        w.tag: w for w in (await weights_of(session=session, chat_ids=[chat_id])).get(chat_id, [])
    }
    for tag, (value, count) in values.items():
        row = current.get(tag) or TagWeight(chat_id=chat_id, tag=tag, updated_at=now)
        row.value, row.count, row.updated_at = value, count, now
        session.add(row)
    await session.flush()


async def delete_shaping(*, session: AsyncSession, chat_id: int) -> None:
    """Delete the chat's filters and weights (/forget)."""
    await session.exec(sa.delete(ChatFilter).where(col(ChatFilter.chat_id) == chat_id))
    await session.exec(sa.delete(TagWeight).where(col(TagWeight.chat_id) == chat_id))
