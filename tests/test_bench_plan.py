"""bench/plan.py still runs: a small subprocess, checked by its JSON."""

from __future__ import annotations

import pytest

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


@pytest.mark.postgres
def test_plan_several_sizes_and_uniform_tags_in_one_go_on_postgres():
    result = run_script(
        "plan.py", "--sizes", "300,50", "--skew", "0", "--no-burst", "--db", "postgres"
    )
    assert result["chats"] == 300  # the JSON line is the largest size
    assert result["db"] == "postgres"
    assert result["due"] == 300 and result["stale"] == 0
    assert 1 <= result["digests"] <= 300
    assert result["seconds"] > 0
    assert result["burst_seconds"] is None  # --no-burst


def test_plan_explains_itself():
    assert_explains_itself("plan.py")
