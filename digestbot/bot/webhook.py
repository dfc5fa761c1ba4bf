"""The HTTP server of webhook mode: Telegram's updates, ``/healthz`` and ``/metrics``;
in polling mode (``HEALTH_LISTEN``), the same server with only the last two.

python-telegram-bot's own ``run_webhook`` serves only the webhook path, so this is a
small tornado application (tornado comes with ``python-telegram-bot[webhooks]``) that
hands each update to a callback (the composition root puts it on PTB's update queue,
as PTB's "customwebhookbot" example does).

A POST without the right ``X-Telegram-Bot-Api-Secret-Token`` header is answered 403
and never parsed: anyone can find the URL, only Telegram knows the secret.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1 << 20  # an update is a few kB; a document's is still small (files are fetched)

OnUpdate = Callable[[dict[str, Any]], Awaitable[None]]
Health = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]
Render = Callable[[], Awaitable[tuple[bytes, str]]]


class _Updates(RequestHandler):
    def initialize(self, secret: bytes, on_update: OnUpdate) -> None:
        self._secret = secret
        self._on_update = on_update

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        # Constant time: the comparison must not tell an attacker how much they got right.
        if not hmac.compare_digest(given, self._secret):
            log.warning("webhook: request without the right secret token refused")
            self.send_error(403)
            return
        try:
            data = json.loads(self.request.body)
        except ValueError:
            self.send_error(400)
            return
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            self.send_error(400)
            return
        await self._on_update(data)
        self.set_status(200)
        self.finish()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.finish({"ok": False, "status": status_code})  # no traceback, whatever happened


class _Health(RequestHandler):
    def initialize(self, health: Health) -> None:
        self._health = health

    async def get(self) -> None:
        ok, detail = await self._health()
        self.set_status(200 if ok else 503)
        self.set_header("Cache-Control", "no-store")
        self.finish({"ok": ok, **detail})


class _Metrics(RequestHandler):
    def initialize(self, render: Render) -> None:
        self._render = render

    async def get(self) -> None:
        body, content_type = await self._render()
        self.set_header("Content-Type", content_type)
        self.finish(body)


class WebhookServer:
    """Serves ``path`` (updates), ``/healthz`` and ``/metrics`` on ``host:port``; with no
    ``on_update`` (polling mode), just ``/healthz`` and ``/metrics``."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        health: Health,
        metrics: Render,
        path: str = "/",
        secret: str = "",
        on_update: OnUpdate | None = None,
    ) -> None:
        self._host, self._port = host, port
        self._name = "health server" if on_update is None else "webhook server"
        routes: list[Any] = [
            (r"/healthz", _Health, {"health": health}),
            (r"/metrics", _Metrics, {"render": metrics}),
        ]
        if path in {"/healthz", "/metrics"}:
            raise ValueError(f"the webhook path cannot be {path}")
        # tornado routes are regular expressions; a path is matched literally
        if on_update is not None:
            updates = {"secret": secret.encode(), "on_update": on_update}
            routes.insert(0, (re.escape(path), _Updates, updates))
        self._app = Application(routes, log_function=_quiet)
        self._server: HTTPServer | None = None
        self._sockets: list[socket.socket] = []

    @property
    def port(self) -> int:
        """The port listened on (the real one when 0 was asked for)."""
        return int(self._sockets[0].getsockname()[1]) if self._sockets else self._port

    async def start(self) -> None:
        self._sockets = bind_sockets(self._port, self._host or None)
        self._server = HTTPServer(self._app, max_body_size=MAX_BODY)
        self._server.add_sockets(self._sockets)
        log.info("%s listening on %s:%s", self._name, self._host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None
        self._sockets = []


def _quiet(handler: RequestHandler) -> None:
    """Access lines at DEBUG: one per update would drown the events that matter."""
    status = handler.get_status()
    request = handler.request
    level = logging.WARNING if status >= 500 else logging.DEBUG
    log.log(
        level,
        "%s %s %s %.1f ms",
        request.method,
        request.path,
        status,
        1000 * request.request_time(),
    )
