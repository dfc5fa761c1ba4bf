"""How long ``DigestPlanner.plan()`` takes, and how much memory it needs, when every chat is due.

The scenario is the one of issue 4: N private chats, each following 5 tags drawn from 40,
300 new briefs (2-4 tags each from the same 40, scores 1-10), and every chat's
``next_digest_at`` a moment ago, so one planner tick has to assemble and queue all N
digests. Timezone UTC, digest time 08:00, a fixed injected clock (08:00:30 on a fixed
day), so every run is the same.

Run from the repository root::

    .venv/bin/python bench/plan.py --chats 100000 --db sqlite
    .venv/bin/python bench/plan.py --sizes 10000,100000 --db both   # one row per size
    .venv/bin/python bench/plan.py --quick                           # 2,000 chats, SQLite
    .venv/bin/python bench/plan.py --chats 100000 --skew 1.0         # Zipf-like tag popularity

The store is built directly with bulk SQL (SQLAlchemy Core executemany on the migrated
schema) for chats and subscriptions; the briefs go through ``store.upsert_briefs``, as
ingestion stores them (then their ``ingested_at`` is moved to the fixed clock's night,
so they are "new" whatever day this runs). ``--skew`` gives the briefs' tags the same
popularity as the chats'. SQLite uses a temporary file; PostgreSQL a fresh database
``digestbot_bench_<random>`` on the server of ``$DIGESTBOT_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``), dropped at the end.

How it measures, and why:

* The store is built once per size (the "template"); each measurement then runs on a
  fresh copy of it (a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL),
  because planning changes the store (it queues the outbox and moves every schedule).
* Each measurement runs in a fresh child process (this script with ``--worker``), so
  the Python heap is not shaped by building the store or by an earlier size.
* ``seconds`` is wall time of ``plan()`` in a run *without* tracemalloc (tracemalloc
  hooks every allocation and slows this code 3-5x: compare the ``plan s`` and
  ``traced s`` columns).
* Memory is measured in both runs, three ways:

  - ``RSS+``: the growth of resident memory during ``plan()`` in the timed run, as the
    OS sees it (Python objects, SQLite's page cache, driver buffers, allocator slack):
    the process's RSS high-water mark (``VmHWM``, reset through ``/proc/self/clear_refs``
    just before planning) minus its RSS just before.
  - ``maxrss+``: the same from ``resource.getrusage().ru_maxrss``, as asked for. Beware:
    on Linux a child inherits its parent's ``ru_maxrss`` across fork+exec, and this
    parent grew while building the store, so the child starts with a "peak" it never
    had and this delta is often 0. It is shown for completeness; ``RSS+`` is the
    trustworthy figure (where there is no /proc, ``RSS+`` falls back to this one).
  - ``traced``: the tracemalloc peak during ``plan()`` of a second run on a second fresh
    copy (only Python allocations made during planning; exact, but blind to C-level
    memory such as SQLite's cache). ``peak_mb`` in the JSON line is this figure;
    ``--no-trace`` skips that run, and then ``peak_mb`` is ``RSS+``.
* Under a profiler (``python -m cProfile -s cumtime bench/plan.py ...``) or with
  ``--in-process``, the planner runs in this process instead, once and without
  tracemalloc, so the profile shows it (mixed with building the store); ``--profile
  FILE`` profiles ``plan()`` alone and prints its top functions after the table. Times
  taken under a profiler include its overhead (~1.5x here).

Output: a table on standard output, then, as the last line, JSON of the largest size
(the last one measured with ``--db both``)::

    {"chats": N, "digests": D, "seconds": S, "peak_mb": M, "db": ...,
     "rss_delta_mb": ..., "maxrss_delta_mb": ...}

``digests`` is the number of distinct digests assembled (``PlanReport.distinct``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import itertools
import json
import os
import pstats
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from digestbot import db, store  # noqa: E402
from digestbot.briefs import BriefData  # noqa: E402
from digestbot.models import Brief, Chat, Subscription  # noqa: E402
from digestbot.planner import DigestPlanner  # noqa: E402

NOW = datetime(2026, 11, 27, 8, 0, 30, tzinfo=UTC)  # the planner's clock
DUE = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)  # every chat's next_digest_at: just past
INGESTED = DUE - timedelta(hours=6)  # when the 300 briefs arrived
TAGS = [f"topic-{n:02d}" for n in range(40)]
TAGS_PER_CHAT = 5
BRIEFS = 300
QUICK_CHATS = 2000
CHUNK = 10_000  # chats per executemany (and five times as many subscriptions)
ADMIN_URL = os.environ.get(
    "DIGESTBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


# --- the synthetic store ----------------------------------------------------------------


class TagPicker:
    """Draws distinct tags: uniformly, or with Zipf-like popularity (weight 1/rank**skew)."""

    def __init__(self, rng: random.Random, skew: float) -> None:
        self.rng = rng
        self.skew = skew
        weights = [1 / (rank**skew) for rank in range(1, len(TAGS) + 1)]
        self.cum_weights = list(itertools.accumulate(weights))

    def pick(self, k: int) -> list[int]:
        if not self.skew:
            return self.rng.sample(range(len(TAGS)), k)
        chosen: dict[int, None] = {}  # ordered set
        while len(chosen) < k:
            for i in self.rng.choices(range(len(TAGS)), cum_weights=self.cum_weights, k=k):
                chosen.setdefault(i)
        return list(chosen)[:k]


def synthetic_briefs(picker: TagPicker) -> list[BriefData]:
    rng = picker.rng
    briefs = []
    for n in range(BRIEFS):
        tags = tuple(TAGS[i] for i in picker.pick(rng.randint(2, 4)))
        briefs.append(
            BriefData(
                id=f"bench-{n}",
                title=f"Synthetic brief {n}: a model, a chip and a policy walk into a lab",
                score=rng.randint(1, 10),
                category=rng.choice(["Research", "Industry", "Policy", "Open source"]),
                published_at=DUE - timedelta(minutes=BRIEFS - n),
                tags=tags,
                summary=f"What brief {n} says, in two sentences. It is synthetic.",
                what_happened="Something happened that the benchmark made up.",
                why_it_matters="It makes the planner assemble a realistic digest.",
                what_to_watch="Whether the planner keeps up.",
                url=f"https://example.org/briefs/{n}",
            )
        )
    return briefs


def chat_rows(first_id: int, count: int) -> list[dict[str, Any]]:
    created = DUE - timedelta(days=30)
    return [
        {
            "id": chat_id,
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
            "next_digest_at": DUE,
            "created_at": created,
        }
        for chat_id in range(first_id, first_id + count)
    ]


async def build_store(url: str, chats: int, *, skew: float, seed: int) -> None:
    """Migrate an empty database and fill it: tags, 300 briefs, ``chats`` due chats."""
    engine = db.create_engine(url)
    try:
        await db.upgrade(engine)
        sessions = db.session_factory(engine)
        picker = TagPicker(random.Random(seed), skew)
        async with db.session_scope(sessions) as session:
            tag_ids = await store.ensure_tags(session=session, slugs=TAGS)
            await store.upsert_briefs(session=session, briefs=synthetic_briefs(picker))
            # "new" on the planner's clock, not on the wall clock of the day this runs
            await session.exec(sa.update(Brief).values(ingested_at=INGESTED, updated_at=INGESTED))
        ids = [tag_ids[slug] for slug in TAGS]
        created = DUE - timedelta(days=30)
        chat_insert = sa.insert(Chat.__table__)  # type: ignore[attr-defined]
        sub_insert = sa.insert(Subscription.__table__)  # type: ignore[attr-defined]
        async with engine.begin() as conn:
            for first in range(1, chats + 1, CHUNK):
                count = min(CHUNK, chats + 1 - first)
                subs = [
                    {"chat_id": chat_id, "tag_id": ids[i], "created_at": created}
                    for chat_id in range(first, first + count)
                    for i in picker.pick(TAGS_PER_CHAT)
                ]
                await conn.execute(chat_insert, chat_rows(first, count))
                await conn.execute(sub_insert, subs)
            if conn.dialect.name == "postgresql":
                # a production server's autovacuum would have these statistics
                await conn.execute(sa.text("ANALYZE"))
    finally:
        await engine.dispose()


# --- databases --------------------------------------------------------------------------


class SqliteStores:
    """Stores as files in a temporary directory."""

    name = "sqlite"

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="digestbot_bench_")

    def new(self, label: str) -> str:
        return f"sqlite:///{Path(self._dir.name) / label}.db"

    def copy(self, template: str, label: str) -> str:
        url = self.new(label)
        source, target = _sqlite_path(template), _sqlite_path(url)
        for suffix in ("", "-wal"):
            if Path(f"{source}{suffix}").exists():
                shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
        return url

    def drop(self, url: str) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{_sqlite_path(url)}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        self._dir.cleanup()


def _sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite:///")


class PostgresStores:
    """Stores as fresh databases ``digestbot_bench_<random>...`` on the test server."""

    name = "postgres"

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.prefix = f"digestbot_bench_{uuid.uuid4().hex[:10]}"
        self.created: list[str] = []

    def _url(self, name: str) -> str:
        return f"{self.admin_url.rpartition('/')[0]}/{name}"

    def _admin(self, sql: str) -> None:
        async def run() -> None:
            conn = await asyncpg.connect(self.admin_url)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        asyncio.run(run())

    def new(self, label: str, template: str | None = None) -> str:
        name = f"{self.prefix}_{label}"
        clause = f' TEMPLATE "{template.rpartition("/")[2]}"' if template else ""
        self._admin(f'CREATE DATABASE "{name}"{clause}')
        self.created.append(name)
        return self._url(name)

    def copy(self, template: str, label: str) -> str:
        return self.new(label, template)

    def drop(self, url: str) -> None:
        name = url.rpartition("/")[2]
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.created:
            self.created.remove(name)

    def close(self) -> None:
        for name in list(self.created):
            self.drop(self._url(name))


# --- one measurement --------------------------------------------------------------------


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _proc_status_mb(field: str) -> float | None:
    """``VmRSS`` / ``VmHWM`` of this process from /proc (Linux), in MiB; None elsewhere."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_rss_peak() -> bool:
    """Reset this process's VmHWM to its current RSS (Linux >= 4.0); False if not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


async def measure(url: str, *, trace: bool, profile: str | None = None) -> dict[str, Any]:
    """Plan once on this store: wall time, RSS growth, and the tracemalloc peak if ``trace``;
    with ``profile``, cProfile ``plan()`` alone and write its statistics to that file."""
    engine = db.create_engine(url)
    try:
        sessions = db.session_factory(engine)
        async with engine.connect() as conn:  # open the pool before the clock starts
            await conn.execute(sa.text("SELECT 1"))
        planner = DigestPlanner(sessions, clock=lambda: NOW)
        hwm_reset = _reset_rss_peak()
        rss_before = _proc_status_mb("VmRSS")
        maxrss_before = _maxrss_mb()
        if trace:
            tracemalloc.start()
        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        report = await planner.plan()
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(str(profile))
        seconds = time.perf_counter() - started
        traced_peak = None
        if trace:
            traced_peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        maxrss_delta = _maxrss_mb() - maxrss_before
        hwm_after = _proc_status_mb("VmHWM")
    finally:
        await engine.dispose()
    if hwm_reset and rss_before is not None and hwm_after is not None:
        rss_delta = hwm_after - rss_before
    else:  # no /proc: ru_maxrss, with its caveat (see the module docstring)
        rss_delta = maxrss_delta
    return {
        "seconds": seconds,
        "rss_delta_mb": rss_delta,
        "maxrss_delta_mb": maxrss_delta,
        "traced_peak_mb": traced_peak,
        "due": report.due,
        "queued": report.queued,
        "messages": report.messages,
        "distinct": report.distinct,
        "empty": report.empty,
    }


def measure_in_child(url: str, *, trace: bool) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", url]
    if trace:
        command.append("--worker-trace")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"the measuring process failed (exit {done.returncode})")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- the benchmark ----------------------------------------------------------------------


@dataclass
class Row:
    db: str
    chats: int
    build_s: float
    timed: dict[str, Any]
    traced: dict[str, Any] | None

    @property
    def peak_mb(self) -> float:
        if self.traced is not None and self.traced["traced_peak_mb"] is not None:
            return float(self.traced["traced_peak_mb"])
        return float(self.timed["rss_delta_mb"])


def profiled() -> bool:
    """True under ``python -m cProfile`` / ``profile`` (then the planner runs in-process)."""
    if sys.getprofile() is not None:
        return True
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)  # python -m cProfile
    return getattr(spec, "name", None) in ("cProfile", "profile")


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def bench_one(stores: SqliteStores | PostgresStores, chats: int, args: argparse.Namespace) -> Row:
    template = stores.new(f"template_{chats}")
    try:
        progress(f"[{stores.name} {chats:,}] building the store...")
        started = time.perf_counter()
        asyncio.run(build_store(template, chats, skew=args.skew, seed=args.seed))
        build_s = time.perf_counter() - started
        runs: list[dict[str, Any] | None] = []
        for trace in (False, True):
            if trace and (args.no_trace or args.in_process):
                runs.append(None)
                continue
            label = "tracemalloc run" if trace else "timed run"
            progress(f"[{stores.name} {chats:,}] built in {build_s:.1f} s; {label}...")
            url = stores.copy(template, f"run_{chats}_{int(trace)}")
            try:
                if args.in_process:
                    runs.append(asyncio.run(measure(url, trace=trace, profile=args.profile)))
                else:
                    runs.append(measure_in_child(url, trace=trace))
            finally:
                stores.drop(url)
    finally:
        stores.drop(template)
    timed, traced = runs
    assert timed is not None
    return Row(stores.name, chats, build_s, timed, traced)


def print_table(rows: Sequence[Row]) -> None:
    head = (
        f"{'db':<9}{'chats':>9}{'due':>9}{'queued':>9}{'digests':>9}{'messages':>10}"
        f"{'build s':>9}{'plan s':>9}{'chats/s':>9}{'RSS+ MB':>9}{'maxrss+':>9}"
        f"{'traced MB':>10}{'traced s':>9}"
    )
    print(head)
    print("-" * len(head))
    for row in rows:
        t = row.timed
        traced_mb = f"{row.traced['traced_peak_mb']:.1f}" if row.traced else "-"
        traced_s = f"{row.traced['seconds']:.1f}" if row.traced else "-"
        print(
            f"{row.db:<9}{row.chats:>9,}{t['due']:>9,}{t['queued']:>9,}{t['distinct']:>9,}"
            f"{t['messages']:>10,}{row.build_s:>9.1f}{t['seconds']:>9.2f}"
            f"{row.chats / t['seconds']:>9,.0f}{t['rss_delta_mb']:>9.1f}"
            f"{t['maxrss_delta_mb']:>9.1f}{traced_mb:>10}{traced_s:>9}"
        )
    print(
        "plan s: wall time of plan(), no tracemalloc; RSS+ MB: peak RSS growth during plan() "
        "(VmHWM); maxrss+: the same from ru_maxrss (inherits the parent's peak, often 0); "
        "traced MB / traced s: tracemalloc peak and plan() time in the second run"
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time DigestPlanner.plan() and measure its peak memory when every chat "
        "is due at once (see the module docstring for the method).",
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--chats", type=int, help="number of chats (default 100000)")
    size.add_argument("--sizes", help="comma-separated chat counts, one table row each")
    size.add_argument("--quick", action="store_true", help=f"{QUICK_CHATS:,} chats")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument(
        "--skew",
        type=float,
        default=0.0,
        help="Zipf exponent of tag popularity (0 = uniform, as issue 4; 1.0 = classic Zipf)",
    )
    parser.add_argument("--seed", type=int, default=4, help="random seed (default 4)")
    parser.add_argument("--no-trace", action="store_true", help="skip the tracemalloc run")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="plan in this process (implied under a profiler); no tracemalloc run",
    )
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="cProfile plan() alone (in-process) into FILE and print its top functions",
    )
    parser.add_argument("--pg-url", default=ADMIN_URL, help="PostgreSQL server to use")
    parser.add_argument("--worker", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--worker-trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sizes:
        args.size_list = sorted(int(s) for s in args.sizes.split(",") if s.strip())
    elif args.quick:
        args.size_list = [QUICK_CHATS]
    else:
        args.size_list = [args.chats or 100_000]
    if any(n < 1 for n in args.size_list):
        parser.error("chat counts must be positive")
    args.in_process = args.in_process or bool(args.profile) or profiled()
    return args


@contextlib.contextmanager
def open_stores(kind: str, pg_url: str) -> Iterator[SqliteStores | PostgresStores]:
    stores: SqliteStores | PostgresStores = (
        SqliteStores() if kind == "sqlite" else PostgresStores(pg_url)
    )
    try:
        yield stores
    finally:
        stores.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:  # a measuring child process: one plan(), one JSON line
        print(json.dumps(asyncio.run(measure(args.worker, trace=args.worker_trace))))
        return 0
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    rows: list[Row] = []
    for kind in kinds:
        with open_stores(kind, args.pg_url) as stores:
            for chats in args.size_list:
                rows.append(bench_one(stores, chats, args))
    print_table(rows)
    if args.in_process:
        print("(in-process: no tracemalloc run)")
    if args.profile:  # the last size's profile
        stats = pstats.Stats(args.profile)
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(25)
    last = rows[-1]
    print(
        json.dumps(
            {
                "chats": last.chats,
                "digests": last.timed["distinct"],
                "seconds": round(last.timed["seconds"], 3),
                "peak_mb": round(last.peak_mb, 1),
                "db": last.db,
                "rss_delta_mb": round(last.timed["rss_delta_mb"], 1),
                "maxrss_delta_mb": round(last.timed["maxrss_delta_mb"], 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
