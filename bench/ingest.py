"""How fast ``digestbot ingest`` stores text cards, and how fast it sees that they are known.

The scenario is issue 7's: 10,000 distinct synthetic briefs written as text cards in the
scraped format (``tests/factories.make_card``; the format is ``shared/brief-format``),
one ``.txt`` file each in a temporary folder (in subfolders of 1,000), ingested into a
freshly migrated store, then ingested again. The second pass must be a no-op: every card
``unchanged``, nothing written (the script fails otherwise).

The cards look like real ones: a score, one of the real categories, a UTC publish time
(one brief every 7 minutes), a one-line title, a summary and the four sections of a few
sentences each (about 1.5 KB a card), and 2-6 tags from a vocabulary of 300. Each pass
goes through the real path, ``Ingester(sessions).ingest([folder])`` as ``digestbot ingest
FOLDER`` calls it: walking the folder, reading and parsing every file, and storing them
in batches of 1,000 (one transaction each) with ``store.upsert_briefs``.

How it measures:

* ``cards_per_s`` = cards / wall time of the first ``ingest()`` (empty store: every card
  added); ``reingest_cards_per_s`` = cards / wall time of the second (every card
  unchanged). Writing the files and migrating the store are not timed.
* ``parse s`` is the time of reading and parsing the same folder without a database
  (``ingest.collect_paths``), to show how much of a pass is the store's.
* Feeds, next to the cards: the same briefs as RSS 2.0 feeds of 100 items (title,
  ``content:encoded`` HTML, link, guid, pubDate; every other item without categories, so
  the ingester tags it from the known tags its text names), served over HTTP on
  127.0.0.1 and ingested twice with ``Ingester.ingest_url`` (fetch, feedparser, store)
  into a second fresh store. ``feed_items_per_s`` and ``reingest_feed_items_per_s`` are
  items / wall time of each pass. The second pass must add nothing (an untagged item may
  be *updated* then: tags learnt later in the first pass now name it).
* SQLite (default) uses a temporary file; ``--db postgres`` a fresh database
  ``digestbot_bench_<random>`` on the server of ``$DIGESTBOT_TEST_POSTGRES_URL``
  (default ``postgresql://postgres@127.0.0.1:5432/test``), dropped at the end.

Run from the repository root::

    .venv/bin/python bench/ingest.py                  # 10,000 cards, SQLite
    .venv/bin/python bench/ingest.py --db postgres
    .venv/bin/python bench/ingest.py --quick          # 500 cards

Output: a table, then, as the last line, JSON::

    {"cards_per_s": A, "reingest_cards_per_s": B, "cards": N, "db": ..., "parse_s": ...,
     "feed_items_per_s": C, "reingest_feed_items_per_s": D}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from email.utils import format_datetime  # noqa: E402
from xml.sax.saxutils import escape  # noqa: E402

import asyncpg  # noqa: E402

from digestbot.briefs import fetcher  # noqa: E402
from digestbot.briefs.ingest import Ingester, IngestReport, collect_paths  # noqa: E402
from digestbot.briefs.parse import BriefData, Rejected  # noqa: E402
from digestbot.store import db  # noqa: E402
from tests.factories import make_card  # noqa: E402
from tests.httpserver import LocalHTTPServer, Reply  # noqa: E402

CARDS = 10_000
QUICK_CARDS = 500
PER_FOLDER = 1000
PER_FEED = 100
FIRST = datetime(2026, 6, 1, tzinfo=UTC)
CATEGORIES = [
    "Products & Tools",
    "Research",
    "Policy & Regulation",
    "Industry",
    "Open Source",
    "Hardware",
]
TAGS = [
    f"{word}-{n}" for n in range(50) for word in ("model", "chip", "lab", "policy", "app", "data")
]
WORDS = [
    "model",
    "chip",
    "inference",
    "training",
    "dataset",
    "benchmark",
    "latency",
    "policy",
    "regulator",
    "startup",
    "open",
    "weights",
    "agent",
    "robotics",
    "memory",
    "accelerator",
    "cluster",
    "compute",
    "safety",
    "evaluation",
    "release",
    "pricing",
    "enterprise",
    "consumer",
    "developer",
    "platform",
    "research",
    "paper",
]
ADMIN_URL = os.environ.get(
    "DIGESTBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def sentences(rng: random.Random, count: int) -> str:
    out = []
    for _ in range(count):
        words = rng.choices(WORDS, k=rng.randint(10, 22))
        out.append(" ".join(words).capitalize() + ".")
    return " ".join(out)


def synthetic_brief(rng: random.Random, n: int) -> BriefData:
    """Brief ``n``: distinct by title and by publish time."""
    return BriefData(
        title=f"Brief {n}: {sentences(rng, 1)[:-1]}",
        score=rng.randint(0, 10),
        category=rng.choice(CATEGORIES),
        published_at=FIRST + timedelta(minutes=7 * n),
        tags=tuple(rng.sample(TAGS, rng.randint(2, 6))),
        summary=sentences(rng, 2),
        what_happened=sentences(rng, 3),
        technical_details=sentences(rng, 3),
        why_it_matters=sentences(rng, 2),
        what_to_watch=sentences(rng, 2),
    )


def write_cards(folder: Path, count: int, seed: int) -> int:
    """Write ``count`` cards under ``folder``; their total size in bytes."""
    rng = random.Random(seed)
    size = 0
    for n in range(count):
        sub = folder / f"part-{n // PER_FOLDER:03d}"
        sub.mkdir(exist_ok=True)
        text = make_card(synthetic_brief(rng, n))
        (sub / f"card-{n:05d}.txt").write_text(text, encoding="utf-8")
        size += len(text.encode())
    return size


def rss_item(brief: BriefData, n: int) -> str:
    """Brief ``n`` as a feed item; odd ones carry no categories, as most real feeds."""
    paragraphs = [brief.summary, brief.what_happened, brief.technical_details]
    html = "".join(f"<p>{text}</p>" for text in paragraphs if text)
    categories = "" if n % 2 else "".join(f"<category>{t}</category>" for t in brief.tags)
    return (
        f"<item><title>{escape(brief.title)}</title>"
        f"<link>https://bench.example.com/{n}</link><guid isPermaLink='false'>b{n}</guid>"
        f"<pubDate>{format_datetime(brief.published_at)}</pubDate>{categories}"
        f"<content:encoded><![CDATA[{html}]]></content:encoded></item>"
    )


def write_feeds(count: int, seed: int) -> list[bytes]:
    """The same ``count`` briefs as :func:`write_cards`, as RSS feeds of PER_FEED items."""
    rng = random.Random(seed)
    items = [rss_item(synthetic_brief(rng, n), n) for n in range(count)]
    return [
        (
            "<?xml version='1.0' encoding='UTF-8'?><rss version='2.0' "
            "xmlns:content='http://purl.org/rss/1.0/modules/content/'><channel>"
            "<title>bench</title>" + "".join(items[start : start + PER_FEED]) + "</channel></rss>"
        ).encode()
        for start in range(0, count, PER_FEED)
    ]


async def ingest_feeds_twice(url: str, feeds: Sequence[str]) -> list[tuple[IngestReport, float]]:
    engine = db.create_engine(url)
    try:
        await db.upgrade(engine)
        reports: list[tuple[IngestReport, float]] = []
        # the feed is served on 127.0.0.1, which fetches refuse unless told otherwise
        async with fetcher.make_client(allow_private=True) as http:
            ingester = Ingester(db.session_factory(engine), http)
            for _ in range(2):
                started = time.perf_counter()
                report = IngestReport()
                for feed in feeds:
                    report.merge(await ingester.ingest_url(feed))
                reports.append((report, time.perf_counter() - started))
    finally:
        await engine.dispose()
    return reports


async def _admin(sql: str, admin_url: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def ingest_twice(url: str, folder: Path) -> tuple[IngestReport, float, IngestReport, float]:
    engine = db.create_engine(url)
    try:
        await db.upgrade(engine)
        ingester = Ingester(db.session_factory(engine))
        reports: list[tuple[IngestReport, float]] = []
        for _ in range(2):
            started = time.perf_counter()
            report = await ingester.ingest([str(folder)])
            reports.append((report, time.perf_counter() - started))
    finally:
        await engine.dispose()
    (first, first_s), (second, second_s) = reports
    return first, first_s, second, second_s


def parse_only(folder: Path) -> tuple[int, float]:
    started = time.perf_counter()
    good = sum(
        1
        for _name, items in collect_paths([str(folder)])
        for item in items
        if not isinstance(item, Rejected)
    )
    return good, time.perf_counter() - started


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time `digestbot ingest` over N synthetic text cards, then over the same "
        "cards again (which must all be unchanged); see the module docstring.",
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--cards", type=int, default=CARDS, help=f"cards (default {CARDS:,})")
    size.add_argument("--quick", action="store_true", help=f"{QUICK_CARDS:,} cards")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--pg-url", default=ADMIN_URL, help="PostgreSQL server to use")
    args = parser.parse_args(argv)
    if args.quick:
        args.cards = QUICK_CARDS
    if args.cards < 1:
        parser.error("--cards must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="digestbot_bench_ingest_") as tmp:
        folder = Path(tmp) / "cards"
        folder.mkdir()
        print(f"writing {args.cards:,} cards...", file=sys.stderr, flush=True)
        size = write_cards(folder, args.cards, args.seed)
        parsed, parse_s = parse_only(folder)
        if parsed != args.cards:
            raise SystemExit(f"only {parsed} of {args.cards} cards parse")
        pg_names: list[str] = []

        def fresh_store(name: str) -> str:
            if args.db == "sqlite":
                return f"sqlite:///{Path(tmp) / name}.db"
            pg_names.append(f"digestbot_bench_{uuid.uuid4().hex[:10]}")
            asyncio.run(_admin(f'CREATE DATABASE "{pg_names[-1]}"', args.pg_url))
            return f"{args.pg_url.rpartition('/')[0]}/{pg_names[-1]}"

        try:
            print("ingesting twice...", file=sys.stderr, flush=True)
            first, first_s, second, second_s = asyncio.run(
                ingest_twice(fresh_store("ingest"), folder)
            )
            print("ingesting the same briefs as feeds, twice...", file=sys.stderr, flush=True)
            with LocalHTTPServer() as server:
                urls = [
                    server.serve(
                        f"/feed-{n}.rss",
                        Reply(body=body, headers=[("Content-Type", "application/rss+xml")]),
                    )
                    for n, body in enumerate(write_feeds(args.cards, args.seed))
                ]
                feed_passes = asyncio.run(ingest_feeds_twice(fresh_store("feeds"), urls))
        finally:
            for pg_name in pg_names:
                asyncio.run(
                    _admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)', args.pg_url)
                )
    head = f"{'pass':<10}{'cards':>8}{'seconds':>9}{'cards/s':>9}  outcome"
    print(head)
    print("-" * (len(head) + 30))
    for name, report, seconds in (("first", first, first_s), ("again", second, second_s)):
        print(
            f"{name:<10}{args.cards:>8,}{seconds:>9.2f}{args.cards / seconds:>9,.0f}  "
            f"{report.summary()}"
        )
    for name, report, seconds in (
        ("feeds", feed_passes[0][0], feed_passes[0][1]),
        ("again", feed_passes[1][0], feed_passes[1][1]),
    ):
        print(
            f"{name:<10}{args.cards:>8,}{seconds:>9.2f}{args.cards / seconds:>9,.0f}  "
            f"{report.summary()}"
        )
    print(
        f"{args.db}; {size / args.cards / 1024:.1f} KB a card; reading and parsing them "
        f"alone: {parse_s:.2f} s ({args.cards / parse_s:,.0f} cards/s)"
    )
    if first.added != args.cards or first.rejected:
        raise SystemExit(f"the first pass should add every card: {first.summary()}")
    if second.unchanged != args.cards:
        raise SystemExit(f"the second pass should find every card unchanged: {second.summary()}")
    (feed_first, feed_first_s), (feed_again, feed_again_s) = feed_passes
    if feed_first.added != args.cards or feed_first.rejected:
        raise SystemExit(f"the first feed pass should add every item: {feed_first.summary()}")
    if feed_again.added or feed_again.stored != args.cards:
        raise SystemExit(f"the second feed pass should add nothing: {feed_again.summary()}")
    result: dict[str, Any] = {
        "cards_per_s": round(args.cards / first_s, 1),
        "reingest_cards_per_s": round(args.cards / second_s, 1),
        "cards": args.cards,
        "db": args.db,
        "parse_s": round(parse_s, 3),
        "feed_items_per_s": round(args.cards / feed_first_s, 1),
        "reingest_feed_items_per_s": round(args.cards / feed_again_s, 1),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
