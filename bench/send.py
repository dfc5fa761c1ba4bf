"""How fast the outbox Sender pushes messages, next to a bare python-telegram-bot loop.

The fake Bot API server (``FakeBotAPI(strict_html=True)``: real HTTP, the same HTML
validation Telegram does) runs in a child process of its own (``bench/fakeserver.py``),
and this process talks to it over 127.0.0.1, as the bot talks to Telegram on another
machine. The baseline and the Sender send to the same server process, so the figures
compare the Sender's own overhead (claiming rows in the database, recording outcomes,
pacing) with the cost of the HTTP calls themselves; they are not Telegram's latency.
(Until this layout, the server shared this process's event loop and core: the server's
CPU then counted against the code measured, and against the Sender's concurrent requests
most, since they overlap its waiting with server work. On this 2-core machine the server
child has a core of its own.)

Three measurements, all sending the same digest-like HTML text (~1,500 characters, made
with ``digestbot.render.digest``):

a. baseline: ``Bot(token, base_url=...)`` awaiting ``send_message`` N times,
   one after another, round-robin over M private chats (M = N unless ``--chats``). It
   sends with ``parse_mode=HTML`` and link previews off, exactly the call the Sender
   makes, so the server does the same work in (a) and (b).
b. sender: N outbox rows as the planner writes them (key, chat_id, kind "digest", part 0,
   JSON payload ``{"text": ...}``), one per chat over N distinct chats so per-chat pacing
   never holds a row back, enqueued with ``store.enqueue`` into a migrated SQLite temp
   database; then ``Sender(..., budget=SendBudget(rate=1e9)).drain()`` (the pipelined
   loop ``run()`` uses) until every row is sent. Its Bot is configured like the app's
   sender bot (``HTTPXRequest(connection_pool_size=CONCURRENCY)``). Before the timed
   drain, one batch of 64 rows to other chats is drained untimed on the same database
   and Bot, as (a) sends once before its clock starts: the first batch pays once-only
   costs (lazy imports, SQLAlchemy compiling statements) a long-running sender does not.
   ratio = (b) / (a). (a) and (b) run ``--rounds`` times, alternating, against the one
   server process; each figure is the median of its rounds, so a burst of load from
   elsewhere on the machine does not land on one side only.
c. capped: a second server child enforces Telegram's flood limits (``--limit 30``:
   30 messages a second in a sliding window, one a second per chat, 429 with
   ``retry_after`` past them), the Sender runs with ``SendBudget(rate=30)`` (or
   ``--budget-rate``; ``SEND_RATE=30`` in the app) on real time, over 300 distinct chats.
   Achieved rate = (accepted sends - 1) / (time of the last accepted send - time of the
   first), from the server child's arrival times; and how many sends the server child
   answered 429, and when (seconds after the first accepted send).

The server child counts every send it answered; the script stops with an error if any
send of (a) or (b) was not accepted, or if the server failed on its own code.

Run from the repository root::

    .venv/bin/python bench/send.py                 # N = 2,000; capped part 300 messages
    .venv/bin/python bench/send.py --messages 5000
    .venv/bin/python bench/send.py --quick         # N = 200, one round; capped part 60

Output: a table, then, as the last line, JSON::

    {"sender_msgs_per_s": A, "baseline_msgs_per_s": B, "ratio": A/B,
     "capped_rate": R, "responses_429": K}
"""

from __future__ import annotations

import os

os.environ.setdefault("PTB_TIMEDELTA", "true")  # as the digestbot command sets it

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from telegram import Bot, LinkPreviewOptions  # noqa: E402
from telegram.constants import ParseMode  # noqa: E402
from telegram.request import HTTPXRequest  # noqa: E402

from bench.fakeserver import ServerProcess  # noqa: E402
from digestbot import db, render, store  # noqa: E402
from digestbot.briefs import BriefData  # noqa: E402
from digestbot.delivery import CONCURRENCY, SendBudget, Sender  # noqa: E402
from digestbot.models import OutboxKind, utcnow  # noqa: E402

DEFAULT_MESSAGES = 2000
CAPPED_MESSAGES = 300
QUICK_MESSAGES = 200
QUICK_CAPPED = 60
DEFAULT_ROUNDS = 3
WARM_UP_ROWS = 64  # one full batch (MAX_BATCH) before (b) is timed
TELEGRAM_RATE = 30
DAY = datetime(2026, 11, 27, tzinfo=UTC)


def digest_text(target: int = 1500) -> str:
    """A digest as the planner renders it, with as many items as fit in ~``target`` chars."""
    items = [
        store.Item(
            1000 + n,
            BriefData(
                title=f"Open-weights model {n} tops the reasoning board & ships a 2-bit variant",
                score=9 - n % 5,
                category=["Research", "Industry", "Policy"][n % 3],
                published_at=DAY - timedelta(hours=n),
                tags=("generative-ai", "open-source", "chips")[: 2 + n % 2],
            ),
        )
        for n in range(30)
    ]
    heading = f"Your digest · {DAY.day} {DAY:%b}"
    count = 1
    while count < len(items):
        longer = render.digest(items[: count + 1], heading=heading, more=5)
        if len(longer) > 1 or len(longer[0]) > target:
            break
        count += 1
    [text] = render.digest(items[:count], heading=heading, more=5)
    return text


@dataclass
class Capped:
    messages: int
    accepted: int
    seconds: float  # first to last accepted send
    rate: float
    responses_429: int
    wall: float  # drain loop, start to finish
    rejected_at: list[float]  # seconds after the first accepted send


def expect_accepted(stats: dict[str, object], sends: int, what: str) -> None:
    """The server child accepted exactly ``sends`` sends: none failed, none went missing."""
    if stats["accepted"] != sends or stats["rejected_429"] or stats["failed"]:
        raise SystemExit(f"{what}: the server answered {stats}, expected {sends} accepted")


async def baseline(server: ServerProcess, text: str, n: int, chat_ids: Sequence[int]) -> float:
    """(a): messages per second of a bare PTB ``send_message`` loop."""
    preview = LinkPreviewOptions(is_disabled=True)
    async with Bot(server.token, base_url=server.base_url) as bot:
        await bot.send_message(chat_ids[0], text, parse_mode=ParseMode.HTML)  # warm-up
        started = time.perf_counter()
        for i in range(n):
            await bot.send_message(
                chat_ids[i % len(chat_ids)],
                text,
                parse_mode=ParseMode.HTML,
                link_preview_options=preview,
            )
        return n / (time.perf_counter() - started)


def outbox_rows(chat_ids: Sequence[int], text: str) -> list[dict[str, object]]:
    """One digest part per chat, as DigestPlanner writes them."""
    now = utcnow()
    payload = json.dumps({"text": text}, ensure_ascii=False)
    return [
        {
            "key": f"digest:{chat_id}:{DAY.date().isoformat()}:0",
            "chat_id": chat_id,
            "kind": OutboxKind.DIGEST,
            "part": 0,
            "payload": payload,
            "next_attempt_at": now,
            "created_at": now,
            "status": "pending",
            "attempts": 0,
        }
        for chat_id in chat_ids
    ]


def sender_bot(server: ServerProcess) -> Bot:
    """Configured like the app's sender bot (see app.build_application)."""
    return Bot(
        server.token,
        base_url=server.base_url,
        # one connection per concurrent request: httpcore checks every pooled
        # connection on each request, so spare ones cost CPU per message
        request=HTTPXRequest(connection_pool_size=CONCURRENCY, read_timeout=15.0),
    )


async def drain(
    server: ServerProcess,
    text: str,
    chat_ids: Sequence[int],
    rate: float,
    database: Path,
    *,
    give_up_after: float,
    warm_up: Sequence[int] = (),
) -> float:
    """Queue one row per chat, then ``drain()`` until all are handled; returns seconds.

    The Sender's ``SendBudget(rate)`` is made just before the first send (a cold start:
    one token in the bucket), so setting up the database does not fill the bucket.
    With ``warm_up`` chats, one row to each is drained first, untimed: a sender runs for
    days, and its first batch pays once-only costs (lazy imports, SQLAlchemy compiling
    its statements for this engine) that the baseline's warm-up send does not have."""
    engine = db.create_engine(f"sqlite:///{database}")
    try:
        await db.upgrade(engine)
        sessions = db.session_factory(engine)
        async with sender_bot(server) as bot:
            await bot.get_me()  # warm the connection pool
            if warm_up:
                async with db.session_scope(sessions) as session:
                    await store.enqueue(session=session, rows=outbox_rows(warm_up, text))
                warm = Sender(sessions, bot, budget=SendBudget(rate=rate))
                while warm.sent_total < len(warm_up):
                    if not await warm.drain():
                        raise SystemExit("the warm-up rows were not sent")
            async with db.session_scope(sessions) as session:
                await store.enqueue(session=session, rows=outbox_rows(chat_ids, text))
            sender = Sender(sessions, bot, budget=SendBudget(rate=rate))
            started = time.perf_counter()
            deadline = started + give_up_after
            while sender.sent_total + sender.failed_total < len(chat_ids):
                if not await sender.drain():  # the pipelined loop Sender.run() uses
                    # rows wait (after a 429, until their next attempt): look again shortly
                    if time.perf_counter() > deadline:
                        raise SystemExit(f"the outbox did not drain within {give_up_after:.0f} s")
                    await asyncio.sleep(0.01)
            seconds = time.perf_counter() - started
        if sender.failed_total:
            raise SystemExit(f"{sender.failed_total} outbox rows failed; see the log")
        return seconds
    finally:
        await engine.dispose()


async def capped(text: str, chat_ids: range, workdir: Path, budget_rate: float) -> Capped:
    """(c): the Sender at ``budget_rate`` msg/s against a server child enforcing 30 msg/s."""
    async with ServerProcess(chats=[chat_ids], limit=TELEGRAM_RATE) as server:
        wall = await drain(
            server,
            text,
            chat_ids,
            budget_rate,
            workdir / "capped.db",
            give_up_after=10 + 5 * len(chat_ids) / min(budget_rate, TELEGRAM_RATE),
        )
        stats = await server.ask("sends")
    accepted = int(stats["accepted"])
    span = float(stats["last"]) - float(stats["first"])
    return Capped(
        messages=len(chat_ids),
        accepted=accepted,
        seconds=span,
        rate=(accepted - 1) / span if span > 0 else 0.0,
        responses_429=int(stats["rejected_429"]),
        wall=wall,
        rejected_at=[float(t) for t in stats["rejected_at"]],
    )


async def run(
    messages: int, chats: int, capped_messages: int, budget_rate: float, rounds: int
) -> dict[str, float]:
    text = digest_text()
    base_ids = range(1_000_001, 1_000_001 + chats)
    sender_ids = range(2_000_001, 2_000_001 + messages)
    warm_ids = range(4_000_001, 4_000_001 + WARM_UP_ROWS)
    bases: list[float] = []
    senders: list[float] = []
    with tempfile.TemporaryDirectory(prefix="digestbot_bench_send_") as tmp:
        workdir = Path(tmp)
        async with ServerProcess(chats=[base_ids, sender_ids, warm_ids]) as server:
            for n in range(1, rounds + 1):
                print(f"round {n}/{rounds}", file=sys.stderr, flush=True)
                print(f"(a) bare PTB loop: {messages:,} messages...", file=sys.stderr, flush=True)
                bases.append(await baseline(server, text, messages, base_ids))
                expect_accepted(await server.ask("sends"), messages + 1, "(a)")  # + warm-up
                print(f"(b) outbox Sender: {messages:,} messages...", file=sys.stderr, flush=True)
                database = workdir / f"outbox_{n}.db"
                seconds = await drain(
                    server, text, sender_ids, 1e9, database, give_up_after=600, warm_up=warm_ids
                )
                senders.append(messages / seconds)
                expect_accepted(await server.ask("sends"), messages + WARM_UP_ROWS, "(b)")
        print(f"(c) capped: {capped_messages} messages...", file=sys.stderr, flush=True)
        capped_ids = range(3_000_001, 3_000_001 + capped_messages)
        cap = await capped(text, capped_ids, workdir, budget_rate)

    base, sender_rate = statistics.median(bases), statistics.median(senders)
    print(f"message: {len(text):,} characters of HTML, parse_mode=HTML")
    print("fake Bot API server: a child process, over 127.0.0.1")
    print(f"{'measurement':<46}{'messages':>10}{'msgs/s':>10}")
    print("-" * 66)
    label = "median" if rounds > 1 else ""
    print(f"{'(a) bare PTB send_message loop':<46}{messages:>10,}{base:>10.1f}  {label}")
    print(f"{'(b) outbox Sender, no rate limit':<46}{messages:>10,}{sender_rate:>10.1f}  {label}")
    print(f"{'    ratio b/a':<46}{'':>10}{sender_rate / base:>10.2f}")
    if rounds > 1:
        for n, (a, b) in enumerate(zip(bases, senders, strict=True), 1):
            print(f"    round {n}: (a) {a:.1f}, (b) {b:.1f} msgs/s, ratio {b / a:.2f}")
    label = f"(c) Sender at {budget_rate:g}/s vs server limit {TELEGRAM_RATE}/s"
    print(f"{label:<46}{cap.messages:>10,}{cap.rate:>10.2f}")
    print(
        f"    (c): {cap.accepted} accepted, first to last {cap.seconds:.2f} s, "
        f"drain {cap.wall:.2f} s, {cap.responses_429} answered 429"
    )
    if cap.rejected_at:
        when = ", ".join(f"{t:.2f}" for t in cap.rejected_at[:15])
        print(f"    (c): 429s at {when}{' ...' if len(cap.rejected_at) > 15 else ''} s")
    return {
        "sender_msgs_per_s": round(sender_rate, 1),
        "baseline_msgs_per_s": round(base, 1),
        "ratio": round(sender_rate / base, 3),
        "capped_rate": round(cap.rate, 2),
        "responses_429": cap.responses_429,
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Outbox Sender throughput vs. a bare python-telegram-bot loop, and the "
        "Sender under a 30 msg/s limit, against the fake Bot API server in a child process.",
    )
    parser.add_argument(
        "--messages",
        type=int,
        help=f"N for (a) and (b) (default {DEFAULT_MESSAGES:,}; --quick {QUICK_MESSAGES})",
    )
    parser.add_argument("--chats", type=int, help="M, the chats (a) cycles through (default N)")
    parser.add_argument(
        "--capped",
        type=int,
        help=f"messages for (c) (default {CAPPED_MESSAGES}; --quick {QUICK_CAPPED})",
    )
    parser.add_argument(
        "--budget-rate",
        type=float,
        default=TELEGRAM_RATE,
        help=f"the Sender's SendBudget rate in (c) (default {TELEGRAM_RATE}, the server's limit)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        help=f"(a) and (b) alternate this many times; medians are reported "
        f"(default {DEFAULT_ROUNDS}; --quick 1)",
    )
    parser.add_argument("--quick", action="store_true", help="small numbers, for a smoke test")
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (1 if args.quick else DEFAULT_ROUNDS)
    args.messages = args.messages or (QUICK_MESSAGES if args.quick else DEFAULT_MESSAGES)
    args.capped = args.capped or (QUICK_CAPPED if args.quick else CAPPED_MESSAGES)
    args.chats = args.chats or args.messages
    if min(args.messages, args.capped, args.chats) < 2:
        parser.error("need at least 2 messages and 2 chats")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    result = asyncio.run(run(args.messages, args.chats, args.capped, args.budget_rate, args.rounds))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
