"""Runs a bench/ script as a small subprocess for the smoke tests, and parses its JSON."""

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


def assert_explains_itself(name: str) -> None:
    """``bench/<name> --help`` prints its usage."""
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
