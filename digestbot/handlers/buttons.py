"""One entry point for inline-button presses; stale or forged data gets an answer."""

from __future__ import annotations

from telegram import Update

from digestbot.context import BotContext
from digestbot.handlers import keyboards, settings, tags
from digestbot.handlers.common import STALE_BUTTON


async def button(update: Update, context: BotContext) -> None:
    """Route a callback query by its prefix."""
    query = update.callback_query
    if query is None:
        return
    parts = keyboards.parse(query.data)
    if parts is None or update.effective_chat is None:
        await query.answer(STALE_BUTTON)
        return
    if parts[0] in {keyboards.TAG_TOGGLE, keyboards.TAG_PAGE, keyboards.TAGS_DONE}:
        await tags.picker_button(update, context, parts)
    elif parts[0] == keyboards.SETTING:
        await settings.setting_button(update, context, parts)
    else:
        await settings.forget_button(update, context, parts)
