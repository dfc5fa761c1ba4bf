"""Channels managed from a private chat, saved briefs and shared tag lists."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from digestbot.store.briefs import Item, items_by_ids
from digestbot.store.models import (
    Channel,
    Chat,
    Managing,
    SavedBrief,
    TagShare,
    utcnow,
)
from digestbot.store.sql import dialect_insert


async def add_channel(*, session: AsyncSession, chat_id: int, added_by: int) -> None:
    """Remember who made the bot admin of a channel (the latest one to do it)."""
    stmt = dialect_insert(session, Channel).values(
        chat_id=chat_id, added_by=added_by, created_at=utcnow()
    )
    await session.exec(
        stmt.on_conflict_do_update(index_elements=["chat_id"], set_={"added_by": added_by})
    )


async def user_channels(*, session: AsyncSession, user_id: int) -> list[Chat]:
    """The active channels ``user_id`` made the bot admin of, by title."""
    stmt = (
        select(Chat)
        .join(Channel, col(Channel.chat_id) == col(Chat.id))
        .where(col(Channel.added_by) == user_id, col(Chat.active))
        .order_by(col(Chat.title), col(Chat.id))
    )
    return list(await session.exec(stmt))


async def managed_chat(*, session: AsyncSession, user_id: int) -> int | None:
    """The chat ``user_id`` manages from their private chat, None for themselves."""
    row = await session.get(Managing, user_id)
    return row.chat_id if row is not None else None


async def set_managed_chat(*, session: AsyncSession, user_id: int, chat_id: int | None) -> None:
    """Manage ``chat_id`` from now on (None: back to the user's own chat)."""
    await session.exec(sa.delete(Managing).where(col(Managing.user_id) == user_id))
    if chat_id is not None:
        session.add(Managing(user_id=user_id, chat_id=chat_id))
        await session.flush()


async def save_brief(*, session: AsyncSession, user_id: int, brief_id: int, at: datetime) -> bool:
    """Keep a brief for a user; False when it was kept already."""
    stmt = dialect_insert(session, SavedBrief).values(
        user_id=user_id, brief_id=brief_id, saved_at=at
    )
    return bool((await session.exec(stmt.on_conflict_do_nothing())).rowcount)


async def drop_oldest_saved(*, session: AsyncSession, user_id: int, keep: int) -> int:
    """Delete all but the ``keep`` newest saved briefs; returns how many went."""
    newest = (
        select(SavedBrief.brief_id)
        .where(col(SavedBrief.user_id) == user_id)
        .order_by(col(SavedBrief.saved_at).desc(), col(SavedBrief.brief_id).desc())
        .limit(keep)
    )
    stmt = sa.delete(SavedBrief).where(
        col(SavedBrief.user_id) == user_id, col(SavedBrief.brief_id).not_in(newest)
    )
    return int((await session.exec(stmt)).rowcount)


async def unsave_brief(*, session: AsyncSession, user_id: int, brief_id: int) -> bool:
    stmt = sa.delete(SavedBrief).where(
        col(SavedBrief.user_id) == user_id, col(SavedBrief.brief_id) == brief_id
    )
    return bool((await session.exec(stmt)).rowcount)


async def saved_items(*, session: AsyncSession, user_id: int) -> list[Item]:
    """A user's saved briefs, newest saved first."""
    stmt = (
        select(SavedBrief.brief_id)
        .where(col(SavedBrief.user_id) == user_id)
        .order_by(col(SavedBrief.saved_at).desc(), col(SavedBrief.brief_id).desc())
    )
    ids = list(await session.exec(stmt))
    found = await items_by_ids(session=session, brief_ids=ids)
    return [found[i] for i in ids if i in found]


async def add_share(*, session: AsyncSession, code: str, chat_id: int, tags: Sequence[str]) -> None:
    session.add(TagShare(code=code, chat_id=chat_id, tags=",".join(tags), created_at=utcnow()))
    await session.flush()


async def share_tags(*, session: AsyncSession, code: str) -> list[str] | None:
    """The tags behind a share code, None when there is no such code."""
    share = await session.get(TagShare, code)
    return [t for t in share.tags.split(",") if t] if share is not None else None


async def delete_user_rows(*, session: AsyncSession, chat_id: int) -> None:
    """/forget: every row naming the chat or its user: saved briefs, shares, the channel
    it manages (and anyone's managing it), the channels it made the bot admin of."""
    await session.exec(sa.delete(SavedBrief).where(col(SavedBrief.user_id) == chat_id))
    await session.exec(sa.delete(TagShare).where(col(TagShare.chat_id) == chat_id))
    await session.exec(
        sa.delete(Managing).where(
            sa.or_(col(Managing.user_id) == chat_id, col(Managing.chat_id) == chat_id)
        )
    )
    await session.exec(
        sa.delete(Channel).where(
            sa.or_(col(Channel.chat_id) == chat_id, col(Channel.added_by) == chat_id)
        )
    )
