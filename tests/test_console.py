"""`digestbot console` from a fresh store: seeds loaded, the real bot answering in the terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DIGESTBOT = str(Path(sys.executable).with_name("digestbot"))


def test_console_chats_with_the_real_bot_without_a_token(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'console.db'}"
    script = "/start\n/subscribe llm\n/digest\n/tags\n1\n/brief 1\n/nonsense\n"

    result = subprocess.run(
        [DIGESTBOT, "console"],
        input=script,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )

    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Welcome! I send short digests" in out
    assert "[1] generative-ai (6)" in out  # the seeds were loaded into the empty store
    assert "Following llm now." in out
    assert "Your digest" in out and "/brief_" in out
    assert "(Following generative-ai)" in out  # pressing button 1 answered
    assert "What happened" in out
    assert "I don't know /nonsense." in out
    assert "\x1b[" not in out  # no terminal colours when not on a terminal
    assert out.rstrip().endswith("bye")
    assert "Traceback" not in result.stderr
