"""bench/search.py still runs: a small subprocess on a tiny year store, checked by its JSON."""

from __future__ import annotations

import pytest

from tests.benchrun import assert_explains_itself, run_script


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_search_bench_on_a_tiny_year_store(db, tmp_path):
    result = run_script(
        "search.py",
        *("--db", db, "--chats", "40", "--briefs", "600", "--outbox", "50"),
        *("--queries", "40", "--baseline-queries", "10", "--seed", "11"),
        *("--cache-dir", str(tmp_path), "--forget"),  # and its PostgreSQL database dropped
    )
    assert result["db"] == db
    assert result["briefs"] == 600 and result["queries"] == 40
    assert 0 < result["found"] < 40  # most queries find briefs; the made-up words none
    assert 0 < result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]
    assert result["baseline_queries"] == 10 and result["baseline_p99_ms"] > 0


def test_year_store_is_built_once_then_reused(tmp_path):
    tiny = ("--chats", "30", "--briefs", "90", "--outbox", "40", "--cache-dir", str(tmp_path))
    first = run_script("yearstore.py", *tiny)
    again = run_script("yearstore.py", *tiny)
    forced = run_script("yearstore.py", *tiny, "--rebuild")

    assert (first["built"], again["built"], forced["built"]) == (True, False, True)
    assert first["briefs"] == 90 and first["chats"] == 30 and first["outbox"] == 40
    assert 30 <= first["subscriptions"] <= 90  # 1-3 tags a chat
    assert again == {**first, "built": False, "seconds": again["seconds"]}
    assert len(list(tmp_path.glob("yearstore_*.db"))) == 1


def test_search_bench_explains_itself():
    assert_explains_itself("search.py")
    assert_explains_itself("yearstore.py")
