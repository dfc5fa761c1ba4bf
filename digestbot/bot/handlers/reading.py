"""Reading: /digest, /summary, /watch, /brief, /search."""

from __future__ import annotations

import re

from telegram import Update

from digestbot.bot import keyboards
from digestbot.bot.context import BotContext
from digestbot.bot.handlers.common import args_of, chat_type, echo, reply
from digestbot.briefs.parse import MAX_TAG_LEN
from digestbot.briefs.render import clip
from digestbot.store.models import MAX_BRIEF_ID

BRIEF_LINK = re.compile(r"^/brief_([0-9]{1,12})(?:@(\w+))?(?:\s|$)")
BRIEF_ID = re.compile(r"[0-9]{1,12}")
MAX_SEARCH_WORDS = 8
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Room for any real tag as typed ("#", any case); anything longer names no tag, and the
# services quote the tag back when there is nothing on it.
MAX_TAG_INPUT = MAX_TAG_LEN + 16


def _tag_arg(context: BotContext) -> str | None:
    args = args_of(context)
    return clip(args[0], MAX_TAG_INPUT) if args else None


async def digest(update: Update, context: BotContext) -> None:
    """A digest now: what's new on the chat's tags since its last digest."""
    chat = update.effective_chat
    if chat is None:
        return
    await context.services.chats.ensure(chat.id, type=chat_type(update))
    await reply(update, await context.services.digests.digest_now(chat.id))


async def summary(update: Update, context: BotContext) -> None:
    """/summary [TAG]: one line per recent brief."""
    chat = update.effective_chat
    if chat is None:
        return
    await reply(update, await context.services.digests.summary(chat.id, _tag_arg(context)))


async def watch(update: Update, context: BotContext) -> None:
    """/watch [TAG]: what to watch next, from the recent top briefs."""
    chat = update.effective_chat
    if chat is None:
        return
    await reply(update, await context.services.digests.watch(chat.id, _tag_arg(context)))


async def _show_brief(update: Update, context: BotContext, typed: str | None) -> None:
    if typed is None or not BRIEF_ID.fullmatch(typed):
        await reply(update, ["Which brief? Send /brief and its number, like /brief 12."])
        return
    chat = update.effective_chat
    known = await context.services.chats.get(chat.id) if chat else None
    messages = None
    if int(typed) <= MAX_BRIEF_ID:
        messages = await context.services.digests.brief(
            int(typed), timezone=known.timezone if known else "UTC"
        )
    if messages is None:
        await reply(update, [f"There is no brief {echo(typed)}. /summary lists recent ones."])
        return
    await reply(update, messages, keyboards.save_brief(int(typed)))


async def brief(update: Update, context: BotContext) -> None:
    """/brief ID: one brief in full."""
    args = args_of(context)
    await _show_brief(update, context, args[0].lstrip("#") if args else None)


async def brief_link(update: Update, context: BotContext) -> None:
    """The clickable /brief_ID under every item."""
    text = update.effective_message.text if update.effective_message else None
    match = BRIEF_LINK.match(text or "")
    addressee = match.group(2) if match else None
    if addressee and addressee.lower() != (context.bot.username or "").lower():
        return  # /brief_5@another_bot is not for us
    await _show_brief(update, context, match.group(1) if match else None)


async def search(update: Update, context: BotContext) -> None:
    """/search WORDS: briefs whose title or summary match."""
    # control characters (NUL above all) can't be stored or searched for on PostgreSQL
    cleaned = (_CONTROL.sub("", w)[:100] for w in args_of(context))
    words = [w for w in cleaned if w.strip()][:MAX_SEARCH_WORDS]
    if not words:
        await reply(update, ["Search for what? For example: /search open weights"])
        return
    await reply(update, await context.services.digests.search(words))
