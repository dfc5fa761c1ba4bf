"""How many commands a second the real bot answers, next to a bare python-telegram-bot echo bot.

Layout: the fake Bot API server runs in a child process of its own (``bench/fakeserver.py``),
which also plays the users: it queues their messages as updates for ``getUpdates`` and
notes when each answer arrives, on its own clock. This process runs the bot under test,
long-polling the child over 127.0.0.1 (``start_polling(poll_interval=0, timeout=10)``),
as the bot polls Telegram on another machine. Pushing and timing in the child keeps the
load generator's CPU out of the measured process; with the server in-process its work
would count against the bot, and the bot's against the latencies.

The two bots take turns against the same server child, ``--rounds`` times (default 3),
each round with fresh users (and, for digestbot, a fresh database), so that load from
elsewhere on the machine does not land on one bot only. Updates per second are the
median round's; latencies are pooled over the rounds:

* baseline: a bare PTB ``Application`` with one ``MessageHandler`` that answers each text
  with ``reply_text(text)``. It processes updates concurrently
  (``concurrent_updates(64)``, PTB's own processor), as the real bot does (64 at once,
  in order within a chat): processed one by one it would measure round trips rather than
  PTB's cost, and flatter the real bot.
* the real bot: ``digestbot.app.build_application`` on a temporary SQLite database
  seeded with the sample briefs (``seed=True`` loads ``seeds/``) plus one registered
  chat per simulated user, each following 3 of the seed tags. Everything runs as in
  production (its ``PerChatUpdateProcessor``, ``FloodGuard``, ``ErrorReporter``, the
  shared rate limiter with ``rate_limit=True``) except: the scheduled jobs and the
  outbox sender are off (``background=False``), so that only command answers reach
  the server; and ``SEND_RATE`` is 1000 (the highest allowed), so the shared rate
  limiter does not hold answers back at 100 or more a second (at the default 25 a
  second it would, by design).

The load: updates cycle through ``/digest``, ``/summary``, ``/watch`` and ``/subscribe TAG``
(the baseline echoes the same texts). Every update comes from a different user, so the
FloodGuard (8 commands at once per user, then one per 3 s) never drops one and each
chat has one update in flight: an update is handled when the first answer to its chat
reached the server (the table shows how many messages the answers took in all).

1. throughput: M updates (``--updates``) queued at once; updates per second = M /
   (first push to last answer). ratio = real bot / baseline.
2. latency: updates pushed at 100 a second (``--rate``) on a fixed schedule for
   ``--seconds``; p50 and p99 of push-to-answer, for both bots.

``--year`` (with ``--db sqlite`` or ``postgres`` and ``bench/yearstore.py``'s size options)
runs digestbot on the year store instead (1M chats, 2M subscriptions, 110,000 briefs, 3M
outbox rows; built once and cached): each round on a scratch copy of it (a file copy, or
``CREATE DATABASE ... TEMPLATE``), so the cache is never written to, with the store's own
chats as the users (ids 1, 2, ...; fresh ones each round) and no sample briefs. Their
digest cursors are moved to the day before the newest brief first (the builder leaves
them at 0 though it gives them a year of sent digests), so /digest reads a day's briefs.
The store is made to look live, as readers find it: the bot's clock (``build_application
(clock=...)``, the one "now" its commands read) runs from ``FRESHNESS`` after the store's
newest brief, so "the last 7 days" of /summary and /watch hold briefs; and 4 briefs in 5
of the copy get a *What to watch next* paragraph (the builder writes none; filled in SQL
on the copy, so the cached store and its build version stay as they are). Without both,
/summary and /watch took their fallback queries every time and /watch answered "No
briefs yet" (every ``--year`` run before branch ``h-cmdclock``, 8 Dec 2026, measured that);
``--as-built`` measures that way again. Before the loads, one spare chat asks /summary
and /watch through the same services, and the table shows what they answer (also in the
JSON, as ``answers``), so a run that measured the fallback paths shows it.

The bot process's peak RSS (``ru_maxrss``: the fake server is a child process) and the
load average at the end are printed and in the JSON.

Before each bot's measurements, a warm-up load of 40 updates (not counted) lets the bot
open its connections and SQLAlchemy compile its statements.

The table also gives digestbot's p50 at ``--rate`` for each command, and the rounds'
figures.

Run from the repository root::

    .venv/bin/python bench/commands.py                 # M = 2,000; latency 10 s; 3 rounds
    .venv/bin/python bench/commands.py --quick         # M = 200; latency 2 s; 1 round
    .venv/bin/python bench/commands.py --year --db postgres   # on the year store

Output: a table, then, as the last line, JSON::

    {"updates_per_s": A, "baseline_updates_per_s": B, "ratio": A/B, "p50_ms": X, "p99_ms": Y,
     "peak_rss_mb": R, "load_average": L}

(``--year`` adds ``clock``, the bot's "now" when the first round started, and ``answers``.)

``p50_ms`` and ``p99_ms`` are the real bot's, at the ``--rate``.
"""

from __future__ import annotations

import os

os.environ.setdefault("PTB_TIMEDELTA", "true")  # as the digestbot command sets it

import argparse
import asyncio
import cProfile
import gc
import json
import logging
import resource
import shutil
import statistics
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from telegram import Update  # noqa: E402
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler  # noqa: E402
from telegram.ext import filters as ptb_filters  # noqa: E402

from bench import yearstore  # noqa: E402
from bench.fakeserver import ServerProcess  # noqa: E402
from bench.livestore import (  # noqa: E402
    FRESHNESS,
    Clock,
    as_daily_readers,
    as_live_store,
    running_from,
    sample_answers,
)
from digestbot import store  # noqa: E402
from digestbot.bot.app import BotApp, build_application  # noqa: E402
from digestbot.config import load_settings  # noqa: E402
from digestbot.readers.digests import RECENT  # noqa: E402
from digestbot.store import db  # noqa: E402
from digestbot.store.models import Chat, Subscription, utcnow  # noqa: E402

DEFAULT_UPDATES = 2000
QUICK_UPDATES = 200
DEFAULT_SECONDS = 10.0
QUICK_SECONDS = 2.0
DEFAULT_ROUNDS = 3
RATE = 100.0
WARM_UP = 40
SEND_RATE = 1000.0  # Settings allows at most 1000
FOLLOWED = ("generative-ai", "chips", "open-source")  # every simulated user's tags
MIX = ("/digest", "/summary", "/watch", "/subscribe llm")
POLL_TIMEOUT = 10  # seconds, getUpdates long polling, as in production


@dataclass
class Load:
    """One load's figures (or several rounds' together), from the server child."""

    updates: int
    messages: int
    rates: list[float]  # updates handled per second, one per round
    latencies_ms: list[tuple[str, float]]  # (command, push to answer)

    @property
    def per_second(self) -> float:
        """The median round's."""
        return statistics.median(self.rates)

    def percentile(self, p: float, command: str | None = None) -> float:
        """The p-th percentile latency (nearest rank), of one command's updates if given."""
        ordered = sorted(ms for what, ms in self.latencies_ms if command in (None, what))
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    def __add__(self, other: Load) -> Load:
        return Load(
            self.updates + other.updates,
            self.messages + other.messages,
            self.rates + other.rates,
            self.latencies_ms + other.latencies_ms,
        )


@dataclass
class Figures:
    throughput: Load
    latency: Load

    def __add__(self, other: Figures) -> Figures:
        return Figures(self.throughput + other.throughput, self.latency + other.latency)


class Users:
    """Hands out fresh user ids, so every update comes from a user with nothing in flight."""

    def __init__(self, first: int) -> None:
        self.next = first

    def take(self, count: int) -> range:
        ids = range(self.next, self.next + count)
        self.next += count
        return ids


async def load(server: ServerProcess, users: range, rate: float) -> Load:
    answer = await server.ask(
        "load", texts=list(MIX), first_user=users.start, count=len(users), rate=rate
    )
    if answer["missing"]:
        raise SystemExit(f"{answer['missing']} of {len(users)} updates got no answer in time")
    seconds = float(answer["seconds"])
    return Load(
        updates=len(users),
        messages=int(answer["messages"]),
        rates=[int(answer["handled"]) / seconds if seconds else 0.0],
        # in push order: update i sent MIX[i % len(MIX)]
        latencies_ms=[
            (MIX[i % len(MIX)], float(ms)) for i, ms in enumerate(answer["latencies_ms"])
        ],
    )


async def measure(
    server: ServerProcess, users: Users, updates: int, rate: float, seconds: float
) -> Figures:
    await load(server, users.take(WARM_UP), 0)
    throughput = await load(server, users.take(updates), 0)
    latency = await load(server, users.take(max(1, round(rate * seconds))), rate)
    return Figures(throughput, latency)


# ---- the bots ----------------------------------------------------------------------------


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None and message.text:
        await message.reply_text(message.text, do_quote=False)


@asynccontextmanager
async def echo_bot(server: ServerProcess) -> AsyncIterator[None]:
    """The baseline: a bare Application with one echo handler, polling the server child."""
    app = (
        ApplicationBuilder()
        .token(server.token)
        .base_url(server.base_url)
        .concurrent_updates(64)
        .build()
    )
    app.add_handler(MessageHandler(ptb_filters.TEXT, echo))
    async with app:  # initialize() and shutdown()
        await app.start()
        await _poll(app)
        try:
            yield
        finally:
            await _unpoll(app)
            await app.stop()


@asynccontextmanager
async def real_bot(
    server: ServerProcess, database_url: str, users: range | None, clock: Clock = utcnow
) -> AsyncIterator[BotApp]:
    """digestbot as ``digestbot run`` builds it (see the module docstring for what differs).

    ``users`` are registered first (on a fresh database, seeded with the sample briefs);
    None: the database is a copy of the year store, its own chats are the users.
    """
    settings = load_settings(
        None,
        database_url=database_url,
        telegram_api_base_url=server.base_url,
        send_rate=SEND_RATE,
        log_level="WARNING",
    )
    app = build_application(
        settings,
        token=server.token,
        seed=users is not None,
        background=False,
        clock=clock,
        freeze_heap=True,  # as `digestbot run`
    )
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)  # opens the database, seeds the briefs
    try:
        if users is not None:
            await register_users(app, users)
        await app.start()
        await _poll(app)
        try:
            yield app
        finally:
            await _unpoll(app)
            await app.stop()
    finally:
        await app.shutdown()
        assert app.post_shutdown is not None
        await app.post_shutdown(app)
        gc.unfreeze()  # the next round's bot starts from a heap as `digestbot run`'s would


async def register_users(app: BotApp, users: range) -> None:
    """Every simulated user as a registered private chat following FOLLOWED (bulk SQL)."""
    services = app.bot_data.services
    assert services is not None
    now = utcnow()
    async with db.session_scope(services.sessions) as session:
        tag_ids = await store.ensure_tags(session=session, slugs=FOLLOWED)
        conn = await session.connection()
        # the chats' copy of their subscriptions, as store.add_subscription keeps it
        followed = ",".join(str(i) for i in sorted(tag_ids[slug] for slug in FOLLOWED))
        chats = [
            {
                "id": user,
                "type": "private",
                "title": None,
                "language": "en",
                "timezone": "UTC",
                "digest_time": "08:00",
                "frequency": "daily",
                "weekly_day": 0,
                "min_score": 0,
                "digest_size": 10,
                "active": True,
                "paused": False,
                "last_brief_id": 0,
                "window_end_id": 0,
                "window_shown": 0,
                "last_digest_at": None,
                "next_digest_at": now + timedelta(days=1),
                "created_at": now - timedelta(days=30),
                "tag_ids": followed,
            }
            for user in users
        ]
        subscriptions = [
            {"chat_id": user, "tag_id": tag_ids[slug], "created_at": now}
            for user in users
            for slug in FOLLOWED
        ]
        await conn.execute(sa.insert(Chat.__table__), chats)  # type: ignore[attr-defined]
        await conn.execute(sa.insert(Subscription.__table__), subscriptions)  # type: ignore[attr-defined]


async def _poll(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=POLL_TIMEOUT)


async def _unpoll(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    assert app.updater is not None
    await app.updater.stop()


# ---- the run -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Year:
    """Run digestbot on copies of the year store (``--year``)."""

    kind: str  # sqlite or postgres
    size: yearstore.Size
    url: str  # the cached store, never written to: each round gets a copy
    pg_url: str
    live: bool = True  # as readers find it (module docstring); False: --as-built


@asynccontextmanager
async def year_copy(year: Year, folder: Path, n: int) -> AsyncIterator[str]:
    """A scratch copy of the cached year store, so the commands' writes (subscriptions,
    digest cursors) never reach the cache and every run starts from the same store."""
    if year.kind == "sqlite":
        copy = folder / f"year{n}.db"
        await asyncio.to_thread(shutil.copyfile, year.url.removeprefix("sqlite:///"), copy)
        yield f"sqlite:///{copy}"
        return
    name = f"{year.url.rpartition('/')[2]}_bench{n}"
    admin = await asyncpg.connect(year.pg_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{year.url.rpartition("/")[2]}"')
        try:
            yield f"{year.url.rpartition('/')[0]}/{name}"
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def profiled(profile: cProfile.Profile | None, work: Awaitable[Figures]) -> Figures:
    """``work``, under ``profile`` when given: only digestbot's measured loads are
    profiled (the process runs the bot and the event loop; the server is a child)."""
    if profile is None:
        return await work
    profile.enable()
    try:
        return await work
    finally:
        profile.disable()


def peak_rss_mb() -> float:
    """This process's peak resident set: the bot's (the fake server is a child process)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def run(
    updates: int,
    rate: float,
    seconds: float,
    rounds: int,
    year: Year | None = None,
    profile: cProfile.Profile | None = None,
) -> dict[str, object]:
    per_round = WARM_UP + updates + max(1, round(rate * seconds))
    if year is not None and year.size.chats < rounds * per_round:
        raise SystemExit(f"--year needs {rounds * per_round:,} chats in the store, one an update")
    base: Figures | None = None
    real: Figures | None = None
    clock_at: datetime | None = None  # the bot's "now" as the first round began
    answers: dict[str, dict[str, int | str]] = {}
    with tempfile.TemporaryDirectory(prefix="digestbot_bench_commands_") as tmp:
        async with ServerProcess() as server:
            for n in range(rounds):
                # fresh users every round (and a fresh database for digestbot), so no
                # round inherits another's chats, flood buckets or answered digests
                print(f"round {n + 1}/{rounds}: echo bot...", file=sys.stderr, flush=True)
                echo_users = Users(1_000_001 + n * per_round)
                async with echo_bot(server):
                    figures = await measure(server, echo_users, updates, rate, seconds)
                base = figures if base is None else base + figures
                print(f"round {n + 1}/{rounds}: digestbot...", file=sys.stderr, flush=True)
                if year is None:
                    users = Users(50_000_001 + n * per_round)
                    registered = range(users.next, users.next + per_round)
                    url = f"sqlite:///{Path(tmp) / f'round{n}.db'}"
                    async with real_bot(server, url, registered):
                        figures = await profiled(
                            profile, measure(server, users, updates, rate, seconds)
                        )
                else:  # the year store's own chats (ids 1..chats), new ones each round
                    users = Users(1 + n * per_round)
                    async with year_copy(year, Path(tmp), n) as url:
                        await as_daily_readers(url, range(users.next, users.next + per_round))
                        clock: Clock = utcnow
                        if year.live:
                            clock = running_from(await as_live_store(url, year.kind) + FRESHNESS)
                        async with real_bot(server, url, None, clock) as app:
                            if clock_at is None:
                                clock_at = clock()
                                # the store's last chat: never one of the first round's users
                                answers = await sample_answers(app, year.size.chats)
                            figures = await profiled(
                                profile, measure(server, users, updates, rate, seconds)
                            )
                real = figures if real is None else real + figures
    assert base is not None and real is not None

    ratio = real.throughput.per_second / base.throughput.per_second
    print(f"updates: {', '.join(MIX)}, in turn; one per user; fake server in a child process")
    if rounds > 1:
        print(f"{rounds} rounds, alternating: upd/s is the median round's; latencies are pooled")
    print(f"{'':<38}{'updates':>9}{'msgs':>7}{'upd/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    print("-" * 81)
    for name, figures in (("echo bot (baseline)", base), ("digestbot", real)):
        t, lat = figures.throughput, figures.latency
        print(f"{name + ', all at once':<38}{t.updates:>9,}{t.messages:>7,}{t.per_second:>9.1f}")
        if rounds > 1:
            print(f"{'    rounds':<38}{'':>16}" + ", ".join(f"{r:.1f}" for r in t.rates))
        label = f"{name}, {rate:g}/s for {seconds:g} s"
        print(
            f"{label:<38}{lat.updates:>9,}{lat.messages:>7,}{lat.per_second:>9.1f}"
            f"{lat.percentile(50):>9.1f}{lat.percentile(99):>9.1f}"
        )
    print(f"{'ratio digestbot / echo bot':<38}{'':>25}{ratio:>9.2f}")
    slowest = max(ms for _, ms in real.latency.latencies_ms)
    by_command = ", ".join(
        f"{command.split()[0]} {real.latency.percentile(50, command):.1f}" for command in MIX
    )
    print(f"digestbot at {rate:g}/s: p50 ms by command: {by_command}; slowest {slowest:.1f} ms")
    rss = peak_rss_mb()
    store_note = "a fresh SQLite database" if year is None else f"the year store ({year.kind})"
    print(f"on {store_note}; the bot process's peak RSS {rss:.0f} MB")
    extra: dict[str, object] = {}
    if year is not None and clock_at is not None:
        how = "live: watch points added" if year.live else "as built: the wall clock"
        print(f"the bot's clock at round 1: {clock_at:%Y-%m-%d %H:%M} UTC ({how})")
        for command, answer in answers.items():
            print(
                f"  {command} answers {answer['heading']!r}: {answer['briefs']} briefs linked, "
                f"{answer['recent']} of the last {RECENT.days} days"
            )
        extra = {"clock": clock_at.isoformat(), "answers": answers}
    return {
        "updates_per_s": round(real.throughput.per_second, 1),
        "baseline_updates_per_s": round(base.throughput.per_second, 1),
        "ratio": round(ratio, 3),
        "p50_ms": round(real.latency.percentile(50), 1),
        "p99_ms": round(real.latency.percentile(99), 1),
        "peak_rss_mb": round(rss, 1),
        "load_average": round(os.getloadavg()[0], 2),
        **extra,
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Updates per second through the real bot (polling the fake Bot API server "
        "in a child process) vs. a bare python-telegram-bot echo bot, and latency at a "
        "steady rate.",
    )
    parser.add_argument(
        "--updates",
        type=int,
        help=f"M, updates queued at once for throughput (default {DEFAULT_UPDATES:,}; "
        f"--quick {QUICK_UPDATES})",
    )
    parser.add_argument(
        "--rate", type=float, default=RATE, help=f"updates a second for latency (default {RATE:g})"
    )
    parser.add_argument(
        "--seconds",
        type=float,
        help=f"how long to push at --rate (default {DEFAULT_SECONDS:g}; --quick {QUICK_SECONDS:g})",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        help=f"the two bots alternate this many times (default {DEFAULT_ROUNDS}; --quick 1)",
    )
    parser.add_argument("--quick", action="store_true", help="small numbers, for a smoke test")
    parser.add_argument(
        "--year",
        action="store_true",
        help="digestbot on a copy of the year store (bench/yearstore.py, built once and "
        "cached; its size options below), its chats as the users",
    )
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--as-built",
        action="store_true",
        help="with --year: the store as the builder left it and the machine's clock, as "
        "runs before 8 Dec 2026 measured (/summary and /watch on their fallback queries)",
    )
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="write a cProfile of digestbot's measured loads (not the echo bot's) to FILE "
        "(read it with python -m pstats FILE); profiling slows the bot, so its figures "
        "are not comparable with an unprofiled run's",
    )
    yearstore.add_size_options(parser)
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (1 if args.quick else DEFAULT_ROUNDS)
    args.updates = args.updates or (QUICK_UPDATES if args.quick else DEFAULT_UPDATES)
    args.seconds = args.seconds or (QUICK_SECONDS if args.quick else DEFAULT_SECONDS)
    if args.updates < 1 or args.rate <= 0 or args.seconds <= 0 or args.rounds < 1:
        parser.error("--updates, --rate, --seconds and --rounds must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    year = None
    if args.year:
        size = yearstore.size_of(args)
        url, _, _ = yearstore.year_store(
            args.db, size, rebuild=args.rebuild, cache=args.cache_dir, pg_url=args.pg_url
        )
        year = Year(args.db, size, url, args.pg_url, live=not args.as_built)
    elif args.db != "sqlite":
        parser_error = "--db postgres needs --year (the default run uses a fresh SQLite file)"
        raise SystemExit(parser_error)
    profile = cProfile.Profile() if args.profile else None
    result = asyncio.run(
        run(args.updates, args.rate, args.seconds, args.rounds, year, profile=profile)
    )
    if profile is not None:
        profile.dump_stats(args.profile)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
