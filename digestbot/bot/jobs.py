"""Scheduler ticks, wired to python-telegram-bot's JobQueue (APScheduler)."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Bot
from telegram.error import BadRequest, TelegramError

from digestbot import i18n, store
from digestbot.bot import keyboards
from digestbot.bot.context import BotContext, Services
from digestbot.bot.status import done_text, progress_text
from digestbot.store.db import session_scope

log = logging.getLogger(__name__)

PLAN_EVERY = 60.0  # seconds
PROGRESS_EVERY = 3.0  # seconds: how often a broadcast's status message may change
# Statements of store.PRUNE_BATCH rows a tick may run: a backlog (the first tick after
# an upgrade, a long pause) is worked off over several minutes, not in one long tick.
PRUNE_STATEMENTS = 20


async def plan_digests(context: BotContext) -> None:
    """Every minute: see :func:`minute_tick`."""
    await minute_tick(context.services)


async def minute_tick(services: Services) -> None:
    """Queue the alerts new briefs call for, then the digests that are due (the sender
    delivers both), and prune the outbox rows that ended more than
    ``OUTBOX_RETENTION_DAYS`` ago. Alerts first, so a brief alerted now is left out of a
    digest planned in the same tick."""
    await services.alerts.plan()
    await services.planner.plan()
    await prune_outbox(services)


async def prune_outbox(services: Services) -> int:
    """Delete finished outbox rows past retention, one transaction per batch so no lock
    is held for long; returns how many went."""
    before = services.clock() - timedelta(days=services.settings.outbox_retention_days)
    pruned = 0
    for _ in range(PRUNE_STATEMENTS):
        async with session_scope(services.sessions) as session:
            batch = await store.prune_outbox(session=session, before=before)
        pruned += batch
        if batch < store.PRUNE_BATCH:
            break
    if pruned:
        log.info("pruned %d outbox rows that ended before %s", pruned, before.isoformat())
    return pruned


async def poll_feeds(context: BotContext) -> None:
    """Every minute: fetch the feeds that are due (each keeps its own schedule)."""
    await context.services.feeds.poll()


async def broadcast_progress(context: BotContext) -> None:
    """Every few seconds: edit the status message of each broadcast under way."""
    await show_progress(context.bot, context.services)


async def show_progress(bot: Bot, services: Services) -> None:
    """Edit each running broadcast's status message whose counts moved; the scheduler
    calls this every few seconds, which is also what limits how often it edits."""
    for p in await services.broadcasts.progress():
        if p.status_message_id is None:
            continue
        # No update is being handled here: speak the admin's language by hand (their
        # /language, else what their Telegram said when their chat was registered, else
        # DEFAULT_LANGUAGE: an admin who never /start-ed the bot is not a known chat).
        with i18n.use(await services.chats.language(p.admin_id, None)):
            text, done = progress_text(p), done_text(p)
            markup = None if p.finished else keyboards.broadcast_running([p.id])
        try:
            await bot.edit_message_text(
                text,
                chat_id=p.admin_id,  # admins broadcast from their private chat
                message_id=p.status_message_id,
                reply_markup=markup,
            )
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():
                log.warning("broadcast %s: cannot update its status (%s)", p.id, exc.message)
        except TelegramError as exc:
            log.warning("broadcast %s: cannot update its status (%s)", p.id, exc)
        if not p.finished:
            continue
        try:  # an edit makes no sound, and the status message may be gone: say it anew
            await bot.send_message(p.admin_id, done)
        except TelegramError as exc:
            log.warning("broadcast %s: cannot report that it is done (%s)", p.id, exc)
