"""Chats and their subscriptions: registering, following tags, moving and forgetting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from digestbot.store.filters import delete_shaping
from digestbot.store.kv import delete_chat_values
from digestbot.store.models import (
    Brief,
    Chat,
    ChatFilter,
    Outbox,
    OutboxStatus,
    Subscription,
    Tag,
    TagWeight,
    utcnow,
    waiting,
)
from digestbot.store.sql import dialect_insert, dialect_name
from digestbot.store.tags import ensure_tags

_CHATS = Chat.__table__  # type: ignore[attr-defined]


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


_REFRESH = {
    dialect: sa.text(f"UPDATE chats SET tag_ids = {_tag_ids_sql(dialect)} WHERE chats.id = :id")
    for dialect in ("postgresql", "sqlite")
}


async def _lock_chats(session: AsyncSession, *chat_ids: int) -> None:
    """Hold these chats' rows until commit, so two changes to one chat's subscriptions
    (two replicas, two taps) go one after the other and the second copies the first's
    into ``tag_ids`` too (PostgreSQL; SQLite has one writer at a time anyway)."""
    await (await session.connection()).execute(_LOCK, {"ids": sorted(chat_ids)})


# built once (every /subscribe runs it); the ids are a parameter
_LOCK = (
    sa.select(_CHATS.c.id)
    .where(_CHATS.c.id.in_(sa.bindparam("ids", expanding=True)))
    .with_for_update()
)


async def _refresh_tag_ids(session: AsyncSession, *chat_ids: int) -> None:
    """Copy these chats' subscriptions into ``chats.tag_ids`` (see models.Chat)."""
    stmt = _REFRESH[dialect_name(session)]
    conn = await session.connection()
    for chat_id in chat_ids:
        await conn.execute(stmt, {"id": chat_id})


_SUBSCRIBE: dict[str, Any] = {}


async def add_subscription(
    *, session: AsyncSession, chat_id: int, tag: str, tag_id: int | None = None
) -> bool:
    """Subscribe a chat to a tag (its ``tag_id`` when the caller knows it exists: no
    lookup); False when it already was."""
    if tag_id is None:
        tag_id = (await ensure_tags(session=session, slugs=[tag]))[tag]
    await _lock_chats(session, chat_id)
    dialect = dialect_name(session)
    stmt = _SUBSCRIBE.get(dialect)
    if stmt is None:  # built once per database kind: every /subscribe runs it
        stmt = _SUBSCRIBE[dialect] = (
            dialect_insert(session, Subscription)
            .values(
                chat_id=sa.bindparam("chat_id"),
                tag_id=sa.bindparam("tag_id"),
                created_at=sa.bindparam("created_at"),
            )
            .on_conflict_do_nothing()
        )
    # on the connection: with parameters, the session would take it for an ORM bulk insert
    result = await (await session.connection()).execute(
        stmt, {"chat_id": chat_id, "tag_id": tag_id, "created_at": utcnow()}
    )
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
    """Delete every row that names a chat (/forget): the chat, its subscriptions and its
    outbox rows, sent or not (their keys hold its id, their payloads what it got).
    False when there was no such chat. The audit log holds admins' actions with counts,
    never the chats they reached, and broadcasts name only the admin who sent them."""
    await remove_all_subscriptions(session=session, chat_id=chat_id)
    await delete_shaping(session=session, chat_id=chat_id)
    await delete_chat_values(session=session, chat_id=chat_id)  # its last search, say
    # a row the sender holds (sending) goes too: marking it sent then changes nothing
    # each through its index by chat (see models.waiting), the rows still to send first:
    # a row only ever moves from those to the others, so none is missed between the two
    for done in (False, True):
        await session.exec(
            sa.delete(Outbox).where(
                col(Outbox.chat_id) == chat_id, waiting(col(Outbox.status), done=done)
            )
        )
    result = await session.exec(sa.delete(Chat).where(col(Chat.id) == chat_id))
    return bool(result.rowcount)


@dataclass(frozen=True, slots=True)
class Reader:
    """A chat as a command that reads briefs needs it, from one statement: its row, the
    ids of the tags it follows (its ``tag_ids``), whether it has filters or weights
    (only then are they read), and the newest brief's id."""

    chat: Chat
    tag_ids: list[int]
    shaped: bool
    newest: int  # the newest brief's id (0: none), where a new digest window ends


def parse_tag_ids(text: str) -> list[int]:
    """``chats.tag_ids`` ("3,17,22") as ids."""
    return [int(part) for part in text.split(",") if part]


def _reader_statement() -> Any:
    chat_id: sa.BindParameter[Any] = sa.bindparam("chat_id")
    shaped = sa.or_(
        sa.exists().where(col(ChatFilter.chat_id) == chat_id),
        sa.exists().where(col(TagWeight.chat_id) == chat_id),
    )
    newest = sa.select(sa.func.max(Brief.id)).scalar_subquery()
    return select(Chat, shaped.label("shaped"), newest.label("newest")).where(
        col(Chat.id) == chat_id
    )


# Built once: every update reads it (the language middleware), and building the select
# and its cache key each time cost more CPU than the rest of the read (bench/RESULTS.md,
# 8 Dec 2026).
_READER = _reader_statement()


async def reader(*, session: AsyncSession, chat_id: int) -> Reader | None:
    """The chat, the tags it follows and whether it shapes its digests; None when there
    is no such chat. One round trip where the chat, its tags, its filters and its
    weights took four (each ~1 ms on a busy SQLite; bench/RESULTS.md, issue 19)."""
    stmt = _READER
    row = (await session.exec(stmt, params={"chat_id": chat_id})).first()
    if row is None:
        return None
    chat, has_shaping, newest_id = row
    return Reader(chat, parse_tag_ids(chat.tag_ids), bool(has_shaping), newest_id or 0)


async def chat_tags(*, session: AsyncSession, chat_id: int) -> list[str]:
    """The tags a chat follows, alphabetically."""
    stmt = (
        select(Tag.slug)
        .join(Subscription, col(Subscription.tag_id) == col(Tag.id))
        .where(col(Subscription.chat_id) == chat_id)
        .order_by(col(Tag.slug))
    )
    return list(await session.exec(stmt))


async def move_chat(*, session: AsyncSession, old_id: int, new_id: int) -> bool:
    """A group became a supergroup: carry its settings, subscriptions and queue to the new id.

    Returns True when the supergroup was known already: it keeps its own settings and
    digests (now on the merged tags), and the old chat's queued digests and alerts are
    cancelled rather than sent there twice.
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
                waiting(col(Outbox.status)),  # read through ix_outbox_chat_waiting
                col(Outbox.kind).in_(["digest", "alert"]),  # it has its own of both
                col(Outbox.status).in_([OutboxStatus.PENDING]),
            )
            .values(status=OutboxStatus.CANCELLED, last_error="merged into a supergroup")
        )
    # The new chat may exist already (someone used the bot there): merge, don't collide.
    await _lock_chats(session, old_id, new_id)
    tags = select(sa.literal(new_id), Subscription.tag_id, Subscription.created_at).where(
        col(Subscription.chat_id) == old_id
    )
    merge = dialect_insert(session, Subscription).from_select(
        ["chat_id", "tag_id", "created_at"], tags
    )
    await session.exec(merge.on_conflict_do_nothing())
    await session.exec(sa.delete(Subscription).where(col(Subscription.chat_id) == old_id))
    await _refresh_tag_ids(session, new_id)
    # Its filters and feedback weights go along (deleting the old chat would cascade them
    # away); where the supergroup has its own already, its own win.
    for table, columns in (
        (ChatFilter, ["kind", "term", "text", "created_at"]),
        (TagWeight, ["tag", "value", "count", "updated_at"]),
    ):
        rows = select(sa.literal(new_id), *[getattr(table, c) for c in columns]).where(
            col(table.chat_id) == old_id
        )
        copy = dialect_insert(session, table).from_select(["chat_id", *columns], rows)
        await session.exec(copy.on_conflict_do_nothing())
    await delete_chat_values(session=session, chat_id=old_id)  # its last search, say
    # each through its index by chat (see models.waiting), the rows still to send first:
    # a row only ever moves from those to the others, so none is missed between the two
    for done in (False, True):
        await session.exec(
            sa.update(Outbox)
            .where(col(Outbox.chat_id) == old_id, waiting(col(Outbox.status), done=done))
            .values(chat_id=new_id)
        )
    await session.exec(sa.delete(Chat).where(col(Chat.id) == old_id))
    return known


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


async def set_chat_language(*, session: AsyncSession, chat_id: int, language: str) -> None:
    await session.exec(sa.update(Chat).where(col(Chat.id) == chat_id).values(language=language))
