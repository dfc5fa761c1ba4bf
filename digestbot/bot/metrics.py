"""Prometheus metrics, in a registry of the application's own (tests stay independent).

Counters are bumped from thin hooks: :meth:`Metrics.count_update` (a group -2
``TypeHandler``, before anything else sees the update) and :meth:`Metrics.outcome`
(the sender's ``on_outcome``). The outbox's depth and oldest pending age are read
from the database at scrape time, by :meth:`Metrics.render`.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from datetime import datetime

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE
from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from telegram import Update

from digestbot import store
from digestbot.delivery.failures import Failure
from digestbot.delivery.sender import SendOutcome
from digestbot.store.db import SessionFactory
from digestbot.store.models import utcnow

__all__ = ["CONTENT_TYPE", "Metrics"]

# Without this every counter also exports a ``*_created`` timestamp series: twice the
# series for nothing Prometheus' rate() needs. (A process-wide switch of the library.)
disable_created_metrics()  # type: ignore[no-untyped-call]

RATE_WINDOW = 60.0  # seconds the send rate is averaged over
OTHER_COMMAND = "other_command"


def update_kind(update: object, commands: frozenset[str]) -> str:
    """A small, fixed set of labels: the command name, or the kind of update."""
    if not isinstance(update, Update):
        return "other"
    message = update.message
    if message is not None and message.text and message.text.startswith("/"):
        # "/" alone or followed only by whitespace ("/ ", "/\u00a0") has no first word
        words = message.text[1:].split(maxsplit=1)
        name = words[0].split("@", 1)[0].lower() if words else ""
        if name.startswith("brief_"):
            return "brief"  # the /brief_ID links
        return name if name in commands else OTHER_COMMAND
    for kind in Update.ALL_TYPES:
        if getattr(update, kind, None) is not None:
            return str(kind)
    return "other"


def failure_reason(outcome: SendOutcome) -> str:
    """The outcome's failure as one of a few label values (see delivery/failures.py)."""
    return (outcome.failure or Failure.OTHER).label


class Metrics:
    """Every digestbot metric, registered in one :class:`CollectorRegistry`."""

    def __init__(
        self,
        *,
        commands: frozenset[str] = frozenset(),
        clock: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = CollectorRegistry()
        self.commands = commands
        self._clock = clock
        self._monotonic = monotonic
        self._recent_sends: deque[float] = deque()
        r = self.registry
        # the standard process_* (memory, CPU, open files) and python_* (version, garbage
        # collection) series every Prometheus dashboard expects; the library's own
        # collectors, each already serving the default registry, read from this one too
        for standard in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
            r.register(standard)
        self.updates = Counter(
            "digestbot_updates", "Updates received, by command or update type", ["kind"], registry=r
        )
        self.sent = Counter(
            "digestbot_messages_sent", "Outbox messages Telegram accepted", registry=r
        )
        self.failed = Counter(
            "digestbot_messages_failed",
            "Outbox messages given up on, by reason",
            ["reason"],
            registry=r,
        )
        self.retried = Counter(
            "digestbot_messages_retried",
            "Outbox sends to try again later, by reason",
            ["reason"],
            registry=r,
        )
        self.outbox_depth = Gauge(
            "digestbot_outbox_pending", "Outbox rows not sent yet (pending or sending)", registry=r
        )
        self.oldest_pending = Gauge(
            "digestbot_outbox_oldest_pending_seconds",
            "Age of the oldest unsent outbox row (0 when none)",
            registry=r,
        )
        self.assembly = Histogram(
            "digestbot_digest_assembly_seconds",
            "Time to plan, assemble and queue the due digests (one scheduler tick)",
            registry=r,
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
        )
        # a morning's queue drains at SEND_RATE: minutes to hours late is normal there
        self.lateness = Histogram(
            "digestbot_digest_lateness_seconds",
            "How long after its due moment each digest was accepted by Telegram",
            registry=r,
            buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400),
        )
        self.send_rate = Gauge(
            "digestbot_send_rate",
            f"Messages sent per second by this replica, over the last {RATE_WINDOW:.0f} s",
            registry=r,
        )
        self.leader = Gauge(
            "digestbot_leader", "1 when this replica runs the jobs and the sender", registry=r
        )

    def count_update(self, update: object) -> None:
        self.updates.labels(update_kind(update, self.commands)).inc()

    def outcome(self, outcome: SendOutcome) -> None:
        """The sender's hook: called once per row it tried."""
        if outcome.sent:
            self.sent.inc()
            if (late := outcome.lateness) is not None:
                self.lateness.observe(late)
            self._recent_sends.append(self._monotonic())
            self._rate()  # forget sends past the window: nothing else may ever scrape them
        elif outcome.retry_in is not None:
            self.retried.labels(failure_reason(outcome)).inc()
        else:
            self.failed.labels(failure_reason(outcome)).inc()

    def _rate(self) -> float:
        now = self._monotonic()
        while self._recent_sends and now - self._recent_sends[0] > RATE_WINDOW:
            self._recent_sends.popleft()
        return len(self._recent_sends) / RATE_WINDOW

    async def render(self, sessions: SessionFactory | None, *, leader: bool) -> bytes:
        """The text exposition format, with the outbox read from the database now."""
        if sessions is not None:
            async with sessions() as session:
                stats = await store.outbox_stats(session=session)
            self.outbox_depth.set(stats.pending)
            age = 0.0
            if stats.oldest_pending_at is not None:
                age = max(0.0, (self._clock() - stats.oldest_pending_at).total_seconds())
            self.oldest_pending.set(age)
        self.send_rate.set(self._rate())
        self.leader.set(1 if leader else 0)
        return generate_latest(self.registry)
