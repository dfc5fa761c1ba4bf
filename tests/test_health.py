"""Polling mode (the systemd deployment) serves /healthz and /metrics at HEALTH_LISTEN:
the real `digestbot run`, polling the fake Bot API server, probed over real HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path
from typing import Any

import httpx

from digestbot.fakeapi import FakeBotAPI
from tests.test_crash import DIGESTBOT
from tests.test_failover import free_port, until


async def get(client: httpx.AsyncClient, url: str) -> httpx.Response | None:
    try:
        return await client.get(url, timeout=2)
    except httpx.TransportError:
        return None  # not serving yet


async def test_polling_mode_serves_health_and_metrics_at_health_listen(tmp_path: Path) -> None:
    port = free_port()
    async with FakeBotAPI() as server, httpx.AsyncClient() as client:
        env: dict[str, Any] = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": server.token,
            "TELEGRAM_API_BASE_URL": server.base_url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
            "HEALTH_LISTEN": f"127.0.0.1:{port}",
            "LOG_LEVEL": "WARNING",
        }
        process = await asyncio.create_subprocess_exec(
            DIGESTBOT, "run", env=env, cwd=tmp_path,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        stderr = b""
        try:
            base = f"http://127.0.0.1:{port}"

            async def healthy() -> dict[str, Any] | None:
                response = await get(client, f"{base}/healthz")
                if response is None or response.status_code != 200:
                    return None  # up, but the sender has not started yet
                body: dict[str, Any] = response.json()
                return body

            health = await until(healthy, within=30, what="a healthy polling bot")
            metrics = await client.get(f"{base}/metrics")
            updates = await client.post(f"{base}/", json={"update_id": 1})
        finally:
            process.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)

    assert health == {"ok": True, "database": "ok", "leader": True, "sender": "running"}
    assert metrics.status_code == 200
    text = metrics.text
    assert "digestbot_leader 1.0" in text
    assert "process_resident_memory_bytes" in text and "process_open_fds" in text
    assert "python_info{" in text and "python_gc_objects_collected_total" in text
    assert updates.status_code == 404  # no webhook path: updates come by polling
    assert process.returncode == 0, stderr.decode()
