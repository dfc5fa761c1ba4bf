"""Shaping a digest: /mute, /only, /unmute, /filters, /style, and the buttons that mute
from a brief, undo a mute, remove a filter or give feedback."""

from __future__ import annotations

import re

from telegram import Update
from telegram.constants import ChatType

from digestbot.bot import keyboards
from digestbot.bot.context import BotContext
from digestbot.bot.handlers import managed
from digestbot.bot.handlers.common import args_of, chat_type, echo, reply, stale_button
from digestbot.bot.handlers.guards import may_configure
from digestbot.i18n import N_, _
from digestbot.readers.filters import Muted
from digestbot.store.models import FilterKind

ADMINS_ONLY = N_("Only this group's admins can change what I send here.")
_LINKS = re.compile(r"/brief_([0-9]{1,12})")


def _text_after_command(update: Update) -> str:
    text = update.effective_message.text if update.effective_message else None
    parts = (text or "").split(maxsplit=1)
    return parts[1].replace("\x00", "") if len(parts) > 1 else ""


def private(update: Update) -> bool:
    return chat_type(update) == ChatType.PRIVATE


async def _words(update: Update, context: BotContext, kind: FilterKind, usage: str) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    text = _text_after_command(update)
    if not text.strip():
        await reply(update, [usage])
        return
    where = await managed.to_change(update, context)  # a channel picked with /channels
    if where is None:
        return
    await context.services.chats.ensure(where.id, type=where.type, known=context.chat_row)
    answer = await context.services.filters.add_words(where.id, kind, text)
    await reply(update, [where.note + answer])


async def mute(update: Update, context: BotContext) -> None:
    """/mute WORD or /mute "a phrase": hide briefs that mention it."""
    usage = _('Mute what? For example: /mute crypto or /mute "self-driving cars"')
    await _words(update, context, FilterKind.MUTE, usage)


async def only(update: Update, context: BotContext) -> None:
    """/only WORD...: keep only briefs that mention one of them."""
    usage = _("Keep only briefs on what? For example: /only robotics drones")
    await _words(update, context, FilterKind.ONLY, usage)


async def unmute(update: Update, context: BotContext) -> None:
    """/unmute WORD: remove a filter (a word, phrase, tag or source)."""
    chat = update.effective_chat
    if chat is None:
        return
    text = _text_after_command(update)
    if not text.strip():
        await reply(update, [_("Unmute what? For example: /unmute crypto. /filters lists yours.")])
        return
    where = await managed.to_change(update, context)
    if where is None:
        return
    await reply(update, [where.note + await context.services.filters.unmute(where.id, text)])


async def filters_command(update: Update, context: BotContext) -> None:
    """/filters: the chat's filters, a button to remove each."""
    chat = update.effective_chat
    if chat is None:
        return
    where = await managed.target(update, context)
    if where is None:
        return
    text, entries = await context.services.filters.listing(where.id)
    # the remove buttons act on the chat they are in, so a managed channel's are not offered
    markup = None if where.title else keyboards.filters_keyboard(entries)
    await reply(update, [where.note + text], markup)


async def style(update: Update, context: BotContext) -> None:
    """/style compact|full: digest items without or with their gist line."""
    chat = update.effective_chat
    args = [a.lower() for a in args_of(context)]
    if chat is None:
        return
    if not args or args[0] not in {"compact", "full"}:
        text = (
            _("Which style (not {typed})? /style compact or /style full").format(
                typed=echo(args[0])
            )
            if args
            else _("Which style? /style compact or /style full")
        )
        await reply(update, [text])
        return
    where = await managed.to_change(update, context)
    if where is None:
        return
    await context.services.chats.ensure(where.id, type=where.type, known=context.chat_row)
    await context.services.chats.set_compact(where.id, args[0] == "compact")
    done = (
        _("Compact digests: title and tags only.")
        if args[0] == "compact"
        else _("Full digests: each item with a line on why it matters.")
    )
    await reply(update, [where.note + done])


# --- buttons ------------------------------------------------------------------------------


async def filter_button(update: Update, context: BotContext, parts: list[str]) -> None:
    """fr:<id>: remove one filter from the /filters list."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    filter_id = keyboards.int_part(parts, 1) if len(parts) == 2 else None
    if filter_id is None:
        await query.answer(stale_button())
        return
    if not await may_configure(update, context):
        await query.answer(_(ADMINS_ONLY))
        return
    service = context.services.filters
    removed = await service.remove(chat.id, filter_id)
    if removed is None:
        await query.answer(stale_button())
        return
    await query.answer(_("Removed: {filter}").format(filter=removed)[:200])
    text, entries = await service.listing(chat.id)
    await query.edit_message_text(text, reply_markup=keyboards.filters_keyboard(entries))


async def mute_button(update: Update, context: BotContext, parts: list[str]) -> None:
    """mu:tag|src:<brief id> mutes in one tap, with Undo; mu:undo:<filter id> undoes."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    number = keyboards.int_part(parts, 2) if len(parts) == 3 else None
    what = parts[1] if len(parts) > 1 else ""
    if number is None or number <= 0 or what not in {"tag", "src", "undo"}:
        await query.answer(stale_button())
        return
    if not await may_configure(update, context):
        await query.answer(_(ADMINS_ONLY))
        return
    service = context.services.filters
    if what == keyboards.MUTE_UNDO:
        removed = await service.remove(chat.id, number)
        if removed is None:
            await query.answer(stale_button())
            return
        await query.answer(_("Undone"))
        await query.edit_message_text(
            _("Undone: {filter} is off.").format(filter=echo(removed, 60))
        )
        return
    await context.services.chats.ensure(chat.id, type=chat_type(update), known=context.chat_row)
    kind = FilterKind.TAG if what == keyboards.MUTE_TAG else FilterKind.SOURCE
    muted = await service.mute_from_brief(chat.id, number, kind)
    if not isinstance(muted, Muted):
        await query.answer(muted)
        return
    await query.answer(_("Done: {filter}").format(filter=muted.label)[:200])
    await context.bot.send_message(
        chat.id,
        _("Done: {filter}. /filters lists your filters.").format(filter=echo(muted.label, 60)),
        reply_markup=keyboards.undo_keyboard(muted.filter_id),
    )


async def feedback_button(update: Update, context: BotContext, parts: list[str]) -> None:
    """fb:up|down:<brief id>, fb:all:up|down (a whole digest message), fb:tune."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    if chat.type != ChatType.PRIVATE:
        await query.answer(_("Feedback works in a private chat with me."))
        return
    text = getattr(query.message, "text", None) or ""
    shown = [int(n) for n in _LINKS.findall(text)]
    service = context.services.filters
    # /brief before /start
    await context.services.chats.ensure(chat.id, type=chat_type(update), known=context.chat_row)
    if parts[1:] == [keyboards.FEEDBACK_TUNE]:
        if not shown:
            await query.answer(stale_button())
            return
        await query.answer(_("Mark what you liked, or not"))
        await query.edit_message_reply_markup(keyboards.tune_keyboard(shown[:30]))
        return
    if len(parts) != 3:
        await query.answer(stale_button())
        return
    if parts[1] == keyboards.FEEDBACK_ALL and parts[2] in {"up", "down"}:
        ids, delta = shown, 1.0 if parts[2] == keyboards.FEEDBACK_UP else -1.0
    elif parts[1] in {"up", "down"} and (one := keyboards.int_part(parts, 2)):
        ids, delta = [one], 1.0 if parts[1] == keyboards.FEEDBACK_UP else -1.0
    else:
        ids, delta = [], 0.0
    tags = await service.feedback(chat.id, ids, delta) if ids else []
    if not tags:
        await query.answer(stale_button())
        return
    named = ", ".join(f"#{t}" for t in tags[:4])
    done = _("More like {tags}") if delta > 0 else _("Less of {tags}")
    await query.answer(done.format(tags=named)[:200])  # Telegram refuses longer answers
