"""The fake Bot API server: routes HTTP requests to the Bot API methods, after injected faults
and flood limits, and records every call (see the package docstring for how to use it)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any, Self
from urllib.parse import unquote, urlsplit

from telegram import Bot as _PTBBot

from digestbot.fakeapi.faults import LIMITED_METHODS, ApiError, Fault, FaultQueue, RateLimits
from digestbot.fakeapi.http import HttpRequest, HttpResponse, HttpServer
from digestbot.fakeapi.methods import BotMethods
from digestbot.fakeapi.models import ChatHandle, JSONDict, RecordedRequest, SimUser, chat_ref
from digestbot.fakeapi.params import parse_params

log = logging.getLogger(__name__)

#: A token in @BotFather's shape (``digits:letters``, passes the settings validator).
DEFAULT_TOKEN = "123456789:AAHfakeTokenForDigestbotTests_0123456789"


def _api_method_names() -> dict[str, str]:
    """Map lower-cased Bot API method names to their canonical casing.

    PTB gives every Bot API method a camelCase alias on :class:`telegram.Bot`
    (``sendMessage`` for ``send_message``), which is exactly the list of names Telegram serves.
    """
    names: dict[str, str] = {}
    for name in dir(_PTBBot):
        if name.startswith("_") or name == name.lower() or not name[0].islower():
            continue
        if callable(getattr(_PTBBot, name)):
            names[name.lower()] = name
    return names


API_METHODS = _api_method_names()


class FakeBotAPI(BotMethods):
    """A fake Bot API server; see the package docstring.

    Args:
        token: the only token accepted (others get 401 Unauthorized).
        host, port: where to listen; port 0 picks a free port (see :attr:`url`).
        bot_username, bot_name: the bot's ``getMe`` identity.
        strict_html: validate ``parse_mode="HTML"`` texts like Telegram does.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_username: str = "digestbot_test_bot",
        bot_name: str = "Digest Bot",
        strict_html: bool = True,
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        prefix = token.split(":", 1)[0]
        super().__init__(
            SimUser(
                id=int(prefix) if prefix.isdigit() else 123456789,
                first_name=bot_name,
                username=bot_username,
                language_code=None,
                is_bot=True,
            ),
            strict_html=strict_html,
        )
        #: Exceptions raised by the server's own handlers (answered 500); should stay empty.
        self.errors: list[BaseException] = []
        #: File paths served by the ``/file`` route.
        self.downloads: list[str] = []
        #: The flood limits in force, if :meth:`enforce_limits` was called.
        self.limits: RateLimits | None = None
        self._faults = FaultQueue()
        self._http = HttpServer(
            self._route, malformed=Fault(400, "Bad Request").response(), crashed=self._crashed
        )

    # ---- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (only once started)."""
        if not self._http.running:
            raise RuntimeError("FakeBotAPI is not running; call start() first")
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url(...)``."""
        return f"{self.url}/file/bot"

    async def start(self) -> None:
        """Start listening."""
        if self._http.running:
            raise RuntimeError("FakeBotAPI is already running")
        self.port = await self._http.start(self.host, self.port)
        log.debug("fake Bot API listening on %s", self.url)

    async def stop(self) -> None:
        """Stop listening and drop every connection, including pending long polls and stalls."""
        await self._http.stop()

    @property
    def connections_opened(self) -> int:
        """How many TCP connections were accepted (keep-alive reuses them)."""
        return self._http.connections_opened

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ---- fault injection ---------------------------------------------------------------------

    def fail(
        self,
        method: str,
        error: Fault,
        *,
        chat_id: ChatHandle | int | str | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (for ``chat_id`` only, if given) with
        ``error``. Faults for the same calls are used in the order they were added."""
        ref = chat_ref(chat_id.id if isinstance(chat_id, ChatHandle) else chat_id)
        self._faults.add(method, error, chat_id=ref, times=times)

    def enforce_limits(
        self,
        per_second: int = 30,
        per_chat_per_second: int = 1,
        per_group_per_minute: int = 20,
        *,
        clock: Callable[[], float] = time.monotonic,
        methods: Iterable[str] | None = None,
    ) -> RateLimits:
        """Answer 429 to sends over Telegram's flood limits (see :class:`RateLimits`)."""
        self.limits = RateLimits(
            per_second=per_second,
            per_chat_per_second=per_chat_per_second,
            per_group_per_minute=per_group_per_minute,
            clock=clock,
            methods=frozenset(methods) if methods is not None else LIMITED_METHODS,
        )
        return self.limits

    # ---- answering ---------------------------------------------------------------------------

    async def _route(self, request: HttpRequest) -> HttpResponse:
        parts = urlsplit(request.target)
        path = unquote(parts.path)
        if path.startswith("/file/bot"):
            token, _, file_path = path.removeprefix("/file/bot").partition("/")
            if token != self.token:
                return Fault(401, "Unauthorized").response()
            stored = self._files_by_path.get(file_path)
            if stored is None:
                return Fault(404, "Not Found").response()
            self.downloads.append(file_path)
            return HttpResponse(200, stored.content, stored.mime_type or "application/octet-stream")
        if not path.startswith("/bot"):
            return Fault(404, "Not Found").response()
        token, _, name = path.removeprefix("/bot").partition("/")
        method = API_METHODS.get(name.lower(), name)
        record = RecordedRequest(method, {}, time.monotonic(), http_method=request.method)
        if token != self.token:
            return await self._finish(record, Fault(401, "Unauthorized").payload(), 401)
        if name.lower() not in API_METHODS:
            return await self._finish(record, Fault(404, "Not Found").payload(), 404)
        try:
            record.params, record.files = parse_params(parts.query, request)
        except ApiError as error:
            return await self._finish(record, error.fault.payload(), error.fault.status)
        return await self._call(record)

    async def _call(self, record: RecordedRequest) -> HttpResponse:
        """Answer one Bot API call: injected fault, flood limit, or the method's handler."""
        self.requests.append(record)
        await self._notify()
        fault = self._faults.take(record)
        if fault is not None and fault.delay > 0:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.status != HTTPStatus.OK:
            return await self._finish(record, fault.payload(), fault.status, append=False)
        result: Any
        try:
            self._check_limits(record)
            result = await self._answer(record)
        except ApiError as error:
            return await self._finish(
                record, error.fault.payload(), error.fault.status, append=False
            )
        except Exception as exc:  # a bug in this module: answer 500, keep the evidence
            log.exception("fake Bot API failed on %s", record.method)
            self.errors.append(exc)
            body = Fault(500, f"Internal Server Error: {exc!r}").payload()
            return await self._finish(record, body, 500, append=False)
        return await self._finish(record, {"ok": True, "result": result}, 200, append=False)

    async def _finish(
        self, record: RecordedRequest, body: JSONDict, status: int, *, append: bool = True
    ) -> HttpResponse:
        record.status, record.response = status, body
        if append:
            self.requests.append(record)
        log.debug("%s %s -> %s", record.method, record.params, status)
        for listener in list(self._listeners):
            listener(record)
        await self._notify()
        return HttpResponse(status, json.dumps(body).encode())

    def _crashed(self, request: HttpRequest, exc: Exception) -> HttpResponse:
        """A request this module did not foresee: answer 500 and keep the evidence."""
        log.exception("fake Bot API failed on %s", request.target)
        self.errors.append(exc)
        return Fault(500, f"Internal Server Error: {exc!r}").response()

    def _check_limits(self, record: RecordedRequest) -> None:
        limits = self.limits
        if limits is None or record.method not in limits.methods:
            return
        chat = self._find_chat(record.params.get("chat_id"))
        if chat is None:
            return  # the handler answers "chat not found"
        retry_after = limits.check(chat.id, group=chat.type != "private")
        if retry_after is not None:
            fault = Fault.retry_after(retry_after)
            raise ApiError(fault.status, fault.description, fault.parameters)
