"""Composition root: settings in, a ready python-telegram-bot Application out.

Every handler and job is registered in :func:`register_handlers`, in one block;
resources (engine, HTTP client) are opened in ``post_init`` and closed in
``post_shutdown``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from telegram import BotCommand, BotCommandScopeAllPrivateChats
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from digestbot import db, sources
from digestbot.chats import ChatDefaults, ChatService
from digestbot.config import Settings
from digestbot.context import BotContext, BotData, Services
from digestbot.digests import DigestService
from digestbot.handlers import basics, buttons, membership, reading, settings, tags
from digestbot.handlers.guards import ErrorReporter, FloodGuard
from digestbot.ingest import Ingester, seed_if_empty
from digestbot.models import utcnow
from digestbot.processing import PerChatUpdateProcessor

log = logging.getLogger(__name__)

BotApp = Application[Any, BotContext, Any, Any, BotData, Any]

# The command menu Telegram shows; /help lists every command.
MENU: list[tuple[str, str]] = [
    ("digest", "What's new on your tags"),
    ("summary", "One line per recent brief"),
    ("watch", "What to watch next"),
    ("tags", "Pick tags to follow"),
    ("mytags", "Tags you follow"),
    ("search", "Find briefs by words"),
    ("settings", "Time, timezone, frequency, score"),
    ("help", "Everything I can do"),
]


async def open_services(
    settings_: Settings, *, clock: Callable[[], datetime] = utcnow, seed: bool = True
) -> Services:
    """Open the database (migrating SQLite, checking PostgreSQL) and the HTTP client."""
    engine = db.create_engine(settings_.database_url)
    try:
        await db.ensure_schema(engine, auto_upgrade=settings_.is_sqlite)
        sessions = db.session_factory(engine)
        if seed:
            await seed_if_empty(sessions)
    except BaseException:
        await engine.dispose()
        raise
    http = sources.make_client()
    defaults = ChatDefaults(settings_.default_timezone, settings_.default_digest_time)
    return Services(
        settings=settings_,
        engine=engine,
        sessions=sessions,
        http=http,
        ingester=Ingester(sessions, http),
        chats=ChatService(sessions, defaults, clock),
        digests=DigestService(sessions, clock),
        clock=clock,
    )


async def close_services(services: Services) -> None:
    await services.http.aclose()
    await services.engine.dispose()


def register_handlers(app: BotApp, *, flood: FloodGuard | None = None) -> None:
    """Every handler of the bot, in one readable block."""
    app.add_handler(TypeHandler(object, flood or FloodGuard()), group=-1)

    command = CommandHandler
    app.add_handlers(
        [
            command("start", basics.start),
            command("help", basics.help_command),
            command("tags", tags.tags),
            command("subscribe", tags.subscribe),
            command("unsubscribe", tags.unsubscribe),
            command("mytags", tags.mytags),
            command("digest", reading.digest),
            command("summary", reading.summary),
            command("watch", reading.watch),
            command("brief", reading.brief),
            command("search", reading.search),
            command("settings", settings.settings),
            command("time", settings.time_command),
            command("timezone", settings.timezone),
            command("frequency", settings.frequency),
            command("minscore", settings.minscore),
            command("size", settings.size),
            command("stop", settings.stop),
            command("forget", settings.forget),
            MessageHandler(filters.Regex(reading.BRIEF_LINK), reading.brief_link),
            CallbackQueryHandler(buttons.button),
            ChatMemberHandler(membership.my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER),
            MessageHandler(filters.COMMAND, basics.unknown_command),
            MessageHandler(filters.TEXT & filters.ChatType.PRIVATE, basics.plain_text),
        ]
    )
    app.add_error_handler(ErrorReporter())


async def set_menu(app: BotApp) -> None:
    """Publish the command menu; a failure is logged and the bot runs on."""
    try:
        await app.bot.set_my_commands(
            [BotCommand(name, about) for name, about in MENU],
            scope=BotCommandScopeAllPrivateChats(),
        )
        await app.bot.set_my_commands([BotCommand(name, about) for name, about in MENU])
    except TelegramError as exc:
        log.warning("could not set the command menu (%s); running on", exc)


def build_application(
    settings_: Settings,
    *,
    token: str | None = None,
    clock: Callable[[], datetime] = utcnow,
    flood: FloodGuard | None = None,
    rate_limit: bool = True,
    seed: bool = True,
    update_processor: BaseUpdateProcessor | None = None,
) -> BotApp:
    """The bot, wired: handlers registered, resources opened on start and closed on stop."""

    async def post_init(app: BotApp) -> None:
        app.bot_data.services = await open_services(settings_, clock=clock, seed=seed)
        await set_menu(app)

    async def post_shutdown(app: BotApp) -> None:
        if app.bot_data.services is not None:
            await close_services(app.bot_data.services)
            app.bot_data.services = None

    base_url = settings_.telegram_api_base_url
    builder = (
        ApplicationBuilder()
        .token(token or settings_.token())
        .base_url(base_url)
        .base_file_url(base_url.removesuffix("/bot") + "/file/bot")
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=settings_.default_zone))
        .context_types(ContextTypes(context=BotContext, bot_data=BotData))
        .concurrent_updates(update_processor or PerChatUpdateProcessor())
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    if rate_limit:
        limiter = AIORateLimiter(overall_max_rate=settings_.send_rate, max_retries=3)
        # PTB's builder types its rate limiter generic as None before one is set.
        builder = builder.rate_limiter(limiter)  # type: ignore[arg-type]
    app: BotApp = builder.build()
    register_handlers(app, flood=flood)
    return app
