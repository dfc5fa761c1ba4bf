"""Composition root: settings in, a ready python-telegram-bot Application out.

Every handler and job is registered in :func:`register_handlers`, in one block;
resources (engine, HTTP client) are opened in ``post_init`` and closed in
``post_shutdown``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from telegram import Bot, BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import (
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
from telegram.request import HTTPXRequest

from digestbot import db, jobs, sources
from digestbot.broadcasts import BroadcastService
from digestbot.chats import ChatDefaults, ChatService
from digestbot.config import Settings
from digestbot.context import BotContext, BotData, Services
from digestbot.delivery import CONCURRENCY, NO_PREVIEW, SendBudget, Sender, SharedRateLimiter
from digestbot.digests import DigestService
from digestbot.feeds import FeedPoller
from digestbot.handlers import admin, basics, buttons, membership, reading, settings, tags
from digestbot.handlers.guards import ErrorReporter, FloodGuard
from digestbot.ingest import Ingester, seed_if_empty
from digestbot.models import utcnow
from digestbot.planner import DigestPlanner
from digestbot.processing import PerChatUpdateProcessor
from digestbot.stats import StatsService

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
ADMIN_MENU: list[tuple[str, str]] = [
    ("broadcast", "Message all chats or a tag's followers"),
    ("broadcasts", "Recent broadcasts"),
    ("stats", "Users, deliveries, outbox, feeds"),
    ("ingest", "Fetch briefs from a URL"),
]


async def open_services(
    settings_: Settings,
    *,
    sender_bot: Bot,
    budget: SendBudget,
    clock: Callable[[], datetime] = utcnow,
    monotonic: Callable[[], float] = time.monotonic,
    seed: bool = True,
) -> Services:
    """Open the database (migrating SQLite, checking PostgreSQL), the HTTP client, the services."""
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
    sender = Sender(sessions, sender_bot, budget=budget, clock=clock, monotonic=monotonic)
    return Services(
        settings=settings_,
        engine=engine,
        sessions=sessions,
        http=http,
        ingester=Ingester(sessions, http),
        chats=ChatService(sessions, defaults, clock),
        digests=DigestService(sessions, clock),
        planner=DigestPlanner(sessions, clock, on_queued=sender.wake),
        feeds=FeedPoller(
            sessions,
            http,
            settings_.feed_urls,
            interval=timedelta(minutes=settings_.feed_poll_minutes),
            clock=clock,
        ),
        sender=sender,
        broadcasts=BroadcastService(
            sessions, send_rate=settings_.send_rate, clock=clock, on_queued=sender.broadcast_queued
        ),
        stats=StatsService(sessions, clock),
        budget=budget,
        clock=clock,
    )


async def close_services(services: Services) -> None:
    await services.http.aclose()
    await services.engine.dispose()


def register_handlers(
    app: BotApp, *, flood: FloodGuard | None = None, errors: ErrorReporter | None = None
) -> None:
    """Every handler of the bot, in one readable block."""
    app.add_handler(TypeHandler(object, flood or FloodGuard()), group=-1)

    new = filters.UpdateType.MESSAGE  # an edited command must not run again (/forget twice)

    def command(name: str, callback: Any) -> CommandHandler[BotContext, None]:
        return CommandHandler(name, callback, filters=new)

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
            # admin commands answer only admins, in private (see handlers/admin.py)
            command("broadcast", admin.broadcast),
            command("broadcasts", admin.broadcasts),
            command("stats", admin.stats),
            command("ingest", admin.ingest),
            MessageHandler(filters.Document.ALL & filters.ChatType.PRIVATE & new, admin.document),
            MessageHandler(filters.Regex(reading.BRIEF_LINK) & new, reading.brief_link),
            CallbackQueryHandler(buttons.button),
            ChatMemberHandler(membership.my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER),
            MessageHandler(filters.COMMAND & new, basics.unknown_command),
            MessageHandler(filters.TEXT & filters.ChatType.PRIVATE & new, admin.private_text),
        ]
    )
    app.add_error_handler(errors or ErrorReporter())


def register_jobs(app: BotApp) -> None:
    """Every scheduled job, in one block."""
    assert app.job_queue is not None
    app.job_queue.run_repeating(jobs.plan_digests, interval=jobs.PLAN_EVERY, first=1.0)
    app.job_queue.run_repeating(jobs.poll_feeds, interval=jobs.PLAN_EVERY, first=5.0)
    app.job_queue.run_repeating(
        jobs.broadcast_progress, interval=jobs.PROGRESS_EVERY, first=jobs.PROGRESS_EVERY
    )


async def set_menu(app: BotApp, admin_ids: list[int]) -> None:
    """Publish the command menu; a failure is logged and the bot runs on."""
    try:
        await app.bot.set_my_commands(
            [BotCommand(name, about) for name, about in MENU],
            scope=BotCommandScopeAllPrivateChats(),
        )
        await app.bot.set_my_commands([BotCommand(name, about) for name, about in MENU])
    except TelegramError as exc:
        log.warning("could not set the command menu (%s); running on", exc)
    for admin_id in admin_ids:  # admins see their commands in their own chat's menu
        try:
            await app.bot.set_my_commands(
                [BotCommand(name, about) for name, about in MENU + ADMIN_MENU],
                scope=BotCommandScopeChat(admin_id),
            )
        except TelegramError as exc:  # e.g. an admin who never opened the bot
            log.info("no admin menu for %s yet (%s)", admin_id, exc)


def build_application(
    settings_: Settings,
    *,
    token: str | None = None,
    clock: Callable[[], datetime] = utcnow,
    flood: FloodGuard | None = None,
    errors: ErrorReporter | None = None,
    rate_limit: bool = True,
    seed: bool = True,
    update_processor: BaseUpdateProcessor | None = None,
    background: bool = True,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> BotApp:
    """The bot, wired: handlers registered, resources opened on start and closed on stop.

    ``background`` runs the scheduled jobs and the outbox sender; tests that drive
    them by hand turn it off. ``clock``, ``monotonic`` and ``sleep`` are time, for
    tests to replace.
    """
    token = token or settings_.token()
    base_url = settings_.telegram_api_base_url
    budget = SendBudget(settings_.send_rate, monotonic=monotonic, sleep=sleep)
    # The sender has a Bot of its own, without PTB's rate limiter: it paces itself
    # and must see Telegram's 429s rather than have them retried behind its back.
    sender_bot = Bot(
        token,
        base_url=base_url,
        # one connection per concurrent request: httpcore checks every pooled
        # connection on each request, so spare ones cost CPU per message
        request=HTTPXRequest(connection_pool_size=CONCURRENCY, read_timeout=15.0),
    )
    stop_sender = asyncio.Event()
    sender_task: list[asyncio.Task[None]] = []

    async def post_init(app: BotApp) -> None:
        services = await open_services(
            settings_,
            sender_bot=sender_bot,
            budget=budget,
            clock=clock,
            monotonic=monotonic,
            seed=seed,
        )
        app.bot_data.services = services
        await sender_bot.initialize()
        await set_menu(app, settings_.admin_ids)
        if background:
            sender_task.append(asyncio.create_task(services.sender.run(stop_sender)))

    async def post_shutdown(app: BotApp) -> None:
        stop_sender.set()
        for task in sender_task:
            await task
        await sender_bot.shutdown()
        if app.bot_data.services is not None:
            await close_services(app.bot_data.services)
            app.bot_data.services = None

    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        .base_file_url(base_url.removesuffix("/bot") + "/file/bot")
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                tzinfo=settings_.default_zone,
                link_preview_options=NO_PREVIEW,  # a digest links many briefs
            )
        )
        .context_types(ContextTypes(context=BotContext, bot_data=BotData))
        .concurrent_updates(update_processor or PerChatUpdateProcessor())
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    if rate_limit:
        limiter = SharedRateLimiter(budget, overall_max_rate=settings_.send_rate, max_retries=3)
        # PTB's builder types its rate limiter generic as None before one is set.
        builder = builder.rate_limiter(limiter)  # type: ignore[arg-type]
    app: BotApp = builder.build()
    register_handlers(app, flood=flood, errors=errors)
    if background:
        register_jobs(app)
    return app
