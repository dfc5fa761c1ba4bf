"""Start, and answers to anything the bot does not understand."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType

from digestbot.bot import keyboards
from digestbot.bot.context import BotContext
from digestbot.bot.handlers.channels import SHARE_PREFIX, shared_start
from digestbot.bot.handlers.common import args_of, chat_type, echo, language_of, reply
from digestbot.bot.handlers.guards import may_configure
from digestbot.briefs.render import esc


async def start(update: Update, context: BotContext) -> None:
    """Register the chat, greet, and offer the tag picker (``/start tag-NAME`` subscribes)."""
    chat = update.effective_chat
    if chat is None:
        return
    services = context.services
    if chat.type != ChatType.PRIVATE and not await may_configure(update, context):
        # in a group, only its admins may resume digests or follow tags by deep link
        await services.chats.ensure(chat.id, type=chat_type(update))
        await reply(update, ["Hi! Group admins pick my tags with /tags; anyone can /digest."])
        return
    _, created = await services.chats.register(
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
    if deep:
        result = await services.chats.subscribe(chat.id, deep)
        if result.added or result.already:
            tags = ", ".join(result.added + result.already)
            await reply(update, [f"You now follow <b>{esc(tags)}</b>. /digest shows what's new."])
            return
    greeting = "Welcome! " if created else "Welcome back! Digests are on again. "
    page = await services.chats.tag_page(chat.id, 0)
    await reply(
        update,
        [
            f"{greeting}I send short digests of news briefs on the tags you follow.\n"
            "Tap tags below to follow them, then /digest; /help lists everything."
        ],
        keyboards.tag_picker(page) if page.entries else None,
    )


async def unknown_command(update: Update, context: BotContext) -> None:
    """Any command this bot does not have."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or not message.text:
        return
    name, _, addressee = message.text.split()[0].partition("@")
    in_group = chat is not None and chat.type != ChatType.PRIVATE
    # In groups, other bots' commands are none of our business: answer only ours.
    if in_group and addressee.lower() != (context.bot.username or "").lower():
        return
    await reply(update, [f"I don't know {echo(name)}. /help lists what I can do."])


async def plain_text(update: Update, context: BotContext) -> None:
    """Text that is not a command, in a private chat."""
    if update.effective_chat is None or update.effective_chat.type != ChatType.PRIVATE:
        return
    await reply(update, ["I answer commands: try /digest, or /help for the list."])
