"""How long /search takes over a year of briefs (issue 19): the full-text search
(``store.search_items``: SQLite FTS5, PostgreSQL tsvector + GIN) beside the ``LIKE``
search it replaced (kept below as the baseline), on the same queries in the same run.

The store is ``bench/yearstore.py``'s (110,000 briefs by default; built once and cached,
see there). The queries are what readers type, drawn from ``--seed``: one to three words
from the briefs' vocabulary (companies, products, common words such as "model" or "AI"
that match thousands of briefs), word prefixes ("quant"), tag words ("open source"),
Hindi words in Devanagari, and words that match nothing. Each query is timed as the bot
runs it: a new session, ``search_items`` with the bot's limit (10), the briefs and their
tags loaded. All queries run once to warm the caches, then once measured; the baseline
runs the first ``--baseline-queries`` of them (it reads every brief each time).

Run from the repository root::

    .venv/bin/python bench/search.py --db both
    .venv/bin/python bench/search.py --db sqlite --briefs 2000 --chats 100 --outbox 100

Output: a table, then one JSON line per database (the last line is the last database)::

    {"db": ..., "briefs": N, "queries": Q, "p50_ms": A, "p99_ms": B, "max_ms": ...,
     "baseline_p50_ms": ..., "baseline_p99_ms": C, "baseline_queries": ...}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlmodel import col, select  # noqa: E402
from sqlmodel.ext.asyncio.session import AsyncSession  # noqa: E402

from bench import yearstore  # noqa: E402
from digestbot import store  # noqa: E402
from digestbot.readers.digests import SUMMARY_SIZE  # noqa: E402
from digestbot.store import db  # noqa: E402
from digestbot.store.models import Brief  # noqa: E402

TARGET_P99_MS = 20.0


async def like_search(
    *, session: AsyncSession, words: Sequence[str], limit: int = 10
) -> list[store.Item]:
    """The search before issue 19, as it was: every word a case-folded substring of the
    title or summary (LIKE '%word%', which no index serves), newest first."""
    stmt = select(Brief)
    for raw in words:
        word = raw.lower()
        stmt = stmt.where(
            sa.or_(
                sa.func.lower(col(Brief.title)).contains(word, autoescape=True),
                sa.func.lower(sa.func.coalesce(col(Brief.summary), "")).contains(
                    word, autoescape=True
                ),
            )
        )
    stmt = stmt.order_by(col(Brief.published_at).desc(), col(Brief.id).desc()).limit(limit)
    rows = list(await session.exec(stmt))
    found = await store.items_by_ids(session=session, brief_ids=[r.id for r in rows if r.id])
    return [found[r.id] for r in rows if r.id in found]


def queries(count: int, seed: int) -> list[list[str]]:
    """What readers search for, from the vocabulary the briefs are made of."""
    rng = random.Random(seed)
    common = ["model", "AI", "chip", "open", "weights", "license", "agent", "cloud", "new"]
    words = [*yearstore.NOUNS, *yearstore.VERBS, *yearstore.ADJECTIVES]
    kinds: list[Callable[[], list[str]]] = [
        lambda: [rng.choice(common)],
        lambda: [rng.choice(words)],
        lambda: [rng.choice(yearstore.COMPANIES)],
        lambda: [rng.choice(yearstore.COMPANIES), rng.choice(yearstore.NOUNS)],
        lambda: [rng.choice(common), rng.choice(words)],
        lambda: rng.sample(words, 3),
        lambda: [rng.choice(yearstore.NOUNS)[:4]],  # a prefix
        lambda: rng.choice(yearstore.SLUGS).split("-"),  # a tag's words
        lambda: ["open", "weights"],
        lambda: [rng.choice(yearstore.HINDI)],
        lambda: rng.sample(yearstore.HINDI, 2),
        lambda: [rng.choice(["zyzzyva", "quokka", "xylograph", "blorft"])],  # nothing
    ]
    return [rng.choice(kinds)() for _ in range(count)]


async def timed(
    sessions: db.SessionFactory,
    search: Callable[..., Awaitable[list[store.Item]]],
    batch: Sequence[Sequence[str]],
) -> tuple[list[float], int]:
    """Milliseconds of each query (after one warm-up pass), and how many found anything."""
    for words in batch:  # warm the caches: the measured pass reads what a running bot has
        async with sessions() as session:
            await search(session=session, words=words, limit=SUMMARY_SIZE)
    times: list[float] = []
    hits = 0
    for words in batch:
        started = time.perf_counter()
        async with sessions() as session:
            found = await search(session=session, words=words, limit=SUMMARY_SIZE)
        times.append((time.perf_counter() - started) * 1000)
        hits += bool(found)
    return times, hits


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile: the value ``share`` of the values are at or below."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]


async def measure(url: str, kind: str, args: argparse.Namespace) -> dict[str, Any]:
    engine = db.create_engine(url)
    try:
        sessions = db.session_factory(engine)
        async with sessions() as session:
            briefs = await store.count_briefs(session=session)
        batch = queries(args.queries, args.seed)
        times, hits = await timed(sessions, store.search_items, batch)
        base, base_hits = await timed(sessions, like_search, batch[: args.baseline_queries])
    finally:
        await engine.dispose()
    return {
        "db": kind,
        "briefs": briefs,
        "queries": len(times),
        "found": hits,
        "p50_ms": round(statistics.median(times), 2),
        "p99_ms": round(percentile(times, 0.99), 2),
        "max_ms": round(max(times), 2),
        "baseline_queries": len(base),
        "baseline_found": base_hits,
        "baseline_p50_ms": round(statistics.median(base), 2) if base else None,
        "baseline_p99_ms": round(percentile(base, 0.99), 2) if base else None,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Time /search's full-text query over the year store, beside the LIKE "
        "query it replaced (see the module docstring)."
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--queries", type=int, default=500, help="queries timed (500)")
    parser.add_argument(
        "--baseline-queries", type=int, default=100, help="of them, run with LIKE too (100)"
    )
    parser.add_argument(
        "--forget", action="store_true", help="drop the store afterwards (the smoke tests)"
    )
    yearstore.add_size_options(parser)
    args = parser.parse_args(argv)
    if args.queries < 1 or args.baseline_queries < 0:
        parser.error("--queries must be positive, --baseline-queries not negative")
    size = yearstore.size_of(args)
    rows = []
    for kind in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        url, built, seconds = yearstore.year_store(
            kind, size, rebuild=args.rebuild, cache=args.cache_dir, pg_url=args.pg_url
        )
        print(f"{kind}: {'built' if built else 'cached'} store ({seconds:.0f} s): {url}")
        try:
            rows.append(asyncio.run(measure(url, kind, args)))
        finally:
            if args.forget:
                yearstore.forget(kind, url, pg_url=args.pg_url)
    print(
        f"{'db':<9}{'briefs':>9}{'queries':>8}{'found':>7}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'max ms':>8} | {'LIKE p50':>9}{'LIKE p99':>9}"
    )
    for r in rows:
        print(
            f"{r['db']:<9}{r['briefs']:>9,}{r['queries']:>8}{r['found']:>7}{r['p50_ms']:>8.2f}"
            f"{r['p99_ms']:>8.2f}{r['max_ms']:>8.2f} | {r['baseline_p50_ms'] or 0:>9.1f}"
            f"{r['baseline_p99_ms'] or 0:>9.1f}"
        )
    print(f"target: p99 under {TARGET_P99_MS:.0f} ms; LIKE: the search before issue 19")
    for r in rows:
        print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
