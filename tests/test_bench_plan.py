"""bench/plan.py still runs: a small subprocess, checked by its JSON."""

from __future__ import annotations

from tests.benchrun import assert_explains_itself, run_script


def test_plan_quick_sqlite():
    result = run_script("plan.py", "--quick", "--db", "sqlite")
    assert {"chats", "digests", "seconds", "peak_mb"} <= result.keys()
    assert result["chats"] == 2000
    assert 1 <= result["digests"] <= result["chats"]
    assert result["seconds"] > 0
    assert result["peak_mb"] > 0  # tracemalloc saw the planner allocate


def test_plan_several_sizes_with_skewed_tags_in_one_go():
    result = run_script("plan.py", "--sizes", "300,50", "--skew", "1.0", "--no-trace")
    assert result["chats"] == 300  # the JSON line is the largest size
    assert 1 <= result["digests"] <= 300
    assert result["seconds"] > 0


def test_plan_explains_itself():
    assert_explains_itself("plan.py")
