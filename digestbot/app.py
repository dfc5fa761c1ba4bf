"""Composition root: settings in, a ready python-telegram-bot Application out.

Every handler and job is registered in :func:`register_handlers`, in one block;
resources (engine, HTTP client) are opened in ``post_init`` and closed in
``post_shutdown``.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import BotCommand, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CommandHandler,
    ContextTypes,
    Defaults,
)

from digestbot import db, sources
from digestbot.config import Settings
from digestbot.context import BotContext, BotData, Services
from digestbot.ingest import Ingester, seed_if_empty

log = logging.getLogger(__name__)

BotApp = Application[Any, BotContext, Any, Any, BotData, Any]

COMMANDS: list[tuple[str, str]] = [
    ("start", "register and pick tags"),
    ("help", "what I can do"),
]


async def open_services(settings: Settings) -> Services:
    """Open the database (migrating SQLite, checking PostgreSQL) and the HTTP client."""
    engine = db.create_engine(settings.database_url)
    try:
        await db.ensure_schema(engine, auto_upgrade=settings.is_sqlite)
        sessions = db.session_factory(engine)
        await seed_if_empty(sessions)
    except BaseException:
        await engine.dispose()
        raise
    http = sources.make_client()
    return Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        http=http,
        ingester=Ingester(sessions, http),
    )


async def close_services(services: Services) -> None:
    await services.http.aclose()
    await services.engine.dispose()


async def start(update: Update, context: BotContext) -> None:
    """Greet the user."""
    if update.effective_message is None:
        return
    await update.effective_message.reply_text(
        "Hi! I send short digests of news briefs on the tags you follow.\nSend /help to begin."
    )


async def help_command(update: Update, context: BotContext) -> None:
    """List the commands."""
    if update.effective_message is None:
        return
    lines = [f"/{name} — {about}" for name, about in COMMANDS]
    await update.effective_message.reply_text("\n".join(lines))


def register_handlers(app: BotApp) -> None:
    """Every handler and job of the bot, in one readable block."""
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("help", help_command))


def build_application(settings: Settings, *, token: str | None = None) -> BotApp:
    """The bot, wired: handlers registered, resources opened on start and closed on stop."""

    async def post_init(app: BotApp) -> None:
        app.bot_data.services = await open_services(settings)
        try:
            await app.bot.set_my_commands([BotCommand(n, d) for n, d in COMMANDS])
        except TelegramError as exc:
            log.warning("could not set the command menu (%s); running on", exc)

    async def post_shutdown(app: BotApp) -> None:
        if app.bot_data.services is not None:
            await close_services(app.bot_data.services)
            app.bot_data.services = None

    context_types = ContextTypes(context=BotContext, bot_data=BotData)
    app: BotApp = (
        ApplicationBuilder()
        .token(token or settings.token())
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.telegram_api_base_url.replace("/bot", "/file/bot", 1))
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.default_zone))
        .context_types(context_types)
        .rate_limiter(AIORateLimiter(overall_max_rate=settings.send_rate, max_retries=3))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
        .build()
    )
    register_handlers(app)
    return app
