"""Tags: creating and finding them, and how much each is used. The lowest query module:
briefs and chats both name tags.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from digestbot.store.models import BriefTag, Chat, Subscription, Tag
from digestbot.store.sql import chunks, dialect_insert


@dataclass(frozen=True, slots=True)
class TagCount:
    slug: str
    briefs: int


async def ensure_tags(*, session: AsyncSession, slugs: Iterable[str]) -> dict[str, int]:
    """Ids of these tag slugs, creating the missing ones (safe against concurrent writers)."""
    wanted = sorted(set(slugs))
    if not wanted:
        return {}
    for chunk in chunks(wanted):
        stmt = dialect_insert(session, Tag).values([{"slug": s} for s in chunk])
        await session.exec(stmt.on_conflict_do_nothing(index_elements=["slug"]))
    ids: dict[str, int] = {}
    for chunk in chunks(wanted):
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


async def tags_with_briefs(*, session: AsyncSession, slugs: Iterable[str]) -> dict[str, int]:
    """Those of ``slugs`` that name a tag with at least one brief (what /subscribe
    accepts), with their ids: one index probe each, where :func:`tag_counts` counts
    every brief's tags."""
    wanted = sorted(set(slugs))
    found: dict[str, int] = {}
    for chunk in chunks(wanted):
        rows = await session.exec(_WITH_BRIEFS, params={"slugs": list(chunk)})
        found.update((slug, tag_id) for slug, tag_id in rows if tag_id)
    return found


# built once, run with the slugs as a parameter (every /subscribe reads it)
_WITH_BRIEFS: Any = select(Tag.slug, Tag.id).where(
    col(Tag.slug).in_(sa.bindparam("slugs", expanding=True)),
    sa.exists().where(col(BriefTag.tag_id) == col(Tag.id)),
)


async def tag_ids(*, session: AsyncSession, slugs: Sequence[str]) -> dict[str, int]:
    """Ids of the known tags among ``slugs``."""
    out: dict[str, int] = {}
    for chunk in chunks(list(slugs)):
        rows = await session.exec(select(Tag.slug, Tag.id).where(col(Tag.slug).in_(chunk)))
        out.update({slug: tag_id for slug, tag_id in rows if tag_id is not None})
    return out


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
