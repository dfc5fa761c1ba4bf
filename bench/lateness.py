"""How late a day's digests would go out through one sender at ``SEND_RATE``
(``bench/plan.py`` prints it beside the day): the day's queue, read back from the store
the day ran on, drained at the send rate."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa

from bench.scenario import DAY
from digestbot.store import db
from digestbot.store.models import Outbox


def queue_lateness(waves: Sequence[tuple[datetime, int]], rate: float) -> dict[str, float]:
    """How late a day's digests would go out through one sender at ``rate`` messages a
    second: ``waves`` are (due minute, messages queued then), in order. Each wave joins
    the queue at its minute; the queue drains at ``rate``, oldest first, as the sender
    claims rows in id order. Seconds from each message's due minute to its send, p50,
    p95 (nearest rank) and worst, over every message of the day."""
    late: list[float] = []
    free = None  # when the sender is done with what was queued before
    for due, count in waves:
        start = due if free is None or free < due else free
        offset = (start - due).total_seconds()
        late.extend(offset + k / rate for k in range(1, count + 1))
        free = start + timedelta(seconds=count / rate)
    if not late:
        return {"messages": 0, "p50_s": 0.0, "p95_s": 0.0, "worst_s": 0.0}
    late.sort()

    def rank(fraction: float) -> float:
        return late[max(0, math.ceil(fraction * len(late)) - 1)]

    return {"messages": len(late), "p50_s": rank(0.5), "p95_s": rank(0.95), "worst_s": late[-1]}


async def day_waves(url: str) -> list[tuple[datetime, int]]:
    """The day's queued digest messages by when they were queued: the tick of their due
    minute (HH:MM:30 here), which is what the bot measures lateness from (the row's
    ``created_at``, see delivery/sender.py)."""
    engine = db.create_engine(url)
    try:
        async with engine.connect() as conn:
            created = Outbox.__table__.c.created_at  # type: ignore[attr-defined]
            found = await conn.execute(
                sa.select(created, sa.func.count()).group_by(created).order_by(created)
            )
            return [(at, int(n)) for at, n in found if DAY <= at < DAY + timedelta(days=1)]
    finally:
        await engine.dispose()
