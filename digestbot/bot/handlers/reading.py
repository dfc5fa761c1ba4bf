"""Reading: /digest, /summary, /watch, /brief, /search."""

from __future__ import annotations

import re

from telegram import Update
from telegram.constants import ChatType

from digestbot.bot import keyboards
from digestbot.bot.context import BotContext
from digestbot.bot.handlers.common import args_of, chat_type, echo, reply, unknown_tag_line
from digestbot.briefs.parse import MAX_TAG_LEN
from digestbot.briefs.render import clip, fits
from digestbot.i18n import _
from digestbot.readers.shaping import source_of
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
    await context.services.chats.ensure(chat.id, type=chat_type(update), known=context.chat_row)
    messages = await context.services.digests.digest_now(chat.id, known=context.reader)
    # feedback on what the digest holds: private chats only (a group's members would
    # all be moving one shared ranking)
    shown = chat.type == ChatType.PRIVATE and "/brief_" in messages[-1]
    await reply(update, messages, keyboards.digest_feedback() if shown else None)


async def _known_tag(update: Update, context: BotContext, tag: str | None) -> bool:
    """Whether ``tag`` (if any) is a known tag; if not, say so with /subscribe's hints."""
    if tag is None:
        return True
    hints = await context.services.chats.unknown_tag(tag)
    if hints is None:
        return True
    await reply(update, [unknown_tag_line(tag, hints)])
    return False


async def summary(update: Update, context: BotContext) -> None:
    """/summary [TAG]: one line per recent brief."""
    chat, tag = update.effective_chat, _tag_arg(context)
    if chat is None or not await _known_tag(update, context, tag):
        return
    await reply(update, await context.services.digests.summary(chat.id, tag, known=context.reader))


async def watch(update: Update, context: BotContext) -> None:
    """/watch [TAG]: what to watch next, from the recent top briefs."""
    chat, tag = update.effective_chat, _tag_arg(context)
    if chat is None or not await _known_tag(update, context, tag):
        return
    await reply(update, await context.services.digests.watch(chat.id, tag, known=context.reader))


async def _show_brief(update: Update, context: BotContext, typed: str | None) -> None:
    if typed is None or not BRIEF_ID.fullmatch(typed):
        await reply(update, [_("Which brief? Send /brief and its number, like /brief 12.")])
        return
    chat = update.effective_chat
    known = await context.services.chats.get(chat.id) if chat else None
    found = None
    if 0 < int(typed) <= MAX_BRIEF_ID:
        found = await context.services.digests.brief_item(int(typed))
    if found is None or chat is None:
        text = _("There is no brief {number}. /summary lists recent ones.")
        await reply(update, [text.format(number=echo(typed))])
        return
    messages = await context.services.digests.render_brief(
        found, timezone=known.timezone if known else "UTC"
    )
    why = await context.services.filters.why(chat.id, found) if known else None
    if why:
        joined = f"{messages[-1]}\n\n<i>{why}</i>"
        messages = [*messages[:-1], joined] if fits(joined) else [*messages, why]
    markup = keyboards.brief_keyboard(
        found.id,
        tag=found.brief.tags[0] if found.brief.tags else None,
        source=source_of(found.brief.url),
        feedback=chat.type == ChatType.PRIVATE,
    )
    await reply(update, messages, markup)


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
        await reply(update, [_("Search for what? For example: /search open weights")])
        return
    chat = update.effective_chat
    found = await context.services.digests.search_paged(words, chat_id=chat.id if chat else None)
    more = keyboards.search_more(found.token, found.next_page) if found.token else None
    await reply(update, found.messages, more)


async def search_more_button(update: Update, context: BotContext, parts: list[str]) -> None:
    """ "More" under search results: the next page, as new messages (with their own
    "More" when there is still more); the pressed button goes away."""
    query, chat = update.callback_query, update.effective_chat
    page = keyboards.int_part(parts, 2)
    if query is None or chat is None:
        return
    found = None
    if page is not None and len(parts) == 3:
        found = await context.services.digests.search_more(chat.id, parts[1], page)
    if found is None:
        await query.answer(_("This search has expired. Send /search again."))
        return
    await query.answer()
    await query.edit_message_reply_markup(None)
    more = keyboards.search_more(found.token, found.next_page) if found.token else None
    await reply(update, found.messages, more)
