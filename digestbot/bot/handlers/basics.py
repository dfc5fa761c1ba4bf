"""Start, and the answer to plain text (unknown commands: ``commands.unknown_command``)."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType

from digestbot.bot import keyboards
from digestbot.bot.context import BotContext
from digestbot.bot.handlers.channels import SHARE_PREFIX, shared_start
from digestbot.bot.handlers.common import (
    args_of,
    chat_type,
    language_of,
    reply,
    unknown_tag_line,
)
from digestbot.bot.handlers.guards import may_configure
from digestbot.briefs.render import esc
from digestbot.i18n import _


async def start(update: Update, context: BotContext) -> None:
    """Register the chat, greet, and offer the tag picker (``/start tag-NAME`` subscribes)."""
    chat = update.effective_chat
    if chat is None:
        return
    services = context.services
    if chat.type != ChatType.PRIVATE and not await may_configure(update, context):
        # in a group, only its admins may resume digests or follow tags by deep link
        await services.chats.ensure(chat.id, type=chat_type(update), known=context.chat_row)
        await reply(update, [_("Hi! Group admins pick my tags with /tags; anyone can /digest.")])
        return
    before = await services.chats.get(chat.id)
    # "on again" only when digests were off: paused by /stop, or not sent since the
    # chat blocked the bot; to anyone else it would claim something had stopped
    resumed = before is not None and (before.paused or not before.active)
    _chat, created = await services.chats.register(
        chat_id=chat.id,
        type=chat_type(update),
        title=chat.title or chat.full_name,
        language=language_of(update),
    )
    shared = [a.removeprefix(SHARE_PREFIX) for a in args_of(context) if a.startswith(SHARE_PREFIX)]
    if shared:
        await shared_start(update, context, shared[0])
        return
    deep = [a.removeprefix("tag-") for a in args_of(context) if a.startswith("tag-")]
    unknown = ""
    if deep:
        result = await services.chats.subscribe(chat.id, deep)
        if result.added or result.already:
            tags = ", ".join(result.added + result.already)
            text = _("You now follow <b>{tags}</b>. /digest shows what's new.")
            await reply(update, [text.format(tags=esc(tags))])
            return
        # a link to a tag that is gone (or mistyped): say so, then the picker as usual
        unknown = "\n".join(
            unknown_tag_line(typed, hints) for typed, hints in result.unknown.items()
        )
    # each greeting a whole message, so a translator words it as one
    if created:
        text = _(
            "Welcome! I send short digests of news briefs on the tags you follow.\n"
            "Tap tags below to follow them, then /digest; /help lists everything."
        )
    elif resumed:
        text = _(
            "Welcome back! Digests are on again. I send short digests of news briefs on the "
            "tags you follow.\nTap tags below to follow them, then /digest; /help lists "
            "everything."
        )
    else:
        text = _(
            "Welcome back! I send short digests of news briefs on the tags you follow.\n"
            "Tap tags below to follow them, then /digest; /help lists everything."
        )
    page = await services.chats.tag_page(chat.id, 0)
    await reply(
        update,
        [f"{unknown}\n{text}" if unknown else text],
        keyboards.tag_picker(page) if page.entries else None,
    )


async def plain_text(update: Update, context: BotContext) -> None:
    """Text that is not a command, in a private chat."""
    if update.effective_chat is None or update.effective_chat.type != ChatType.PRIVATE:
        return
    await reply(update, [_("I answer commands: try /digest, or /help for the list.")])
