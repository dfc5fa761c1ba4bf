"""A real HTTP/1.1 server on 127.0.0.1 for tests, with routes programmed per test.

Usage::

    with LocalHTTPServer() as server:
        url = server.serve("/feed", Reply(body=b"...", headers=[("Content-Type", "...")]))
        server.redirect("/old", "/feed")
        ...
        server.requests_to("/feed")[0].headers["if-none-match"]

A route is a :class:`Reply` or a function from :class:`Request` to ``Reply``.
Unknown paths answer 404. ``stall`` makes a route hang (before the headers, or
after them) until the server stops, for timeout tests that need no sleeping;
``trickle`` sends the body one byte at a time, that many seconds apart (a hostile
server that no per-read timeout catches).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import urljoin

__all__ = ["LocalHTTPServer", "Reply", "Request", "closed_port"]


@dataclass(frozen=True)
class Request:
    """One request the server received; header names are lowercase."""

    method: str
    path: str
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Reply:
    """What a route answers."""

    status: int = 200
    body: bytes = b""
    headers: Sequence[tuple[str, str]] = ()
    chunked: bool = False  # Transfer-Encoding: chunked, no Content-Length
    chunk_size: int = 1024
    content_length: int | None = None  # declare a length other than len(body)
    stall: Literal["before-headers", "after-headers"] | None = None
    trickle: float | None = None  # seconds between the body's bytes


Route = Reply | Callable[[Request], Reply]


@dataclass
class _State:
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked bodies, as real servers do
    server: _Server

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def _answer(self, *, send_body: bool) -> None:
        state = self.server.state
        request = Request(
            method=self.command,
            path=self.path,
            headers={name.lower(): value for name, value in self.headers.items()},
        )
        with state.lock:
            state.requests.append(request)
            route = state.routes.get(self.path.split("?", 1)[0])
        if route is None:
            reply = Reply(status=404, body=b"not found", headers=[("Content-Type", "text/plain")])
        elif isinstance(route, Reply):
            reply = route
        else:
            reply = route(request)

        if reply.stall == "before-headers":
            state.stopping.wait()
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        if reply.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        elif reply.status != 304:
            length = len(reply.body) if reply.content_length is None else reply.content_length
            self.send_header("Content-Length", str(length))
        self.end_headers()
        if reply.stall == "after-headers":
            self.wfile.flush()
            state.stopping.wait()
            self.close_connection = True
            return
        if not send_body or reply.status == 304:
            return
        if reply.trickle is not None:
            for byte in reply.body:
                # Waiting on the stop event, not sleeping, lets shutdown end it at once.
                if state.stopping.wait(reply.trickle):
                    break
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            self.close_connection = True
            return
        if reply.chunked:
            for start in range(0, len(reply.body), reply.chunk_size):
                chunk = reply.body[start : start + reply.chunk_size]
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(reply.body)
        if reply.content_length is not None and reply.content_length != len(reply.body):
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: _State) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients that give up early (size caps, timeouts) reset the connection.
        pass


class LocalHTTPServer:
    """An HTTP server on 127.0.0.1, on a free port, serving in a background thread."""

    def __init__(self) -> None:
        self._state = _State()
        self._server = _Server(self._state)
        host, port = self._server.server_address[:2]
        self.base_url = f"http://{host!s}:{port}"
        # A short poll interval keeps shutdown (and so each test's teardown) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def start(self) -> LocalHTTPServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._state.stopping.set()  # release stalled handlers first
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LocalHTTPServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this server."""
        return urljoin(self.base_url, path)

    def serve(self, path: str, route: Route) -> str:
        """Answer GETs of ``path`` (query string ignored) with ``route``; returns its URL."""
        with self._state.lock:
            self._state.routes[path] = route
        return self.url(path)

    def redirect(self, path: str, location: str, *, status: int = 302) -> str:
        """Make ``path`` redirect to ``location`` (relative or absolute); returns its URL."""
        return self.serve(path, Reply(status=status, headers=[("Location", location)]))

    @property
    def requests(self) -> list[Request]:
        """Every request received so far, in order."""
        with self._state.lock:
            return list(self._state.requests)

    def requests_to(self, path: str) -> list[Request]:
        """The requests received for ``path`` (query string ignored)."""
        return [r for r in self.requests if r.path.split("?", 1)[0] == path]


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released), for refused connections."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
