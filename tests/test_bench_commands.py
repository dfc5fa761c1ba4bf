"""bench/commands.py still runs: a small subprocess, checked by its JSON."""

from __future__ import annotations

from tests.benchrun import assert_explains_itself, run_script


def test_commands_tiny():
    result = run_script("commands.py", "--updates", "20", "--seconds", "0.3", timeout=180)
    assert {"updates_per_s", "baseline_updates_per_s", "ratio", "p50_ms", "p99_ms"} <= result.keys()
    assert result["updates_per_s"] > 0
    assert result["baseline_updates_per_s"] > 0
    assert result["ratio"] > 0
    assert 0 < result["p50_ms"] <= result["p99_ms"]


def test_commands_explains_itself():
    assert_explains_itself("commands.py")
