"""One entry point for inline-button presses; stale or forged data gets an answer."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest

from digestbot.bot import keyboards
from digestbot.bot.context import BotContext
from digestbot.bot.handlers import (
    admin,
    channels,
    language,
    reading,
    saved,
    settings,
    shaping,
    tags,
)
from digestbot.bot.handlers.common import stale_button

log = logging.getLogger(__name__)

# Redrawing after a press that changed nothing (the page already shown, "Done" tapped
# twice, the frequency already chosen) or on a message deleted since: the press has
# been answered already, so there is nothing left to do.
_HARMLESS_EDIT_ERRORS = ("message is not modified", "message to edit not found")


async def button(update: Update, context: BotContext) -> None:
    """Route a callback query by its prefix."""
    query = update.callback_query
    if query is None:
        return
    parts, chat = keyboards.parse(query.data), update.effective_chat
    if parts is None or chat is None:
        await query.answer(stale_button())
        return
    try:
        if parts[0] in {keyboards.TAG_TOGGLE, keyboards.TAG_PAGE, keyboards.TAGS_DONE}:
            await tags.picker_button(update, context, parts)
        elif parts[0] == keyboards.BROADCAST:
            await admin.broadcast_button(update, context, parts)
        elif parts[0] == keyboards.FILTER_REMOVE:
            await shaping.filter_button(update, context, parts)
        elif parts[0] == keyboards.MUTE:
            await shaping.mute_button(update, context, parts)
        elif parts[0] == keyboards.FEEDBACK:
            await shaping.feedback_button(update, context, parts)
        elif parts[0] == keyboards.CHANNEL:
            await channels.channel_button(update, context, parts)
        elif parts[0] == keyboards.SHARED:
            await channels.shared_button(update, context, parts)
        elif parts[0] == keyboards.SAVE:
            await saved.save_button(update, context, parts)
        elif parts[0] == keyboards.UNSAVE:
            await saved.unsave_button(update, context, parts)
        elif parts[0] == keyboards.SEARCH_MORE:
            await reading.search_more_button(update, context, parts)
        elif parts[0] == keyboards.LANGUAGE:
            await language.language_button(update, context, parts)
        elif parts[0] == keyboards.SETTING:
            await settings.setting_button(update, context, parts)
        else:
            await settings.forget_button(update, context, parts)
    except BadRequest as exc:
        if not any(harmless in exc.message.lower() for harmless in _HARMLESS_EDIT_ERRORS):
            raise
        log.debug("chat %s: button %r changed nothing (%s)", chat.id, query.data, exc)
