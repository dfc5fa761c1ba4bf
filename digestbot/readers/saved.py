"""Saved briefs: the Save button under /brief, and /saved."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from digestbot import store
from digestbot.store.briefs import Item
from digestbot.store.db import SessionFactory, session_scope
from digestbot.store.models import MAX_BRIEF_ID, Brief, utcnow

MAX_SAVED = 100


@dataclass(frozen=True, slots=True)
class SaveResult:
    saved: bool  # False: there is no such brief, or it was saved already
    exists: bool
    dropped: int  # the oldest ones deleted to stay within MAX_SAVED


class SavedService:
    def __init__(
        self,
        sessions: SessionFactory,
        clock: Callable[[], datetime] = utcnow,
        limit: int = MAX_SAVED,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self.limit = limit

    async def save(self, user_id: int, brief_id: int) -> SaveResult:
        if not 0 < brief_id <= MAX_BRIEF_ID:
            return SaveResult(False, False, 0)
        async with session_scope(self._sessions) as session:
            if await session.get(Brief, brief_id) is None:
                return SaveResult(False, False, 0)
            saved = await store.save_brief(
                session=session, user_id=user_id, brief_id=brief_id, at=self._clock()
            )
            dropped = await store.drop_oldest_saved(
                session=session, user_id=user_id, keep=self.limit
            )
        return SaveResult(saved, True, dropped)

    async def remove(self, user_id: int, brief_id: int) -> bool:
        async with session_scope(self._sessions) as session:
            return await store.unsave_brief(session=session, user_id=user_id, brief_id=brief_id)

    async def items(self, user_id: int) -> list[Item]:
        async with self._sessions() as session:
            return await store.saved_items(session=session, user_id=user_id)
