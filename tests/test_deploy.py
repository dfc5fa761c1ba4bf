"""deploy/: the files are checked as far as this machine can without a container engine."""

from __future__ import annotations

import configparser
import json
import os
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.httpserver import LocalHTTPServer, Reply, closed_port

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
COMPOSE_ENV = {
    "TELEGRAM_BOT_TOKEN": "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefgh",
    "POSTGRES_PASSWORD": "secret",
    "WEBHOOK_URL": "https://bot.example.com/telegram",
}


def instructions(path: Path) -> list[tuple[str, str]]:
    """A Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined."""
    lines, current = [], ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        current += " " + line.removesuffix("\\").strip()
        if not line.endswith("\\"):
            lines.append(current.strip())
            current = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_dockerfile_is_slim_non_root_installs_the_checkout_and_runs_the_bot():
    steps = instructions(DEPLOY / "Dockerfile")
    bases = [args for keyword, args in steps if keyword == "FROM"]
    assert bases and all("-slim" in base for base in bases)
    users = [args for keyword, args in steps if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    assert ("CMD", '["digestbot", "run"]') in steps
    assert any(
        keyword == "RUN" and "pip install" in args and args.endswith(" .")
        for keyword, args in steps
    )
    # after the last USER, nothing runs as root again
    last_user = max(i for i, (keyword, _) in enumerate(steps) if keyword == "USER")
    assert steps[-1][0] == "CMD" and last_user < len(steps) - 1


def test_what_the_dockerfile_copies_is_enough_to_build_the_package(tmp_path):
    context = tmp_path / "context"
    for keyword, args in instructions(DEPLOY / "Dockerfile"):
        if keyword == "COPY" and "--from" not in args:
            *sources, _dest = shlex.split(args)
            for source in sources:
                src = REPO / source
                if src.is_dir():
                    shutil.copytree(
                        src, context / source, ignore=shutil.ignore_patterns("__pycache__")
                    )
                else:
                    (context / source).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(src, context / source)
    out = tmp_path / "wheel"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(context)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = out.glob("digestbot-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "digestbot/cli.py" in names and any(n.startswith("digestbot/_seeds/") for n in names)


def compose_command() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def test_compose_file_declares_postgres_migrate_and_two_webhook_replicas():
    """Read as YAML (anchors and merge keys resolved), whatever tools the machine has."""
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "migrate", "bot1", "bot2"} <= set(services)
    assert services["migrate"]["command"] == ["digestbot", "db", "upgrade"]
    for name in ("bot1", "bot2"):
        bot = services[name]
        env = bot["environment"]
        assert env["WEBHOOK_URL"].startswith("${WEBHOOK_URL:?")  # required, never defaulted
        assert env["TELEGRAM_BOT_TOKEN"].startswith("${TELEGRAM_BOT_TOKEN:?")
        assert (
            env["DATABASE_URL"].startswith("postgresql://")
            and "@postgres:5432/" in env["DATABASE_URL"]
        )
        assert "/healthz" in " ".join(bot["healthcheck"]["test"])
        assert bot["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert bot["build"]["dockerfile"] == "deploy/Dockerfile"
    assert services["bot1"]["ports"] != services["bot2"]["ports"]


def test_compose_config_renders_with_the_secrets_and_refuses_without_them():
    """``docker compose config`` (no engine needed) where a compose client is installed;
    without one, the same checks on the YAML itself (no secret has a default)."""
    command = compose_command()
    if command is None:
        text = (DEPLOY / "compose.yaml").read_text()
        for name in ("TELEGRAM_BOT_TOKEN", "POSTGRES_PASSWORD", "WEBHOOK_URL"):
            assert f"${{{name}:?" in text and f"${{{name}:-" not in text
        return
    env = {**os.environ, **COMPOSE_ENV}
    result = subprocess.run(
        [*command, "-f", str(DEPLOY / "compose.yaml"), "config"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    rendered = result.stdout
    assert rendered.count("WEBHOOK_URL: https://bot.example.com/telegram") == 2
    assert rendered.count("/healthz") == 2  # each replica's healthcheck
    # without the secrets it refuses to start, naming what is missing
    bare = {k: v for k, v in os.environ.items() if k not in COMPOSE_ENV}
    missing = subprocess.run(
        [*command, "-f", str(DEPLOY / "compose.yaml"), "config"],
        capture_output=True, text=True, env=bare,
    )  # fmt: skip
    assert missing.returncode != 0
    assert "TELEGRAM_BOT_TOKEN" in missing.stderr or "POSTGRES_PASSWORD" in missing.stderr


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(DEPLOY / "digestbot.service")
    return parser


def test_systemd_unit_runs_polling_on_sqlite_as_its_own_user():
    parsed = unit()
    service = parsed["Service"]
    program, *args = service["ExecStart"].split()
    assert program.endswith("/bin/digestbot") and args == ["run"]
    assert service["User"] not in {"", "root"}
    assert service["Restart"] in {"on-failure", "always"}
    assert service["RestartPreventExitStatus"] == "2"  # a bad setting is not retried
    text = (DEPLOY / "digestbot.service").read_text()
    assert "Environment=DATABASE_URL=sqlite:////var/lib/digestbot/" in text
    assert "WEBHOOK_URL" not in text  # polling mode
    settings = [line for line in text.splitlines() if line.startswith("Environment=")]
    assert not any("TOKEN" in line for line in settings)  # secrets live in the EnvironmentFile
    assert service["EnvironmentFile"].startswith("/etc/")
    assert parsed["Install"]["WantedBy"] == "multi-user.target"


def test_systemd_unit_passes_systemd_analyze_where_it_is_installed(tmp_path):
    if shutil.which("systemd-analyze") is None:  # the checks above still ran
        assert unit()["Service"]["ExecStart"]
        return
    digestbot = Path(sys.executable).with_name("digestbot")
    copy = tmp_path / "digestbot.service"
    copy.write_text(
        (DEPLOY / "digestbot.service")
        .read_text()
        .replace("/opt/digestbot/bin/digestbot", str(digestbot))
    )
    result = subprocess.run(
        ["systemd-analyze", "verify", str(copy)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def healthcheck() -> list[str]:
    """The Dockerfile's HEALTHCHECK command, as the exec form's argument list."""
    (check,) = [
        args for keyword, args in instructions(DEPLOY / "Dockerfile") if keyword == "HEALTHCHECK"
    ]
    return json.loads(check[check.index("CMD") + len("CMD") :])


def test_the_image_checks_its_health_with_python_alone():
    steps = instructions(DEPLOY / "Dockerfile")
    assert ("ENV", "HEALTH_LISTEN=0.0.0.0:8080") in steps  # polling mode serves it too
    program, *_ = healthcheck()
    assert program == "python"  # no curl in the slim image


@pytest.mark.parametrize("mode", ["polling", "webhook"])
def test_the_healthcheck_passes_on_200_and_fails_on_503_or_silence(mode):
    def run(port: int) -> int:
        listen = f"0.0.0.0:{port}"
        env = {"PATH": os.environ["PATH"], "HEALTH_LISTEN": listen}
        if mode == "webhook":  # then the webhook server's port, whatever HEALTH_LISTEN says
            env = {**env, "WEBHOOK_URL": "https://bot.example.com/", "WEBHOOK_LISTEN": listen}
            env["HEALTH_LISTEN"] = "0.0.0.0:1"
        _program, *args = healthcheck()
        return subprocess.run([sys.executable, *args], env=env, capture_output=True).returncode

    with LocalHTTPServer() as web:
        port = int(web.base_url.rsplit(":", 1)[1])
        web.serve("/healthz", Reply(body=b'{"ok": true}'))
        assert run(port) == 0
        web.serve("/healthz", Reply(status=503, body=b'{"ok": false}'))
        assert run(port) != 0
    assert run(closed_port()) != 0
