"""The real bot, against the fake Bot API server, on a real database, with a clock tests move."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import select
from telegram import Update

from digestbot import store
from digestbot.bot.app import BotApp, build_application
from digestbot.bot.context import Services
from digestbot.bot.handlers.guards import ErrorReporter, FloodGuard
from digestbot.bot.processing import PerChatUpdateProcessor
from digestbot.briefs.parse import BriefData
from digestbot.config import load_settings
from digestbot.fakeapi import ChatHandle, FakeBotAPI, RecordedRequest, SimUser
from digestbot.store import db
from digestbot.store.models import Outbox, OutboxStatus
from tests.telegram_html import assert_valid

SENDS = {"sendMessage", "editMessageText", "editMessageReplyMarkup", "copyMessage"}


@dataclass
class Clock:
    """Wall time and monotonic time that only move when a test says so."""

    now: datetime = datetime(2026, 10, 1, 0, 0, tzinfo=UTC)
    ticks: float = 1000.0

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.ticks

    def advance(self, **delta: float) -> None:
        step = timedelta(**delta)
        self.now += step
        self.ticks += step.total_seconds()

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (never backwards)."""
        assert moment >= self.now, (moment, self.now)
        self.advance(seconds=(moment - self.now).total_seconds())

    async def sleep(self, seconds: float) -> None:
        """What the bot's "sleep" does in tests: time passes at once."""
        self.advance(seconds=max(seconds, 0.0))


class TrackingProcessor(PerChatUpdateProcessor):
    """The bot's own processor, telling tests when each update is fully handled."""

    def __init__(self) -> None:
        super().__init__()
        self.done: dict[int, asyncio.Event] = {}

    def event(self, update_id: int) -> asyncio.Event:
        return self.done.setdefault(update_id, asyncio.Event())

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        try:
            await super().do_process_update(update, coroutine)
        finally:
            if isinstance(update, Update):
                self.event(update.update_id).set()


@dataclass
class Bot:
    server: FakeBotAPI
    app: BotApp
    clock: Clock
    processor: TrackingProcessor
    admin_ids: list[int] = field(default_factory=list)

    @property
    def services(self) -> Services:
        assert self.app.bot_data.services is not None
        return self.app.bot_data.services

    async def handled(self, update_id: int) -> None:
        await asyncio.wait_for(self.processor.event(update_id).wait(), timeout=10)

    async def say(
        self, chat: ChatHandle, text: str, from_user: SimUser | int | None = None
    ) -> list[RecordedRequest]:
        """A user sends ``text``; returns what the bot sent in reply (checked as valid HTML)."""
        mark = self.server.mark()
        await self.handled(await self.server.send_message(chat, text, from_user))
        return self.sent_since(mark)

    async def press(
        self, chat: ChatHandle, message_id: int, data: str, from_user: SimUser | int | None = None
    ) -> list[RecordedRequest]:
        mark = self.server.mark()
        update_id = await self.server.press_button(chat, message_id, data, from_user, strict=False)
        await self.handled(update_id)
        return self.server.requests[mark:]

    async def update(self, update_id: int) -> list[RecordedRequest]:
        mark = self.server.mark()
        await self.handled(update_id)
        return self.server.requests[mark:]

    def sent_since(self, mark: int) -> list[RecordedRequest]:
        sent = [r for r in self.server.requests[mark:] if r.method in SENDS]
        for request in sent:
            if request.method != "copyMessage" and "text" in request.params:
                assert_valid(str(request.params["text"]))
        return sent

    async def texts(self, chat: ChatHandle, text: str, from_user: Any = None) -> list[str]:
        """Just the texts of the bot's answers to ``text``."""
        return [str(r.params.get("text", "")) for r in await self.say(chat, text, from_user)]

    async def deliver(self, *, max_rounds: int = 500) -> int:
        """Run the outbox sender until nothing is left to send, moving the clock to each
        retry or pacing time as it comes; returns rows handled."""
        handled = 0
        for _ in range(max_rounds):
            done = await self.services.sender.drain_once()
            handled += done
            if done:
                continue
            async with self.services.sessions() as session:
                waiting = (
                    await session.exec(
                        select(sa.func.min(Outbox.next_attempt_at)).where(
                            Outbox.status == OutboxStatus.PENDING,
                            Outbox.next_attempt_at > self.clock.now,
                        )
                    )
                ).one()
            if waiting is None:
                return handled
            self.clock.set(waiting)
        raise AssertionError("the outbox did not drain")

    async def outbox(self) -> list[Outbox]:
        async with self.services.sessions() as session:
            return list(await session.exec(select(Outbox).order_by(Outbox.id)))

    async def add_briefs(self, briefs: Sequence[BriefData]) -> list[int]:
        """Store briefs as ingestion would; returns their ids in order."""
        async with db.session_scope(self.services.sessions) as session:
            await store.upsert_briefs(session=session, briefs=list(briefs))
            ids = []
            for brief in briefs:
                found = await store.find_items(session=session, limit=1000, order="latest")
                ids.append(next(i.id for i in found if i.brief.title == brief.title))
            return ids


@asynccontextmanager
async def running_bot(
    database_url: str,
    *,
    seed: bool = False,
    admin_ids: Sequence[int] = (),
    before_start: Callable[[FakeBotAPI], None] | None = None,
    freeze_heap: bool = False,
    **env: str,
) -> AsyncIterator[Bot]:
    """Start the fake server and the real Application polling it; stop both after."""
    clock = Clock()
    async with FakeBotAPI() as server:
        if before_start is not None:
            before_start(server)
        settings = load_settings(
            None,
            database_url=database_url,
            telegram_api_base_url=server.base_url,
            admin_ids=list(admin_ids),
            **env,
        )
        if database_url.startswith("postgresql"):
            engine = db.create_engine(database_url)
            await db.upgrade(engine)
            await engine.dispose()
        processor = TrackingProcessor()
        app = build_application(
            settings,
            token=server.token,
            clock=clock,
            flood=FloodGuard(clock=clock.monotonic),
            errors=ErrorReporter(clock=clock.monotonic),
            rate_limit=False,
            seed=seed,
            update_processor=processor,
            background=False,
            monotonic=clock.monotonic,
            sleep=clock.sleep,
            freeze_heap=freeze_heap,
        )
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            yield Bot(server, app, clock, processor, list(admin_ids))
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()
            assert app.post_shutdown is not None
            await app.post_shutdown(app)
        assert not server.errors, server.errors
