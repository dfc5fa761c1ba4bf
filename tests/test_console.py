"""`digestbot console`: piped, and at a real terminal (a pseudo-terminal driven by pexpect)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

DIGESTBOT = str(Path(sys.executable).with_name("digestbot"))
PROMPT = re.compile(r"you\S* ›")  # the prompt, coloured or not


def console_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_"))}
    # pexpect is no terminal emulator: it never answers prompt_toolkit's cursor-position
    # query, which a real terminal does at once; without this the first prompt waits for it.
    env["PROMPT_TOOLKIT_NO_CPR"] = "1"
    return env


def test_console_chats_with_the_real_bot_without_a_token(tmp_path):
    script = "/start\n/subscribe llm\n/digest\n/tags\n1\n/brief 1\n/nonsense\n"

    result = subprocess.run(
        [DIGESTBOT, "console", "--db", str(tmp_path / "console.db")],
        input=script,
        capture_output=True,
        text=True,
        env=console_env(),
        cwd=tmp_path,
        timeout=120,
    )

    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert f"store: {tmp_path / 'console.db'}, 24 sample briefs loaded" in out
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


def test_the_console_keeps_its_own_file_not_the_one_run_uses(tmp_path):
    result = subprocess.run(
        [DIGESTBOT, "console"], input="", capture_output=True, text=True,
        env=console_env(), cwd=tmp_path, timeout=120,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "store: digestbot-console.db, 24 sample briefs loaded" in result.stdout
    assert (tmp_path / "digestbot-console.db").is_file()
    assert not (tmp_path / "digestbot.db").exists()
    again = subprocess.run(
        [DIGESTBOT, "console"], input="", capture_output=True, text=True,
        env=console_env(), cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert "store: digestbot-console.db (" in again.stdout  # kept, not loaded twice


@pytest.fixture
def terminal(tmp_path):
    """The console at a terminal, on a fresh store, ready at its first prompt."""
    child = pexpect.spawn(
        DIGESTBOT,
        ["console", "--db", str(tmp_path / "console.db")],
        cwd=str(tmp_path),
        env=console_env(),
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 150),
    )
    child.expect("Ctrl-D or /quit leaves")
    child.expect(PROMPT)
    yield child
    if child.isalive():
        child.terminate(force=True)


def exit_status(child: pexpect.spawn, *, within: float) -> int:
    """The child's exit status; it must have ended within ``within`` seconds."""
    child.expect(pexpect.EOF, timeout=within)
    status: int = child.wait()
    return status


def ask(child: pexpect.spawn, line: str, answer: str) -> None:
    """Type a line and wait for the bot's answer and the prompt after it."""
    child.sendline(line)
    child.expect(answer)
    child.expect(PROMPT)


def test_quit_leaves_at_once_with_status_0(terminal):
    terminal.sendline("/quit")
    assert exit_status(terminal, within=1.0) == 0


def test_ctrl_d_leaves_with_status_0(terminal):
    terminal.sendcontrol("d")
    assert exit_status(terminal, within=5.0) == 0


def test_ctrl_c_leaves_with_status_130(terminal):
    terminal.send("/ta")  # half a line typed: Ctrl-C still leaves, once
    terminal.sendcontrol("c")
    assert exit_status(terminal, within=5.0) == 130


def test_up_arrow_recalls_the_last_command_and_the_bot_answers_again(terminal):
    ask(terminal, "/tags", r"\[1\] generative-ai \(6\)")

    terminal.send("\x1b[A")  # Up
    terminal.send("\r")

    terminal.expect(r"\[1\] generative-ai \(6\)")
    assert "^[[A" not in terminal.before


def test_tab_completes_a_command(terminal):
    terminal.send("/myt")
    terminal.expect(" /mytags ")  # offered in the menu below the line
    terminal.send("\t")
    terminal.send("\r")
    terminal.expect("You follow no tags yet")


def test_a_message_arriving_later_prints_above_a_redrawn_prompt(terminal):
    ask(terminal, "/start", "Welcome!")
    terminal.sendline("/broadcast Hello everyone")
    terminal.expect(r"\[(\d+)\] Send to 1 chat\b")
    send = terminal.match.group(1)
    terminal.expect(PROMPT)
    terminal.sendline(send)
    terminal.expect(PROMPT)  # the console is waiting for the next line...

    # ...when the broadcast, and later its status, arrive on their own.
    terminal.expect(r"Broadcast #1 to .* is done")
    terminal.expect(PROMPT)  # and the prompt is drawn again below them
    terminal.sendline("/quit")
    assert exit_status(terminal, within=5.0) == 0
