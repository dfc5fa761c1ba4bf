"""Webhook mode, in-process: real HTTP to the bot's server, the real Application behind it,
the fake Bot API server for Telegram, a real database of each kind."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import pytest
import sqlalchemy as sa

from digestbot import store
from digestbot.bot.app import WEBHOOK_SECRET_KEY, BotApp, build_application, serve_webhook
from digestbot.bot.webhook import SECRET_HEADER
from digestbot.config import load_settings
from digestbot.fakeapi import FakeBotAPI, Fault
from digestbot.store import db
from digestbot.store.models import Chat, utcnow
from tests.dbs import ADMIN_URL
from tests.test_failover import free_port, metric, until


@dataclass
class WebhookBot:
    server: FakeBotAPI
    app: BotApp
    url: str  # the bot's own HTTP server
    client: httpx.AsyncClient

    @property
    def secret(self) -> str:
        [registered] = self.server.calls("setWebhook")
        return str(registered.params["secret_token"])

    async def post(self, update: dict[str, Any], secret: str | None) -> httpx.Response:
        headers = {} if secret is None else {SECRET_HEADER: secret}
        return await self.client.post(f"{self.url}/tg", json=update, headers=headers)

    async def user_says(self, chat_id: int, text: str, secret: str | None) -> httpx.Response:
        """What Telegram would POST when the user writes ``text`` (built by the fake server)."""
        update_id = await self.server.send_message(chat_id, text)
        [update] = [u for u in self.server.pending_updates if u["update_id"] == update_id]
        return await self.post(update, secret)

    async def metrics(self) -> str:
        response = await self.client.get(f"{self.url}/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        return response.text


@asynccontextmanager
async def webhook_bot(database_url: str, **env: Any) -> AsyncIterator[WebhookBot]:
    async with FakeBotAPI() as server, httpx.AsyncClient() as client:
        port = free_port()
        settings = load_settings(
            None,
            database_url=database_url,
            telegram_api_base_url=server.base_url,
            webhook_url=f"http://127.0.0.1:{port}/tg",
            webhook_listen=f"127.0.0.1:{port}",
            leader_retry_seconds=0.2,
            **env,
        )
        if database_url.startswith("postgresql"):
            engine = db.create_engine(database_url)
            await db.upgrade(engine)
            await engine.dispose()
        app = build_application(settings, token=server.token, rate_limit=False, seed=False)
        stop = asyncio.Event()
        serving = asyncio.create_task(serve_webhook(app, settings, stop))
        try:
            await server.wait_for("setWebhook", timeout=30)
            yield WebhookBot(server, app, f"http://127.0.0.1:{port}", client)
        finally:
            stop.set()
            await serving
        assert not server.errors, server.errors


def replies(server: FakeBotAPI, chat_id: int) -> list[str]:
    return [
        str(r.params.get("text"))
        for r in server.calls("sendMessage")
        if r.ok and int(r.chat_id or 0) == chat_id
    ]


async def test_only_updates_with_the_secret_are_processed(database_url: str) -> None:
    async with webhook_bot(database_url) as bot:
        chat = bot.server.private_chat(42)
        registered = bot.server.calls("setWebhook")[0].params
        assert registered["url"] == f"{bot.url}/tg"
        # no WEBHOOK_SECRET: one was generated, kept in the database, given to Telegram
        async with bot.app.bot_data.services.sessions() as session:  # type: ignore[union-attr]
            kept = (
                await session.exec(
                    sa.text("select value from kv where key = :k"), params={"k": WEBHOOK_SECRET_KEY}
                )  # type: ignore[call-overload]
            ).scalar_one()
        assert bot.secret == kept and len(kept) >= 32

        wrong = await bot.user_says(chat.id, "/mytags", "not-the-secret")
        missing = await bot.user_says(chat.id, "/mytags", None)
        almost = await bot.user_says(chat.id, "/mytags", bot.secret[:-1])
        assert [wrong.status_code, missing.status_code, almost.status_code] == [403, 403, 403]
        assert "Traceback" not in wrong.text

        right = await bot.user_says(chat.id, "/help", bot.secret)
        assert right.status_code == 200
        await bot.server.wait_for("sendMessage", chat_id=chat.id, timeout=10)
        # Updates of one chat are handled in order: had a refused one got through, its
        # answer would have come first.
        [answer] = replies(bot.server, chat.id)
        assert "/digest" in answer

        not_json = await bot.client.post(
            f"{bot.url}/tg", content=b"{", headers={SECRET_HEADER: bot.secret}
        )
        assert not_json.status_code == 400


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_configured_secret_is_used_as_is(database_url: str) -> None:
    async with webhook_bot(database_url, webhook_secret="Configured_secret-123") as bot:
        assert bot.secret == "Configured_secret-123"
        chat = bot.server.private_chat(7)
        assert (await bot.user_says(chat.id, "/help", "Configured_secret-123")).status_code == 200
        assert (await bot.user_says(chat.id, "/help", "other")).status_code == 403
        await bot.server.wait_for("sendMessage", chat_id=chat.id, timeout=10)


async def test_healthz_and_metrics_after_traffic(database_url: str) -> None:
    async with webhook_bot(database_url) as bot:

        async def leading() -> dict[str, Any] | None:
            response = await bot.client.get(f"{bot.url}/healthz")
            body: dict[str, Any] = response.json()
            return body if body["leader"] else None  # a standby at first, healthy too

        health = await until(leading, within=10, what="a healthy leader")
        assert health == {"ok": True, "database": "ok", "leader": True, "sender": "running"}

        ada, gone = bot.server.private_chat(1), bot.server.private_chat(2)
        for text in ("/start", "/help", "/tags", "/nonsense", "hello there"):
            assert (await bot.user_says(ada.id, text, bot.secret)).status_code == 200
        await bot.user_says(ada.id, "/help", "wrong")  # refused: never counted
        await bot.server.wait_for("sendMessage", chat_id=ada.id, count=5, timeout=10)

        # the sender: one message accepted, one refused (the user blocked the bot), and
        # one not due for an hour, queued an hour ago
        services = bot.app.bot_data.services
        assert services is not None
        bot.server.fail("sendMessage", Fault.blocked(), chat_id=gone.id)
        now = utcnow()
        async with db.session_scope(services.sessions) as session:
            for chat_id in (ada.id, gone.id, 3):
                await store.get_or_create_chat(session=session, chat_id=chat_id)
            await store.enqueue(
                session=session,
                rows=[
                    row(f"t:{chat_id}", chat_id, now, created=now - timedelta(hours=hours))
                    # ada's digest was due 90 s ago: its lateness goes to the histogram
                    for chat_id, hours in ((ada.id, 0.025), (gone.id, 0))
                ]
                + [row("t:later", 3, now + timedelta(hours=1), created=now - timedelta(hours=1))],
            )
        services.sender.wake()
        await bot.server.wait_for("sendMessage", chat_id=gone.id, timeout=10)

        async def settled() -> str | None:
            text = await bot.metrics()
            done = (
                metric(text, "digestbot_messages_sent_total") == 1
                and 'digestbot_messages_failed_total{reason="forbidden"} 1.0' in text
                and metric(text, "digestbot_outbox_pending") == 1  # both recorded
            )
            return text if done else None

        text = await until(settled, within=10, what="the sender's outcomes in /metrics")
        assert 'digestbot_updates_total{kind="start"} 1.0' in text
        assert 'digestbot_updates_total{kind="help"} 1.0' in text  # the refused one is not
        assert 'digestbot_updates_total{kind="tags"} 1.0' in text
        assert 'digestbot_updates_total{kind="other_command"} 1.0' in text
        assert 'digestbot_updates_total{kind="message"} 1.0' in text  # plain text
        assert metric(text, "digestbot_outbox_pending") == 1  # the one due in an hour
        assert 3590 < metric(text, "digestbot_outbox_oldest_pending_seconds") < 3700
        assert metric(text, "digestbot_send_rate") > 0
        assert metric(text, "digestbot_leader") == 1
        assert "# TYPE digestbot_digest_assembly_seconds histogram" in text
        # prometheus-client's standard collectors, on the registry /metrics serves
        assert "process_resident_memory_bytes" in text and "process_cpu_seconds_total" in text
        assert "python_info{" in text and "python_gc_collections_total" in text
        assert "# TYPE digestbot_digest_lateness_seconds histogram" in text
        assert metric(text, "digestbot_digest_lateness_seconds_count") == 1
        assert 'digestbot_digest_lateness_seconds_bucket{le="60.0"} 0.0' in text
        assert 'digestbot_digest_lateness_seconds_bucket{le="120.0"} 1.0' in text

        # the scheduler's first tick (a second after start) is timed
        await until(lambda: _assembled(bot), within=10, what="a timed digest assembly")
        async with services.sessions() as session:
            blocked = await session.get(Chat, gone.id)
            assert blocked is not None and not blocked.active


async def _assembled(bot: WebhookBot) -> bool:
    return metric(await bot.metrics(), "digestbot_digest_assembly_seconds_count") >= 1


def row(key: str, chat_id: int, due: Any, *, created: Any) -> dict[str, Any]:
    return {
        "key": key,
        "chat_id": chat_id,
        "kind": "digest",
        "part": 0,
        "payload": json.dumps({"text": f"message {key}"}),
        "next_attempt_at": due,
        "created_at": created,
        "status": "pending",
        "attempts": 0,
    }


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_healthz_fails_and_the_leader_steps_down_when_the_database_goes(
    database_url: str,
) -> None:
    async with webhook_bot(database_url) as bot:
        leadership = bot.app.bot_data.leadership
        assert leadership is not None
        await until(lambda: leadership.is_leader, within=10, what="leadership")

        admin = await asyncpg.connect(ADMIN_URL)
        try:  # every session ends, the leader's lock connection with them
            await admin.execute(f'DROP DATABASE "{database_url.rsplit("/", 1)[1]}" WITH (FORCE)')
        finally:
            await admin.close()

        await until(lambda: not leadership.is_leader, within=10, what="the leader to step down")
        assert not leadership.work_alive  # the sender stopped with it
        response = await bot.client.get(f"{bot.url}/healthz")
        assert response.status_code == 503
        assert response.json() == {
            "ok": False, "database": "down", "leader": False, "sender": "standby",
        }  # fmt: skip
