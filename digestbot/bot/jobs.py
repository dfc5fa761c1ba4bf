"""Scheduler ticks, wired to python-telegram-bot's JobQueue (APScheduler)."""

from __future__ import annotations

import logging

from digestbot.bot.context import BotContext
from digestbot.bot.handlers import admin

log = logging.getLogger(__name__)

PLAN_EVERY = 60.0  # seconds
PROGRESS_EVERY = 3.0  # seconds: how often a broadcast's status message may change


async def plan_digests(context: BotContext) -> None:
    """Every minute: queue the digests that are due; the sender delivers them."""
    await context.services.planner.plan()


async def poll_feeds(context: BotContext) -> None:
    """Every minute: fetch the feeds that are due (each keeps its own schedule)."""
    await context.services.feeds.poll()


async def broadcast_progress(context: BotContext) -> None:
    """Every few seconds: edit the status message of each broadcast under way."""
    await admin.show_progress(context.bot, context.services)
