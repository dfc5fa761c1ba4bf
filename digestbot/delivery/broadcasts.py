"""Admin broadcasts: a draft with its audience, then one outbox row per chat on Send.

A broadcast goes ``draft`` -> ``sending`` -> ``done`` (or ``cancelled``). The draft
is made when the admin has seen the preview; nothing is queued before Send. Send is
one conditional UPDATE (draft -> sending) plus one INSERT ... SELECT of the audience
into the outbox, keyed ``broadcast:ID:CHAT``: a second press, a forged button or two
replicas racing queue nothing more, and no chat can get the same broadcast twice.
The sender delivers the rows with the digests (see :mod:`digestbot.delivery` on how
they share the rate); :meth:`BroadcastService.progress` reads the outcomes back.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from digestbot import store
from digestbot.briefs.parse import slugify
from digestbot.delivery import failures
from digestbot.delivery.payload import BroadcastPayload
from digestbot.readers.chats import suggest_tags
from digestbot.store.db import SessionFactory, session_scope
from digestbot.store.models import Broadcast, BroadcastStatus, OutboxStatus, utcnow

log = logging.getLogger(__name__)

SLOW_COUNT = 0.5  # seconds: progress() slower than this runs less often


@dataclass(frozen=True, slots=True)
class Audience:
    """Who a broadcast would reach: every active chat, or one tag's followers."""

    tag: str | None
    tag_id: int | None
    chats: int


def describe_audience(tag: str | None) -> str:
    """The audience in the audit log's words: English, like every log. What admins read
    in Telegram is ``bot.status.audience_text``, in their language."""
    return f"followers of #{tag}" if tag else "all active chats"


async def _audit(
    session: AsyncSession,
    broadcast: Broadcast,
    action: str,
    *,
    admin_id: int,
    counts: dict[str, int],
    now: datetime,
) -> None:
    """One audit entry for an action on ``broadcast``."""
    await store.add_audit(
        session=session,
        admin_id=admin_id,
        action=f"broadcast.{action}",
        detail=f"broadcast {broadcast.id}",
        audience=describe_audience(broadcast.tag),
        counts=counts,
        now=now,
    )


@dataclass(frozen=True, slots=True)
class UnknownTag:
    typed: str
    suggestions: list[str]


@dataclass(frozen=True, slots=True)
class Counts:
    """A broadcast's rows by outcome."""

    sent: int = 0
    pending: int = 0
    blocked: int = 0  # the user blocked the bot
    left: int = 0  # kicked from the group, chat deleted or account deactivated
    failed: int = 0  # gave up after retries, or Telegram refused the message
    cancelled: int = 0  # stopped by an admin before they were sent

    @property
    def total(self) -> int:
        return self.sent + self.pending + self.blocked + self.left + self.failed + self.cancelled

    def as_dict(self) -> dict[str, int]:
        return {
            "sent": self.sent,
            "pending": self.pending,
            "blocked": self.blocked,
            "left": self.left,
            "failed": self.failed,
            "cancelled": self.cancelled,
        }


def outcome_of(status: str, error: str | None) -> str:
    """Which :class:`Counts` field an outbox row's status and error fall under."""
    if status == OutboxStatus.SENT:
        return "sent"
    if status in (OutboxStatus.PENDING, OutboxStatus.SENDING):
        return "pending"
    counted = failures.BROADCAST_COUNT.get(failures.classify(error))
    if counted is not None:
        return counted
    if status == OutboxStatus.CANCELLED:
        return "left"  # cancelled because its chat became unreachable
    return "failed"


def count(groups: Sequence[tuple[str, str | None, int]]) -> Counts:
    totals = dict.fromkeys(Counts().as_dict(), 0)
    for status, error, rows in groups:
        totals[outcome_of(status, error)] += rows
    return Counts(**totals)


@dataclass(frozen=True, slots=True)
class Progress:
    """Where one broadcast stands, for the admin's status message."""

    id: int
    admin_id: int
    status_message_id: int | None
    status: str
    audience: int
    tag: str | None
    counts: Counts
    eta_seconds: float | None  # None when finished or not started
    elapsed_seconds: float
    started_at: datetime  # or created, for a draft

    @property
    def finished(self) -> bool:
        return self.status in (BroadcastStatus.DONE, BroadcastStatus.CANCELLED)


@dataclass(frozen=True, slots=True)
class SendResult:
    """What a Send press did: ``queued`` rows, or why nothing happened (``refused``)."""

    queued: int = 0
    refused: str | None = None


class BroadcastService:
    """Drafts, sends, cancels and reports broadcasts; records each admin action."""

    def __init__(
        self,
        sessions: SessionFactory,
        *,
        send_rate: float,
        clock: Callable[[], datetime] = utcnow,
        on_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessions = sessions
        self._send_rate = send_rate
        self._clock = clock
        self._on_queued = on_queued
        self._shown: dict[int, Counts] = {}  # the counts last reported, per broadcast
        self._cost = 0.0  # seconds the last progress() took
        self._counted_at = 0.0

    async def audience(self, typed_tag: str | None) -> Audience | UnknownTag:
        """How many chats a broadcast to everyone, or to ``typed_tag``'s followers, reaches."""
        async with self._sessions() as session:
            tag_id = None
            slug = None
            if typed_tag is not None:
                slug = slugify(typed_tag)
                found = await store.tag_ids(session=session, slugs=[slug])
                if slug not in found:
                    known = [t.slug for t in await store.tag_counts(session=session)]
                    return UnknownTag(typed_tag, suggest_tags(typed_tag, known))
                tag_id = found[slug]
            chats = await store.count_audience(session=session, tag_id=tag_id)
        return Audience(slug, tag_id, chats)

    async def draft(
        self,
        *,
        admin_id: int,
        audience: Audience,
        text: str | None = None,
        copy_from: tuple[int, int] | None = None,
    ) -> Broadcast:
        """A broadcast waiting for Send: HTML ``text``, or a message to copy (chat, message)."""
        now = self._clock()
        async with session_scope(self._sessions) as session:
            broadcast = await store.add_broadcast(
                session=session,
                broadcast=Broadcast(
                    admin_id=admin_id,
                    text=text,
                    from_chat_id=copy_from[0] if copy_from else None,
                    from_message_id=copy_from[1] if copy_from else None,
                    tag=audience.tag,
                    audience=audience.chats,
                    created_at=now,
                ),
            )
            await _audit(
                session,
                broadcast,
                "draft",
                admin_id=admin_id,
                counts={"chats": audience.chats},
                now=now,
            )
        return broadcast

    async def attach_status(self, broadcast_id: int, message_id: int) -> None:
        """The message with the buttons: the only one whose presses count, edited as it goes."""
        async with session_scope(self._sessions) as session:
            broadcast = await store.get_broadcast(session=session, broadcast_id=broadcast_id)
            if broadcast is not None:
                broadcast.status_message_id = message_id

    async def _owned(
        self, session: AsyncSession, broadcast_id: int, admin_id: int, message_id: int
    ) -> Broadcast | None:
        """The broadcast, if the button pressed is on its own status message, in the chat
        of the admin who drafted it (message ids are only unique within a chat)."""
        broadcast = await store.get_broadcast(session=session, broadcast_id=broadcast_id)
        if (
            broadcast is None
            or broadcast.admin_id != admin_id
            or broadcast.status_message_id != message_id
        ):
            return None
        return broadcast

    async def send(self, broadcast_id: int, *, admin_id: int, message_id: int) -> SendResult:
        """The Send button: queue one row per chat of the audience, once."""
        now = self._clock()
        async with session_scope(self._sessions) as session:
            broadcast = await self._owned(session, broadcast_id, admin_id, message_id)
            if broadcast is None:
                return SendResult(refused="unknown")
            if broadcast.status != BroadcastStatus.DRAFT:
                return SendResult(refused=broadcast.status)
            tag_id = None
            if broadcast.tag is not None:
                tag_id = (await store.tag_ids(session=session, slugs=[broadcast.tag])).get(
                    broadcast.tag
                )
                if tag_id is None:  # the tag was deleted since the preview
                    return SendResult(refused="unknown")
            queued = await store.start_broadcast(
                session=session,
                broadcast_id=broadcast_id,
                tag_id=tag_id,
                payload=BroadcastPayload(broadcast_id).encode(),
                now=now,
            )
            if queued is None:  # another press (or replica) got there first
                return SendResult(refused=BroadcastStatus.SENDING)
            await _audit(
                session, broadcast, "send", admin_id=admin_id, counts={"queued": queued}, now=now
            )
        log.info("broadcast %s: queued for %s chats", broadcast_id, queued)
        self._on_queued()
        return SendResult(queued=queued)

    async def cancel(self, broadcast_id: int, *, admin_id: int) -> int | None:
        """Cancel a draft, or stop one under way (from its status message or from
        /broadcasts); rows not yet sent are dropped. Returns how many were dropped;
        None when there was nothing to cancel."""
        now = self._clock()
        async with session_scope(self._sessions) as session:
            broadcast = await store.get_broadcast(session=session, broadcast_id=broadcast_id)
            if broadcast is None:
                return None
            dropped = await store.cancel_broadcast(
                session=session, broadcast_id=broadcast_id, now=now
            )
            if dropped is None:
                return None
            await _audit(
                session,
                broadcast,
                "cancel",
                admin_id=admin_id,
                counts={"dropped": dropped},
                now=now,
            )
        log.info("broadcast %s: cancelled, %s messages not sent", broadcast_id, dropped)
        return dropped

    async def _with_counts(
        self, session: AsyncSession, broadcasts: Sequence[Broadcast]
    ) -> list[Progress]:
        """Each broadcast with its counts: kept ones for the finished, counted otherwise."""
        live = [b.id for b in broadcasts if b.id is not None and b.counts is None]
        groups = await store.outbox_outcomes(session=session, broadcast_ids=live)
        return [
            self._progress(
                b,
                Counts(**json.loads(b.counts)) if b.counts else count(groups.get(b.id or 0, [])),
            )
            for b in broadcasts
        ]

    async def get(self, broadcast_id: int) -> Progress | None:
        async with self._sessions() as session:
            broadcast = await store.get_broadcast(session=session, broadcast_id=broadcast_id)
            if broadcast is None:
                return None
            (progress,) = await self._with_counts(session, [broadcast])
        return progress

    async def recent(self, limit: int = 10) -> list[Progress]:
        """The latest broadcasts sent or under way, newest first."""
        async with self._sessions() as session:
            found = await store.recent_broadcasts(session=session, limit=limit)
            return await self._with_counts(session, found)

    async def progress(self) -> list[Progress]:
        """Broadcasts under way whose counts moved since the last call; one with nothing
        left to send is marked done (and reported once more, as finished)."""
        if self._cost > SLOW_COUNT and time.perf_counter() - self._counted_at < 5 * self._cost:
            return []  # counting a huge broadcast is slow: do it at most a fifth of the time
        self._counted_at = time.perf_counter()
        now = self._clock()
        changed = []
        async with session_scope(self._sessions) as session:
            sending = await store.broadcasts_with_status(
                session=session, statuses=[BroadcastStatus.SENDING]
            )
            ids = [b.id for b in sending if b.id is not None]
            groups = await store.outbox_outcomes(session=session, broadcast_ids=ids)
            for broadcast in sending:
                assert broadcast.id is not None
                counts = count(groups.get(broadcast.id, []))
                if not counts.pending and await store.finish_broadcast(
                    session=session, broadcast_id=broadcast.id, now=now, counts=counts.as_dict()
                ):
                    broadcast.status, broadcast.finished_at = BroadcastStatus.DONE, now
                    await _audit(
                        session,
                        broadcast,
                        "done",
                        admin_id=broadcast.admin_id,
                        counts=counts.as_dict(),
                        now=now,
                    )
                    log.info("broadcast %s: done, %s", broadcast.id, counts.as_dict())
                if self._shown.get(broadcast.id) == counts and broadcast.status == "sending":
                    continue
                self._shown[broadcast.id] = counts
                changed.append(self._progress(broadcast, counts))
        for done in (p.id for p in changed if p.finished):
            self._shown.pop(done, None)
        self._cost = time.perf_counter() - self._counted_at
        return changed

    def _progress(self, broadcast: Broadcast, counts: Counts) -> Progress:
        assert broadcast.id is not None
        now = self._clock()
        started = broadcast.started_at or now
        ended = broadcast.finished_at or now
        elapsed = max(0.0, (ended - started).total_seconds())
        eta = None
        if broadcast.status == BroadcastStatus.SENDING and counts.pending:
            # the pace so far, once there is one; before that, half the budget (digests
            # may be sending too)
            rate = counts.sent / elapsed if counts.sent and elapsed >= 1 else self._send_rate / 2
            eta = counts.pending / max(rate, 0.01)
        return Progress(
            id=broadcast.id,
            admin_id=broadcast.admin_id,
            status_message_id=broadcast.status_message_id,
            status=broadcast.status,
            audience=broadcast.audience,
            tag=broadcast.tag,
            counts=counts,
            eta_seconds=eta,
            elapsed_seconds=elapsed,
            started_at=broadcast.started_at or broadcast.created_at,
        )
