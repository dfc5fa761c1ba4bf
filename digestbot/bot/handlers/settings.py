"""Settings: /settings and its buttons, /time, /timezone, /frequency, /minscore, /size,
/alerts, /quiet, /stop and /forget."""

from __future__ import annotations

from telegram import Update

from digestbot import i18n
from digestbot.bot import keyboards
from digestbot.bot.context import BotContext
from digestbot.bot.handlers import managed
from digestbot.bot.handlers.common import args_of, reply, stale_button
from digestbot.bot.handlers.guards import may_configure, require_group_admin
from digestbot.briefs.render import esc
from digestbot.errors import InputError
from digestbot.i18n import N_, _
from digestbot.readers.chats import MAX_DIGEST_SIZE
from digestbot.store.models import Chat, Frequency

# How /settings names a frequency (the stored value, and what /frequency takes, is English).
FREQUENCY_NAMES: dict[str, str] = {
    Frequency.DAILY: N_("daily"),
    Frequency.WEEKDAYS: N_("weekdays"),
    Frequency.WEEKLY: N_("weekly"),
    Frequency.OFF: N_("off"),
}


def weekday(index: int) -> str:
    """Monday (0) to Sunday (6), as the current language names it (Babel's CLDR names,
    so no catalog entry is needed)."""
    return str(i18n.locale(i18n.current()).days["format"]["wide"][index])


def describe(chat: Chat, filters: int = 0) -> str:
    """The chat's settings, as /settings shows them (``filters``: how many are on)."""
    if chat.paused:
        state = _("paused (/start resumes)")
    elif chat.frequency == Frequency.WEEKLY:
        state = _("weekly on {day}").format(day=weekday(chat.weekly_day))
    else:
        state = _(FREQUENCY_NAMES.get(chat.frequency, chat.frequency))
    times = chat.times().split(",")
    if len(times) > 1:
        time_line = _("Digest times: <b>{times}</b> ({zone})")
    else:
        time_line = _("Digest time: <b>{times}</b> ({zone})")
    lines = [
        _("<b>Your settings</b>"),
        time_line.format(times=", ".join(times), zone=esc(chat.timezone)),
        _("Frequency: <b>{frequency}</b>").format(frequency=esc(state)),
        _("Minimum score: <b>{score}</b>/10").format(score=chat.min_score),
        _("Briefs per digest: <b>{size}</b>").format(size=chat.digest_size),
        _("Alerts: <b>{alerts}</b>").format(alerts=esc(describe_alerts(chat))),
        _("Quiet hours: <b>{hours}</b>").format(hours=esc(chat.quiet_hours or _("none"))),
        (_("Style: <b>compact</b> (/style)") if chat.compact else _("Style: <b>full</b> (/style)")),
        _("Filters on: <b>{filters}</b> (/filters)").format(filters=filters),
        _("Change the timezone with /timezone, e.g. /timezone Asia/Kolkata"),
    ]
    return "\n".join(lines)


def describe_alerts(chat: Chat) -> str:
    if chat.alert_score is None:
        return _("off (/alerts 8 turns them on)")
    return _("score {score}+, up to {max} a day").format(score=chat.alert_score, max=chat.alert_max)


def _times(chat: Chat) -> str:
    return ", ".join(chat.times().split(","))


async def settings(update: Update, context: BotContext) -> None:
    """Show the chat's settings with buttons to change them."""
    where = await managed.target(update, context)
    if where is None:
        return
    known = await context.services.chats.ensure(where.id, type=where.type, known=context.chat_row)
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
    await chats.ensure(chat_id, type=where.type, known=context.chat_row)
    try:
        if action == "time":
            updated = await chats.set_time(chat_id, args)
            text = _("Digests come at <b>{times}</b> ({zone}).").format(
                times=_times(updated), zone=esc(updated.timezone)
            )
            if note := digests_off_note(updated):
                text += " " + note
        elif action == "timezone":
            updated = await chats.set_timezone(chat_id, " ".join(args))
            text = _("Timezone set to <b>{zone}</b>; digests at {times}.").format(
                zone=esc(updated.timezone), times=_times(updated)
            )
        elif action == "alerts":
            updated = await chats.set_alerts(chat_id, args)
            if updated.alert_score is None:
                text = _("Alerts off.")
            else:
                text = _(
                    "Alerts for briefs scoring <b>{score}</b>/10 or more, up to <b>{max}</b> a"
                    " day, outside quiet hours ({hours})."
                ).format(
                    score=updated.alert_score,
                    max=updated.alert_max,
                    hours=esc(updated.quiet_hours or _("none")),
                )
        elif action == "quiet":
            updated = await chats.set_quiet(chat_id, " ".join(args))
            if updated.quiet_hours:
                text = _(
                    "Quiet hours: <b>{hours}</b> ({zone}); an alert due then waits for the"
                    " next digest."
                ).format(hours=esc(updated.quiet_hours), zone=esc(updated.timezone))
            else:
                text = _("No quiet hours: alerts may come at any time.")
        elif action == "frequency":
            updated = await chats.set_frequency(
                chat_id, args[0], args[1] if len(args) > 1 else None
            )
            text = _("Frequency: <b>{frequency}</b>.").format(
                frequency=esc(describe_frequency(updated))
            )
        elif action == "minscore":
            updated = await chats.set_min_score(chat_id, args[0])
            text = _("Only briefs scoring <b>{score}</b>/10 or more from now on.").format(
                score=updated.min_score
            )
        else:
            updated = await chats.set_size(chat_id, args[0])
            text = i18n.count(
                "Up to <b>{n}</b> brief per digest.",
                "Up to <b>{n}</b> briefs per digest.",
                updated.digest_size,
            )
    except InputError as exc:
        # readers/chats.py words the reason (in the current language where it translates
        # it); here it only gets its capital letter
        text = esc(exc.reason[:1].upper() + exc.reason[1:])
    await reply(update, [where.note + text])


def digests_off_note(chat: Chat) -> str:
    """What stops the times set from meaning anything, and how to undo it (a sentence of
    its own); or nothing."""
    off = chat.frequency == Frequency.OFF
    if chat.paused and off:
        return _("But digests are off and paused: /frequency daily and /start turn them on.")
    if chat.paused:
        return _("But digests are paused: /start turns them on.")
    if off:
        return _("But digests are off: /frequency daily turns them on.")
    return ""


def describe_frequency(chat: Chat) -> str:
    if chat.frequency == Frequency.WEEKLY:
        return _("weekly, on {day}").format(day=weekday(chat.weekly_day))
    if chat.frequency == Frequency.OFF:
        return _("off (no scheduled digests; /digest still works)")
    return _(FREQUENCY_NAMES.get(chat.frequency, chat.frequency))


async def time_command(update: Update, context: BotContext) -> None:
    """/time HH:MM [HH:MM [HH:MM]]: when digests come, in the chat's timezone."""
    usage = _("When should digests come? For example: /time 07:30, or /time 08:00 18:00")
    await _change(update, context, usage, "time")


async def alerts(update: Update, context: BotContext) -> None:
    """/alerts N [max K] or /alerts off: instant alerts for briefs scoring N or more."""
    usage = _(
        "Alerts push a brief on your tags as soon as it arrives. For example: /alerts 8"
        " (scores 8 to 10), /alerts 8 max 5 (up to 5 a day; 3 unless you say), /alerts off"
    )
    await _change(update, context, usage, "alerts")


async def quiet(update: Update, context: BotContext) -> None:
    """/quiet HH:MM-HH:MM or /quiet off: no alerts in these local hours."""
    usage = _("When should alerts stay quiet? For example: /quiet 22:00-07:00, or /quiet off")
    await _change(update, context, usage, "quiet")


async def timezone(update: Update, context: BotContext) -> None:
    """/timezone ZONE: an IANA timezone, with suggestions for near misses."""
    usage = _("Which timezone? For example: /timezone Europe/Berlin or /timezone Asia/Kolkata")
    await _change(update, context, usage, "timezone")


async def frequency(update: Update, context: BotContext) -> None:
    """/frequency daily|weekdays|weekly [DAY]|off."""
    usage = _(
        "How often? /frequency daily, weekdays, weekly (e.g. /frequency weekly monday) or off"
    )
    await _change(update, context, usage, "frequency")


async def minscore(update: Update, context: BotContext) -> None:
    """/minscore N: only briefs scoring at least N."""
    usage = _("Which minimum score, 0 to 10? For example: /minscore 6")
    await _change(update, context, usage, "minscore")


async def size(update: Update, context: BotContext) -> None:
    """/size N: briefs per digest."""
    usage = _("How many briefs per digest, 1 to {max}? For example: /size 5").format(
        max=MAX_DIGEST_SIZE
    )
    await _change(update, context, usage, "size")


async def stop(update: Update, context: BotContext) -> None:
    """Pause scheduled digests."""
    chat = update.effective_chat
    if chat is None or not await require_group_admin(update, context):
        return
    await context.services.chats.pause(chat.id)
    await reply(update, [_("Digests paused. /start resumes them; /digest still works any time.")])


async def forget(update: Update, context: BotContext) -> None:
    """Ask before deleting everything kept about this chat."""
    if update.effective_chat is None or not await require_group_admin(update, context):
        return
    await reply(
        update,
        [_("Delete your tags and settings? This cannot be undone.")],
        keyboards.forget_keyboard(),
    )


async def forget_button(update: Update, context: BotContext, parts: list[str]) -> None:
    """The answer to the /forget question."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    if len(parts) != 2 or parts[1] not in {"yes", "no"}:
        await query.answer(stale_button())
        return
    if not await may_configure(update, context):
        await query.answer(_("Only this group's admins can do that."))
        return
    await query.answer()
    if parts[1] == "no":
        await query.edit_message_text(_("Kept everything as it was."))
        return
    await context.services.chats.forget(chat.id)
    await query.edit_message_text(_("Done: I deleted your tags and settings. /start begins again."))


async def setting_button(update: Update, context: BotContext, parts: list[str]) -> None:
    """A press on the /settings keyboard."""
    chat = await managed.to_change_by_button(update, context, known=len(parts) == 3)
    query = update.callback_query
    if chat is None or query is None:
        return
    chats = context.services.chats
    current = await chats.ensure(chat.id, type=chat.type, known=context.chat_row)
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
            await query.answer(stale_button())
            return
    except InputError:
        await query.answer(stale_button())
        return
    await query.answer(_("Saved"))
    if describe(updated) != describe(current) or field == "freq":
        filters = await context.services.filters.count(chat.id)
        await query.edit_message_text(
            chat.note + describe(updated, filters),
            reply_markup=keyboards.settings_keyboard(updated),
        )
