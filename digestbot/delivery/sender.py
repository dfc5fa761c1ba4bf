"""The outbox sender: every pushed message, sent once, at Telegram's pace, surviving crashes.

Rows are claimed a batch at a time (marked ``sending``), sent, then marked ``sent``
only after Telegram accepted them. A process killed in between leaves its claimed
rows ``sending``; the next start puts them back to pending. Only rows that had
reached Telegram but were not yet recorded may arrive twice: at most two batches
(see :func:`batch_size`), or one that timed out after Telegram took it. Digest rows
name their briefs and are rendered when claimed (see planner.py).

Telegram's answers, and what the sender does with them:

- 429 ``retry_after``: all sending pauses that long; the row waits, no attempt counted.
- network errors, timeouts, 5xx: exponential backoff with jitter, up to ``max_attempts``,
  then ``failed`` with the reason.
- 403 (blocked, kicked, deactivated) and 400 chat not found: the chat goes inactive and
  its unsent rows are cancelled.
- 400 group migrated: the chat moves to its new id and the row is sent there.
- 400 can't parse entities: sent again once as plain text; the failing text is logged.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession
from telegram import Bot, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from digestbot import i18n, store
from digestbot.briefs import render
from digestbot.delivery import failures
from digestbot.delivery.failures import Failure
from digestbot.delivery.pacing import ChatPacer
from digestbot.delivery.pacing import SendBudget as SendBudget  # callers' import, kept
from digestbot.delivery.parts import PartRenderer, feedback_row
from digestbot.delivery.payload import (
    AlertPayload,
    BroadcastPayload,
    CopyMessage,
    DigestPayload,
    Message,
    Payload,
    PayloadError,
    TextMessage,
    decode,
    message_of,
)
from digestbot.store import Claimed
from digestbot.store.db import SessionFactory, session_scope
from digestbot.store.models import Chat, OutboxKind, OutboxStatus, utcnow

log = logging.getLogger(__name__)

Buttons = InlineKeyboardMarkup | None  # under a message (a private chat's digest)
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)  # digests link many briefs; no previews
MAX_BATCH = 64
CONCURRENCY = 4


def batch_size(rate: float) -> int:
    """Rows claimed at once: half a second of sending at ``rate``, between 4 and 64.

    A batch sent but not yet recorded is what a crash may send twice, and recording
    one batch overlaps sending the next: so after a crash at most two batches, about
    one second of messages (26 at the default 25 a second), may arrive twice.
    """
    return max(4, min(MAX_BATCH, math.ceil(rate / 2)))


def max_duplicates(rate: float) -> int:
    return 2 * batch_size(rate)


MAX_ATTEMPTS = 8
BACKOFF_BASE = 2.0  # seconds before the first retry
BACKOFF_CAP = 600.0


def _millis(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


@dataclass
class SendOutcome:
    """What happened when the sender tried one row."""

    row: Claimed
    sent: bool = False
    error: str | None = None  # stored with the row, shown in reports
    failure: Failure | None = None  # what the error means (see failures.py)
    retry_in: float | None = None  # seconds; None with an error means give up
    migrated_to: int | None = None
    accepted_at: datetime | None = None  # when Telegram took it (sent rows)

    @property
    def lateness(self) -> float | None:
        """Seconds a sent digest went out after its due moment (None: not a sent digest)."""
        due = self.row.created_at
        if self.accepted_at is None or due is None or self.row.kind != OutboxKind.DIGEST:
            return None
        return max(0.0, (self.accepted_at - due).total_seconds())

    @property
    def chat_gone(self) -> bool:
        return self.failure is not None and self.failure.chat_gone

    @property
    def cancelled(self) -> bool:
        return self.failure in (Failure.CANCELLED, Failure.CANCELLED_BY_ADMIN)


class Sender:
    """Drains the outbox; see the module docstring. Owns nothing but its pacing state."""

    def __init__(
        self,
        sessions: SessionFactory,
        bot: Bot,
        *,
        budget: SendBudget,
        clock: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        in_flight: int | None = None,
        concurrency: int = CONCURRENCY,
        max_attempts: int = MAX_ATTEMPTS,
        jitter: Callable[[], float] = random.random,
        on_outcome: Callable[[SendOutcome], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._on_outcome = on_outcome  # metrics: called once per row tried
        self._bot = bot
        self.budget = budget
        self._clock = clock
        self._pacer = ChatPacer(monotonic)
        self._in_flight = in_flight or batch_size(budget.rate)
        self._max_attempts = max_attempts
        self._jitter = jitter
        self._wake = asyncio.Event()
        # Requests at once: enough to keep up with Telegram's latency, few enough
        # that a local fake server or a small machine is not swamped.
        self._concurrency = asyncio.Semaphore(concurrency)
        self._workers = concurrency
        self._must_release = False
        self._turn: str = OutboxKind.DIGEST  # which kind the next batch takes first
        self._broadcasts: dict[int, Message] = {}
        self._digests: dict[int, list[str]] = {}  # claimed digest rows' texts, by row id
        self._delivered: dict[int, int] = {}  # messages sent of rows that are several
        self.sent_total = 0
        self.failed_total = 0

    def wake(self) -> None:
        """New rows were queued: look now rather than at the next poll."""
        self._wake.set()

    async def _claim_rows(self, session: AsyncSession) -> list[Claimed]:
        """Claim a batch, digests and broadcasts sharing the rate fairly.

        Each claim takes one kind, oldest first (served in order by an index, however
        long the queue); batches alternate which kind goes first, topping up with the
        other when short. So neither a broadcast to every chat nor a morning's digest
        run holds the other back, and either alone gets every batch in full.

        Alerts go before both, every batch: they are few (a handful a chat a day) and
        only worth anything at once, so a morning's digests must not hold one back.
        """
        now, limit = self._clock(), self._in_flight
        first = self._turn
        second = OutboxKind.DIGEST if first == OutboxKind.BROADCAST else OutboxKind.BROADCAST
        self._turn = second
        rows = await store.claim_due(session=session, now=now, limit=limit, kind=OutboxKind.ALERT)
        if len(rows) < limit:
            rows += await store.claim_due(
                session=session, now=now, limit=limit - len(rows), kind=first
            )
        if len(rows) < limit:
            rows += await store.claim_due(
                session=session, now=now, limit=limit - len(rows), kind=second
            )
        return sorted(rows, key=lambda r: r.id)

    async def release_in_flight(self) -> int:
        """Rows left ``sending`` (by a killed process, or by this one when the database
        failed mid-drain) go back to the queue; run() calls it at start and after failures."""
        async with session_scope(self._sessions) as session:
            released = await store.release_in_flight(session=session)
        self._digests.clear()  # rendered for claims that may not have held
        if released:
            log.warning("%s claimed outbox rows were not recorded; queued again", released)
        return released

    async def _claim(self, record: list[SendOutcome] | None = None) -> tuple[list[Claimed], int]:
        """Record ``record`` (the last batch's outcomes), then claim a batch, in one
        transaction; rows whose chat must wait (per-chat pacing) go back, untouched."""
        async with session_scope(self._sessions) as session:
            if record:
                await self._record_in(session, record)
            claimed = await self._claim_rows(session)
            ready = []
            for row in claimed:
                wait = self._pacer.ready_in(row.chat_id)
                if not wait:
                    ready.append(row)
                    continue
                await store.reschedule(
                    session=session,
                    outbox_id=row.id,
                    at=self._clock() + timedelta(seconds=wait),
                    error=row.last_error,
                    attempts=row.attempts,
                )
            await self._render_digests(session, ready)
        return ready, len(claimed)

    async def _render_digests(self, session: AsyncSession, rows: list[Claimed]) -> None:
        """Digest rows name their briefs (see planner.py): render the batch's texts now,
        with one read of the briefs for the whole batch, so a brief corrected since
        planning goes out corrected. A row that fails to render is left out: it fails
        alone when sent (see _send), never the batch."""
        parts: dict[int, DigestPayload] = {}
        for row in rows:
            if row.kind != OutboxKind.DIGEST:
                continue
            try:
                decoded = decode(row.payload)
            except PayloadError:
                continue  # fails alone, with its reason, in _send
            if isinstance(decoded, DigestPayload):
                parts[row.id] = decoded
        if not parts:
            return
        wanted = {i for part in parts.values() for i in part.brief_ids}
        renderer = PartRenderer(await store.items_by_ids(session=session, brief_ids=wanted))
        for row in rows:
            part = parts.get(row.id)
            if part is None:
                continue
            try:
                self._digests[row.id] = renderer.texts(row.payload, part)
            except Exception:
                log.exception("chat %s: rendering %s failed", row.chat_id, row.key)

    async def _send_all(self, rows: list[Claimed]) -> list[SendOutcome]:
        # A few workers taking the rows in turn, not a task per row queued on the
        # semaphore: waking those tasks one by one cost a tenth of the sender's CPU per
        # message in bench/send.py. The semaphore still bounds the requests at once.
        outcomes: dict[int, SendOutcome] = {}
        queue = iter(enumerate(rows))

        async def limited() -> None:
            for i, row in queue:
                async with self._concurrency:
                    try:
                        outcomes[i] = await self._send(row)
                    except Exception as exc:  # a bug or a database error: retry, never lose it
                        log.exception(
                            "chat %s: sending %s failed unexpectedly", row.chat_id, row.key
                        )
                        outcomes[i] = self._backoff(
                            row, f"internal error: {type(exc).__name__}", Failure.OTHER
                        )

        await asyncio.gather(*(limited() for _ in range(min(self._workers, len(rows)))))
        return [outcomes[i] for i in range(len(rows))]

    async def drain_once(self) -> int:
        """Claim one batch of due rows, send them, record the outcomes; returns rows claimed."""
        rows, claimed = await self._claim()
        if rows:
            await self._record(await self._send_all(rows))
        return claimed

    async def drain(self, stop: asyncio.Event | None = None) -> int:
        """Send everything that is due now (or until ``stop`` is set); returns rows handled.

        On any failure the rows this process holds are marked for release (see run).
        """
        try:
            return await self._drain(stop)
        except BaseException:
            self._must_release = True  # whatever was claimed must go back to the queue
            raise

    async def _drain(self, stop: asyncio.Event | None) -> int:
        """Send everything that is due now (or until ``stop`` is set); returns rows handled.

        Pipelined: while one batch is on its way to Telegram, the previous batch's
        outcomes are recorded and the next batch is claimed in one transaction (one
        writer at a time: SQLite would make a second one wait), so the database never
        holds up sending. The next batch's chats have no earlier row still unsent, so
        each chat's order holds. At most two batches are ever sent-but-not-recorded.
        """
        rows, handled = await self._claim()
        unrecorded: list[SendOutcome] = []
        try:
            while rows:
                sending = asyncio.ensure_future(self._send_all(rows))
                claiming = asyncio.ensure_future(self._claim(record=unrecorded))
                outcomes: list[SendOutcome] = []
                try:
                    outcomes = await sending
                finally:
                    try:
                        rows, claimed = await claiming
                    except BaseException:
                        # rolled back: the previous batch is still to record, with this one
                        unrecorded = unrecorded + outcomes
                        raise
                    unrecorded = []
                unrecorded = outcomes
                handled += claimed
                if stop is not None and stop.is_set() and rows:
                    await self._unclaim(rows)  # claimed, never sent: back to the queue
                    rows = []
        finally:
            if unrecorded:
                await self._record(unrecorded)
        return handled

    async def _unclaim(self, rows: list[Claimed]) -> None:
        for row in rows:
            self._digests.pop(row.id, None)
        async with session_scope(self._sessions) as session:
            await store.release_rows(session=session, ids=[r.id for r in rows])

    async def run(self, stop: asyncio.Event, *, idle: float = 1.0) -> None:
        """Drain until ``stop`` is set, looking again every ``idle`` seconds or when woken.

        After a failure (the database away, say) nothing of this process is on its way:
        what it had claimed goes back to the queue before anything new is claimed, and
        that is retried until the database answers again.
        """
        self._must_release = True  # rows a killed process left claimed
        while not stop.is_set():
            handled = 0
            try:
                if self._must_release:
                    await self.release_in_flight()
                    self._must_release = False
                handled = await self.drain(stop)
            except Exception:
                log.exception("outbox sender failed; retrying shortly")
            if handled:
                continue
            self._wake.clear()
            waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waiters, timeout=idle, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()

    async def _deliver(
        self, chat_id: int, message: Message, *, plain: bool, buttons: Buttons = None
    ) -> None:
        stamp = await self.budget.take()
        self._pacer.record(chat_id)
        if isinstance(message, CopyMessage):
            await self._bot.copy_message(chat_id, message.from_chat_id, message.message_id)
            self.budget.answered(stamp)
            return
        text = message.text
        await self._bot.send_message(
            chat_id,
            render.plain_text(text) if plain else text,
            parse_mode=None if plain else ParseMode.HTML,
            link_preview_options=NO_PREVIEW,
            reply_markup=buttons,
        )
        # only accepted sends: an error answered at once would pass for the quickest trip
        self.budget.answered(stamp)

    async def _deliver_all(
        self, row_id: int, chat_id: int, messages: list[Message], *, plain: bool, buttons: Buttons
    ) -> None:
        """Send a row's messages in order, ``buttons`` under the last; a row that is more
        than one message (a digest part a corrected brief made too long) resumes after
        those already delivered when it is sent again, so none of them arrives twice."""
        if len(messages) == 1:
            await self._deliver(chat_id, messages[0], plain=plain, buttons=buttons)
            return
        for number in range(self._delivered.get(row_id, 0), len(messages)):
            if wait := self._pacer.ready_in(chat_id):  # one a second per private chat
                await self.budget.sleep(wait)
            last = number == len(messages) - 1
            await self._deliver(
                chat_id, messages[number], plain=plain, buttons=buttons if last else None
            )
            self._delivered[row_id] = number + 1
        del self._delivered[row_id]

    async def _message_of(self, broadcast_id: int) -> Message:
        """A broadcast's message (rows hold only its id), read once per broadcast."""
        message = self._broadcasts.get(broadcast_id)
        if message is None:
            async with self._sessions() as session:
                broadcast = await store.get_broadcast(session=session, broadcast_id=broadcast_id)
            if broadcast is None:
                raise LookupError(f"broadcast {broadcast_id} is gone")
            if len(self._broadcasts) >= 64:  # only a few are ever under way at once
                self._broadcasts.clear()
            message = self._broadcasts[broadcast_id] = message_of(broadcast)
        return message

    async def _messages(self, row: Claimed, payload: Payload) -> list[Message]:
        """What a row sends, in order (nothing: its briefs are gone)."""
        if isinstance(payload, BroadcastPayload):
            return [await self._message_of(payload.broadcast_id)]
        if isinstance(payload, AlertPayload):  # rendered now: a corrected brief goes corrected
            async with self._sessions() as session:
                item = await store.get_item(session=session, brief_id=payload.brief_id)
            if item is None:
                return []
            with i18n.use(payload.language):
                return [TextMessage(render.alert(item))]
        if isinstance(payload, DigestPayload):
            if row.id not in self._digests:  # not claimed through _claim: render it now
                async with self._sessions() as session:
                    await self._render_digests(session, [row])
            texts = self._digests.pop(row.id, None)
            if texts is None:
                raise ValueError(f"digest row {row.key} could not be rendered")
            # one message, unless a brief grew since planning and it no longer fits
            return [TextMessage(text) for text in texts]
        return [payload]

    async def _send(self, row: Claimed) -> SendOutcome:
        try:
            payload = decode(row.payload)
        except PayloadError as exc:  # retrying would read the same: give up on it now
            return SendOutcome(row, error=f"bad payload: {exc}", failure=Failure.BAD_PAYLOAD)
        messages = await self._messages(row, payload)
        if not messages:
            return SendOutcome(row, error=failures.BRIEFS_GONE_TEXT, failure=Failure.CANCELLED)
        buttons = feedback_row(payload) if isinstance(payload, DigestPayload) else None
        chat_id = row.chat_id
        plain = False
        for _ in range(3):  # the first try, plus one resend after a migration or a parse error
            try:
                await self._deliver_all(row.id, chat_id, messages, plain=plain, buttons=buttons)
                return SendOutcome(
                    row,
                    sent=True,
                    migrated_to=chat_id if chat_id != row.chat_id else None,
                    accepted_at=self._clock(),
                )
            except RetryAfter as exc:
                wait = _seconds(exc.retry_after)
                self.budget.pause(wait)
                log.warning("Telegram asked to slow down: pausing all sending for %.0f s", wait)
                return SendOutcome(
                    row,
                    error=f"{failures.RATE_LIMITED_TEXT} for {wait:.0f} s",
                    failure=Failure.RATE_LIMITED,
                    retry_in=wait,
                )
            except ChatMigrated as exc:
                log.info("chat %s: moved to supergroup %s", chat_id, exc.new_chat_id)
                if await self._move_chat(chat_id, exc.new_chat_id):
                    # the supergroup has its own digest, now on the merged tags
                    return SendOutcome(row, error=failures.MERGED_TEXT, failure=Failure.CANCELLED)
                chat_id = exc.new_chat_id
            except Forbidden as exc:
                failure = failures.classify(exc.message, Failure.FORBIDDEN)
                if not failure.chat_gone:  # a 403 always means the chat is out of reach
                    failure = Failure.FORBIDDEN
                return SendOutcome(row, error=f"forbidden: {exc.message}", failure=failure)
            except BadRequest as exc:
                failure = failures.classify(exc.message, Failure.BAD_REQUEST)
                if failure is Failure.CHAT_NOT_FOUND:
                    return SendOutcome(row, error="chat not found", failure=failure)
                if failure is Failure.UNPARSEABLE and not plain:
                    log.error(
                        "chat %s: Telegram rejected this HTML (%s); resending as plain text: %r",
                        chat_id,
                        exc.message,
                        [m.text for m in messages if isinstance(m, TextMessage)],
                    )
                    plain = True
                    continue
                return SendOutcome(
                    row, error=f"bad request: {exc.message}", failure=Failure.BAD_REQUEST
                )
            except (TimedOut, NetworkError) as exc:
                return self._backoff(row, f"{type(exc).__name__}: {exc.message}", Failure.NETWORK)
            except TelegramError as exc:
                return self._backoff(row, f"{type(exc).__name__}: {exc.message}", Failure.OTHER)
        return SendOutcome(row, error="gave up after moving chats", failure=Failure.OTHER)

    def _backoff(self, row: Claimed, error: str, failure: Failure) -> SendOutcome:
        attempts = row.attempts + 1
        if attempts >= self._max_attempts:
            return SendOutcome(
                row,
                error=failures.exhausted(error, attempts),
                failure=Failure.RETRIES_EXHAUSTED,
            )
        delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempts - 1))
        return SendOutcome(
            row, error=error, failure=failure, retry_in=delay * (0.5 + self._jitter())
        )

    async def _move_chat(self, old_id: int, new_id: int) -> bool:
        """Move the chat; True when the supergroup was known already (see store.move_chat)."""
        async with session_scope(self._sessions) as session:
            return await store.move_chat(session=session, old_id=old_id, new_id=new_id)

    async def _record(self, outcomes: list[SendOutcome]) -> None:
        async with session_scope(self._sessions) as session:
            await self._record_in(session, outcomes)

    async def _record_in(self, session: AsyncSession, outcomes: list[SendOutcome]) -> None:
        if self._on_outcome is not None:
            for o in outcomes:
                self._on_outcome(o)
        now = self._clock()
        sent = [
            store.Accepted(o.row.id, o.accepted_at or now, _millis(o.lateness))
            for o in outcomes
            if o.sent and o.row.id is not None
        ]
        await store.record_sent(session=session, rows=sent)
        self.sent_total += len(sent)
        for o in outcomes:
            if o.sent or o.row.id is None:
                continue
            if o.chat_gone:
                await self._chat_gone(session, o)
                continue
            if o.cancelled:
                await store.reschedule(
                    session=session,
                    outbox_id=o.row.id,
                    at=now,
                    error=o.error,
                    attempts=o.row.attempts,
                    status=OutboxStatus.CANCELLED,
                )
                continue
            if o.retry_in is not None:
                # Telegram's 429 is a wait, not a failed attempt
                counted = o.row.attempts + (o.failure is not Failure.RATE_LIMITED)
                await store.reschedule(
                    session=session,
                    outbox_id=o.row.id,
                    at=now + timedelta(seconds=o.retry_in),
                    error=o.error,
                    attempts=counted,
                )
                continue
            self.failed_total += 1
            log.warning("chat %s: message %s failed: %s", o.row.chat_id, o.row.key, o.error)
            await store.reschedule(
                session=session,
                outbox_id=o.row.id,
                at=now,
                error=o.error,
                attempts=o.row.attempts + 1,
                status=OutboxStatus.FAILED,
            )

    async def _chat_gone(self, session: AsyncSession, outcome: SendOutcome) -> None:
        row = outcome.row
        assert row.id is not None
        self.failed_total += 1
        log.info("chat %s: unreachable (%s); marked inactive", row.chat_id, outcome.error)
        await store.reschedule(
            session=session,
            outbox_id=row.id,
            at=self._clock(),
            error=outcome.error,
            attempts=row.attempts + 1,
            status=OutboxStatus.FAILED,
        )
        await store.cancel_chat_rows(
            session=session, chat_id=row.chat_id, reason=outcome.error or ""
        )
        chat = await session.get(Chat, row.chat_id)
        if chat is not None:
            chat.active, chat.next_digest_at = False, None  # the planner parks it
