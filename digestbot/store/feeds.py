"""Feeds: the rows admins manage (URL, default tags, category, score, paused) and the
polling state of each (the poller edits the rows it gets); what each has stored."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from digestbot.store.models import BriefSource, BriefTag, Feed, Tag
from digestbot.store.sql import dialect_insert

UNTAGGED = "untagged"  # the tag of an entry that named none (briefs/tagging.py)


@dataclass(frozen=True, slots=True)
class FeedFigures:
    """What a feed has stored: its briefs, and how many of them sit under ``untagged``."""

    briefs: int = 0
    untagged: int = 0


async def all_feeds(*, session: AsyncSession) -> list[Feed]:
    """Every feed, oldest first (their ids are the numbers admins name them by)."""
    return list(await session.exec(select(Feed).order_by(col(Feed.id))))


async def get_feed(*, session: AsyncSession, feed_id: int) -> Feed | None:
    return await session.get(Feed, feed_id)


async def feed_by_url(*, session: AsyncSession, url: str) -> Feed | None:
    return (await session.exec(select(Feed).where(col(Feed.url) == url))).first()


async def add_feed(*, session: AsyncSession, feed: Feed) -> Feed | None:
    """Store a new feed; None when its URL is a feed already (even one another admin
    added a moment ago: the unique URL decides, not a look beforehand)."""
    values = feed.model_dump(exclude={"id"})
    stmt = dialect_insert(session, Feed).values(**values)
    stmt = stmt.on_conflict_do_nothing(index_elements=["url"]).returning(col(Feed.id))
    feed_id = (await session.exec(stmt)).scalar_one_or_none()
    return None if feed_id is None else await session.get(Feed, feed_id)


async def ensure_feeds(*, session: AsyncSession, urls: Sequence[str]) -> None:
    """Add the feeds of these URLs that are missing, with no defaults (safe to repeat,
    and against another process doing the same)."""
    wanted = list(dict.fromkeys(urls))
    if wanted:
        stmt = dialect_insert(session, Feed).values([{"url": u} for u in wanted])
        await session.exec(stmt.on_conflict_do_nothing(index_elements=["url"]))


async def remove_feed(*, session: AsyncSession, feed_id: int) -> bool:
    """Delete a feed; its briefs stay (their sources lose the feed, not the link)."""
    result = await session.exec(sa.delete(Feed).where(col(Feed.id) == feed_id))
    return bool(result.rowcount)


async def feed_figures(*, session: AsyncSession) -> dict[int, FeedFigures]:
    """Per feed id: the briefs it brought, and those of them under ``untagged``."""
    briefs = (
        select(BriefSource.feed_id, sa.func.count(sa.distinct(col(BriefSource.brief_id))))
        .where(col(BriefSource.feed_id).is_not(None))
        .group_by(col(BriefSource.feed_id))
    )
    untagged = (
        select(BriefSource.feed_id, sa.func.count(sa.distinct(col(BriefSource.brief_id))))
        .join(BriefTag, col(BriefTag.brief_id) == col(BriefSource.brief_id))
        .join(Tag, col(Tag.id) == col(BriefTag.tag_id))
        .where(col(BriefSource.feed_id).is_not(None), col(Tag.slug) == UNTAGGED)
        .group_by(col(BriefSource.feed_id))
    )
    counts = {feed_id: n for feed_id, n in await session.exec(briefs) if feed_id is not None}
    lost = {feed_id: n for feed_id, n in await session.exec(untagged) if feed_id is not None}
    return {f: FeedFigures(n, lost.get(f, 0)) for f, n in counts.items()}
