"""Settings: /settings and its buttons, /time, /timezone, /frequency, /minscore, /size,
/alerts, /quiet, /stop and /forget."""

from __future__ import annotations

from telegram import Update

from digestbot.bot import keyboards
from digestbot.bot.context import BotContext
from digestbot.bot.handlers import managed
from digestbot.bot.handlers.common import STALE_BUTTON, args_of, reply
from digestbot.bot.handlers.guards import may_configure, require_group_admin
from digestbot.briefs.render import esc
from digestbot.errors import InputError
from digestbot.readers.chats import MAX_DIGEST_SIZE, WEEKDAYS
from digestbot.store.models import Chat, Frequency


def describe(chat: Chat, filters: int = 0) -> str:
    """The chat's settings, as /settings shows them (``filters``: how many are on)."""
    frequency = chat.frequency
    if frequency == Frequency.WEEKLY:
        frequency = f"weekly on {WEEKDAYS[chat.weekly_day].capitalize()}"
    state = "paused (/start resumes)" if chat.paused else frequency
    times = chat.times().split(",")
    return (
        "<b>Your settings</b>\n"
        f"Digest time{'s' if len(times) > 1 else ''}: <b>{', '.join(times)}</b>"
        f" ({esc(chat.timezone)})\n"
        f"Frequency: <b>{esc(state)}</b>\n"
        f"Minimum score: <b>{chat.min_score}</b>/10\n"
        f"Briefs per digest: <b>{chat.digest_size}</b>\n"
        f"Alerts: <b>{esc(describe_alerts(chat))}</b>\n"
        f"Quiet hours: <b>{esc(chat.quiet_hours or 'none')}</b>\n"
        f"Style: <b>{'compact' if chat.compact else 'full'}</b> (/style)\n"
        f"Filters on: <b>{filters}</b> (/filters)\n"
        "Change the timezone with /timezone, e.g. /timezone Asia/Kolkata"
    )


def describe_alerts(chat: Chat) -> str:
    if chat.alert_score is None:
        return "off (/alerts 8 turns them on)"
    return f"score {chat.alert_score}+, up to {chat.alert_max} a day"


def _times(chat: Chat) -> str:
    return ", ".join(chat.times().split(","))


async def settings(update: Update, context: BotContext) -> None:
    """Show the chat's settings with buttons to change them."""
    where = await managed.target(update, context)
    if where is None:
        return
    known = await context.services.chats.ensure(where.id, type=where.type)
    filters = await context.services.filters.count(where.id)
    await reply(update, [where.note + describe(known, filters)], keyboards.settings_keyboard(known))


async def _change(update: Update, context: BotContext, usage: str, action: str) -> None:
    chat = update.effective_chat
    args = args_of(context)
    if chat is None:
        return
    if not args:
        await reply(update, [usage])
        return
    where = await managed.to_change(update, context)
    if where is None:
        return
    chat_id = where.id
    chats = context.services.chats
    await chats.ensure(chat_id, type=where.type)
    try:
        if action == "time":
            updated = await chats.set_time(chat_id, args)
            text = f"Digests come at <b>{_times(updated)}</b> ({esc(updated.timezone)})."
            text += digests_off_note(updated)
        elif action == "timezone":
            updated = await chats.set_timezone(chat_id, " ".join(args))
            text = f"Timezone set to <b>{esc(updated.timezone)}</b>; digests at {_times(updated)}."
        elif action == "alerts":
            updated = await chats.set_alerts(chat_id, args)
            text = (
                "Alerts off."
                if updated.alert_score is None
                else f"Alerts for briefs scoring <b>{updated.alert_score}</b>/10 or more, up to"
                f" <b>{updated.alert_max}</b> a day, outside quiet hours"
                f" ({esc(updated.quiet_hours or 'none')})."
            )
        elif action == "quiet":
            updated = await chats.set_quiet(chat_id, " ".join(args))
            text = (
                f"Quiet hours: <b>{esc(updated.quiet_hours)}</b> ({esc(updated.timezone)}); an"
                " alert due then waits for the next digest."
                if updated.quiet_hours
                else "No quiet hours: alerts may come at any time."
            )
        elif action == "frequency":
            updated = await chats.set_frequency(
                chat_id, args[0], args[1] if len(args) > 1 else None
            )
            text = "Frequency: <b>" + esc(describe_frequency(updated)) + "</b>."
        elif action == "minscore":
            updated = await chats.set_min_score(chat_id, args[0])
            text = f"Only briefs scoring <b>{updated.min_score}</b>/10 or more from now on."
        else:
            updated = await chats.set_size(chat_id, args[0])
            text = f"Up to <b>{updated.digest_size}</b> briefs per digest."
    except InputError as exc:
        text = esc(exc.reason[:1].upper() + exc.reason[1:])
    await reply(update, [where.note + text])


def digests_off_note(chat: Chat) -> str:
    """What stops the times set from meaning anything, and how to undo it; or nothing."""
    off = chat.frequency == Frequency.OFF
    if chat.paused and off:
        return " But digests are off and paused: /frequency daily and /start turn them on."
    if chat.paused:
        return " But digests are paused: /start turns them on."
    if off:
        return " But digests are off: /frequency daily turns them on."
    return ""


def describe_frequency(chat: Chat) -> str:
    if chat.frequency == Frequency.WEEKLY:
        return f"weekly, on {WEEKDAYS[chat.weekly_day].capitalize()}"
    if chat.frequency == Frequency.OFF:
        return "off (no scheduled digests; /digest still works)"
    return str(chat.frequency)


async def time_command(update: Update, context: BotContext) -> None:
    """/time HH:MM [HH:MM [HH:MM]]: when digests come, in the chat's timezone."""
    usage = "When should digests come? For example: /time 07:30, or /time 08:00 18:00"
    await _change(update, context, usage, "time")


async def alerts(update: Update, context: BotContext) -> None:
    """/alerts N [max K] or /alerts off: instant alerts for briefs scoring N or more."""
    usage = (
        "Alerts push a brief on your tags as soon as it arrives. For example: /alerts 8"
        " (scores 8 to 10), /alerts 8 max 5 (up to 5 a day; 3 unless you say), /alerts off"
    )
    await _change(update, context, usage, "alerts")


async def quiet(update: Update, context: BotContext) -> None:
    """/quiet HH:MM-HH:MM or /quiet off: no alerts in these local hours."""
    usage = "When should alerts stay quiet? For example: /quiet 22:00-07:00, or /quiet off"
    await _change(update, context, usage, "quiet")


async def timezone(update: Update, context: BotContext) -> None:
    """/timezone ZONE: an IANA timezone, with suggestions for near misses."""
    usage = "Which timezone? For example: /timezone Europe/Berlin or /timezone Asia/Kolkata"
    await _change(update, context, usage, "timezone")


async def frequency(update: Update, context: BotContext) -> None:
    """/frequency daily|weekdays|weekly [DAY]|off."""
    usage = "How often? /frequency daily, weekdays, weekly (e.g. /frequency weekly monday) or off"
    await _change(update, context, usage, "frequency")


async def minscore(update: Update, context: BotContext) -> None:
    """/minscore N: only briefs scoring at least N."""
    usage = "Which minimum score, 0 to 10? For example: /minscore 6"
    await _change(update, context, usage, "minscore")


async def size(update: Update, context: BotContext) -> None:
    """/size N: briefs per digest."""
    usage = f"How many briefs per digest, 1 to {MAX_DIGEST_SIZE}? For example: /size 5"
    await _change(update, context, usage, "size")


async def stop(update: Update, context: BotContext) -> None:
    """Pause scheduled digests."""
    chat = update.effective_chat
    if chat is None or not await require_group_admin(update, context):
        return
    await context.services.chats.pause(chat.id)
    await reply(update, ["Digests paused. /start resumes them; /digest still works any time."])


async def forget(update: Update, context: BotContext) -> None:
    """Ask before deleting everything kept about this chat."""
    if update.effective_chat is None or not await require_group_admin(update, context):
        return
    await reply(
        update,
        ["Delete your tags and settings? This cannot be undone."],
        keyboards.forget_keyboard(),
    )


async def forget_button(update: Update, context: BotContext, parts: list[str]) -> None:
    """The answer to the /forget question."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    if len(parts) != 2 or parts[1] not in {"yes", "no"}:
        await query.answer(STALE_BUTTON)
        return
    if not await may_configure(update, context):
        await query.answer("Only this group's admins can do that.")
        return
    await query.answer()
    if parts[1] == "no":
        await query.edit_message_text("Kept everything as it was.")
        return
    await context.services.chats.forget(chat.id)
    await query.edit_message_text("Done: I deleted your tags and settings. /start begins again.")


async def setting_button(update: Update, context: BotContext, parts: list[str]) -> None:
    """A press on the /settings keyboard."""
    query = update.callback_query
    if query is None or update.effective_chat is None:
        return
    if len(parts) != 3:
        await query.answer(STALE_BUTTON)
        return
    if not await may_configure(update, context):
        await query.answer("Only this group's admins can change settings.")
        return
    chat = await managed.target(update, context)
    if chat is None:
        return
    chats = context.services.chats
    current = await chats.ensure(chat.id, type=chat.type)
    field, value = parts[1], parts[2]
    step = keyboards.int_part(parts, 2)
    try:
        if field == "time" and step is not None:  # moves every digest time
            moved = []
            for at in current.times().split(","):
                hours, minutes = map(int, at.split(":"))
                total = (hours * 60 + minutes + step) % (24 * 60)
                moved.append(f"{total // 60:02d}:{total % 60:02d}")
            updated = await chats.set_time(chat.id, moved)
        elif field == "freq":
            updated = await chats.set_frequency(chat.id, value)
        elif field == "min" and step is not None:
            updated = await chats.set_min_score(
                chat.id, str(min(10, max(0, current.min_score + step)))
            )
        elif field == "size" and step is not None:
            new_size = min(MAX_DIGEST_SIZE, max(1, current.digest_size + step))
            updated = await chats.set_size(chat.id, str(new_size))
        else:
            await query.answer(STALE_BUTTON)
            return
    except InputError:
        await query.answer(STALE_BUTTON)
        return
    await query.answer("Saved")
    if describe(updated) != describe(current) or field == "freq":
        filters = await context.services.filters.count(chat.id)
        await query.edit_message_text(
            chat.note + describe(updated, filters),
            reply_markup=keyboards.settings_keyboard(updated),
        )
