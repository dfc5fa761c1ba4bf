"""bench/plan.py still runs: a small subprocess, checked by its JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bench.lateness import queue_lateness
from tests.benchrun import assert_explains_itself, run_script


def test_plan_quick_sqlite_plans_every_chat_once_over_the_day():
    result = run_script("plan.py", "--quick", "--db", "sqlite")
    assert {"chats", "digests", "seconds", "peak_mb"} <= result.keys()
    assert result["chats"] == 2000
    # every chat's digest falls in the measured day exactly once, none of them stale
    assert result["due"] == 2000 and result["stale"] == 0
    assert 1 <= result["queued"] <= result["due"]
    assert 1 <= result["digests"] <= result["queued"]
    assert result["ticks"] == 1440
    assert 1 <= result["due_ticks"] <= result["ticks"]  # mixed zones and times
    assert 0 < result["slowest_tick_s"] <= result["seconds"]
    assert result["peak_mb"] > 0
    assert 1 <= result["burst_digests"] <= 2000  # the burst: every chat in one tick
    assert result["burst_seconds"] > 0
    assert result["burst_traced_mb"] > 0  # tracemalloc saw the planner allocate
    assert result["send_rate"] == 25
    assert 0 < result["late_p50_s"] <= result["late_p95_s"] <= result["late_worst_s"]
    assert result["year"] is False
    _assert_floor_beside_the_day(result)


def _assert_floor_beside_the_day(result):
    # the floor wrote what the day wrote, in about as many transactions as it committed
    # (one per due tick here: under 5,000 chats a tick), with no planning: faster
    assert result["floor_by"] in ("plain sqlite3", "plain asyncpg")
    assert result["floor_transactions"] >= result["due_ticks"]
    assert 0 < result["floor_s"] < result["seconds"]
    # the ratio of the unrounded figures (rounded to 0.01): floor_s is rounded to the
    # millisecond, which on a tiny store is a few percent of it
    floor_s, day_s, ratio = result["floor_s"], result["seconds"], result["ratio"]
    low, high = day_s / (floor_s + 0.0006), day_s / max(floor_s - 0.0006, 1e-6)
    assert low - 0.006 <= ratio <= high + 0.006


@pytest.mark.postgres
def test_plan_quick_postgres_prints_the_floor_beside_the_day():
    result = run_script("plan.py", "--quick", "--db", "postgres", "--no-burst")
    assert result["db"] == "postgres" and result["due"] == 2000 and result["stale"] == 0
    assert result["burst_seconds"] is None
    _assert_floor_beside_the_day(result)


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_plan_year_runs_the_day_on_a_copy_of_a_tiny_year_store(db, tmp_path):
    tiny = ("--chats", "300", "--year-briefs", "400", "--year-outbox", "900", "--seed", "5")
    cache = ("--cache-dir", str(tmp_path))
    first = run_script("plan.py", "--year", *tiny, *cache, "--db", db, "--no-burst")
    # the year store's chats are plan.py's population: each due once in the measured day
    assert first["year"] is True and first["chats"] == 300
    assert first["due"] == 300 and first["stale"] == 0
    assert 1 <= first["queued"] <= 300
    _assert_floor_beside_the_day(first)
    # the day ran on copies: the cached store is unchanged, so a second run plans the
    # same day again (the same digests), then deletes it
    again = run_script("plan.py", "--year", *tiny, *cache, "--db", db, "--no-burst", "--forget")
    assert (again["due"], again["queued"], again["digests"]) == (
        first["due"],
        first["queued"],
        first["digests"],
    )
    assert not list(tmp_path.glob("yearstore_*.db"))


def test_a_morning_wave_drains_at_the_send_rate_and_delays_the_next_minute():
    eight = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    # 600 digests due at 08:00 at 10 a second take a minute: the last goes at 08:01:00,
    # when 08:01's 10 are due, and those go a tenth of a second apart after it
    late = queue_lateness([(eight, 600), (eight + timedelta(minutes=1), 10)], rate=10)
    assert late["messages"] == 610
    assert late["p50_s"] == pytest.approx(29.5)  # 305th of 0.1..60 s and 08:01's 0.1..1 s
    assert late["p95_s"] == pytest.approx(57.0)  # nearest rank 580 of 610
    assert late["worst_s"] == pytest.approx(60.0)
    # at 5 a second 08:00's wave takes two minutes, and 08:01's waits behind it
    slow = queue_lateness([(eight, 600), (eight + timedelta(minutes=1), 10)], rate=5)
    assert slow["worst_s"] == pytest.approx(120.0)
    alone = queue_lateness([(eight + timedelta(minutes=1), 10)], rate=5)
    assert alone["worst_s"] == pytest.approx(2.0)


def test_plan_explains_itself():
    assert_explains_itself("plan.py")
