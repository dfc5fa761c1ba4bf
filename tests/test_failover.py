"""Two replicas on one PostgreSQL: the leader is killed with SIGKILL while it sends, the
standby takes over and finishes. Real processes, real PostgreSQL, real HTTP; counts are
checked at the fake Bot API server."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from digestbot.delivery.sender import max_duplicates
from digestbot.fakeapi import FakeBotAPI
from tests.test_crash import DIGESTBOT, delivered, outbox_statuses, prepare

pytestmark = pytest.mark.postgres

CHATS = 150  # five seconds of sending at SEND_RATE=30: the kill lands mid-send
RATE = 30
SECRET = "failover-test-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Replica:
    process: asyncio.subprocess.Process
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def health(self, client: httpx.AsyncClient) -> dict[str, Any] | None:
        """The /healthz answer, or None while the replica is not serving yet."""
        try:
            response = await client.get(f"{self.url}/healthz", timeout=2)
        except httpx.TransportError:
            return None
        body: dict[str, Any] = response.json()
        return body


async def start_replica(server: FakeBotAPI, database_url: str, cwd: Path, **env: str) -> Replica:
    port = free_port()
    environment = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": server.token,
        "TELEGRAM_API_BASE_URL": server.base_url,
        "DATABASE_URL": database_url,
        "SEND_RATE": str(RATE),
        "LOG_LEVEL": "WARNING",
        "WEBHOOK_URL": f"http://127.0.0.1:{port}/telegram",
        "WEBHOOK_LISTEN": f"127.0.0.1:{port}",
        "WEBHOOK_SECRET": SECRET,
        "LEADER_RETRY_SECONDS": "0.5",  # the default, 5 s, took over in 3-5 s
        **env,
    }
    process = await asyncio.create_subprocess_exec(
        DIGESTBOT, "run", env=environment, cwd=cwd,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    return Replica(process, port)


async def until(
    condition: Callable[[], Any], *, within: float, what: str, every: float = 0.05
) -> Any:
    """Poll ``condition`` (sync or async) until it is truthy; its value. Fails at the deadline."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(every)  # a polling interval, not a wait for time to pass


@contextlib.asynccontextmanager
async def replicas(
    server: FakeBotAPI, database_url: str, cwd: Path, n: int
) -> AsyncIterator[list[Replica]]:
    started: list[Replica] = []
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(n):
                replica = await start_replica(server, database_url, cwd)
                started.append(replica)
                await until(lambda r=replica: r.health(client), within=30, what="a replica up")
        yield started
    finally:
        for replica in started:
            if replica.process.returncode is None:
                replica.process.send_signal(signal.SIGTERM)
        for replica in started:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(replica.process.communicate(), timeout=30)


def sends(server: FakeBotAPI) -> int:
    return sum(1 for r in server.calls("sendMessage") if r.ok)


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_leader_killed_mid_send_the_standby_takes_over_and_finishes(
    database_url: str, tmp_path: Path
) -> None:
    await prepare(database_url, chats=CHATS)
    async with FakeBotAPI() as server, httpx.AsyncClient() as client:
        for chat_id in range(1, CHATS + 1):
            server.private_chat(chat_id)
        async with replicas(server, database_url, tmp_path, 2) as (first, second):
            # the first one up leads (once it waited out a possible old leader); the
            # second waits as a standby, healthy
            await until(lambda: _leads(first, client), within=30, what="the first to lead")
            assert await first.health(client) == {
                "ok": True,
                "database": "ok",
                "leader": True,
                "sender": "running",
            }
            assert await second.health(client) == {
                "ok": True, "database": "ok", "leader": False, "sender": "standby",
            }  # fmt: skip

            await server.wait_for(
                lambda r: r.method == "sendMessage" and r.ok, count=CHATS // 3, timeout=60
            )
            first.process.send_signal(signal.SIGKILL)
            await first.process.wait()
            killed_at = time.monotonic()
            before = sends(server)
            assert before < CHATS  # killed mid-send

            async def second_leads() -> bool:
                health = await second.health(client)
                return bool(health and health["leader"])

            await until(second_leads, within=30, what="the standby to take over")
            takeover = time.monotonic() - killed_at
            await until(
                lambda: len(delivered(server)) == CHATS, within=60, what="every digest sent"
            )
            metrics = (await client.get(f"{second.url}/metrics")).text
            assert (await second.health(client) or {})["sender"] == "running"

    assert second.process.returncode == 0  # SIGTERM: a clean stop in webhook mode too
    counts = delivered(server)
    assert sorted(counts) == list(range(1, CHATS + 1))  # everyone got their digest
    duplicates = sum(n - 1 for n in counts.values())
    assert duplicates <= max_duplicates(RATE)  # the documented in-flight bound
    assert takeover < 5, takeover  # LEADER_RETRY_SECONDS=0.5 here
    # the standby sent nothing while it was one: what it counts came after the kill
    assert metric(metrics, "digestbot_messages_sent_total") <= sends(server) - before + 1e-9
    assert metric(metrics, "digestbot_leader") == 1
    assert metric(metrics, "digestbot_outbox_pending") == 0
    assert await outbox_statuses(database_url) == {"sent": CHATS}
    print(f"takeover {takeover:.2f} s, {duplicates} duplicates")


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_frozen_leader_is_replaced_within_30_s_and_steps_down_when_it_wakes(
    database_url: str, tmp_path: Path
) -> None:
    """SIGSTOP is a machine that vanished: the socket stays open, nothing answers. The
    server drops the silent session (idle_session_timeout), the standby takes over; the
    old leader, woken, finds its lock connection gone and stops."""
    await prepare(database_url, chats=CHATS)
    async with FakeBotAPI() as server, httpx.AsyncClient() as client:
        for chat_id in range(1, CHATS + 1):
            server.private_chat(chat_id)
        async with replicas(server, database_url, tmp_path, 2) as (first, second):
            await until(lambda: _leads(first, client), within=30, what="the first replica to lead")
            await server.wait_for(
                lambda r: r.method == "sendMessage" and r.ok, count=CHATS // 3, timeout=60
            )
            first.process.send_signal(signal.SIGSTOP)
            frozen_at = time.monotonic()
            try:
                await until(lambda: _leads(second, client), within=40, what="the takeover")
                takeover = time.monotonic() - frozen_at
                await until(lambda: len(delivered(server)) == CHATS, within=60, what="every digest")
            finally:
                first.process.send_signal(signal.SIGCONT)

            async def first_stood_down() -> bool:
                health = await first.health(client)
                return bool(health and not health["leader"])

            await until(first_stood_down, within=30, what="the woken leader to stand down")
            assert await _leads(second, client)

    counts = delivered(server)
    assert sorted(counts) == list(range(1, CHATS + 1))
    assert sum(n - 1 for n in counts.values()) <= max_duplicates(RATE)
    assert takeover < 30, takeover
    print(f"takeover after a freeze {takeover:.2f} s")


async def _leads(replica: Replica, client: httpx.AsyncClient) -> bool:
    health = await replica.health(client)
    return bool(health and health["leader"])
