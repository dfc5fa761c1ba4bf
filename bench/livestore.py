"""The year store's scratch copy made to look as readers find a live store, for
``bench/commands.py --year`` (which owns this module; see its docstring).

The builder (``bench/yearstore.py``) leaves every chat's digest cursor at 0, dates its
newest brief 30 Nov 2026 and writes no *What to watch next*; changing it would rebuild
every cached store (minutes each), so the copy is changed instead, in SQL, and the bot
gets a clock that runs from just after the newest brief.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select

from digestbot.bot.app import BotApp
from digestbot.readers.digests import RECENT
from digestbot.store import db
from digestbot.store.models import Brief, utcnow

Clock = Callable[[], datetime]

DAY_OF_BRIEFS = 300  # the year store's briefs a day


async def as_daily_readers(url: str, users: range) -> None:
    """The year store's chats have a year of sent digests but their digest cursor at 0
    (the builder leaves it so): move the users' cursors to yesterday's last digest, as
    the planner would have, so /digest reads a day of new briefs, not the whole year."""
    engine = db.create_engine(url)
    try:
        async with engine.begin() as conn:
            newest = (await conn.execute(sa.text("SELECT max(id) FROM briefs"))).scalar_one()
            cursor = max(0, (newest or 0) - DAY_OF_BRIEFS)
            await conn.execute(
                sa.text(
                    "UPDATE chats SET last_brief_id = :c, window_end_id = :c, window_shown = 0"
                    " WHERE id BETWEEN :first AND :last"
                ),
                {"c": cursor, "first": users.start, "last": users.stop - 1},
            )
    finally:
        await engine.dispose()


FRESHNESS = timedelta(minutes=10)  # how old the newest brief is when the readers ask
WATCH_EVERY = 5  # all briefs but every 5th say what to watch next (most real briefs do)
# a brief's "What to watch next": two sentences of a real one's length, its own per brief
# (the /watch answer says identical points once), in SQL so 110,000 briefs take seconds
WATCH_POINT = (
    "'Watch whether ' || title || ' holds up once independent tests are published. If "
    "rivals answer within weeks, the market is moving faster than the launch suggests; "
    "if regulators ask questions first, expect the roll-out to slow.'"
)


async def as_live_store(url: str, kind: str) -> datetime:
    """Give the copy's briefs watch points, as real briefs have them (the builder writes
    none, and rebuilding the cached stores takes minutes); answer its newest brief's
    time, for the bot's clock. Only the copy is written."""
    engine = db.create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    f"UPDATE briefs SET what_to_watch = {WATCH_POINT} WHERE id % {WATCH_EVERY} <> 0"
                )
            )
            newest = (
                await conn.execute(sa.select(sa.func.max(col(Brief.published_at))))
            ).scalar_one()
        if kind == "postgres":
            # the UPDATE left a dead version of every brief behind: without a vacuum the
            # measured reads would step over them (a live store's autovacuum keeps up)
            async with engine.connect() as conn:
                auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await auto.execute(sa.text("VACUUM ANALYZE briefs"))
    finally:
        await engine.dispose()
    if not isinstance(newest, datetime):
        raise SystemExit("the year store has no briefs")
    return newest if newest.tzinfo is not None else newest.replace(tzinfo=UTC)


def running_from(start: datetime) -> Clock:
    """A clock that reads ``start`` now and runs on at the machine's pace."""
    offset = start - utcnow()
    return lambda: utcnow() + offset


BRIEF_LINK = re.compile(r"/brief_(\d+)")
ASKED = ("/summary", "/watch")


async def sample_answers(app: BotApp, chat_id: int) -> dict[str, dict[str, int | str]]:
    """What /summary and /watch answer ``chat_id`` through the bot's services (not the
    server: it keeps no texts): the heading, how many briefs the answer links, and how
    many of those are of the last ``RECENT`` days on the bot's clock. None recent: the
    command took its fallback query (or found nothing), not the path readers take."""
    services = app.bot_data.services
    assert services is not None
    answers: dict[str, dict[str, int | str]] = {}
    for command, ask in zip(ASKED, (services.digests.summary, services.digests.watch), strict=True):
        text = "\n".join(await ask(chat_id))
        ids = [int(i) for i in BRIEF_LINK.findall(text)]
        since = services.clock() - RECENT
        async with db.read_scope(services.sessions) as session:
            recent = (
                await session.exec(
                    select(sa.func.count())
                    .select_from(Brief)
                    .where(col(Brief.id).in_(ids), col(Brief.published_at) >= since)
                )
            ).one()
        heading = re.sub(r"<[^>]+>", "", text.splitlines()[0]) if text else ""
        answers[command] = {"heading": heading, "briefs": len(ids), "recent": int(recent)}
    return answers
