"""The language a chat is spoken to in: set for each update, and /language to switch."""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError
from telegram import Update

from digestbot import i18n
from digestbot.bot import keyboards
from digestbot.bot.context import BotContext
from digestbot.bot.handlers import managed
from digestbot.bot.handlers.common import reply
from digestbot.i18n import _

log = logging.getLogger(__name__)


async def speak_chat_language(update: object, context: BotContext) -> None:
    """Make the chat's language the one every reply to this update is made in."""
    if not isinstance(update, Update):
        return
    chat, user = update.effective_chat, update.effective_user
    code = user.language_code if user else None
    if chat is None:  # an inline query: no chat, so the user's own language
        i18n.set_current(i18n.resolve(code))
        return
    try:
        speaking = await context.services.chats.speaking(chat.id, code)
    except (SQLAlchemyError, OSError) as exc:
        # the store is down: answer in the user's own language rather than apologise
        # for an update that may not even need an answer (the handler that does reach
        # the store reports the failure once)
        log.warning("chat %s: could not read its language (%s)", chat.id, exc)
        i18n.set_current(i18n.resolve(code))
        return
    context.reader = speaking.found  # handed down to the handler and its use case
    i18n.set_current(speaking.language)


async def language(update: Update, context: BotContext) -> None:
    """/language: the languages I speak, a button for each."""
    where = await managed.to_change(update, context)
    if where is None:
        return
    await context.services.chats.ensure(where.id, type=where.type, known=context.chat_row)
    current = await context.services.chats.language(where.id, None)
    text = where.note + _("Which language should I use here?")
    await reply(update, [text], keyboards.language_picker(current))


async def language_button(update: Update, context: BotContext, parts: list[str]) -> None:
    """lg:<code>: switch to that language and say so in it."""
    known = len(parts) == 2 and parts[1] in i18n.NAMES
    where = await managed.to_change_by_button(update, context, known=known)
    query = update.callback_query
    if where is None or query is None:
        return
    await context.services.chats.ensure(where.id, type=where.type, known=context.chat_row)
    await context.services.chats.set_language(where.id, parts[1])
    if where.title is None:  # this chat's own language: answer in it from now on
        i18n.set_current(parts[1])
    with i18n.use(parts[1]):
        done = _("I'll use English here.") if parts[1] == "en" else _("I'll use Hindi here.")
    await query.answer()
    await query.edit_message_text(
        where.note + done, reply_markup=keyboards.language_picker(parts[1])
    )
