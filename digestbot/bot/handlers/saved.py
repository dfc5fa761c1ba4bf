"""Saved briefs: the Save button under /brief, /saved, and its Remove buttons."""

from __future__ import annotations

from telegram import Update

from digestbot.bot import keyboards
from digestbot.bot.context import BotContext
from digestbot.bot.handlers.common import reply, stale_button
from digestbot.briefs import render
from digestbot.i18n import _, count, number


async def saved(update: Update, context: BotContext) -> None:
    """/saved: the briefs you saved, newest first, each with a Remove button."""
    user = update.effective_user
    if user is None:
        return
    items = await context.services.saved.items(user.id)
    if not items:
        await reply(update, [_("Nothing saved yet. Tap ☆ Save under a /brief to keep it here.")])
        return
    limit = context.services.saved.limit
    heading = count(
        "Saved briefs ({n} of at most {limit}); ✕ removes one",
        "Saved briefs ({n} of at most {limit}); ✕ removes one",
        len(items),
        limit=number(limit),
    )
    await reply(
        update,
        render.summary(items, heading=heading),
        keyboards.saved_list([item.id for item in items]),
    )


async def save_button(update: Update, context: BotContext, parts: list[str]) -> None:
    """☆ Save under a brief."""
    query, user = update.callback_query, update.effective_user
    brief_id = keyboards.int_part(parts, 1)
    if query is None or user is None:
        return
    if brief_id is None or len(parts) != 2:
        await query.answer(stale_button())
        return
    result = await context.services.saved.save(user.id, brief_id)
    if not result.exists:
        await query.answer(_("That brief is gone."))
        return
    if not result.saved:
        await query.answer(_("Already saved: /saved lists them."))
        return
    if result.dropped:
        limit = context.services.saved.limit
        text = count(
            "Saved. You keep at most {limit}: the oldest {n} went.",
            "Saved. You keep at most {limit}: the oldest {n} went.",
            result.dropped,
            limit=number(limit),
        )
        await query.answer(text[:200], show_alert=True)
        return
    await query.answer(_("Saved: /saved lists them."))


async def unsave_button(update: Update, context: BotContext, parts: list[str]) -> None:
    """✕ under /saved: forget one saved brief and redraw the list's buttons."""
    query, user = update.callback_query, update.effective_user
    brief_id = keyboards.int_part(parts, 1)
    if query is None or user is None:
        return
    if brief_id is None or len(parts) != 2:
        await query.answer(stale_button())
        return
    removed = await context.services.saved.remove(user.id, brief_id)
    await query.answer(
        _("Removed {number}.").format(number=brief_id) if removed else _("It was not saved.")
    )
    items = await context.services.saved.items(user.id)
    if not items:
        await query.edit_message_text(_("Nothing saved any more."))
        return
    await query.edit_message_reply_markup(keyboards.saved_list([item.id for item in items]))
