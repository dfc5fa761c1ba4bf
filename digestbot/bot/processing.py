"""Update processing: concurrent across chats, in order within one chat.

python-telegram-bot's concurrent processing gives no order; a user who types
/subscribe then /digest quickly must see the digest with the new tag, so updates
of one chat wait for each other while other chats go on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Runs updates of different chats concurrently and those of one chat in order."""

    def __init__(self, max_concurrent_updates: int = 64) -> None:
        # PTB's own semaphore is taken before do_process_update, which would let one
        # busy chat's queue hold every slot; so it is left wide and ours is taken only
        # once the chat's turn has come.
        super().__init__(max_concurrent_updates=10_000)
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._holders: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            async with self._slots:
                await coroutine
            return
        lock = self._locks.setdefault(chat.id, asyncio.Lock())
        self._holders[chat.id] = self._holders.get(chat.id, 0) + 1
        try:
            async with lock, self._slots:
                await coroutine
        finally:
            self._holders[chat.id] -= 1
            if not self._holders[chat.id]:  # forget idle chats so memory stays flat
                del self._holders[chat.id], self._locks[chat.id]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""
