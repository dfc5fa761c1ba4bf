"""The typed handler context: ``context.services`` instead of untyped ``bot_data[...]``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import Application, CallbackContext, ExtBot

from digestbot.bot.metrics import Metrics
from digestbot.bot.stats import StatsService
from digestbot.briefs.feedadmin import FeedAdmin
from digestbot.briefs.ingest import Ingester
from digestbot.briefs.poller import FeedPoller
from digestbot.config import Settings
from digestbot.delivery.alerts import AlertPlanner
from digestbot.delivery.broadcasts import BroadcastService
from digestbot.delivery.leader import Leadership
from digestbot.delivery.planner import DigestPlanner
from digestbot.delivery.sender import SendBudget, Sender
from digestbot.readers.channels import ChannelService
from digestbot.readers.chats import ChatService
from digestbot.readers.digests import DigestService
from digestbot.readers.filters import FilterService
from digestbot.readers.saved import SavedService
from digestbot.store.chats import Reader
from digestbot.store.db import SessionFactory
from digestbot.store.models import Chat


@dataclass
class Services:
    """Everything handlers and jobs use, built once in the composition root (app.py)."""

    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    http: httpx.AsyncClient
    ingester: Ingester
    chats: ChatService
    digests: DigestService
    filters: FilterService
    planner: DigestPlanner
    alerts: AlertPlanner
    feeds: FeedPoller
    feed_admin: FeedAdmin
    sender: Sender
    broadcasts: BroadcastService
    stats: StatsService
    budget: SendBudget
    clock: Callable[[], datetime]
    channels: ChannelService
    saved: SavedService


class BotData:
    """``application.bot_data``: holds the services once ``post_init`` has built them."""

    def __init__(self) -> None:
        self.services: Services | None = None
        # Production (app.py builds both): who runs the background work, and /metrics.
        self.leadership: Leadership | None = None
        self.metrics: Metrics | None = None


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]):
    """The context every digestbot handler and job receives."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        chat_id: int | None = None,
        user_id: int | None = None,
    ) -> None:
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        # PTB builds one context per update and hands it to every handler group: the
        # chat as the language middleware read it (None: not read, or unknown), so the
        # handler's ``chats.ensure`` and a reading use case need not read it again (two
        # round trips less per /digest on PostgreSQL; bench/RESULTS.md, issue 19)
        self.reader: Reader | None = None

    @property
    def chat_row(self) -> Chat | None:
        """The chat's row as read for this update (for ``chats.ensure(known=...)``)."""
        return self.reader.chat if self.reader is not None else None

    @property
    def services(self) -> Services:
        services = self.bot_data.services
        if services is None:  # only before post_init ran, which PTB never dispatches in
            raise RuntimeError("services are not ready yet")
        return services
