"""How long ``DigestPlanner.plan()`` takes, and how much memory it needs: a whole day, and
every chat due in one tick.

The scenario is issue 7's: N private chats, each following 1-8 tags (uniformly many)
drawn from 40 with a skewed, Zipf-like popularity (weight ``1/rank**skew``, ``--skew``,
1.0 by default; 0 is uniform), in mixed IANA timezones (24 of them, weighted roughly
like a real audience, with half- and quarter-hour offsets), at mixed digest times (40%
the default 08:00, 20% another full hour 06:00-22:00, 25% any quarter hour, 15% any
minute of the day) and mixed minimum scores (60% none, the rest 3-8); all daily, 10
items. 300 new briefs (2-4 tags each with the same popularity, scores 1-10) arrived
the night before. Everything is drawn from ``--seed``, so every run is the same.

Two measurements, each on a fresh copy of the store:

* **day** (``seconds`` in the JSON line): an injected clock drives ``plan()`` through
  all 1,440 minute ticks of one UTC day (Friday 27 November 2026), each at HH:MM:30, as
  the bot's minute job does. Every chat's first digest falls in that day exactly once,
  so the day plans all N digests; the table shows how many ticks had something due
  (the others cost two empty queries each; they are run and counted, not skipped), the
  slowest tick, and ``seconds``, the sum of the wall time of the 1,440 ``plan()`` calls.
  Its memory is the peak RSS of the measuring process (``VmHWM``): everything it holds,
  interpreter and libraries included, which is what the 500 MB target is about.
* **burst**: every chat's ``next_digest_at`` set to 08:00 and the clock at 08:00:30, so
  one tick assembles and queues all N digests (what happens when the bot comes back
  after an outage; issue 4's measurement, on this scenario). Timed once, then once more under
  tracemalloc unless ``--no-trace`` (tracemalloc hooks every allocation and slows this
  code 3-5x; its peak counts only Python allocations made during planning).
* **floor** (``floor_s``; ``ratio`` is ``seconds / floor_s``), unless ``--no-floor``:
  after the day, the outbox rows it queued and the schedules it moved are read back and
  written again into another fresh copy of the pre-day store by the driver alone (plain
  ``sqlite3`` / ``asyncpg``), in the planner's transactions (per tick, 5,000 chats at a
  time), with no planning and no SQLAlchemy: see ``bench/floor.py``. Machines differ and
  this one is shared, so the day's seconds mean more beside a floor from the same run.

With ``--year`` the store is not generated: each run is on a copy of
``bench/yearstore.py``'s cached year store (its chats are this population, 1,000,000 by
default, following 1-3 tags; 110,000 briefs and 3,000,000 outbox rows of history; the
cached store itself is never written to). ``build s`` is then the time to find it
(building it, the first time, takes minutes).

Run from the repository root::

    .venv/bin/python bench/plan.py --chats 100000 --db sqlite
    .venv/bin/python bench/plan.py --sizes 10000,100000 --db both   # one row per size
    .venv/bin/python bench/plan.py --quick                           # 2,000 chats, SQLite
    .venv/bin/python bench/plan.py --chats 1000000 --db postgres --no-trace
    .venv/bin/python bench/plan.py --chats 1000000 --filters 0.2 --weights 0.2  # issue 16
    .venv/bin/python bench/plan.py --year --db sqlite --no-burst --no-trace     # issue 19

The store is built as ``bench/scenario.py`` says (bulk SQL on the migrated schema, the
briefs through ``store.upsert_briefs``; every build the same for a seed). The
``build s`` column says how long building took: here about 5 s for 100k chats and 50-80
s for a million (with 4.5 million subscriptions), most of it generating the rows in
Python. SQLite uses a temporary file; PostgreSQL a fresh database
``digestbot_bench_<random>`` on the server of ``$DIGESTBOT_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``), dropped at the end.

How it measures, and why:

* The store is built once per size (the "template"); each measurement then runs on a
  fresh copy of it (a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL),
  because planning changes the store (it queues the outbox and moves every schedule).
* Each measurement runs in a fresh child process (this script with ``--worker``), so
  the Python heap is not shaped by building the store or by an earlier size.
* Times are wall time of ``plan()`` alone, never under tracemalloc. ``cpu s`` is the
  measuring process's CPU time in those calls (SQLite's work included, the PostgreSQL
  server's not): on a shared machine it moves less than wall time.
* Memory, per run: ``peak RSS`` is the child's RSS high-water mark (``VmHWM``) at the end;
  ``RSS+`` is its growth during planning (``VmHWM``, reset through
  ``/proc/self/clear_refs`` just before planning, minus the RSS just before: Python
  objects, SQLite's page cache, driver buffers, allocator slack); ``traced`` is the
  tracemalloc peak during the burst's second run. (Where there is no /proc, both RSS
  figures fall back to ``ru_maxrss``, which on Linux a child inherits from its parent
  across fork+exec, so they may be too high.)
* ``digests`` is the number of distinct digests the planner assembled
  (``PlanReport.distinct``: distinct within each batch of up to 5,000 chats, summed over
  the day's ticks), so ``digests / chats`` is how much sharing saves. (Assembled
  digests are also reused from tick to tick, up to ``window.PLANNED`` of them.)
* Under a profiler (``python -m cProfile -s cumtime bench/plan.py ...``) or with
  ``--in-process``, the planner runs in this process instead, without tracemalloc, so
  the profile shows it (mixed with building the store); ``--profile FILE`` profiles the
  day's ``plan()`` calls alone and prints their top functions after the table. Times
  taken under a profiler include its overhead (~1.5x here).

The parts live beside this script: the scenario and the store builder in
``bench/scenario.py``, the template and its copies in ``bench/stores.py``, the lateness
in ``bench/lateness.py``, the floor in ``bench/floor.py``; this script measures.

Output: a table on standard output, then, as the last line, JSON of the largest size
(the last one measured with ``--db both``)::

    {"chats": N, "digests": D, "seconds": S, "peak_mb": M, "db": ..., "cpu_s": ..., "ticks": 1440,
     "due_ticks": ..., "slowest_tick_s": ..., "due": ..., "queued": ..., "stale": ...,
     "build_s": ..., "rss_delta_mb": ..., "burst_seconds": ..., "burst_digests": ...,
     "burst_traced_mb": ..., "year": ..., "floor_s": ..., "floor_by": ...,
     "floor_transactions": ..., "ratio": ...}

``seconds`` and ``digests`` are the whole day's; ``peak_mb`` is the day's peak RSS of
the measuring process; ``burst_*`` are null with ``--no-burst``, ``floor_*`` and
``ratio`` with ``--no-floor``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import resource
import subprocess
import sys
import time
import tracemalloc
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.floor import Floor, measure_floor  # noqa: E402
from bench.lateness import day_waves, queue_lateness  # noqa: E402
from bench.scenario import ADMIN_URL, BURST_DUE, DAY, build_store, make_burst  # noqa: E402
from bench.stores import PostgresStores, SqliteStores, open_stores  # noqa: E402
from digestbot.config import Settings  # noqa: E402
from digestbot.delivery.planner import DigestPlanner  # noqa: E402
from digestbot.store import db  # noqa: E402
from digestbot.store.briefs import BRIEFS_REVISION  # noqa: E402

TICKS = 24 * 60
TICK_SECOND = 30  # the minute job runs at HH:MM:30 here
BURST_NOW = BURST_DUE + timedelta(seconds=30)  # the burst (due at 08:00) planned at 08:00:30
QUICK_CHATS = 2000
SEND_RATE = float(Settings.model_fields["send_rate"].default)  # the bot's default, 25 a second


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


async def measure(
    url: str, *, mode: str, trace: bool = False, profile: str | None = None
) -> dict[str, Any]:
    """Plan on this store, ``mode`` ``burst`` (one tick) or ``day`` (1,440 ticks): wall
    time of ``plan()``, RSS, and the tracemalloc peak if ``trace``; with ``profile``,
    cProfile the ``plan()`` calls alone and write their statistics to that file."""
    engine = db.create_engine(url)
    clock = [BURST_NOW]  # the planner's injected clock, moved tick by tick
    ticks = [BURST_NOW] if mode == "burst" else [
        DAY + timedelta(minutes=m, seconds=TICK_SECOND) for m in range(TICKS)
    ]  # fmt: skip
    totals = {"due": 0, "queued": 0, "messages": 0, "distinct": 0, "empty": 0, "stale": 0}
    seconds = slowest = cpu = 0.0
    due_ticks = 0
    try:
        sessions = db.session_factory(engine)
        async with engine.begin() as conn:  # open the pool before the clock starts
            # the briefs as ingestion leaves them, counted (store.upsert_briefs bumps the
            # revision): the store's builders write them with bulk SQL, which does not
            await conn.execute(
                sa.text("INSERT INTO kv (key, value) VALUES (:key, '1') ON CONFLICT DO NOTHING"),
                {"key": BRIEFS_REVISION},
            )
        planner = DigestPlanner(sessions, clock=lambda: clock[0])
        hwm_reset = _reset_rss_peak()
        rss_before = _proc_status_mb("VmRSS")
        maxrss_before = _maxrss_mb()
        if trace:
            tracemalloc.start()
        profiler = cProfile.Profile() if profile else None
        for clock[0] in ticks:
            started, cpu_started = time.perf_counter(), time.process_time()
            if profiler is not None:
                profiler.enable()
            report = await planner.plan()
            if profiler is not None:
                profiler.disable()
            took = time.perf_counter() - started
            cpu += time.process_time() - cpu_started
            seconds += took
            if report.due:
                due_ticks += 1
                slowest = max(slowest, took)
            for name in totals:
                totals[name] += getattr(report, name)
        if profiler is not None:
            profiler.dump_stats(str(profile))
        traced_peak = None
        if trace:
            traced_peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        maxrss_after = _maxrss_mb()
        hwm_after = _proc_status_mb("VmHWM")
    finally:
        await engine.dispose()
    if hwm_reset and rss_before is not None and hwm_after is not None:
        rss_delta, peak_rss = hwm_after - rss_before, hwm_after
    else:  # no /proc: ru_maxrss, with its caveat (see the module docstring)
        rss_delta, peak_rss = maxrss_after - maxrss_before, maxrss_after
    return {
        "seconds": seconds,
        "cpu_s": cpu,
        "ticks": len(ticks),
        "due_ticks": due_ticks,
        "slowest_tick_s": slowest,
        "rss_delta_mb": rss_delta,
        "peak_rss_mb": peak_rss,
        "traced_peak_mb": traced_peak,
        **totals,
    }


def measure_in_child(url: str, *, mode: str, trace: bool) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", url, "--mode", mode]
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
    day: dict[str, Any]
    burst: dict[str, Any] | None
    burst_traced: dict[str, Any] | None
    lateness: dict[str, float]  # the day's queue at --send-rate (see queue_lateness)
    floor: Floor | None = None  # the day's writes alone (bench/floor.py)


def profiled() -> bool:
    """True under ``python -m cProfile`` / ``profile`` (then the planner runs in-process)."""
    if sys.getprofile() is not None:
        return True
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)  # python -m cProfile
    return getattr(spec, "name", None) in ("cProfile", "profile")


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def year_template(kind: str, chats: int, args: argparse.Namespace) -> tuple[str, float]:
    """The cached year store (bench/yearstore.py) of ``chats`` chats: its URL, and how
    long finding (or, the first time, building) it took. Only ever copied."""
    from bench import yearstore  # only --year needs it: the measuring child never loads it

    size = yearstore.Size(chats, args.year_briefs, args.year_outbox, args.seed)
    url, _, seconds = yearstore.year_store(kind, size, cache=args.cache_dir, pg_url=args.pg_url)
    return url, seconds


def bench_one(stores: SqliteStores | PostgresStores, chats: int, args: argparse.Namespace) -> Row:
    tag = f"[{stores.name} {chats:,}{' year' if args.year else ''}]"
    if args.year:
        progress(f"{tag} finding the year store...")
        template, build_s = year_template(stores.name, chats, args)
    else:
        template = stores.new(f"template_{chats}")
    floor: Floor | None = None
    try:
        if not args.year:
            progress(f"{tag} building the store...")
            started = time.perf_counter()
            asyncio.run(
                build_store(
                    template,
                    chats,
                    skew=args.skew,
                    seed=args.seed,
                    filters=args.filters,
                    weights=args.weights,
                )
            )
            build_s = time.perf_counter() - started
        progress(f"{tag} store ready in {build_s:.1f} s")
        runs: dict[str, dict[str, Any] | None] = {"day": None, "burst": None, "traced": None}
        lateness: dict[str, float] = {}
        for label, mode, trace in (
            ("day", "day", False),
            ("burst", "burst", False),
            ("traced", "burst", True),
        ):
            if mode == "burst" and args.no_burst:
                continue
            if trace and (args.no_trace or args.in_process):
                continue
            progress(f"{tag} {label} run...")
            url = stores.copy(template, f"run_{chats}_{label}")
            try:
                if mode == "burst":
                    asyncio.run(make_burst(url))
                if args.in_process:
                    profile = args.profile if mode == "day" else None
                    runs[label] = asyncio.run(measure(url, mode=mode, profile=profile))
                else:
                    runs[label] = measure_in_child(url, mode=mode, trace=trace)
                if mode == "day":
                    lateness = queue_lateness(asyncio.run(day_waves(url)), args.send_rate)
                    if not args.no_floor:
                        floor = floor_of(stores, template, url, tag)
            finally:
                stores.drop(url)
    finally:
        if not args.year:  # the cached year store is only ever copied
            stores.drop(template)
        elif args.forget:
            from bench import yearstore

            yearstore.forget(stores.name, template, pg_url=args.pg_url)
    day = runs["day"]
    assert day is not None
    return Row(stores.name, chats, build_s, day, runs["burst"], runs["traced"], lateness, floor)


def floor_of(stores: SqliteStores | PostgresStores, template: str, day_url: str, tag: str) -> Floor:
    """The day's writes again, with no planning, into a fresh copy of the pre-day store."""
    progress(f"{tag} floor run...")
    url = stores.copy(template, f"floor_{uuid.uuid4().hex[:6]}")
    try:
        return measure_floor(day_url, url)
    finally:
        stores.drop(url)


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _minutes(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def print_table(rows: Sequence[Row], rate: float) -> None:
    head = (
        f"{'db':<9}{'chats':>10}{'build s':>8} | {'day s':>7}{'cpu s':>7}{'ticks*':>7}"
        f"{'slowest':>8}{'queued':>10}{'digests':>9}{'dig/chat':>9}{'peak RSS':>9}{'RSS+':>7} | "
        f"{'burst s':>8}{'digests':>9}{'peak RSS':>9}{'traced':>7}"
    )
    print(head)
    print("-" * len(head))
    for row in rows:
        d, b, t = row.day, row.burst, row.burst_traced
        print(
            f"{row.db:<9}{row.chats:>10,}{row.build_s:>8.1f} | {d['seconds']:>7.2f}"
            f"{d['cpu_s']:>7.1f}{d['due_ticks']:>7,}{d['slowest_tick_s']:>8.3f}{d['queued']:>10,}"
            f"{d['distinct']:>9,}{d['distinct'] / row.chats:>9.2f}{d['peak_rss_mb']:>9.0f}"
            f"{d['rss_delta_mb']:>7.0f} | {_fmt(b and b['seconds'], '8.2f'):>8}"
            f"{_fmt(b and b['distinct'], ',d'):>9}{_fmt(b and b['peak_rss_mb'], '.0f'):>9}"
            f"{_fmt(t and t['traced_peak_mb'], '.1f'):>7}"
        )
    for row in rows:
        if row.floor is not None:
            f = row.floor
            print(
                f"{row.db} {row.chats:,}: day {row.day['seconds']:.2f} s; floor: {f.seconds:.2f} s "
                f"({f.driver}: the day's {f.rows:,} outbox rows and {f.moves:,} schedule "
                f"updates in {f.transactions:,} transactions, no planning; cpu "
                f"{f.cpu_s:.1f} s); ratio: day/floor {row.day['seconds'] / f.seconds:.2f}"
            )
    for row in rows:
        late = row.lateness
        print(
            f"{row.db} {row.chats:,}: the day's {late['messages']:,} digests through one sender "
            f"at {rate:g}/s would go out late by p50 {_minutes(late['p50_s'])}, "
            f"p95 {_minutes(late['p95_s'])}, worst {_minutes(late['worst_s'])} "
            "(from their due minute; the queue drains at the send rate)"
        )
    print(
        "day s: wall time of the 1,440 plan() calls of one day; cpu s: this process's CPU "
        "time in them (not the PostgreSQL server's); ticks*: ticks with chats due; "
        "slowest: the slowest tick, s; queued: digests queued over the day; digests: "
        "digests assembled (shared by chats with the same one); peak RSS / "
        "RSS+: the measuring process's peak RSS and its growth while planning, MB; burst: "
        "every chat due in one tick; traced: tracemalloc peak of a second burst run, MB"
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time DigestPlanner.plan() over a whole day of minute ticks and in one "
        "tick with every chat due, and measure its peak memory (see the module docstring "
        "for the scenario and the method).",
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--chats", type=int, help="number of chats (default 100000)")
    size.add_argument("--sizes", help="comma-separated chat counts, one table row each")
    size.add_argument("--quick", action="store_true", help=f"{QUICK_CHATS:,} chats")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument(
        "--skew",
        type=float,
        default=1.0,
        help="Zipf exponent of tag popularity (default 1.0, classic Zipf; 0 = uniform)",
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument(
        "--filters", type=float, default=0.0, help="fraction of chats with filters (e.g. 0.2)"
    )
    parser.add_argument(
        "--weights", type=float, default=0.0, help="fraction of chats with tag weights (e.g. 0.2)"
    )
    parser.add_argument("--no-burst", action="store_true", help="measure the day only")
    parser.add_argument("--no-trace", action="store_true", help="skip the tracemalloc run")
    parser.add_argument(
        "--no-floor", action="store_true", help="skip the floor (the day's writes alone)"
    )
    parser.add_argument(
        "--year",
        action="store_true",
        help="run on a copy of bench/yearstore.py's cached year store (default 1,000,000 "
        "chats, with a year of briefs and outbox history) instead of the generated store",
    )
    parser.add_argument(
        "--forget", action="store_true", help="with --year: delete the cached store after"
    )
    parser.add_argument("--year-briefs", type=int, default=110_000, help="with --year")
    parser.add_argument("--year-outbox", type=int, default=3_000_000, help="with --year")
    parser.add_argument(
        "--cache-dir", help="with --year: where its SQLite stores are kept (see yearstore.py)"
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="plan in this process (implied under a profiler); no tracemalloc run",
    )
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="cProfile the day's plan() calls (in-process) into FILE and print the top",
    )
    parser.add_argument(
        "--send-rate",
        type=float,
        default=SEND_RATE,
        help=f"messages a second the lateness figures assume (default {SEND_RATE:g}, "
        "SEND_RATE's default)",
    )
    parser.add_argument("--pg-url", default=ADMIN_URL, help="PostgreSQL server to use")
    parser.add_argument("--worker", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=["day", "burst"], default="day", help=argparse.SUPPRESS)
    parser.add_argument("--worker-trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sizes:
        args.size_list = sorted(int(s) for s in args.sizes.split(",") if s.strip())
    elif args.quick:
        args.size_list = [QUICK_CHATS]
    else:
        args.size_list = [args.chats or (1_000_000 if args.year else 100_000)]
    if args.year and (args.filters or args.weights):
        parser.error("--year uses the year store's chats, which have no filters or weights")
    if any(n < 1 for n in args.size_list):
        parser.error("chat counts must be positive")
    if not (0 <= args.filters <= 1 and 0 <= args.weights <= 1):
        parser.error("--filters and --weights are fractions, 0 to 1")
    args.in_process = args.in_process or bool(args.profile) or profiled()
    return args


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:  # a measuring child process: one measurement, one JSON line
        result = asyncio.run(measure(args.worker, mode=args.mode, trace=args.worker_trace))
        print(json.dumps(result))
        return 0
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    rows: list[Row] = []
    for kind in kinds:
        with open_stores(kind, args.pg_url) as stores:
            for chats in args.size_list:
                rows.append(bench_one(stores, chats, args))
    print_table(rows, args.send_rate)
    if args.in_process:
        print("(in-process: no tracemalloc run)")
    if args.profile:  # the last size's profile
        stats = pstats.Stats(args.profile)
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(25)
    last = rows[-1]
    day, burst, traced, floor = last.day, last.burst, last.burst_traced, last.floor
    print(
        json.dumps(
            {
                "chats": last.chats,
                "digests": day["distinct"],
                "seconds": round(day["seconds"], 3),
                "peak_mb": round(day["peak_rss_mb"], 1),
                "db": last.db,
                "filters": args.filters,
                "weights": args.weights,
                "cpu_s": round(day["cpu_s"], 1),
                "ticks": day["ticks"],
                "due_ticks": day["due_ticks"],
                "slowest_tick_s": round(day["slowest_tick_s"], 3),
                "due": day["due"],
                "queued": day["queued"],
                "stale": day["stale"],
                "build_s": round(last.build_s, 1),
                "rss_delta_mb": round(day["rss_delta_mb"], 1),
                "burst_seconds": _round(burst and burst["seconds"], 3),
                "burst_digests": burst and burst["distinct"],
                "burst_traced_mb": _round(traced and traced["traced_peak_mb"], 1),
                "send_rate": args.send_rate,
                "late_p50_s": round(last.lateness["p50_s"], 1),
                "late_p95_s": round(last.lateness["p95_s"], 1),
                "late_worst_s": round(last.lateness["worst_s"], 1),
                "year": args.year,
                "floor_s": round(floor.seconds, 3) if floor else None,
                "floor_by": floor.driver if floor else None,
                "floor_transactions": floor.transactions if floor else None,
                "ratio": round(day["seconds"] / floor.seconds, 2) if floor else None,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
