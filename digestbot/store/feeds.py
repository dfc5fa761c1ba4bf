"""Feeds: the polling state of each feed URL (the poller edits the rows it gets)."""

from __future__ import annotations

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from digestbot.store.models import Feed


async def all_feeds(*, session: AsyncSession) -> list[Feed]:
    return list(await session.exec(select(Feed)))
