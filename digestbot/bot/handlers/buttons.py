"""One entry point for inline-button presses; stale or forged data gets an answer."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine

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


# what a button handler is: a coroutine function of (update, context, the data's parts)
ButtonHandler = Callable[[Update, BotContext, list[str]], Coroutine[object, None, None]]

# The one button table: each callback prefix (keyboards.PREFIXES, all of them) and the
# handler its presses go to. A handler checks the rest of the data itself.
BUTTONS: dict[str, ButtonHandler] = {
    keyboards.TAG_TOGGLE: tags.picker_button,
    keyboards.TAG_PAGE: tags.picker_button,
    keyboards.TAGS_DONE: tags.picker_button,
    keyboards.BROADCAST: admin.broadcast_button,
    keyboards.FILTER_REMOVE: shaping.filter_button,
    keyboards.MUTE: shaping.mute_button,
    keyboards.FEEDBACK: shaping.feedback_button,
    keyboards.CHANNEL: channels.channel_button,
    keyboards.SHARED: channels.shared_button,
    keyboards.SAVE: saved.save_button,
    keyboards.UNSAVE: saved.unsave_button,
    keyboards.SEARCH_MORE: reading.search_more_button,
    keyboards.LANGUAGE: language.language_button,
    keyboards.SETTING: settings.setting_button,
    keyboards.FORGET: settings.forget_button,
}


async def button(update: Update, context: BotContext) -> None:
    """Route a callback query by its prefix."""
    query = update.callback_query
    if query is None:
        return
    parts, chat = keyboards.parse(query.data), update.effective_chat
    handler = BUTTONS.get(parts[0]) if parts is not None else None
    if parts is None or handler is None or chat is None:
        await query.answer(stale_button())
        return
    try:
        await handler(update, context, parts)
    except BadRequest as exc:
        if not any(harmless in exc.message.lower() for harmless in _HARMLESS_EDIT_ERRORS):
            raise
        log.debug("chat %s: button %r changed nothing (%s)", chat.id, query.data, exc)
