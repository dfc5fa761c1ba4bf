"""Small values the bot generates and keeps itself, such as the webhook secret."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from digestbot.store.models import KeyValue
from digestbot.store.sql import dialect_insert


async def get_or_set_value(*, session: AsyncSession, key: str, value: str) -> str:
    """The value kept under ``key``, storing ``value`` first if there is none. Replicas
    starting together agree: only the first insert lands, and everyone reads it back."""
    table = KeyValue.__table__  # type: ignore[attr-defined]
    conn = await session.connection()
    await conn.execute(
        dialect_insert(session, table)
        .values(key=key, value=value)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    stored = (await conn.execute(sa.select(table.c.value).where(table.c.key == key))).scalar_one()
    return str(stored)


def chat_key(chat_id: int, name: str) -> str:
    """The key of a value about one chat; /forget deletes them all (see delete_chat)."""
    return f"chat:{chat_id}:{name}"


async def set_value(*, session: AsyncSession, key: str, value: str) -> None:
    """Keep ``value`` under ``key``, replacing what was there."""
    table = KeyValue.__table__  # type: ignore[attr-defined]
    insert = dialect_insert(session, table).values(key=key, value=value)
    conn = await session.connection()
    await conn.execute(insert.on_conflict_do_update(index_elements=["key"], set_={"value": value}))


async def get_value(*, session: AsyncSession, key: str) -> str | None:
    table = KeyValue.__table__  # type: ignore[attr-defined]
    conn = await session.connection()
    found = (await conn.execute(sa.select(table.c.value).where(table.c.key == key))).scalar()
    return None if found is None else str(found)


async def delete_chat_values(*, session: AsyncSession, chat_id: int) -> None:
    """Every value kept about a chat (keys from :func:`chat_key`)."""
    table = KeyValue.__table__  # type: ignore[attr-defined]
    prefix = chat_key(chat_id, "")
    conn = await session.connection()
    await conn.execute(sa.delete(table).where(table.c.key.startswith(prefix, autoescape=True)))
