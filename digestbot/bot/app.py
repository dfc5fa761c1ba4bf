"""Composition root: settings in, a ready python-telegram-bot Application out.

Every handler and job is registered in :func:`register_handlers`, in one block;
resources (engine, HTTP client) are opened in ``post_init`` and closed in
``post_shutdown``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot, BotCommandScopeAllPrivateChats, BotCommandScopeChat, Update
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
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import HTTPXRequest

from digestbot import i18n, logs, store
from digestbot.bot import commands, jobs
from digestbot.bot.context import BotContext, BotData, Services
from digestbot.bot.handlers import admin, buttons, language, membership, reading
from digestbot.bot.handlers.guards import ErrorReporter, FloodGuard
from digestbot.bot.handlers.inline import INLINE_BURST, INLINE_REFILL, InlineSearch
from digestbot.bot.metrics import CONTENT_TYPE, Metrics
from digestbot.bot.processing import PerChatUpdateProcessor
from digestbot.bot.request import BoundedRequest
from digestbot.bot.stats import StatsService
from digestbot.bot.webhook import WebhookServer
from digestbot.briefs import fetcher
from digestbot.briefs.feedadmin import FeedAdmin
from digestbot.briefs.ingest import Ingester, seed_if_empty
from digestbot.briefs.poller import FeedPoller
from digestbot.config import Settings
from digestbot.delivery.alerts import AlertPlanner
from digestbot.delivery.broadcasts import BroadcastService
from digestbot.delivery.leader import Leadership
from digestbot.delivery.pacing import SendBudget, SharedRateLimiter
from digestbot.delivery.planner import DigestPlanner
from digestbot.delivery.sender import CONCURRENCY, NO_PREVIEW, Sender, SendOutcome
from digestbot.readers.channels import ChannelService
from digestbot.readers.chats import ChatDefaults, ChatService
from digestbot.readers.digests import DigestService
from digestbot.readers.filters import FilterService
from digestbot.readers.saved import SavedService
from digestbot.store import db
from digestbot.store.models import utcnow

log = logging.getLogger(__name__)

BotApp = Application[Any, BotContext, Any, Any, BotData, Any]


async def open_services(
    settings_: Settings,
    *,
    sender_bot: Bot,
    budget: SendBudget,
    clock: Callable[[], datetime] = utcnow,
    monotonic: Callable[[], float] = time.monotonic,
    seed: bool = True,
    on_outcome: Callable[[SendOutcome], None] | None = None,
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
    http = fetcher.make_client(allow_private=settings_.feed_allow_private)
    poller = FeedPoller(
        sessions,
        http,
        settings_.feed_urls,
        interval=timedelta(minutes=settings_.feed_poll_minutes),
        deadline=settings_.feed_timeout,
        clock=clock,
    )
    try:
        await poller.ensure_configured()  # FEED_URLS as feeds, so /feeds shows them at once
    except BaseException:
        await http.aclose()
        await engine.dispose()
        raise
    defaults = ChatDefaults(settings_.default_timezone, settings_.default_digest_time)
    sender = Sender(
        sessions, sender_bot, budget=budget, clock=clock, monotonic=monotonic, on_outcome=on_outcome
    )
    chats = ChatService(sessions, defaults, clock)
    return Services(
        settings=settings_,
        engine=engine,
        sessions=sessions,
        http=http,
        ingester=Ingester(sessions, http, deadline=settings_.feed_timeout),
        chats=chats,
        digests=DigestService(sessions, clock),
        filters=FilterService(sessions, clock),
        planner=DigestPlanner(sessions, clock, on_queued=sender.wake),
        alerts=AlertPlanner(sessions, clock, on_queued=sender.wake),
        feeds=poller,
        feed_admin=FeedAdmin(sessions, clock),
        sender=sender,
        broadcasts=BroadcastService(
            sessions, send_rate=settings_.send_rate, clock=clock, on_queued=sender.wake
        ),
        stats=StatsService(sessions, clock),
        budget=budget,
        clock=clock,
        channels=ChannelService(sessions, chats),
        saved=SavedService(sessions, clock),
    )


async def close_services(services: Services) -> None:
    await services.http.aclose()
    await services.engine.dispose()


def register_handlers(
    app: BotApp,
    *,
    flood: FloodGuard | None = None,
    errors: ErrorReporter | None = None,
    metrics: Metrics | None = None,
) -> None:
    """Every handler of the bot, in one readable block."""

    async def observe(update: object, _context: BotContext) -> None:
        """Before anything else: count the update, and tag this task's log lines with its chat."""
        chat = update.effective_chat if isinstance(update, Update) else None
        logs.chat_id.set(chat.id if chat is not None else None)
        if metrics is not None:
            metrics.count_update(update)

    app.add_handler(TypeHandler(object, observe), group=-3)
    # the chat's language, before anything that may reply (the flood guard does)
    app.add_handler(TypeHandler(object, language.speak_chat_language), group=-2)
    flood = flood or FloodGuard()
    app.add_handler(TypeHandler(object, flood), group=-1)
    # inline queries have a bucket of their own, on the same clock
    inline_limit = FloodGuard(burst=INLINE_BURST, refill=INLINE_REFILL, clock=flood.clock)

    new = filters.UpdateType.MESSAGE  # an edited command must not run again (/forget twice)
    app.add_handlers(commands.command_handlers(new))  # every command, from the one table
    app.add_handlers(
        [
            MessageHandler(filters.Document.ALL & filters.ChatType.PRIVATE & new, admin.document),
            MessageHandler(filters.Regex(reading.BRIEF_LINK) & new, reading.brief_link),
            CallbackQueryHandler(buttons.button),
            ChatMemberHandler(membership.my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER),
            InlineQueryHandler(InlineSearch(inline_limit)),
            MessageHandler(filters.COMMAND & new, commands.unknown_command),
            MessageHandler(filters.TEXT & filters.ChatType.PRIVATE & new, admin.private_text),
        ]
    )
    app.add_error_handler(errors or ErrorReporter())


def register_jobs(app: BotApp, leadership: Leadership, metrics: Metrics | None = None) -> None:
    """Every scheduled job, in one block; each tick does nothing on a standby replica."""
    assert app.job_queue is not None
    plan = jobs.plan_digests
    if metrics is not None:
        assembly = metrics.assembly

        async def plan(context: BotContext) -> None:
            with assembly.time():
                await jobs.plan_digests(context)

    app.job_queue.run_repeating(leadership.gate(plan), interval=jobs.PLAN_EVERY, first=1.0)
    app.job_queue.run_repeating(
        leadership.gate(jobs.poll_feeds), interval=jobs.PLAN_EVERY, first=5.0
    )
    app.job_queue.run_repeating(
        leadership.gate(jobs.broadcast_progress),
        interval=jobs.PROGRESS_EVERY,
        first=jobs.PROGRESS_EVERY,
    )


async def set_menu(app: BotApp, admin_ids: list[int]) -> None:
    """Publish the command menu in every language; a failure is logged and the bot runs on.

    Telegram shows a user the menu set for their app's language, else the one set with no
    language, which is in ``DEFAULT_LANGUAGE``.
    """
    languages: list[tuple[str, str | None]] = [(i18n.default_language(), None)]
    languages += [(code, code) for code in i18n.LANGUAGES]
    for spoken, code in languages:
        with i18n.use(spoken):
            private, group = commands.menu(), commands.menu(in_group=True)
            admin = commands.menu(admin=True)
        try:
            await app.bot.set_my_commands(
                private, scope=BotCommandScopeAllPrivateChats(), language_code=code
            )
            await app.bot.set_my_commands(group, language_code=code)
        except TelegramError as exc:
            log.warning("could not set the command menu (%s); running on", exc)
        for admin_id in admin_ids:  # admins see their commands in their own chat's menu
            try:
                await app.bot.set_my_commands(
                    admin, scope=BotCommandScopeChat(admin_id), language_code=code
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
    freeze_heap: bool = False,
) -> BotApp:
    """The bot, wired: handlers registered, resources opened on start and closed on stop.

    ``background`` runs the scheduled jobs and the outbox sender; tests that drive
    them by hand turn it off. ``clock``, ``monotonic`` and ``sleep`` are time, for
    tests to replace. ``freeze_heap``: once started, what the process holds is kept
    out of the garbage collector's passes (see :func:`freeze_heap_now`); for a process that
    runs one bot (``digestbot run``), not for tests that build hundreds.
    """
    token = token or settings_.token()
    i18n.configure(settings_.default_language)
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
    metrics = Metrics(clock=clock, monotonic=monotonic)

    async def lead(stop: asyncio.Event) -> None:
        """What only the leader runs besides the gated jobs: the outbox sender, which
        first puts back what a dead leader had claimed (Sender.run)."""
        services = app.bot_data.services
        assert services is not None
        if app.job_queue is not None:  # the ticks a standby skipped: catch up now
            for job in app.job_queue.jobs():
                job.job.modify(next_run_time=datetime.now(UTC))
        await services.sender.run(stop)

    leadership = Leadership(
        settings_.database_url, lead, retry=settings_.leader_retry_seconds, monotonic=monotonic
    )
    stop_election = asyncio.Event()
    election_task: list[asyncio.Task[None]] = []

    async def post_init(app: BotApp) -> None:
        services = await open_services(
            settings_,
            sender_bot=sender_bot,
            budget=budget,
            clock=clock,
            monotonic=monotonic,
            seed=seed,
            on_outcome=metrics.outcome,
        )
        app.bot_data.services = services
        await sender_bot.initialize()
        await set_menu(app, settings_.admin_ids)
        if background:
            election_task.append(asyncio.create_task(leadership.run(stop_election)))
        if freeze_heap:
            freeze_heap_now()

    async def post_shutdown(app: BotApp) -> None:
        stop_election.set()
        for task in election_task:
            await task  # stops the sender gracefully and frees the lock
        await sender_bot.shutdown()
        if app.bot_data.services is not None:
            await close_services(app.bot_data.services)
            app.bot_data.services = None

    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        # a few replies in flight at a time, not one connection per handler (see
        # bot/request.py); REPLY_CONNECTIONS a time still outpace the shared budget
        .request(BoundedRequest(REPLY_CONNECTIONS))
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
    app.bot_data.metrics = metrics
    app.bot_data.leadership = leadership
    register_handlers(app, flood=flood, errors=errors, metrics=metrics)
    # the updates counter's labels: the commands the bot answers, and no others
    metrics.commands = frozenset(
        name
        for handlers in app.handlers.values()
        for handler in handlers
        if isinstance(handler, CommandHandler)
        for name in handler.commands
    )
    if background:
        register_jobs(app, leadership, metrics)
    return app


# --- the process: its heap and its Bot API connections -------------------------------------


def freeze_heap_now() -> None:
    """Keep every object alive now out of the garbage collector's full passes.

    Modules, services, caches and compiled statements live as long as the bot, and a
    full pass walked them all: ~150,000 objects, 60-94 ms with every update in flight
    paused, the tail of the bot's p99 at 100 updates a second (bench/RESULTS.md, 8 Dec
    2026). Frozen objects are never freed, so garbage is collected first."""
    gc.collect()
    gc.freeze()


# The bot's requests in flight at once (replies, button answers; the sender has its own
# Bot, with 4): 8 at ~150 ms a round trip to Telegram still send over 50 a second, above
# the 30 a second Telegram allows a bot. 16 left httpcore's pool walks at a quarter of a
# reply's CPU, 8 at a sixth (bench/RESULTS.md, 8 Dec 2026).
REPLY_CONNECTIONS = 8


# --- webhook mode: the HTTP server, /healthz, /metrics --------------------------------------

WEBHOOK_SECRET_KEY = "webhook_secret"
HEALTH_TIMEOUT = 3.0  # seconds; a database slower than this counts as down


async def webhook_secret(settings_: Settings, sessions: db.SessionFactory) -> str:
    """``WEBHOOK_SECRET``, or one generated once and kept in the database for every replica."""
    if settings_.webhook_secret is not None:
        return settings_.webhook_secret.get_secret_value()
    async with db.session_scope(sessions) as session:
        return await store.get_or_set_value(
            session=session, key=WEBHOOK_SECRET_KEY, value=secrets.token_urlsafe(32)
        )


async def health(app: BotApp) -> tuple[bool, dict[str, Any]]:
    """Database reachable, election running, and the sender alive on the leader."""
    services, leadership = app.bot_data.services, app.bot_data.leadership
    database = "down"
    if services is not None:
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT), services.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
            database = "ok"
        except (SQLAlchemyError, OSError, TimeoutError):
            pass
    leader = leadership is not None and leadership.is_leader
    if leadership is None or not leadership.running:
        sender = "stopped"
    elif leader:
        sender = "running" if leadership.work_alive else "dead"
    elif leadership.in_touch:
        sender = "standby"  # another replica sends; this one takes over if it dies
    else:
        sender = "no election"  # cannot ask for the lock: would never take over
    ok = database == "ok" and sender in {"running", "standby"}
    return ok, {"database": database, "leader": leader, "sender": sender}


async def render_metrics(app: BotApp) -> tuple[bytes, str]:
    metrics, services = app.bot_data.metrics, app.bot_data.services
    assert metrics is not None
    leader = app.bot_data.leadership is not None and app.bot_data.leadership.is_leader
    try:
        body = await metrics.render(services.sessions if services else None, leader=leader)
    except (SQLAlchemyError, OSError):  # the counters still count; the outbox gauges wait
        log.warning("metrics: the outbox could not be read")
        body = await metrics.render(None, leader=leader)
    return body, CONTENT_TYPE


def webhook_server(
    app: BotApp, settings_: Settings, secret: str, *, port: int | None = None
) -> WebhookServer:
    """The HTTP server feeding ``app``'s update queue, with /healthz and /metrics."""
    host, listen_port = settings_.webhook_address

    async def on_update(data: dict[str, Any]) -> None:
        try:
            update = Update.de_json(data, app.bot)
        except Exception as exc:  # its content (a user's text) stays out of the logs
            log.warning(
                "webhook: update %s could not be read (%s)",
                data.get("update_id"),
                type(exc).__name__,
            )
            return
        await app.update_queue.put(update)

    return WebhookServer(
        host=host,
        port=listen_port if port is None else port,
        path=settings_.webhook_path,
        secret=secret,
        on_update=on_update,
        health=lambda: health(app),
        metrics=lambda: render_metrics(app),
    )


def health_server(app: BotApp, settings_: Settings, *, port: int | None = None) -> WebhookServer:
    """Polling mode's HTTP server at ``HEALTH_LISTEN``: /healthz and /metrics only."""
    address = settings_.health_address
    assert address is not None
    host, listen_port = address
    return WebhookServer(
        host=host,
        port=listen_port if port is None else port,
        health=lambda: health(app),
        metrics=lambda: render_metrics(app),
    )


def serve_health_while_polling(app: BotApp, settings_: Settings) -> None:
    """With ``HEALTH_LISTEN`` set, serve /healthz and /metrics while ``run_polling`` runs:
    started once the services are built (``post_init``), stopped before they close."""
    if settings_.health_address is None:
        return
    server = health_server(app, settings_)
    started, closing = app.post_init, app.post_shutdown
    assert started is not None and closing is not None

    async def post_init(app: BotApp) -> None:
        await started(app)
        await server.start()

    async def post_shutdown(app: BotApp) -> None:
        await server.stop()
        await closing(app)

    app.post_init, app.post_shutdown = post_init, post_shutdown


async def serve_webhook(app: BotApp, settings_: Settings, stop: asyncio.Event) -> None:
    """Run ``app`` in webhook mode until ``stop`` is set: serve, register, wait, tear down.

    Every replica registers the same URL and secret (setWebhook is idempotent) and never
    deletes the webhook on the way out: the other replicas are still serving it.
    """
    await app.initialize()
    try:
        assert app.post_init is not None
        await app.post_init(app)
        services = app.bot_data.services
        assert services is not None
        secret = await webhook_secret(settings_, services.sessions)
        await app.start()
        server = webhook_server(app, settings_, secret)
        await server.start()
        try:
            await app.bot.set_webhook(
                url=str(settings_.webhook_url),
                secret_token=secret,
                allowed_updates=Update.ALL_TYPES,
                drop_pending_updates=False,
            )
            log.info("webhook registered at %s; serving updates over HTTP", settings_.webhook_url)
            await stop.wait()
        finally:
            await server.stop()
            await app.stop()
    finally:
        with contextlib.suppress(Exception):
            await app.shutdown()
        assert app.post_shutdown is not None
        await app.post_shutdown(app)
