"""The bot added to, removed from, or blocked in a chat (``my_chat_member`` updates)."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType

from digestbot.bot.context import BotContext
from digestbot.bot.handlers.channels import channel_added
from digestbot.i18n import _

log = logging.getLogger(__name__)

PRESENT = {ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER}


async def my_chat_member(update: Update, context: BotContext) -> None:
    """Track where the bot may post: register on join, go inactive on removal or block."""
    change = update.my_chat_member
    if change is None:
        return
    chat, status = change.chat, change.new_chat_member.status
    chats = context.services.chats
    if status in PRESENT:
        if await channel_added(update, context):  # made admin of a channel: who did it counts
            await chats.set_active(chat.id, True)
        elif await chats.get(chat.id) is None:
            await chats.register(
                chat_id=chat.id, type=chat.type, title=chat.title or chat.full_name
            )
        else:  # back again: reachable, but a /stop holds until /start (register would undo it)
            await chats.set_active(chat.id, True)
        log.info("chat %s: bot is %s", chat.id, status)
        was_present = change.old_chat_member.status in PRESENT
        if chat.type in {ChatType.GROUP, ChatType.SUPERGROUP} and not was_present:
            await context.bot.send_message(
                chat.id,
                _(
                    "Hello! I'll post digests of news briefs here. "
                    "Group admins choose the tags with /tags and the time with /settings."
                ),
            )
    else:  # left, kicked (or a private user blocked the bot)
        await chats.set_active(chat.id, False)
        log.info("chat %s: bot is %s, chat marked inactive", chat.id, status)
