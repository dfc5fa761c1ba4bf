"""The floor beside ``bench/plan.py``'s day (issue 19): the same writes, with no planning.

After the day, the rows it queued (every outbox row past the pre-day store's last id) and
the schedules it moved (every chat whose ``next_digest_at`` / cursor / ``last_digest_at``
differ from the pre-day store's) are read back, grouped as the planner committed them
(one transaction per tick and per ``planner.BATCH`` chats: chats are grouped by the
minute they were due before the day, which is the tick that planned them), and written
into a fresh copy of the pre-day store by the driver alone:

* SQLite: plain ``sqlite3`` with the bot's pragmas (WAL, ``synchronous=NORMAL``, its
  checkpoint interval, foreign keys), per batch ``BEGIN``, one ``executemany`` of the
  planner's own ``INSERT ... ON CONFLICT (key) DO NOTHING`` and one of an ``UPDATE ...
  WHERE id = ?`` setting the five fields, ``COMMIT``;
* PostgreSQL: ``asyncpg``, per batch a transaction with ``copy_records_to_table`` for the
  outbox rows and one ``UPDATE ... FROM unnest(...)`` for the schedules.

Same rows, same indexes (the copy is of the migrated store), about the same number of
transactions; none of the 1,440 ticks' reads and none of the assembly. Its time is what
writing the day costs at least on this machine in this run, so ``day / floor`` says how
much of the day is planning rather than the disk and the database.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from digestbot.delivery.planner import BATCH
from digestbot.store.db import SQLITE_BUSY_TIMEOUT_MS, SQLITE_CHECKPOINT_PAGES

OUTBOX_COLUMNS = (
    "key", "chat_id", "kind", "part", "payload", "status", "attempts", "next_attempt_at",
    "created_at",
)  # fmt: skip
# the fields the planner moves (store.save_plan), then the chat's id
MOVE_COLUMNS = (
    "next_digest_at", "last_brief_id", "window_end_id", "window_shown", "last_digest_at",
)  # fmt: skip
PAGE = 50_000  # chats read back at a time

SQLITE_QUEUE = (
    f"INSERT INTO outbox ({', '.join(OUTBOX_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in OUTBOX_COLUMNS)}) ON CONFLICT (key) DO NOTHING"
)
SQLITE_MOVE = f"UPDATE chats SET {', '.join(f'{name} = ?' for name in MOVE_COLUMNS)} WHERE id = ?"
PG_MOVE = """
UPDATE chats AS c SET next_digest_at = u.next_at, last_brief_id = u.last_id,
    window_end_id = u.end_id, window_shown = u.shown, last_digest_at = u.digest_at
FROM unnest($1::timestamp[], $2::int[], $3::int[], $4::int[], $5::timestamp[], $6::bigint[])
    AS u(next_at, last_id, end_id, shown, digest_at, id)
WHERE c.id = u.id"""

Row = tuple[Any, ...]


@dataclass
class Batch:
    """One transaction of the day: its outbox rows and its chats' new schedules."""

    rows: list[Row] = field(default_factory=list)
    moves: list[Row] = field(default_factory=list)  # (*MOVE_COLUMNS, id)


@dataclass
class Floor:
    seconds: float
    cpu_s: float
    transactions: int
    rows: int
    moves: int
    driver: str


def _minute(value: Any) -> str:
    """The tick a chat was planned in: the minute it was due (a stored timestamp, a
    string on SQLite, a datetime on PostgreSQL)."""
    return str(value)[:16]


def _batches(changed: list[tuple[str, Row]], rows_by_chat: dict[int, list[Row]]) -> list[Batch]:
    """Group moves by tick, then ``BATCH`` chats at a time, each with its chats' rows."""
    by_tick: dict[str, list[Row]] = defaultdict(list)
    for tick, move in changed:
        by_tick[tick].append(move)
    batches = []
    for tick in sorted(by_tick):
        moves = sorted(by_tick[tick], key=lambda move: move[-1])
        for start in range(0, len(moves), BATCH):
            batch = Batch(moves=moves[start : start + BATCH])
            for move in batch.moves:
                batch.rows += rows_by_chat.pop(move[-1], [])
            batches.append(batch)
    if rows_by_chat:  # rows of a chat whose schedule did not move: one more transaction
        batches.append(Batch(rows=[row for rows in rows_by_chat.values() for row in rows]))
    return batches


def _pair_changes(before: list[Row], after: list[Row]) -> list[tuple[str, Row]]:
    """(tick, move) for each chat whose planned fields the day changed; rows are
    ``(id, *MOVE_COLUMNS)`` in id order, the same chats in both."""
    assert len(before) == len(after), "the day added or removed chats"
    changed = []
    for old, new in zip(before, after, strict=True):
        assert old[0] == new[0]
        if old != new:
            changed.append((_minute(old[1]), (*new[1:], new[0])))
    return changed


# --- SQLite ------------------------------------------------------------------------------


def _sqlite_connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    # the bot's pragmas (store/db.py), so the floor pays what the planner's writes pay
    for pragma in (
        "journal_mode=WAL",
        "foreign_keys=ON",
        "synchronous=NORMAL",
        f"wal_autocheckpoint={SQLITE_CHECKPOINT_PAGES}",
    ):
        conn.execute(f"PRAGMA {pragma}")
    return conn


def _sqlite_chats(conn: sqlite3.Connection) -> list[Row]:
    columns = ", ".join(("id", *MOVE_COLUMNS))
    return conn.execute(f"SELECT {columns} FROM chats ORDER BY id").fetchall()


def sqlite_floor(day_path: str, floor_path: str) -> Floor:
    """Read the day back from ``day_path``, write it into ``floor_path`` (a fresh copy of
    the pre-day store), timed."""
    floor = _sqlite_connect(floor_path)
    day = _sqlite_connect(day_path)
    try:
        last_id = floor.execute("SELECT coalesce(max(id), 0) FROM outbox").fetchone()[0]
        changed = _pair_changes(_sqlite_chats(floor), _sqlite_chats(day))
        rows_by_chat: dict[int, list[Row]] = defaultdict(list)
        found = day.execute(
            f"SELECT {', '.join(OUTBOX_COLUMNS)} FROM outbox WHERE id > ? ORDER BY id",
            (last_id,),
        )
        for row in found:
            rows_by_chat[row[1]].append(row)
        batches = _batches(changed, rows_by_chat)
        started, cpu_started = time.perf_counter(), time.process_time()
        for batch in batches:
            floor.execute("BEGIN")
            if batch.rows:
                floor.executemany(SQLITE_QUEUE, batch.rows)
            if batch.moves:
                floor.executemany(SQLITE_MOVE, batch.moves)
            floor.execute("COMMIT")
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    finally:
        day.close()
        floor.close()
    return _result(batches, seconds, cpu, "plain sqlite3")


# --- PostgreSQL --------------------------------------------------------------------------


async def _pg_chats(conn: asyncpg.Connection) -> list[Row]:
    columns = ", ".join(("id", *MOVE_COLUMNS))
    return [tuple(r) for r in await conn.fetch(f"SELECT {columns} FROM chats ORDER BY id")]


async def postgres_floor(day_url: str, floor_url: str) -> Floor:
    """As :func:`sqlite_floor`, with asyncpg on PostgreSQL."""
    floor = await asyncpg.connect(floor_url)
    day = await asyncpg.connect(day_url)
    try:
        last_id = await floor.fetchval("SELECT coalesce(max(id), 0) FROM outbox")
        changed = _pair_changes(await _pg_chats(floor), await _pg_chats(day))
        rows_by_chat: dict[int, list[Row]] = defaultdict(list)
        found = await day.fetch(
            f"SELECT {', '.join(OUTBOX_COLUMNS)} FROM outbox WHERE id > $1 ORDER BY id", last_id
        )
        for record in found:
            rows_by_chat[record[1]].append(tuple(record))
        del found
        batches = _batches(changed, rows_by_chat)
        started, cpu_started = time.perf_counter(), time.process_time()
        for batch in batches:
            async with floor.transaction():
                if batch.rows:
                    await floor.copy_records_to_table(
                        "outbox", records=batch.rows, columns=OUTBOX_COLUMNS
                    )
                if batch.moves:
                    await floor.execute(PG_MOVE, *map(list, zip(*batch.moves, strict=True)))
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    finally:
        await day.close()
        await floor.close()
    return _result(batches, seconds, cpu, "plain asyncpg")


def _result(batches: list[Batch], seconds: float, cpu: float, driver: str) -> Floor:
    return Floor(
        seconds=seconds,
        cpu_s=cpu,
        transactions=len(batches),
        rows=sum(len(b.rows) for b in batches),
        moves=sum(len(b.moves) for b in batches),
        driver=driver,
    )


def measure_floor(day_url: str, floor_url: str) -> Floor:
    """The floor of the day written into ``day_url``; ``floor_url`` is a fresh copy of
    the store as it was before the day (it is written to)."""
    if day_url.startswith("sqlite:///"):
        return sqlite_floor(
            day_url.removeprefix("sqlite:///"), floor_url.removeprefix("sqlite:///")
        )
    return asyncio.run(postgres_floor(day_url, floor_url))
