"""The chat a command changes: this chat, or the channel picked with /channels.

Settings handlers ask :func:`target` instead of reading ``update.effective_chat``: in a
private chat whose user picked a channel, tags and settings apply to that channel, and
each time Telegram is asked (``getChatMember``) whether the user is still its admin.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError

from digestbot.bot.context import BotContext
from digestbot.bot.handlers.common import chat_type, stale_button
from digestbot.bot.handlers.guards import ADMIN_STATUSES, may_configure, require_group_admin
from digestbot.briefs.render import esc
from digestbot.i18n import N_, _

log = logging.getLogger(__name__)

NOT_ADMIN = N_(
    "You are no longer an admin of <b>{title}</b>, so I can't change it for you. "
    "You are managing your own chat again."
)


@dataclass(frozen=True, slots=True)
class Target:
    id: int
    type: str
    title: str | None = None  # set for a channel managed from a private chat

    @property
    def note(self) -> str:
        """The line every reply starts with while a channel is managed ("" otherwise)."""
        if self.title is None:
            return ""
        return (
            _("📢 Managing <b>{title}</b> (/channels to switch)").format(title=esc(self.title))
            + "\n"
        )


async def still_admin(context: BotContext, channel_id: int, user_id: int) -> bool:
    try:
        member = await context.bot.get_chat_member(channel_id, user_id)
    except TelegramError as exc:  # the channel is gone, or the bot was removed from it
        log.info("channel %s: cannot check admin %s (%s)", channel_id, user_id, exc)
        return False
    return member.status in ADMIN_STATUSES


async def target(update: Update, context: BotContext) -> Target | None:
    """The chat to read or change; None (the user told why) when a managed channel's
    admin is no longer one, and the user manages their own chat again."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return None
    own = Target(chat.id, chat_type(update))
    if chat.type != ChatType.PRIVATE or user is None:
        return own
    channels = context.services.channels
    channel = await channels.managed(user.id)
    if channel is None:
        return own
    title = channel.title or str(channel.id)
    if not await still_admin(context, channel.id, user.id):
        await channels.manage(user.id, None)
        text = _(NOT_ADMIN).format(title=esc(title))
        if update.callback_query is not None:
            await update.callback_query.answer(_("You are no longer an admin there."))
        if update.effective_message is not None:
            await update.effective_message.reply_text(text, do_quote=False)
        return None
    return Target(channel.id, channel.type, title)


async def to_change(update: Update, context: BotContext) -> Target | None:
    """The chat a settings command may change: in a group only its admins may (the
    others are told), and in a private chat the channel picked with /channels, if any."""
    if not await require_group_admin(update, context):
        return None
    return await target(update, context)


async def to_change_by_button(update: Update, context: BotContext, *, known: bool) -> Target | None:
    """:func:`to_change` for a press on a settings button: None, the press answered,
    when the button is not one this bot makes now (``known`` false: stale or forged),
    when a group's member who is not its admin pressed it, or when a managed channel's
    admin is no longer one. Every settings button asks this, so each refuses the same
    presses with the same answers."""
    query = update.callback_query
    if query is None or update.effective_chat is None:
        return None
    if not known:
        await query.answer(stale_button())
        return None
    if not await may_configure(update, context):
        await query.answer(_("Only this group's admins can change settings."))
        return None
    return await target(update, context)
