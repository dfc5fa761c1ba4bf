"""The benchmark scripts in bench/ still run: each as a small subprocess, checked by its JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run_script(name: str, *args: str, timeout: float = 120) -> dict[str, Any]:
    """Run ``bench/<name>`` from the repository root; the parsed JSON of its last line."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / name), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr
    result = json.loads(lines[-1])
    assert isinstance(result, dict), lines[-1]
    return result


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


def test_send_quick():
    result = run_script("send.py", "--quick")
    assert {
        "sender_msgs_per_s",
        "baseline_msgs_per_s",
        "ratio",
        "capped_rate",
        "responses_429",
    } <= result.keys()
    assert result["sender_msgs_per_s"] > 0
    assert result["baseline_msgs_per_s"] > 0
    assert result["ratio"] > 0
    # the budget paces evenly at the server's 30 a second: close to it, and never too fast
    assert 25 <= result["capped_rate"] <= 30.5
    assert result["responses_429"] == 0


def test_scripts_explain_themselves():
    for name in ("plan.py", "send.py"):
        done = subprocess.run(
            [sys.executable, str(ROOT / "bench" / name), "--help"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "usage:" in done.stdout
