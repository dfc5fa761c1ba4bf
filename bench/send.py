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

Three measurements, all sending the same scheduled digest: ten briefs (``BRIEFS``;
synthetic, with a link, tags and every section, about as long as real ones) stored with
``store.upsert_briefs``, rendered by ``render.digest_part`` as one ~2,000-character HTML
message headed "Your digest · 27 Nov".

a. baseline: ``Bot(token, base_url=...)`` awaiting ``send_message`` N times,
   one after another, round-robin over M private chats (M = N unless ``--chats``). It
   sends with ``parse_mode=HTML`` and link previews off, exactly the call the Sender
   makes, so the server does the same work in (a) and (b). Its text is rendered once,
   before the clock starts, from the briefs as the store gives them back (a scratch
   database seeded like (b)'s): the bytes the Sender renders and sends.
b. sender: a migrated SQLite temp database holding the ten briefs and N outbox rows as
   the planner writes them (``window.Window.payloads``): key
   ``digest:20261127T0700Z:CHAT:0``, kind "digest", part 0, JSON payload
   ``{"digest":[ids, best first],"day":"2026-11-27"}`` naming the briefs (one part, no
   "more"), one per chat over N distinct chats so per-chat pacing never holds a row back,
   enqueued with ``store.enqueue``; then ``Sender(..., budget=SendBudget(rate=1e9))
   .drain()`` (the pipelined loop ``run()`` uses) until every row is sent. So (b) pays
   what the Sender does for a digest: per batch one ``store.items_by_ids`` read of the
   briefs the batch names, per row ``render.digest_part``, besides claiming and recording
   rows and pacing. The script stops if the text rendered from this database is not
   (a)'s. Its Bot is configured like the app's sender bot
   (``HTTPXRequest(connection_pool_size=CONCURRENCY)``). Before the timed drain, one
   batch of 64 such rows to other chats is drained untimed on the same database and Bot,
   as (a) sends once before its clock starts: the first batch pays once-only costs (lazy
   imports, SQLAlchemy compiling statements) a long-running sender does not.
   ratio = (b) / (a). (a) and (b) run ``--rounds`` times, alternating, against the one
   server process; each figure is the median of its rounds, so a burst of load from
   elsewhere on the machine does not land on one side only.
c. capped: a second server child enforces Telegram's flood limits (``--limit 30``:
   30 messages a second in a sliding window, one a second per chat, 429 with
   ``retry_after`` past them), the Sender runs with ``SendBudget(rate=30)`` (or
   ``--budget-rate``; ``SEND_RATE=30`` in the app) on real time, over 300 distinct chats,
   on digest rows and briefs as in (b).
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
from typing import Protocol

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from telegram import Bot, LinkPreviewOptions  # noqa: E402
from telegram.constants import ParseMode  # noqa: E402
from telegram.request import HTTPXRequest  # noqa: E402

from bench.fakeserver import ServerProcess  # noqa: E402
from digestbot import store  # noqa: E402
from digestbot.briefs import render  # noqa: E402
from digestbot.briefs.parse import BriefData  # noqa: E402
from digestbot.delivery.sender import CONCURRENCY, SendBudget, Sender  # noqa: E402
from digestbot.store import db  # noqa: E402
from digestbot.store.models import OutboxKind, utcnow  # noqa: E402

DEFAULT_MESSAGES = 2000
CAPPED_MESSAGES = 300
QUICK_MESSAGES = 200
QUICK_CAPPED = 60
DEFAULT_ROUNDS = 3
WARM_UP_ROWS = 64  # one full batch (MAX_BATCH) before (b) is timed
TELEGRAM_RATE = 30
DUE = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)  # the digests' due moment: "27 Nov"
BRIEFS = 10  # in the digest


def digest_briefs(count: int = BRIEFS) -> list[BriefData]:
    """Briefs for one scheduled digest, each about as long as a real one."""
    categories = ["Research", "Industry", "Policy"]
    tags = ("generative-ai", "open-source", "chips", "regulation")
    return [
        BriefData(
            title=f"Open-weights model {n} tops the reasoning board & ships a 2-bit variant",
            score=9 - n % 5,
            category=categories[n % 3],
            published_at=DUE - timedelta(hours=1 + n),
            tags=tags[n % 2 : n % 2 + 2 + n % 2],
            summary=f"Lab {n} released weights for a model that leads the public reasoning "
            "board at a fraction of the size of its rivals, with a 2-bit variant that runs "
            "on a single consumer GPU.",
            what_happened=f"The lab published model {n} under a permissive licence, with "
            "the training recipe, an evaluation harness and a quantised 2-bit build. On "
            "the board it beats models four times its size on maths and code; the 2-bit "
            "build loses about two points. " * 2,
            technical_details="A mixture-of-experts model with 64 experts, 8 active per "
            "token, trained on 14T tokens; the 2-bit build uses learned codebooks and keeps "
            "the attention layers at 8 bits. Context is 128k tokens. " * 2,
            why_it_matters="Frontier-level reasoning on hardware a small team owns changes "
            "who can build on it, and what regulators can expect to control.",
            what_to_watch="Independent replications of the board scores, and whether the "
            "2-bit recipe transfers to other open models.",
            url=f"https://news.example.com/2026/11/model-{n}",
            id=f"bench-send-{n}",
        )
        for n in range(count)
    ]


async def seed_briefs(sessions: db.SessionFactory) -> tuple[list[int], str]:
    """Store the digest's briefs; their ids best first (the planner's order) and the text
    the Sender renders from them, read back from the store as the Sender reads them."""
    async with db.session_scope(sessions) as session:
        await store.upsert_briefs(session=session, briefs=digest_briefs())
    async with db.session_scope(sessions) as session:
        items = await store.find_items(session=session, limit=BRIEFS)
    ids = [item.id for item in items]
    async with db.session_scope(sessions) as session:
        stored = await store.items_by_ids(session=session, brief_ids=ids)
    texts = render.digest_part([stored[i] for i in ids], day=DUE.date(), more=0)
    if len(texts) != 1:
        raise SystemExit(f"the digest renders as {len(texts)} messages, not one")
    return ids, texts[0]


async def digest_text(database: Path) -> str:
    """(a)'s text: the digest rendered from the briefs stored in a scratch database."""
    engine = db.create_engine(f"sqlite:///{database}")
    try:
        await db.upgrade(engine)
        _, text = await seed_briefs(db.session_factory(engine))
        return text
    finally:
        await engine.dispose()


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


def outbox_rows(chat_ids: Sequence[int], brief_ids: Sequence[int]) -> list[dict[str, object]]:
    """One digest part per chat naming its briefs, as DigestPlanner writes them."""
    now = utcnow()
    payload = json.dumps(
        {"digest": list(brief_ids), "day": DUE.date().isoformat()}, separators=(",", ":")
    )
    due = DUE.strftime("%Y%m%dT%H%MZ")
    return [
        {
            "key": f"digest:{due}:{chat_id}:0",
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


class Endpoint(Protocol):
    """A Bot API server to send to: a ``ServerProcess``, or a ``FakeBotAPI`` in this process
    (the smoke test, which reads what was sent)."""

    token: str

    @property
    def base_url(self) -> str: ...


def sender_bot(server: Endpoint) -> Bot:
    """Configured like the app's sender bot (see app.build_application)."""
    return Bot(
        server.token,
        base_url=server.base_url,
        # one connection per concurrent request: httpcore checks every pooled
        # connection on each request, so spare ones cost CPU per message
        request=HTTPXRequest(connection_pool_size=CONCURRENCY, read_timeout=15.0),
    )


async def drain(
    server: Endpoint,
    text: str,
    chat_ids: Sequence[int],
    rate: float,
    database: Path,
    *,
    give_up_after: float,
    warm_up: Sequence[int] = (),
) -> float:
    """Store the digest's briefs and queue one digest row per chat naming them, then
    ``drain()`` until all are handled; returns seconds. ``text`` is what the rows must
    render to, (a)'s text: the script stops if the stored briefs render otherwise.

    The Sender's ``SendBudget(rate)`` is made just before the first send (a cold start:
    one token in the bucket), so setting up the database does not fill the bucket.
    With ``warm_up`` chats, one row to each is drained first, untimed: a sender runs for
    days, and its first batch pays once-only costs (lazy imports, SQLAlchemy compiling
    its statements for this engine) that the baseline's warm-up send does not have."""
    engine = db.create_engine(f"sqlite:///{database}")
    try:
        await db.upgrade(engine)
        sessions = db.session_factory(engine)
        brief_ids, rendered = await seed_briefs(sessions)
        if rendered != text:
            raise SystemExit("the Sender's briefs render to another text than the baseline's")
        async with sender_bot(server) as bot:
            await bot.get_me()  # warm the connection pool
            if warm_up:
                async with db.session_scope(sessions) as session:
                    await store.enqueue(session=session, rows=outbox_rows(warm_up, brief_ids))
                warm = Sender(sessions, bot, budget=SendBudget(rate=rate))
                while warm.sent_total < len(warm_up):
                    if not await warm.drain():
                        raise SystemExit("the warm-up rows were not sent")
            async with db.session_scope(sessions) as session:
                await store.enqueue(session=session, rows=outbox_rows(chat_ids, brief_ids))
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
    base_ids = range(1_000_001, 1_000_001 + chats)
    sender_ids = range(2_000_001, 2_000_001 + messages)
    warm_ids = range(4_000_001, 4_000_001 + WARM_UP_ROWS)
    bases: list[float] = []
    senders: list[float] = []
    with tempfile.TemporaryDirectory(prefix="digestbot_bench_send_") as tmp:
        workdir = Path(tmp)
        text = await digest_text(workdir / "briefs.db")
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
    print(
        f"message: a digest of {BRIEFS} stored briefs, {len(text):,} characters of HTML, "
        "parse_mode=HTML"
    )
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
