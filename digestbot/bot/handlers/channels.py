"""Channels managed from a private chat (/channels and its buttons), and sharing tags
(/share, and the "Follow" button a share link's /start offers)."""

from __future__ import annotations

import re

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType

from digestbot.bot import keyboards
from digestbot.bot.context import BotContext
from digestbot.bot.handlers import managed
from digestbot.bot.handlers.common import reply, stale_button
from digestbot.bot.handlers.tags import describe_subscribe
from digestbot.briefs.render import esc
from digestbot.i18n import N_, _
from digestbot.readers.channels import clip_tags

SHARE_PREFIX = "tags-"
# A start payload is at most 64 characters of A-Za-z0-9_-; a share code is shorter.
SHARE_CODE = re.compile(r"[A-Za-z0-9_-]{1,16}")
NONE_YET = N_(
    "You have no channels with me yet. Make me an admin of your channel (with the right "
    "to post), then send /channels again."
)


async def channels(update: Update, context: BotContext) -> None:
    """/channels: pick a channel to manage from here, or go back to your own chat."""
    user = update.effective_user
    if user is None:
        return
    service = context.services.channels
    mine = await service.of_user(user.id)
    if not mine:
        await reply(update, [_(NONE_YET)])
        return
    current = await service.managed(user.id)
    text = (
        _(
            "Managing <b>{title}</b>.\nPick a channel: /tags, /settings and /time then change it."
        ).format(title=esc(current.title or str(current.id)))
        if current
        else _(
            "Managing your own chat.\nPick a channel: /tags, /settings and /time then change it."
        )
    )
    picker = keyboards.channel_picker(
        [(c.id, c.title or str(c.id)) for c in mine], managing=current.id if current else None
    )
    await reply(update, [text], picker)


async def channel_button(update: Update, context: BotContext, parts: list[str]) -> None:
    """A press on the /channels picker."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    service = context.services.channels
    if len(parts) == 2 and parts[1] == keyboards.CHANNEL_SELF:
        await service.manage(user.id, None)
        await query.answer(_("Managing your own chat"))
        await query.edit_message_text(_("Managing your own chat again."))
        return
    try:
        channel_id = int(parts[1]) if len(parts) == 2 else 0
    except ValueError:
        channel_id = 0
    channel = next((c for c in await service.of_user(user.id) if c.id == channel_id), None)
    if channel is None:
        await query.answer(stale_button())
        return
    title = channel.title or str(channel.id)
    if not await managed.still_admin(context, channel.id, user.id):
        await service.manage(user.id, None)
        await query.answer(_("You are not an admin there."))
        await query.edit_message_text(
            _(
                "You are not an admin of <b>{title}</b>, so you can't manage it here. "
                "You are managing your own chat."
            ).format(title=esc(title))
        )
        return
    await service.manage(user.id, channel.id)
    await query.answer(_("Managing {title}").format(title=title)[:200])
    await query.edit_message_text(
        _(
            "Managing <b>{title}</b>: /tags, /settings and /time here now change what it "
            "gets. /channels switches back."
        ).format(title=esc(title))
    )


async def channel_added(update: Update, context: BotContext) -> bool:
    """Record a channel the bot was made admin of, and by whom; True when handled."""
    change = update.my_chat_member
    if change is None or change.chat.type != ChatType.CHANNEL:
        return False
    if change.new_chat_member.status != ChatMemberStatus.ADMINISTRATOR:
        return False
    await context.services.channels.added(
        chat_id=change.chat.id, title=change.chat.title, added_by=change.from_user.id
    )
    return True


async def share(update: Update, context: BotContext) -> None:
    """/share: a link that offers this chat's tags to whoever opens it."""
    where = await managed.target(update, context)
    if where is None:
        return
    code = await context.services.channels.share(where.id)
    if code is None:
        await reply(update, [where.note + _("Follow some tags first (/tags), then share them.")])
        return
    link = f"https://t.me/{context.bot.username}?start={SHARE_PREFIX}{code}"
    await reply(
        update,
        [where.note
         + _("Send this link to share your tags; opening it offers to follow them:\n{link}")
         .format(link=esc(link))],
    )  # fmt: skip


async def shared_start(update: Update, context: BotContext, code: str) -> None:
    """/start tags-CODE: offer the shared tags, one tap to follow them."""
    tags = await context.services.channels.shared(code) if SHARE_CODE.fullmatch(code) else None
    if tags is None:
        await reply(update, [_("That share link is not valid (any more). /tags lists every tag.")])
        return
    await reply(
        update,
        [_("Someone shared these tags with you: <b>{tags}</b>").format(tags=esc(clip_tags(tags)))],
        keyboards.follow_shared(code, len(tags)),
    )


async def shared_button(update: Update, context: BotContext, parts: list[str]) -> None:
    """ "Follow these tags" under a shared list."""
    query = update.callback_query
    if query is None or len(parts) != 2 or not SHARE_CODE.fullmatch(parts[1]):
        if query is not None:
            await query.answer(stale_button())
        return
    where = await managed.target(update, context)
    if where is None:
        return
    await context.services.chats.ensure(where.id, type=where.type, known=context.chat_row)
    result = await context.services.channels.follow_shared(where.id, parts[1])
    if result is None:
        await query.answer(stale_button())
        return
    await query.answer(_("Done"))
    await query.edit_message_text(where.note + describe_subscribe(result))
