"""Updates for the bot: the queue ``getUpdates`` reads, and what simulated users do (write,
press a button, send a file, block or kick the bot) that puts updates in it."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

from digestbot.fakeapi.models import (
    BotStatus,
    ChatHandle,
    JSONDict,
    SimUser,
    member,
    now,
    utf16,
)
from digestbot.fakeapi.state import ChatState

_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?")


class UpdateFeed(ChatState):
    """The update queue on top of the chat state (see :class:`FakeBotAPI`)."""

    def __init__(self, bot: SimUser) -> None:
        super().__init__(bot)
        self._updates: list[JSONDict] = []
        self._update_ids = itertools.count(1)
        # Each getUpdates call takes the next generation; an older poll still waiting sees it
        # changed and gets Telegram's 409.
        self._poll_generation = 0
        self._callback_ids = itertools.count(1)
        self._callback_queries: set[str] = set()
        self._inline_ids = itertools.count(1)
        self._inline_queries: set[str] = set()

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates queued and not yet confirmed by a ``getUpdates`` offset."""
        return list(self._updates)

    async def push_update(self, update: JSONDict) -> int:
        """Queue a raw update (``update_id`` is assigned if missing); returns its id."""
        update = dict(update)
        if "update_id" in update:
            update_id = int(update["update_id"])
            self._update_ids = itertools.count(max(update_id + 1, next(self._update_ids)))
        else:
            update_id = next(self._update_ids)
            update["update_id"] = update_id
        query = update.get("callback_query")
        if isinstance(query, dict) and "id" in query:
            self._callback_queries.add(str(query["id"]))
        self._updates.append(update)
        await self._notify()
        return update_id

    async def send_message(
        self,
        chat: ChatHandle | int,
        text: str,
        from_user: SimUser | int | None = None,
        *,
        reply_to_message_id: int | None = None,
        entities: Iterable[JSONDict] = (),
    ) -> int:
        """A user writes ``text`` in ``chat``; commands get a ``bot_command`` entity, and
        ``entities`` (bold, links, ...: Bot API MessageEntity dicts) come with it.
        Returns the update id."""
        handle = self._chat_handle(chat)
        sender = self._sender(handle, from_user)
        formatting = list(entities)
        entities = []
        if match := _COMMAND.match(text):
            entities.append({"type": "bot_command", "offset": 0, "length": utf16(match[0])})
        entities += formatting
        reply_to = (
            self.message(handle, reply_to_message_id) if reply_to_message_id is not None else None
        )
        message = self._new_message(
            handle, sender.to_dict(), from_bot=False, text=text, entities=entities,
            reply_to=reply_to,
        )  # fmt: skip
        return await self.push_update({"message": message.to_dict()})

    async def press_button(
        self,
        chat: ChatHandle | int,
        message_id: int,
        callback_data: str,
        from_user: SimUser | int | None = None,
        *,
        strict: bool = True,
    ) -> int:
        """A user presses the inline button with ``callback_data`` under the bot's message.

        With ``strict`` the button must exist on the message's current keyboard (pass
        ``strict=False`` to simulate a stale keyboard). Returns the update id.
        """
        handle = self._chat_handle(chat)
        message = self.message(handle, message_id)
        if strict:
            datas = [b.callback_data for row in message.buttons for b in row]
            if message.deleted or callback_data not in datas:
                raise ValueError(
                    f"message {message_id} in chat {handle.id} has no button with "
                    f"callback_data {callback_data!r} (deleted={message.deleted}); "
                    f"it has {datas}"
                )
        query_id = str(next(self._callback_ids) * 1_000_003 + 4_000_000_000_000_000_000)
        query: JSONDict = {
            "id": query_id,
            "from": self._sender(handle, from_user).to_dict(),
            "chat_instance": str(abs(handle.id) ^ 0x5DEECE66D),
            "data": callback_data,
            "message": message.to_dict(),
        }
        return await self.push_update({"callback_query": query})

    async def inline_query(
        self,
        user: SimUser | int,
        query: str,
        *,
        chat_type: str = "sender",
        offset: str = "",
    ) -> tuple[int, str]:
        """A user types ``@bot query`` in a chat of ``chat_type`` ("sender", "private",
        "group", "supergroup" or "channel"). Returns (update id, inline query id)."""
        sender = user if isinstance(user, SimUser) else self.user(user)
        query_id = str(next(self._inline_ids) * 7_000_003 + 9_000_000_000_000_000)
        self._inline_queries.add(query_id)
        inline: JSONDict = {
            "id": query_id,
            "from": sender.to_dict(),
            "query": query[:256],  # Telegram sends at most 256 characters
            "offset": offset,
            "chat_type": chat_type,
        }
        return await self.push_update({"inline_query": inline}), query_id

    async def send_document(
        self,
        chat: ChatHandle | int,
        filename: str,
        content: bytes,
        caption: str | None = None,
        *,
        from_user: SimUser | int | None = None,
        mime_type: str | None = None,
    ) -> int:
        """A user sends a file; it is then available through ``getFile``. Returns the update
        id."""
        handle = self._chat_handle(chat)
        stored = self.add_file(content, filename, mime_type)
        message = self._new_message(
            handle,
            self._sender(handle, from_user).to_dict(),
            from_bot=False,
            document=stored.document(),
            caption=caption,
        )
        return await self.push_update({"message": message.to_dict()})

    async def chat_member_update(
        self,
        chat: ChatHandle | int,
        new_status: BotStatus,
        old_status: BotStatus | None = None,
        *,
        from_user: SimUser | int | None = None,
    ) -> int:
        """The bot's membership in ``chat`` changes (``my_chat_member``): added, promoted,
        kicked, or blocked by the user in a private chat. Sending to a chat where the bot is
        ``kicked`` or ``left`` then fails with 403, like Telegram. Returns the update id."""
        handle = self._chat_handle(chat)
        old = old_status or handle.bot_status
        handle.bot_status = new_status
        bot = self.bot.to_dict()
        update: JSONDict = {
            "chat": handle.to_dict(),
            "from": self._sender(handle, from_user).to_dict(),
            "date": now(),
            "old_chat_member": member(bot, old),
            "new_chat_member": member(bot, new_status),
        }
        return await self.push_update({"my_chat_member": update})
