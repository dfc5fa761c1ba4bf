"""Fetching a feed URL over HTTP: the one place the bot talks HTTP to publishers.

:func:`fetch` downloads one URL with conditional-request support (ETag /
Last-Modified), a size cap (counted on the decompressed body, decompressed a
bounded piece at a time), a deadline for the whole fetch and per-phase timeouts,
connecting only to public addresses (:mod:`digestbot.briefs.network`). It
translates every network problem into :class:`~digestbot.errors.FetchError`
(``raise ... from exc``, so the cause is kept) and hands the body to
:func:`digestbot.briefs.feeds.parse_feed`.
"""

from __future__ import annotations

import asyncio
import re
import socket
import ssl
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import httpx

from digestbot.briefs.feeds import parse_feed
from digestbot.briefs.network import (
    AddressRefused,
    GuardedBackend,
    GuardedTransport,
    IPAddress,
    Resolver,
    system_resolver,
)
from digestbot.briefs.parse import (
    BriefData,
    Rejected,
)
from digestbot.errors import FetchError

DEFAULT_TIMEOUT = 10.0
"""Seconds allowed for each phase of a request (connect, each read, write, pool)."""
DEFAULT_DEADLINE = 30.0
"""Seconds allowed for a whole fetch, redirects and body included (``FEED_TIMEOUT``)."""
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
"""The largest (decoded) response body :func:`fetch` accepts."""
MAX_REDIRECTS = 5

_ACCEPT = (
    "application/feed+json, application/json;q=0.9, application/rss+xml, "
    "application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
)
_PARSE_IN_THREAD_BYTES = 256 * 1024
# We decode bodies ourselves (see _Decoder), so we ask only for what we decode.
_ACCEPT_ENCODING = "gzip, deflate"
_HEADER_VALUE_OK = re.compile(r"[\x20-\x7e]{1,1024}")


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one :func:`fetch` got: the briefs, and the validators for the next request."""

    url: str  # final URL after redirects
    items: list[BriefData | Rejected]
    etag: str | None
    last_modified: str | None
    not_modified: bool  # True on HTTP 304 (items empty)


def make_client(
    *,
    timeout: float = DEFAULT_TIMEOUT,
    allow_private: bool = False,
    trusted: Iterable[IPAddress] = (),
    resolver: Resolver = system_resolver,
    user_agent: str = "digestbot/0.1",
) -> httpx.AsyncClient:
    """An HTTP client for :func:`fetch`: timeouts, redirect limit, our User-Agent.

    It connects only to public addresses unless ``allow_private``
    (``FEED_ALLOW_PRIVATE``: tests, local use) or the address is in ``trusted``;
    ``resolver`` looks host names up (the system's, unless a test injects one).
    The caller owns it (``async with make_client() as client: ...``) so one
    connection pool serves a whole polling round.
    """
    backend = GuardedBackend(allow_private=allow_private, trusted=trusted, resolver=resolver)
    return httpx.AsyncClient(
        transport=GuardedTransport(backend),
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        timeout=httpx.Timeout(timeout),
        headers={
            "User-Agent": user_agent,
            "Accept": _ACCEPT,
            "Accept-Encoding": _ACCEPT_ENCODING,
        },
    )


async def fetch(
    url: str,
    *,
    client: httpx.AsyncClient,
    etag: str | None = None,
    last_modified: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    deadline: float = DEFAULT_DEADLINE,
) -> FetchResult:
    """Download ``url`` and parse it with :func:`parse_feed`.

    ``etag`` / ``last_modified`` (from the previous :class:`FetchResult`) are sent
    as ``If-None-Match`` / ``If-Modified-Since``; a 304 answer gives
    ``not_modified=True`` and no items. Redirects are followed up to
    ``client.max_redirects``. The whole download, every hop and the body, must
    finish within ``deadline`` seconds: per-read timeouts alone let a server
    trickling a byte at a time hold a fetch for ever.

    Raises :class:`FetchError` when the URL cannot be fetched (bad URL, network
    error, timeout, refused address, HTTP error status, body over ``max_bytes``) and
    :class:`BriefParseError` when what it serves is not a feed; both carry
    ``source=url``. No httpx exception escapes.
    """
    _check_url(url)
    headers: dict[str, str] = {}
    # A validator that could not be sent verbatim is dropped: conditional
    # requests only save bandwidth, and a bad header value would fail the fetch.
    if etag and _HEADER_VALUE_OK.fullmatch(etag):
        headers["If-None-Match"] = etag
    if last_modified and _HEADER_VALUE_OK.fullmatch(last_modified):
        headers["If-Modified-Since"] = last_modified

    try:
        async with asyncio.timeout(deadline):
            final_url, status, response_headers, body = await _download(
                url, client=client, headers=headers, max_bytes=max_bytes
            )
    except TimeoutError as exc:  # asyncio.timeout's; httpx's own are not TimeoutErrors
        raise FetchError(f"took longer than {deadline:g} s (the whole fetch)", source=url) from exc
    except AddressRefused as exc:
        raise FetchError(exc.reason, source=url) from exc
    except httpx.TimeoutException as exc:
        raise FetchError(_timeout_reason(exc, client), source=url) from exc
    except httpx.TooManyRedirects as exc:
        raise FetchError(
            f"too many redirects (more than {client.max_redirects})", source=url
        ) from exc
    except httpx.ConnectError as exc:
        raise FetchError(_connect_reason(exc), source=url) from exc
    except httpx.UnsupportedProtocol as exc:
        raise FetchError("redirected to a URL that is not http or https", source=url) from exc
    except (httpx.DecodingError, zlib.error) as exc:
        raise FetchError(
            "the response could not be decoded (bad Content-Encoding)", source=url
        ) from exc
    except httpx.RemoteProtocolError as exc:
        raise FetchError(f"bad HTTP response ({_describe(exc)})", source=url) from exc
    except httpx.NetworkError as exc:
        raise FetchError(f"the connection broke ({_describe(exc)})", source=url) from exc
    except (httpx.InvalidURL, UnicodeError) as exc:
        # httpx checks host names with idna, whose errors are UnicodeErrors.
        raise FetchError(f"not a valid URL ({_describe(exc)})", source=url) from exc
    except (httpx.HTTPError, httpx.StreamError) as exc:
        raise FetchError(f"the request failed ({_describe(exc)})", source=url) from exc

    if status == httpx.codes.NOT_MODIFIED:
        return FetchResult(
            url=final_url,
            items=[],
            etag=response_headers.get("etag") or etag,
            last_modified=response_headers.get("last-modified") or last_modified,
            not_modified=True,
        )
    content_type = response_headers.get("content-type")
    # Parsing megabytes of XML takes long enough to stall the bot's event loop.
    if len(body) > _PARSE_IN_THREAD_BYTES:
        items = await asyncio.to_thread(parse_feed, body, content_type=content_type, source=url)
    else:
        items = parse_feed(body, content_type=content_type, source=url)
    return FetchResult(
        url=final_url,
        items=items,
        etag=response_headers.get("etag"),
        last_modified=response_headers.get("last-modified"),
        not_modified=False,
    )


def _check_url(url: str) -> None:
    try:
        parsed = httpx.URL(url)
        host = parsed.host
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise FetchError(f"not a valid URL ({_describe(exc)})", source=url) from exc
    if parsed.scheme not in ("http", "https"):
        hint = "" if parsed.scheme else " (start it with https://)"
        raise FetchError(f"only http and https URLs can be fetched{hint}", source=url)
    if not host:
        raise FetchError("not a valid URL (no host name)", source=url)


async def _download(
    url: str, *, client: httpx.AsyncClient, headers: dict[str, str], max_bytes: int
) -> tuple[str, int, httpx.Headers, bytes]:
    """(final URL, status, headers, body); raises FetchError itself only for status and size.

    Redirects are followed here rather than by httpx, which reads each redirect
    response's body whole: a hostile server could send gigabytes that way, past
    the size cap.
    """
    request = client.build_request("GET", url, headers=headers)
    for _hop in range(client.max_redirects + 1):
        response = await client.send(request, stream=True, follow_redirects=False)
        try:
            next_request = response.next_request
            if next_request is None:
                return (
                    str(response.url),
                    response.status_code,
                    response.headers,
                    await _read_body(response, url=url, max_bytes=max_bytes),
                )
        finally:
            await response.aclose()
        request = next_request
    raise httpx.TooManyRedirects("Exceeded maximum allowed redirects.", request=request)


async def _read_body(response: httpx.Response, *, url: str, max_bytes: int) -> bytes:
    status = response.status_code
    if status == httpx.codes.NOT_MODIFIED:
        return b""
    if not 200 <= status < 300:
        phrase = httpx.codes.get_reason_phrase(status)
        raise FetchError(f"HTTP {status} {phrase}".rstrip(), source=url)
    too_large = f"the response is larger than {_format_size(max_bytes)}"
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(too_large, source=url)
    encoding = response.headers.get("content-encoding", "").strip().lower() or "identity"
    if encoding != "identity" and encoding not in _WBITS:
        raise FetchError(f"unsupported Content-Encoding {encoding[:40]!r}", source=url)
    decoder = _Decoder(encoding, max_bytes=max_bytes)
    # Raw bytes, decoded here: httpx would decompress a whole read at once, and
    # 64 KB of a gzip bomb is 64 MB before any cap could be checked.
    async for chunk in response.aiter_raw():
        if not decoder.feed(chunk):
            raise FetchError(too_large, source=url)
    return decoder.finish()


_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
"""zlib's window bits per Content-Encoding we ask for (deflate is zlib-wrapped, RFC 9110)."""


class _Decoder:
    """A body decompressed as it arrives, never more than ``max_bytes`` of output held.

    zlib's ``max_length`` stops each step one byte past the room left, so a
    compressed body never expands in memory beyond the cap.
    """

    def __init__(self, encoding: str, *, max_bytes: int) -> None:
        self._encoding = encoding
        self._max_bytes = max_bytes
        self._body = bytearray()
        self._zlib = zlib.decompressobj(_WBITS[encoding]) if encoding in _WBITS else None
        self._first = True

    def feed(self, data: bytes) -> bool:
        """Add a raw chunk; False once the decoded body is over the cap."""
        if self._zlib is None:
            self._body += data
            return len(self._body) <= self._max_bytes
        while data and not self._zlib.eof:
            room = self._max_bytes - len(self._body)
            try:
                self._body += self._zlib.decompress(data, room + 1)
            except zlib.error:
                if not (self._first and self._encoding == "deflate"):
                    raise
                # Some servers send raw deflate, without the zlib header (as httpx allows).
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                self._body += self._zlib.decompress(data, room + 1)
            self._first = False
            if len(self._body) > self._max_bytes:
                return False
            data = self._zlib.unconsumed_tail
        return True

    def finish(self) -> bytes:
        """The whole body; zlib.error when a compressed one was cut short."""
        if self._zlib is not None and not self._zlib.eof:
            raise zlib.error("the compressed body ends early")
        return bytes(self._body)


def _format_size(size: int) -> str:
    """5242880 -> ``5 MB``, 1536 -> ``1.5 KB``, 900 -> ``900 bytes``."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            return f"{round(size / scale, 1):g} {unit}"
    return f"{size} bytes"


def _timeout_reason(exc: httpx.TimeoutException, client: httpx.AsyncClient) -> str:
    timeouts = client.timeout
    seconds: float | None
    if isinstance(exc, httpx.ConnectTimeout):
        seconds = timeouts.connect
    elif isinstance(exc, httpx.WriteTimeout):
        seconds = timeouts.write
    elif isinstance(exc, httpx.PoolTimeout):
        seconds = timeouts.pool
    else:
        seconds = timeouts.read
    return "timed out" if seconds is None else f"timed out after {seconds:g} s"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception, its causes and contexts, and members of exception groups."""
    stack: list[BaseException] = [exc]
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                stack.append(linked)


def _connect_reason(exc: httpx.ConnectError) -> str:
    for cause in _causes(exc):
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "host not found"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate not accepted ({cause.verify_message})"
        if isinstance(cause, ssl.SSLError):
            return f"TLS handshake failed ({cause.reason or cause})"
        if isinstance(cause, TimeoutError):
            return "timed out connecting"
    return f"could not connect ({_describe(exc)})"


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] if text else type(exc).__name__
