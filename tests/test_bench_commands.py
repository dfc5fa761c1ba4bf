"""bench/commands.py still runs: a small subprocess, checked by its JSON."""

from __future__ import annotations

import asyncio

import pytest

from bench import yearstore
from tests.benchrun import assert_explains_itself, run_script


def test_commands_tiny():
    result = run_script("commands.py", "--updates", "20", "--seconds", "0.3", timeout=180)
    assert {"updates_per_s", "baseline_updates_per_s", "ratio", "p50_ms", "p99_ms"} <= result.keys()
    assert result["updates_per_s"] > 0
    assert result["baseline_updates_per_s"] > 0
    assert result["ratio"] > 0
    assert 0 < result["p50_ms"] <= result["p99_ms"]
    assert result["peak_rss_mb"] > 0


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_commands_on_a_tiny_year_store_leave_the_cached_store_as_it_was(db, tmp_path):
    size = yearstore.Size(chats=200, briefs=300, outbox=100, seed=5)
    tiny = ("--chats", "200", "--briefs", "300", "--outbox", "100", "--seed", "5")
    url, _, _ = yearstore.year_store(db, size, cache=str(tmp_path))
    try:
        before = asyncio.run(yearstore.counts(url))
        result = run_script(
            "commands.py",
            *("--year", "--db", db, *tiny, "--cache-dir", str(tmp_path)),
            *("--updates", "20", "--seconds", "0.3", "--rounds", "1"),
            timeout=180,
        )
        assert result["updates_per_s"] > 0 and result["ratio"] > 0
        assert 0 < result["p50_ms"] <= result["p99_ms"]
        assert result["peak_rss_mb"] > 0
        # /summary and /watch took the path readers' commands take on a live store (briefs
        # of the last 7 days, with watch points), not their fallback or empty answers
        answers = result["answers"]
        assert answers["/summary"]["heading"].startswith("Summary")
        assert answers["/watch"]["heading"].startswith("What to watch")
        for command in ("/summary", "/watch"):
            assert 0 < answers[command]["recent"] == answers[command]["briefs"], command
        # the year store's own chats answered (/subscribe llm added rows), in a copy only
        assert asyncio.run(yearstore.counts(url)) == before
    finally:
        yearstore.forget(db, url)


def test_commands_explains_itself():
    assert_explains_itself("commands.py")
