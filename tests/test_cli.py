"""The digestbot command, run as a real subprocess, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.factories import make_brief, make_card
from tests.httpserver import LocalHTTPServer, Reply

DIGESTBOT = str(Path(sys.executable).with_name("digestbot"))
REPO = Path(__file__).resolve().parent.parent


def digestbot(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None, stdin=None):
    full_env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "TELEGRAM_BOT_TOKEN"}
    }
    full_env.update(env or {})
    return subprocess.run(
        [DIGESTBOT, *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        input=stdin,
        timeout=120,
    )


def test_help_lists_the_commands():
    result = digestbot("--help")
    assert result.returncode == 0
    for command in ("run", "console", "ingest", "export", "db"):
        assert f"  {command} " in result.stdout


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DEFAULT_TIMEZONE", "Mars/Olympus", "DEFAULT_TIMEZONE: unknown timezone 'Mars/Olympus'"),
        ("DATABASE_URL", "nosuch://x", "DATABASE_URL: unsupported scheme 'nosuch'"),
        ("SEND_RATE", "-1", "SEND_RATE: must be a number of messages per second above 0"),
        # Too long for the feeds table, it would fail every poll; the echo is clipped.
        (
            "FEED_URLS",
            "https://a.example/" + "x" * 3000,
            f"FEED_URLS: 'https://a.example/{'x' * 42}...' is longer than 2048 characters",
        ),
    ],
)
def test_a_bad_setting_stops_with_one_line_and_exit_2(tmp_path, variable, value, expected):
    result = digestbot("ingest", str(tmp_path), env={variable: value}, cwd=tmp_path)

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"digestbot: {expected}")
    assert "Traceback" not in result.stderr


def test_settings_come_from_a_dotenv_file_in_the_working_directory(tmp_path):
    (tmp_path / ".env").write_text("SEND_RATE=zero\n")
    result = digestbot("export", "-", cwd=tmp_path)
    assert result.returncode == 2
    assert "SEND_RATE: 'zero' is not a number" in result.stderr


def test_run_without_a_token_points_to_the_console(tmp_path):
    result = digestbot("run", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "TELEGRAM_BOT_TOKEN" in result.stderr and "digestbot console" in result.stderr


def test_ingest_without_arguments_is_a_usage_error(tmp_path):
    result = digestbot("ingest", cwd=tmp_path)
    assert result.returncode == 2
    assert "Missing argument" in result.stderr


def write_inputs(folder: Path) -> None:
    """A folder of good and bad inputs, nested, with every file kind ingest reads."""
    (folder / "nested" / "deeper").mkdir(parents=True)
    shutil.copy(FIXTURES / "example-brief.txt", folder / "example.txt")
    (folder / "nested" / "crlf.txt").write_text(
        make_card(make_brief(title="A CRLF card"), newline="\r\n"), newline=""
    )
    lines = [json.dumps(make_brief(title=f"JSONL {i}").to_dict()) for i in range(3)]
    (folder / "nested" / "deeper" / "three.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "nested" / "broken.txt").write_text("11/10\nResearch\nno date here\n")
    (folder / "binary.txt").write_bytes(b"\xff\xfe\x00bad")
    (folder / "notes.md").write_text("not read: folders take .txt, .json and .jsonl only")


@pytest.fixture
def env(database_url, tmp_path):
    """A fresh database on each backend; PostgreSQL is upgraded first, as an operator would."""
    env = {"DATABASE_URL": database_url}
    if database_url.startswith("postgresql"):
        assert digestbot("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    return env


def test_ingest_reports_each_rejected_input_and_stores_the_rest(tmp_path, env):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    write_inputs(inputs)

    result = digestbot("ingest", str(inputs), str(tmp_path / "missing.txt"), env=env, cwd=tmp_path)

    assert result.returncode == 1
    rejected = sorted(line for line in result.stderr.splitlines() if line.startswith("rejected"))
    assert rejected == [
        f"rejected {inputs / 'binary.txt'}: not UTF-8 text",
        f"rejected {inputs / 'nested' / 'broken.txt'}: score 11 is out of range 0..10",
        f"rejected {tmp_path / 'missing.txt'}: no such file or folder",
    ]
    assert result.stdout.strip() == "5 added, 0 updated, 0 unchanged, 3 rejected"

    again = digestbot("ingest", str(inputs / "example.txt"), env=env, cwd=tmp_path)
    assert again.returncode == 0
    assert again.stdout.strip() == "0 added, 0 updated, 1 unchanged, 0 rejected"


def test_ingest_fetches_private_addresses_only_when_allowed(tmp_path, env):
    feed = json.dumps([make_brief(title="Local feed").to_dict()]).encode()
    with LocalHTTPServer() as server:
        url = server.serve("/feed.json", Reply(body=feed))

        refused = digestbot("ingest", url, env=env, cwd=tmp_path)
        allowed = digestbot("ingest", url, env={**env, "FEED_ALLOW_PRIVATE": "true"}, cwd=tmp_path)

    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        f"rejected {url}: refused to connect to 127.0.0.1: a loopback address"
    )
    assert allowed.returncode == 0
    assert allowed.stdout.strip() == "1 added, 0 updated, 0 unchanged, 0 rejected"
    assert len(server.requests) == 1


def test_ingest_of_a_folder_rejects_a_lone_surrogate_alone(tmp_path, env):
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    good, bad = make_brief(title="Good neighbour").to_dict(), make_brief(title="x").to_dict()
    # json.dumps writes the lone surrogate as the escape \\ud800, as any JSON producer may.
    (inputs / "mixed.json").write_text(json.dumps([{**bad, "title": "bad \ud800"}, good]))

    result = digestbot("ingest", str(inputs), env=env, cwd=tmp_path)

    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"rejected {inputs / 'mixed.json'} item 1: "
        "title is not valid text (a lone surrogate U+D800 at character 5)"
    ]
    assert result.stdout.strip() == "1 added, 0 updated, 0 unchanged, 1 rejected"


def test_a_changed_card_is_updated_not_duplicated(tmp_path, env):
    card = tmp_path / "card.txt"
    card.write_text((FIXTURES / "example-brief.txt").read_text())
    assert digestbot("ingest", str(card), env=env, cwd=tmp_path).returncode == 0
    card.write_text(card.read_text().replace("4/10", "7/10", 1))

    result = digestbot("ingest", str(card), env=env, cwd=tmp_path)

    assert result.stdout.strip() == "0 added, 1 updated, 0 unchanged, 0 rejected"
    exported = digestbot("export", "-", env=env, cwd=tmp_path).stdout.splitlines()
    assert [json.loads(line)["score"] for line in exported] == [7]


def test_export_then_ingest_elsewhere_is_lossless(tmp_path, env):
    assert digestbot("ingest", str(REPO / "seeds"), env=env, cwd=tmp_path).returncode == 0
    exported = tmp_path / "all.jsonl"
    result = digestbot("export", str(exported), env=env, cwd=tmp_path)
    assert result.returncode == 0
    assert "exported 24 briefs" in result.stderr

    other = {"DATABASE_URL": f"sqlite:///{tmp_path / 'other.db'}"}
    assert digestbot("ingest", str(exported), env=other, cwd=tmp_path).stdout.startswith("24 added")
    assert digestbot("export", "-", env=other, cwd=tmp_path).stdout == exported.read_text()
    golden = json.loads((FIXTURES / "example-brief.expected.json").read_text())
    assert (
        digestbot("ingest", str(FIXTURES / "example-brief.txt"), env=other, cwd=tmp_path).returncode
        == 0
    )
    assert golden in [
        json.loads(x) for x in digestbot("export", "-", env=other, cwd=tmp_path).stdout.splitlines()
    ]


def test_db_upgrade_then_current(tmp_path, database_url):
    env = {"DATABASE_URL": database_url}
    first = digestbot("db", "upgrade", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("schema upgraded from empty to ")
    assert digestbot("db", "upgrade", env=env, cwd=tmp_path).stdout.startswith(
        "schema already up to date"
    )
    assert "up to date" in digestbot("db", "current", env=env, cwd=tmp_path).stdout


@pytest.mark.postgres
def test_run_refuses_an_old_postgres_schema_and_names_the_command(tmp_path):
    import asyncio

    from tests.dbs import postgres_database

    async def attempt():
        async with postgres_database() as url:
            return await asyncio.to_thread(
                digestbot,
                "run",
                env={"DATABASE_URL": url, "TELEGRAM_BOT_TOKEN": "123456:" + "A" * 35},
                cwd=tmp_path,
            )

    result = asyncio.run(attempt())
    assert result.returncode == 1
    assert "the database schema is at empty, " in result.stderr  # the word `db current` uses
    assert "run `digestbot db upgrade` first" in result.stderr
    assert "Traceback" not in result.stderr
    assert "A" * 35 not in result.stderr + result.stdout


def test_a_token_telegram_rejects_is_named_but_never_printed(tmp_path):
    import asyncio

    from digestbot.fakeapi import FakeBotAPI

    secret = "555555:" + "S" * 35  # not the token the fake server accepts: it answers 401

    async def attempt():
        async with FakeBotAPI() as server:
            env = {
                "TELEGRAM_BOT_TOKEN": secret,
                "TELEGRAM_API_BASE_URL": server.base_url,
                "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
                "LOG_LEVEL": "DEBUG",
            }
            return await asyncio.to_thread(digestbot, "run", env=env, cwd=tmp_path)

    result = asyncio.run(attempt())

    assert result.returncode == 2  # a configuration error: systemd does not restart on 2
    assert result.stderr.strip().splitlines()[-1] == (  # after the DEBUG lines asked for
        "digestbot: Telegram rejected TELEGRAM_BOT_TOKEN; check it with @BotFather"
    )
    assert "Traceback" not in result.stderr
    assert "S" * 35 not in result.stderr + result.stdout


def run_rejected(tmp_path, *args: str):
    """``digestbot run ARGS`` against the fake Bot API with a token it rejects: the store
    is prepared (and perhaps seeded) before Telegram says no."""
    import asyncio

    from digestbot.fakeapi import FakeBotAPI

    async def attempt():
        async with FakeBotAPI() as server:
            env = {
                "TELEGRAM_BOT_TOKEN": "555555:" + "S" * 35,
                "TELEGRAM_API_BASE_URL": server.base_url,
                "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
            }
            return await asyncio.to_thread(digestbot, "run", *args, env=env, cwd=tmp_path)

    return asyncio.run(attempt())


def test_run_loads_the_sample_briefs_only_when_asked(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}

    assert run_rejected(tmp_path).returncode == 2
    assert digestbot("export", "-", env=env, cwd=tmp_path).stderr == "exported 0 briefs\n"

    assert run_rejected(tmp_path, "--samples").returncode == 2
    assert digestbot("export", "-", env=env, cwd=tmp_path).stderr == "exported 24 briefs\n"


def test_run_without_network_says_so_in_one_line(tmp_path):
    import socket

    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    env = {
        "TELEGRAM_BOT_TOKEN": "123456:" + "A" * 35,
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{port}/bot",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
    }

    result = digestbot("run", env=env, cwd=tmp_path)

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "digestbot: cannot reach Telegram (httpx.ConnectError: All connection attempts failed); "
        "check the network or TELEGRAM_API_BASE_URL"
    ]


def test_ingest_dash_reads_standard_input(tmp_path, env):
    card = (FIXTURES / "example-brief.txt").read_text()

    result = digestbot("ingest", "-", env=env, cwd=tmp_path, stdin=card)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1 added, 0 updated, 0 unchanged, 0 rejected"
    exported = digestbot("export", "-", env=env, cwd=tmp_path)
    assert exported.stderr == "exported 1 brief\n"  # one, not "1 briefs"
    again = digestbot("ingest", "-", env=env, cwd=tmp_path, stdin=exported.stdout)
    assert again.stdout.strip() == "0 added, 0 updated, 1 unchanged, 0 rejected"


def test_ingest_dash_rejects_bad_standard_input_in_one_line(tmp_path):
    result = digestbot("ingest", "-", cwd=tmp_path, stdin="11/10\nResearch\nno date here\n")

    assert result.returncode == 1
    assert result.stderr.strip() == "rejected <stdin>: score 11 is out of range 0..10"


def test_ingest_samples_stores_the_sample_briefs(tmp_path):
    result = digestbot("ingest", "--samples", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "24 added, 0 updated, 0 unchanged, 0 rejected"


def test_a_missing_env_file_is_exit_2_in_one_line(tmp_path):
    result = digestbot("--env-file", str(tmp_path / "nonexistent"), "export", "-", cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr == f"digestbot: --env-file {tmp_path / 'nonexistent'}: no such file\n"


def test_a_misspelt_key_in_the_env_file_is_named_with_the_nearest_setting(tmp_path):
    (tmp_path / ".env").write_text("DEFAULT_TIMEZON=Europe/Berlin\nSEND_RATE=5\n")

    result = digestbot("export", "-", cwd=tmp_path)

    assert result.returncode == 0  # a warning: the rest of the file still applies
    assert result.stderr.splitlines()[0] == (
        "digestbot: warning: .env: unknown setting 'DEFAULT_TIMEZON'; "
        "did you mean DEFAULT_TIMEZONE?"
    )


def test_db_revision_writes_an_empty_revision_when_models_and_migrations_agree(tmp_path):
    copy = tmp_path / "src"
    shutil.copytree(
        REPO / "digestbot", copy / "digestbot", ignore=shutil.ignore_patterns("__pycache__")
    )
    versions = copy / "digestbot" / "store" / "migrations" / "versions"
    before = set(versions.glob("*.py"))
    env = {**os.environ, "PYTHONPATH": str(copy)}
    env.pop("DATABASE_URL", None)

    result = subprocess.run(
        [sys.executable, "-m", "digestbot", "db", "revision", "-m", "nothing to change"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    (new,) = set(versions.glob("*.py")) - before
    head = max(int(p.name[:4]) for p in before if p.name[:4].isdigit())
    assert new.name == f"{head + 1:04d}_nothing_to_change.py"
    assert result.stdout.strip() == f"wrote {new} (empty: the models and the migrations agree)"
    text = new.read_text()
    assert f'down_revision: str | None = "{head:04d}"' in text or f"'{head:04d}'" in text
    assert "op." not in text  # nothing to do, both ways
    assert not (REPO / "digestbot" / "store" / "migrations" / "versions" / new.name).exists()
