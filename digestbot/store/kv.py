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
