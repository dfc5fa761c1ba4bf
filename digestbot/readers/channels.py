"""Channels managed from a private chat, and shared tag lists (/share links).

Whether a user is still a channel's admin is Telegram's to say: the bot layer asks
(``getChatMember``) before each change; this service keeps who manages what.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from digestbot import store
from digestbot.i18n import count
from digestbot.readers.chats import ChatService, SubscribeResult
from digestbot.store.db import SessionFactory, read_scope, session_scope
from digestbot.store.models import Chat

SHARE_CODE_BYTES = 6  # 8 characters of A-Za-z0-9_-: "tags-" + code fits a start payload


class ChannelService:
    """Use cases about channels and shared tags; each method is its own transaction."""

    def __init__(self, sessions: SessionFactory, chats: ChatService) -> None:
        self._sessions = sessions
        self._chats = chats

    async def added(self, *, chat_id: int, title: str | None, added_by: int) -> None:
        """The bot was made admin of a channel by ``added_by``."""
        known = await self._chats.get(chat_id)
        if known is None:
            await self._chats.register(chat_id=chat_id, type="channel", title=title)
        async with session_scope(self._sessions) as session:
            await store.add_channel(session=session, chat_id=chat_id, added_by=added_by)

    async def of_user(self, user_id: int) -> list[Chat]:
        async with self._sessions() as session:
            return await store.user_channels(session=session, user_id=user_id)

    async def managed(self, user_id: int) -> Chat | None:
        """The active channel ``user_id`` manages, None for their own chat."""
        async with read_scope(self._sessions) as session:
            chat_id = await store.managed_chat(session=session, user_id=user_id)
            chat = await session.get(Chat, chat_id) if chat_id is not None else None
        return chat if chat is not None and chat.active else None

    async def manage(self, user_id: int, chat_id: int | None) -> None:
        async with session_scope(self._sessions) as session:
            await store.set_managed_chat(session=session, user_id=user_id, chat_id=chat_id)

    async def share(self, chat_id: int) -> str | None:
        """A new share code for the chat's tags; None when it follows none."""
        tags = await self._chats.tags(chat_id)
        if not tags:
            return None
        code = secrets.token_urlsafe(SHARE_CODE_BYTES)
        async with session_scope(self._sessions) as session:
            await store.add_share(session=session, code=code, chat_id=chat_id, tags=tags)
        return code

    async def shared(self, code: str) -> list[str] | None:
        async with self._sessions() as session:
            return await store.share_tags(session=session, code=code[:16])

    async def follow_shared(self, chat_id: int, code: str) -> SubscribeResult | None:
        tags = await self.shared(code)
        if tags is None:
            return None
        return await self._chats.subscribe(chat_id, tags)


def clip_tags(tags: Sequence[str], shown: int = 10) -> str:
    """Tags for a reply: the first ``shown``, then how many more."""
    head = ", ".join(tags[:shown])
    if len(tags) <= shown:
        return head
    return count("{tags} and {n} more", "{tags} and {n} more", len(tags) - shown, tags=head)
