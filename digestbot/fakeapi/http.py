"""A small HTTP/1.1 server on :func:`asyncio.start_server`: keep-alive, Content-Length and
chunked bodies. It knows nothing of the Bot API; the server hands it one coroutine that answers
each request.

Hand-written rather than a library server so that tests can count connections, hold a request
open (stalls, long polls) and drop every connection at :meth:`HttpServer.stop`, all on the
caller's event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus

_MAX_BODY = 64 * 1024 * 1024
_MAX_HEADERS = 100


@dataclass
class HttpRequest:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    keep_alive: bool


@dataclass
class HttpResponse:
    status: int
    body: bytes
    content_type: str = "application/json"


Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]


class HttpServer:
    """Answers each request on a connection with ``handle`` until the client closes.

    ``malformed`` answers a request that can't be parsed (then the connection closes);
    ``crashed`` answers when ``handle`` raises, and may record the exception.
    """

    def __init__(
        self,
        handle: Handler,
        *,
        malformed: HttpResponse,
        crashed: Callable[[HttpRequest, Exception], HttpResponse],
    ) -> None:
        self._handle = handle
        self._malformed = malformed
        self._crashed = crashed
        #: How many TCP connections were accepted (keep-alive reuses them).
        self.connections_opened = 0
        self._server: asyncio.Server | None = None
        self._closing = False
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def running(self) -> bool:
        return self._server is not None

    async def start(self, host: str, port: int) -> int:
        """Start listening; returns the port (a free one when ``port`` is 0)."""
        self._closing = False
        self._server = await asyncio.start_server(self._serve, host, port)
        bound: int = self._server.sockets[0].getsockname()[1]
        return bound

    async def stop(self) -> None:
        """Stop listening and drop every connection, including requests still being answered."""
        if self._server is None:
            return
        self._closing = True
        server, self._server = self._server, None
        server.close()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One connection: answer requests until the client closes or asks to."""
        task = asyncio.current_task()
        if self._closing or task is None:
            writer.close()
            return
        self._connections.add(task)
        self.connections_opened += 1
        try:
            while True:
                try:
                    request = await _read_request(reader)
                except (ValueError, asyncio.LimitOverrunError):
                    writer.write(_encode(self._malformed, False))
                    await writer.drain()
                    return
                if request is None:
                    return
                try:
                    response = await self._handle(request)
                except Exception as exc:  # malformed input the handler did not foresee
                    response = self._crashed(request, exc)
                writer.write(_encode(response, request.keep_alive))
                await writer.drain()
                if not request.keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:
            # Only stop() cancels connections; ending quietly keeps asyncio's stream callback
            # from logging the cancellation as an error.
            return
        finally:
            self._connections.discard(task)
            writer.close()


async def _read_request(reader: asyncio.StreamReader) -> HttpRequest | None:
    """Read one HTTP/1.1 request; ``None`` at a clean end of the connection."""
    line = await reader.readline()
    if not line.strip():
        return None
    method, target, version = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    headers: dict[str, str] = {}
    for _ in range(_MAX_HEADERS):
        header = await reader.readline()
        if header in (b"\r\n", b"\n"):
            break
        if not header:
            return None
        name, _, value = header.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    else:
        raise ValueError("too many headers")
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    else:
        length = int(headers.get("content-length") or 0)
        if not 0 <= length <= _MAX_BODY:
            raise ValueError("bad Content-Length")
        body = await reader.readexactly(length)
    connection = headers.get("connection", "").lower()
    if version.upper() == "HTTP/1.0":
        keep_alive = connection == "keep-alive"
    else:
        keep_alive = connection != "close"
    return HttpRequest(method.upper(), target, headers, body, keep_alive)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        size = int((await reader.readline()).split(b";")[0].strip(), 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        total += size
        if total > _MAX_BODY:
            raise ValueError("body too large")
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)


def phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _encode(response: HttpResponse, keep_alive: bool) -> bytes:
    head = (
        f"HTTP/1.1 {response.status} {phrase(response.status)}\r\n"
        f"Server: digestbot-fakeapi\r\n"
        f"Content-Type: {response.content_type}\r\n"
        f"Content-Length: {len(response.body)}\r\n"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n"
        "\r\n"
    )
    return head.encode("latin-1") + response.body
