"""Leader election: of all replicas on one database, exactly one runs the background work.

Any number of replicas may answer updates; only the leader runs the scheduler ticks,
feed polling and the outbox sender. On PostgreSQL the leader is whoever holds a
session-level advisory lock (``pg_try_advisory_lock``) on a connection of its own:

- standbys try to take the lock every ``retry`` seconds (``LEADER_RETRY_SECONDS``);
- the leader checks its lock connection every ``retry`` seconds (``SELECT 1`` with a
  deadline) and stops sending when it is lost, because it can no longer know that it
  still holds the lock: its sender gets :data:`GRACE` seconds to finish its batch;
- a new leader waits ``retry + GRACE`` before it sends, so a deposed one that is still
  alive has stopped by then;
- the lock connection sets ``idle_session_timeout``, so a leader whose machine
  vanished without closing its socket is dropped by the server (and its lock freed)
  after :data:`SESSION_TIMEOUT` seconds instead of whenever TCP notices.

Takeover: a killed leader's connection closes and PostgreSQL frees the lock at once,
so the work resumes within ``2 * retry + GRACE`` (11 s by default); a vanished machine
adds :data:`SESSION_TIMEOUT` (26 s). The new leader's sender starts with
``Sender.release_in_flight()`` (``Sender.run`` does it), so the rows the dead leader
had claimed go back to the queue: those, at most two batches, are the messages that
may arrive twice.

On SQLite there is one process per database file, and it is always the leader.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url

from digestbot.config import async_database_url

log = logging.getLogger(__name__)

# Any fixed 64-bit number; the same in every replica of every release. ("digest" in hex-ish.)
LOCK_KEY = 0x0D16E57B07
# Server-side: a leader silent for this long is disconnected, freeing the lock. It must
# exceed the check interval (at most 10 s, see Settings) with room for a slow query.
SESSION_TIMEOUT = 15.0
# Seconds a deposed leader's sender gets to finish the batch on its way (half a second
# of sending, see delivery.batch_size) and put back what it claimed.
GRACE = 1.0

_DATABASE_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)

Work = Callable[[asyncio.Event], Coroutine[Any, Any, None]]
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def postgres_dsn(database_url: str) -> str | None:
    """The plain ``postgresql://`` DSN asyncpg takes, or None for SQLite."""
    url = make_url(async_database_url(database_url))
    if not url.drivername.startswith("postgresql"):
        return None
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class Leadership:
    """Elects this process leader or not, and runs ``work`` exactly while it is.

    ``work(stop)`` is started on election and must return soon after ``stop`` is set.
    When leadership is lost, ``stop`` is set and the work gets :data:`GRACE` seconds to
    finish its batch and put back what it claimed, then is cancelled. :meth:`run` loops
    until its own ``stop`` is set.
    """

    def __init__(
        self,
        database_url: str,
        work: Work,
        *,
        retry: float = 5.0,
        key: int = LOCK_KEY,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._dsn = postgres_dsn(database_url)
        self._work = work
        self._retry = retry
        self._key = key
        self._monotonic = monotonic
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._work_stop = asyncio.Event()
        self._stop = asyncio.Event()
        self.is_leader = False
        self.elected_at: float | None = None  # monotonic
        self.elections = 0
        self.tries = 0  # attempts to take the lock (a standby's keep growing)
        self.running = False  # the election loop itself is alive
        self.answered_at: float | None = None  # monotonic: the lock query last answered

    @property
    def in_touch(self) -> bool:
        """The election heard from the database lately. A standby that cannot even ask
        for the lock (the server refuses its session, say) would never take over, so
        it must not look healthy: when every replica is such a standby, nothing sends."""
        if self.answered_at is None:
            return False
        return time.monotonic() - self.answered_at <= 3 * self._retry + 5.0

    @property
    def work_alive(self) -> bool:
        """The leader's work (the sender) is running; False on a standby."""
        return self._task is not None and not self._task.done()

    async def run(self, stop: asyncio.Event) -> None:
        self.running = True
        self._stop = stop
        try:
            while not stop.is_set():
                try:
                    if not self.is_leader:
                        got = await self._try_acquire()
                        self.answered_at = time.monotonic()
                        if got:
                            await self._elected()
                    elif await self._still_leader():
                        self.answered_at = time.monotonic()
                    else:
                        await self._deposed("lost the database connection that holds the lock")
                except _DATABASE_ERRORS as exc:  # the database is away: one line per try
                    log.warning("leader election: database unreachable (%s); retrying", exc)
                    await self._deposed("database unreachable")
                except Exception:  # never let the loop die: retry on the next round
                    log.exception("leader election failed; retrying")
                    await self._deposed("election error")
                if self.is_leader and self._task is not None and self._task.done():
                    # the work ended by itself (a bug): hand over rather than lead idly
                    await self._deposed("leader work stopped unexpectedly")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self._retry)
        finally:
            await self._deposed("shutting down", graceful=True)
            self.running = False

    async def _try_acquire(self) -> bool:
        self.tries += 1
        if self._dsn is None:
            return True  # SQLite: one process, always the leader
        conn: Any = self._conn
        if conn is None or conn.is_closed():
            conn = await asyncio.wait_for(
                asyncpg.connect(
                    self._dsn,
                    server_settings={
                        "application_name": "digestbot-leader",
                        "idle_session_timeout": str(int(SESSION_TIMEOUT * 1000)),
                    },
                ),
                timeout=max(self._retry, 5.0),
            )
            self._conn = conn
        got = await conn.fetchval(
            "SELECT pg_try_advisory_lock($1)", self._key, timeout=max(self._retry, 5.0)
        )
        return bool(got)

    async def _still_leader(self) -> bool:
        if self._dsn is None:
            return True
        conn = self._conn
        if conn is None or conn.is_closed():
            return False
        try:
            # Both a dead connection and a hung one count as lost: the lock may be gone.
            await conn.fetchval("SELECT 1", timeout=min(self._retry, SESSION_TIMEOUT / 3))
        except _DATABASE_ERRORS:
            return False
        return True

    async def _elected(self) -> None:
        if self._dsn is not None:
            # A leader that lost its lock connection but lives on notices within one
            # check (``retry``) and stops within GRACE; wait that long before sending,
            # so two senders never overlap beyond the in-flight bound. A killed leader
            # needs no such wait, but nothing here can tell the two apart.
            log.info("took the leader lock; starting in %.1f s", self._retry + GRACE)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self._retry + GRACE)
            if self._stop.is_set() or not await self._still_leader():
                return
        self.is_leader = True
        self.elected_at = self._monotonic()
        self.elections += 1
        log.info("this replica is now the leader: running the jobs and the sender")
        self._work_stop = asyncio.Event()
        self._task = asyncio.create_task(self._work(self._work_stop), name="leader-work")

    async def _deposed(self, why: str, *, graceful: bool = False) -> None:
        """Stop the work (at once unless ``graceful``) and let the lock go."""
        was_leader, self.is_leader = self.is_leader, False
        task, self._task = self._task, None
        if task is not None:
            self._work_stop.set()
            # The sender, stopped, finishes the batch on its way, records it and puts
            # back the rows it claimed but did not send; past GRACE it is cancelled
            # (its claimed rows then wait for the next leader's release_in_flight).
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=None if graceful else GRACE)
        conn, self._conn = self._conn, None
        if conn is not None:
            # Closing the session frees the lock; terminate when the server is not answering.
            try:
                await asyncio.wait_for(conn.close(), timeout=2.0)
            except _DATABASE_ERRORS:
                conn.terminate()
        if was_leader:  # a failure is worth a warning; a shutdown is not
            log.log(
                logging.INFO if graceful else logging.WARNING,
                "this replica is no longer the leader (%s)",
                why,
            )

    def gate(self, job: F) -> F:
        """``job`` wrapped to do nothing unless this replica is the leader (for JobQueue)."""

        async def gated(*args: Any, **kwargs: Any) -> Any:
            if self.is_leader:
                return await job(*args, **kwargs)
            return None

        gated.__name__ = getattr(job, "__name__", "job")
        gated.__doc__ = job.__doc__
        return gated  # type: ignore[return-value]
