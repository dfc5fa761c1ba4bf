"""Scheduled digests: find the chats whose digest is due, assemble, queue in the outbox.

The schedule lives in the database (``Chat.next_digest_at``), so a restart loses
nothing. A digest that fell due while the bot was down is still sent the same local
day; one whose whole day passed is skipped (the next digest covers its briefs, since
every digest holds what arrived since the previous one). The outbox key
``digest:DUE-MOMENT:CHAT:PART`` makes planning the same digest twice a no-op (the
moment first, so a tick's keys sit together in the key's index).

Assembly stays cheap at scale (a day of a million chats, see bench/plan.py):

* the briefs a tick can use (those of the last ``RECENT`` days, a ``window.Window``)
  are loaded and measured once, and kept from tick to tick until a brief comes or
  changes (one ageing out only raises the window's floor); each tag becomes a bit mask
  over them in rank order, and a chat's digest is a few integer operations on masks.
  Chats that get the same digest share one assembly.
* an outbox row names its digest's briefs rather than holding its text
  (a :class:`~digestbot.delivery.payload.DigestPayload`); the sender renders it (see
  sender.py). A row is then ~60 bytes, not ~2 KB: writing a million rows of text was
  most of the database's work. The split into messages is still decided here.
* no query runs per chat or per brief: a tick reads the chats due (through the
  ``next_digest_at`` index, and only what fell due since the last tick: see
  ``_since``) with their tags (``chats.tag_ids``) in one query, and writes rows and
  schedules in one statement each per chunk, the database writing one chunk while the
  next is assembled.
* on SQLite a chat's row lies with those of the chats due at the same minute of the day
  (``store.place_chats``, kept when a chat's minute changes), so a tick's schedule
  moves write a few pages rather than one per chat.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol, TypedDict

from sqlmodel.ext.asyncio.session import AsyncSession

from digestbot import store
from digestbot.delivery.payload import payload_language
from digestbot.delivery.schedule import local_day, next_due, todays_due
from digestbot.delivery.window import PLANNED, DigestKey, Window
from digestbot.readers.shaping import decayed
from digestbot.store.db import SessionFactory, server_side, session_scope
from digestbot.store.models import ChatType, utcnow

log = logging.getLogger(__name__)

BATCH = 5000
CHUNK = 250  # on PostgreSQL, chats assembled while the chunk before them is written
# A push never reaches back further than this: two weeks covers a weekly digest that
# missed a week (a whole day down, or a daylight-saving hour); older news is stale.
RECENT = timedelta(days=15)
# Once a tick has planned everything due, the next reads only what fell due since, less
# this slack (for another replica's clock a little behind); every hour, and after any
# jump of the clock backwards, a tick reads everything due (see store.due_chats).
SWEEP_SLACK = timedelta(minutes=10)
FULL_SWEEP = timedelta(hours=1)


@dataclass
class PlanReport:
    due: int = 0
    queued: int = 0  # chats that got a digest queued
    messages: int = 0
    distinct: int = 0  # digests assembled (chats with the same one share it)
    empty: int = 0  # due, but nothing new: no push
    stale: int = 0  # due on a day that has passed: skipped
    scheduled: int = 0  # chats given their first (or a changed) schedule


PARKED = datetime(9999, 1, 1, tzinfo=UTC)  # "never": no digest until a change clears it


class Rule(Protocol):
    """A chat's digest rule, as schedule.py takes it (a Chat or a store.DueChat)."""

    @property
    def digest_time(self) -> str: ...
    @property
    def timezone(self) -> str: ...
    @property
    def frequency(self) -> str: ...
    @property
    def weekly_day(self) -> int: ...


class Reachable(Rule, Protocol):
    """A chat with whether it gets digests at all (a Chat)."""

    @property
    def active(self) -> bool: ...
    @property
    def paused(self) -> bool: ...


def schedule_of(chat: Reachable, after: datetime) -> datetime:
    """The chat's next digest moment; :data:`PARKED` for a chat that gets none (off,
    paused, or unreachable), so the planner looks at it again only when a change clears
    it, and its past due time never sits in front of every tick's read of the index."""
    if not chat.active or chat.paused:
        return PARKED
    return next_schedule(chat, after)


def next_schedule(chat: Rule, after: datetime) -> datetime:
    """The next digest moment of a chat that gets digests (:data:`PARKED` for "off")."""
    return next_due(after=after, **_rule(chat)) or PARKED


class _RuleArgs(TypedDict):
    digest_time: str
    timezone: str
    frequency: str
    weekly_day: int


def _rule(chat: Rule) -> _RuleArgs:
    """A chat's digest rule, as schedule.py takes it."""
    return {
        "digest_time": chat.digest_time,
        "timezone": chat.timezone,
        "frequency": chat.frequency,
        "weekly_day": chat.weekly_day,
    }


def _none_aged(kept: store.BriefWindow, kept_since: datetime | None, since: datetime) -> bool:
    """Whether the briefs ingested since ``since`` are still those ``kept`` found since
    ``kept_since``: its first is still recent enough, the clock went forwards (back, an
    older brief would be back in), and there is a revision to tell a change by."""
    return (
        kept.revision is not None
        and kept_since is not None
        and kept_since <= since
        and (kept.first_at is None or since <= kept.first_at)
    )


def _only_aged(before: store.BriefWindow, after: store.BriefWindow) -> bool:
    """Whether the briefs from ``after.first`` on are those of ``before``, fewer: older
    ones left the window, and no brief came or changed."""
    if after.first is None or before.first is None or after.first < before.first:
        return False
    if after.end != before.end or after.revision != before.revision:
        return False
    # without a revision (briefs never stored through upsert_briefs), a change shows
    # only as a later updated_at
    return after.revision is not None or (
        after.changed is not None and before.changed is not None and after.changed <= before.changed
    )


class DigestPlanner:
    """Turns due schedules into outbox rows; run it every minute (see jobs.py)."""

    def __init__(
        self,
        sessions: SessionFactory,
        clock: Callable[[], datetime] = utcnow,
        on_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._on_queued = on_queued
        # The last window and what it was built from: the minute job finds chats due
        # at most minutes of a busy day, and the briefs rarely change between two of
        # them, so loading and measuring them again every tick would cost more than
        # planning the chats (1,440 times a day).
        self._window: Window | None = None
        self._window_state: store.BriefWindow | None = None
        self._window_since: datetime | None = None  # the moment it was read for
        self._swept: datetime | None = None  # every chat due by then was planned
        self._full_sweep: datetime | None = None

    def _since(self, now: datetime) -> datetime | None:
        """Where this tick's read of due chats may start (None: from the beginning)."""
        swept, full = self._swept, self._full_sweep
        if swept is None or full is None or swept > now or not full <= now < full + FULL_SWEEP:
            return None
        return swept - SWEEP_SLACK

    async def plan(self) -> PlanReport:
        """Schedule new chats and queue every digest due now."""
        now = self._clock()
        report = PlanReport()
        assembly: _Assembly | None = None
        previous: set[int] = set()
        since = self._since(now)
        first = True
        while True:
            async with session_scope(self._sessions) as session:
                if first:
                    # in the first batch's transaction: one of its own cost every tick a
                    # commit (of 1,440 a day, most with nothing to schedule). Should the
                    # batch fail, the new schedules are made again on the next tick.
                    await self._schedule_new(session, now, report)
                    first = False
                # Each batch moves its chats' schedules past now, so the next query
                # returns the next chats (see store.due_chats).
                chats = await store.due_chats(session=session, now=now, since=since, limit=BATCH)
                if not chats:
                    break
                ids = {c.id for c in chats}
                if stuck := ids & previous:  # a schedule did not move (a bug): park those
                    # chats rather than loop on them or stall everyone after them
                    log.error("chats still due after planning, parked: %s", sorted(stuck)[:10])
                    await store.update_chats(
                        session=session,
                        updates=[{"b_id": c, "next_digest_at": PARKED} for c in stuck],
                    )
                    chats = [c for c in chats if c.id not in stuck]
                previous = ids
                if assembly is None:
                    assembly = _Assembly(now, await self._load_window(session, now), report)
                await self._plan_batch(session, chats, assembly)
            if len(ids) < BATCH:  # that was the last: spare the tick an empty query
                break
        self._swept = now  # only once the tick planned everything due
        if since is None:
            self._full_sweep = now
        if report.queued:
            self._on_queued()
        if report.due:
            log.info(
                "planned digests: %s due, %s queued (%s distinct), %s empty, %s stale",
                report.due, report.queued, report.distinct, report.empty, report.stale,
            )  # fmt: skip
        return report

    async def _load_window(self, session: AsyncSession, now: datetime) -> Window:
        """The briefs of the last ``RECENT`` days: the previous tick's, unless a brief
        came, left the window or changed since."""
        since = now - RECENT
        window, kept, kept_since = self._window, self._window_state, self._window_since
        self._window_since = since
        # nothing aged out since the last read, so only a brief that came or changed
        # would change the window, and either moves the head: two index probes a tick,
        # not the window's count (5-16 ms a tick on a year of briefs, bench/RESULTS.md)
        if (
            window is not None
            and kept is not None
            and _none_aged(kept, kept_since, since)
            and await store.brief_head(session=session) == (kept.end, kept.revision)
        ):
            return window
        state = await store.brief_window(session=session, since=since)
        if window is not None and state == kept:
            return window
        if window is not None and kept is not None and _only_aged(kept, state):
            # Briefs only left the window: keep it and raise its floor (every digest
            # starts above it, see _Assembly), so what was measured and assembled stays.
            # A year of 300 briefs a day ages one out every few minutes, and reloading
            # and measuring the ~5,000 left each time was most of the day's work
            # (bench/RESULTS.md, issue 19). The count says none was removed; and once
            # most of the window is below the floor it is reloaded: those still cost
            # every mask operation.
            assert state.first is not None  # see _only_aged
            left = sum(1 for item in window.items if item.id >= state.first)
            if left == state.count and (len(window.items) - left) * 2 <= len(window.items):
                window.floor = state.first - 1
                self._window_state = state
                return window
        floor = state.end if state.first is None else state.first - 1
        items = await store.find_items(
            session=session, after_id=floor, upto_id=state.end, limit=10**9
        )
        slugs = sorted({tag for item in items for tag in item.brief.tags})
        tag_ids = await store.tag_ids(session=session, slugs=slugs)
        self._window, self._window_state = Window(items, floor, state.end, tag_ids), state
        return self._window

    async def _schedule_new(self, session: AsyncSession, now: datetime, report: PlanReport) -> None:
        """Give the chats that have no schedule (new, or their settings changed) one."""
        while True:
            chats = await store.unscheduled_chats(session=session, limit=BATCH)
            await store.update_chats(
                session=session,
                updates=[{"b_id": c.id, "next_digest_at": schedule_of(c, now)} for c in chats],
            )
            await store.place_chats(session=session, chat_ids=[c.id for c in chats])
            report.scheduled += len(chats)
            if len(chats) < BATCH:
                return

    async def _plan_batch(
        self,
        session: AsyncSession,
        chats: Sequence[store.DueChat],
        assembly: _Assembly,
    ) -> None:
        """Assemble the batch's digests and write them. On PostgreSQL a chunk at a time,
        each chunk's rows on their way while the next one is assembled, so the server
        works (on the other core) while Python does: 49 s against 53 s for a day of a
        million chats. SQLite's work shares our interpreter, and there chunks only add
        statements (53 s against 57 s): one write per batch."""
        assembly.seen.clear()  # distinct digests are counted per batch
        # readers' filters and weights, read only for the chats that have some (the due
        # chats say which): every other chat keeps sharing its assembly, and a batch
        # without any costs no read at all
        now = assembly.now
        shaped = [c.id for c in chats if c.shaped]
        assembly.filters, found = (
            await store.shaping_of(session=session, chat_ids=shaped) if shaped else ({}, {})
        )
        assembly.weights = {}
        for chat_id, kept in found.items():
            weights = {tag: v for tag, value, at in kept if (v := decayed(value, at, now))}
            if weights:  # all faded: the chat shares its assembly again
                assembly.weights[chat_id] = weights
        chunk = CHUNK if server_side(session) else max(len(chats), 1)
        pending: asyncio.Future[None] | None = None
        try:
            for start in range(0, len(chats), chunk):
                rows, moves = assembly.assemble(chats[start : start + chunk])
                placed, assembly.placed = assembly.placed, []
                if pending is not None:
                    await pending
                pending = asyncio.ensure_future(
                    store.save_plan(
                        session=session, rows=rows, moves=moves, now=assembly.now, placed=placed
                    )
                )
                await asyncio.sleep(0)  # let it send its statements before assembling on
        finally:
            if pending is not None:  # never leave it using the session behind our back
                await pending


class _Assembly:
    """One tick's digests: chats in, outbox rows and schedule moves out. No I/O.

    It runs for every digest of the day (a million chats: a million times), so whatever
    many chats share is worked out once: schedules, local days, keys, digests.
    """

    def __init__(self, now: datetime, window: Window, report: PlanReport) -> None:
        self.now = now
        self.window = window
        self.report = report
        self.seen: set[DigestKey] = set()  # this batch's digests
        self.schedules: dict[tuple[str, str, str, int], datetime] = {}
        self.days: dict[str, date] = {}
        # most chats of a tick share their due moment and zone: (local day, outbox key part)
        self.due_days: dict[tuple[datetime, str], tuple[date, str]] = {}
        self.filters: dict[int, tuple[store.FilterKey, ...]] = {}  # this batch's, by chat
        self.weights: dict[int, dict[str, float]] = {}
        self.languages: dict[str | None, str | None] = {}  # by stored code (see payload_language)
        # the chats whose next digest falls at another minute of the day than this one
        # (two digest times, a daylight-saving change): see store.place_chats
        self.placed: list[int] = []

    def assemble(
        self, chats: Sequence[store.DueChat]
    ) -> tuple[list[store.DigestRow], list[store.ScheduleMove]]:
        now, window, report = self.now, self.window, self.report
        end = window.end
        seen, schedules, days, due_days = self.seen, self.schedules, self.days, self.due_days
        languages = self.languages
        planned = window.planned  # shared with the other chats getting the same digest
        picked = window.picked
        report.due += len(chats)
        moves: list[store.ScheduleMove] = []
        rows: list[store.DigestRow] = []
        placed = self.placed
        for chat in chats:
            rule = (chat.digest_time, chat.timezone, chat.frequency, chat.weekly_day)
            next_at = schedules.get(rule)
            if next_at is None:
                next_at = schedules[rule] = next_schedule(chat, now)
            due = chat.next_digest_at
            if next_at.minute != due.minute or next_at.hour != due.hour:
                placed.append(chat.id)
            today = days.get(chat.timezone)
            if today is None:
                today = days[chat.timezone] = local_day(now, chat.timezone)
            due_at = (chat.next_digest_at, chat.timezone)
            if due_at not in due_days:
                due_days[due_at] = (local_day(*due_at), due_at[0].strftime("%Y%m%dT%H%MZ"))
            due_day, due_key = due_days[due_at]
            if due_day != today:
                # due on an earlier day (the bot was down): that one is gone, but
                # today's, if it has come already, is still owed
                owed = todays_due(now=now, **_rule(chat))
                if owed is None:
                    report.stale += 1  # its cursor stays (a /digest may be moving it)
                    moves.append((chat.id, next_at, None, None, None, None))
                    continue
                due_key = owed.strftime("%Y%m%dT%H%MZ")
            start = chat.window_end_id if chat.window_shown else chat.last_brief_id
            start = max(start, window.floor)
            filters, weights = self.filters.get(chat.id), self.weights.get(chat.id)
            if filters or weights or chat.alerted_ids:
                keep = window.passing(filters) if filters else -1
                keep &= ~window.without(chat.alerted_ids)  # sent as alerts already
                chosen, total = window.select(
                    chat.tag_ids,
                    chat.min_score,
                    start,
                    chat.digest_size,
                    keep=keep,
                    weights=weights,
                )
            else:
                # most chats: those with the same tags, minimum and start get the same
                # pick, which is kept with the window like the digests planned from it
                pick = (chat.tag_ids, chat.min_score, start, chat.digest_size)
                found = picked.get(pick)
                if found is None:
                    if len(picked) >= PLANNED:
                        picked.clear()
                    found = picked[pick] = window.select(*pick)
                chosen, total = found
            if not chosen:
                report.empty += 1
                moves.append((chat.id, next_at, end, end, 0, None))
                continue
            more = total - len(chosen)
            if chat.language not in languages:
                languages[chat.language] = payload_language(chat.language)
            style = (languages[chat.language], chat.compact, chat.type == ChatType.PRIVATE)
            key = (chosen, more, today, style)
            if key not in seen:
                seen.add(key)
                report.distinct += 1
            payloads = planned.get(key)
            if payloads is None:
                if len(planned) >= PLANNED:  # bounded: a day has many distinct digests
                    planned.clear()
                payloads = planned[key] = window.payloads(chosen, more, today, style)
            if more:  # "+N more: /digest" pages through the rest of this window
                moves.append((chat.id, next_at, start, end, len(chosen), now))
            else:
                moves.append((chat.id, next_at, end, end, 0, now))
            # the due moment, not the day: a digest re-timed later the same day is a new
            # digest, while planning the same one twice is not
            prefix = f"digest:{due_key}:{chat.id}:"
            for part, payload in enumerate(payloads):
                rows.append((f"{prefix}{part}", chat.id, part, payload))
            report.queued += 1
            report.messages += len(payloads)
        return rows, moves
