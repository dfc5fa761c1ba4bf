"""Fetching safely, over real HTTP on 127.0.0.1: deadlines, private addresses, gzip bombs."""

from __future__ import annotations

import gzip
import ipaddress
import json
import threading
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from digestbot import store
from digestbot.briefs.fetcher import DEFAULT_MAX_BYTES, fetch, make_client
from digestbot.briefs.network import IPAddress, address_class
from digestbot.briefs.parse import BriefData
from digestbot.briefs.poller import CONCURRENCY, FeedPoller
from digestbot.errors import FetchError
from tests.bot import Clock, running_bot
from tests.factories import make_brief
from tests.httpserver import LocalHTTPServer, Reply, Request

LOCAL = ipaddress.ip_address("127.0.0.1")
FEED = json.dumps([make_brief(title="Healthy news").to_dict()]).encode()
JSON_TYPE = [("Content-Type", "application/json")]


@pytest.fixture
def server() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as running:
        yield running


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(timeout=2.0, allow_private=True) as http:
        yield http


@pytest.fixture
async def guarded() -> AsyncIterator[httpx.AsyncClient]:
    """Public addresses only (the default), as in production."""
    async with make_client(timeout=2.0) as http:
        yield http


async def fetch_error(url: str, client: httpx.AsyncClient, **kwargs: float) -> str:
    with pytest.raises(FetchError) as info:
        await fetch(url, client=client, **kwargs)
    assert info.value.source == url
    return info.value.reason


# --- a deadline for the whole fetch ---------------------------------------------------------


async def test_a_trickling_server_is_cut_off_at_the_deadline(server, client) -> None:
    # A byte every 0.1 s: no single read ever waits the 2 s read timeout.
    url = server.serve("/slow", Reply(body=FEED, trickle=0.1))
    started = time.monotonic()

    reason = await fetch_error(url, client, deadline=0.5)

    assert reason == "took longer than 0.5 s (the whole fetch)"
    assert time.monotonic() - started < 1.5


async def test_slow_and_hanging_feeds_do_not_delay_a_healthy_one(server, client, sessions) -> None:
    deadline = 1.0
    arrived: list[float] = []

    def healthy(request: Request) -> Reply:
        arrived.append(time.monotonic())
        return Reply(body=FEED, headers=JSON_TYPE)

    # Ten bytes half a second apart would hold a fetch for 5 s; the hanging one
    # sends nothing until the 2 s read timeout.
    trickling = server.serve("/trickle", Reply(body=b"[" * 10, trickle=0.5))
    hanging = server.serve("/hang", Reply(stall="before-headers"))
    good = server.serve("/good", healthy)
    poller = FeedPoller(
        sessions, client, [trickling, hanging, good], deadline=deadline, clock=Clock()
    )
    started = time.monotonic()

    results = {r.url: r for r in await poller.poll()}

    assert arrived and arrived[0] - started < deadline
    assert results[good].error is None and results[good].report is not None
    assert results[good].report.added == 1
    assert results[trickling].error == "took longer than 1 s (the whole fetch)"
    assert results[hanging].error == "took longer than 1 s (the whole fetch)"
    assert time.monotonic() - started < 2 * deadline  # side by side, not one after another
    async with sessions() as session:
        assert await store.count_briefs(session=session) == 1


async def test_feeds_are_fetched_eight_at_a_time(server, client, sessions) -> None:
    arrived = threading.Condition()
    in_flight = [0]
    most = [0]

    def slow(request: Request) -> Reply:
        # Each answer waits until eight are in flight at once (or 10 s pass), so the
        # count does not depend on how fast a loaded machine starts the requests.
        with arrived:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
            arrived.notify_all()
            arrived.wait_for(lambda: most[0] >= CONCURRENCY, timeout=10)
            in_flight[0] -= 1
        return Reply(body=b"[]", headers=JSON_TYPE)

    urls = [server.serve(f"/feed{n}", slow) for n in range(20)]
    poller = FeedPoller(sessions, client, urls, deadline=5.0, clock=Clock())

    results = await poller.poll()

    assert [r.url for r in results] == urls  # every feed, reported in order
    assert all(r.error is None for r in results)
    assert most[0] == CONCURRENCY == 8


# --- private addresses (SSRF) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1", "refused to connect to 127.0.0.1: a loopback address"),
        ("localhost", "refused to connect to localhost (127.0.0.1): a loopback address"),
        ("0.0.0.0", "refused to connect to 0.0.0.0: an unspecified address"),
        ("2130706433", "refused to connect to 2130706433 (127.0.0.1): a loopback address"),
        ("[::ffff:127.0.0.1]", "refused to connect to ::ffff:127.0.0.1: a loopback address"),
        ("[2002:7f00:1::]", "refused to connect to 2002:7f00:1::: a loopback address"),  # 6to4
    ],
)
async def test_local_addresses_are_refused(server, guarded, host: str, reason: str) -> None:
    port = server.base_url.rsplit(":", 1)[1]
    url = f"http://{host}:{port}/feed.json"
    server.serve("/feed.json", Reply(body=FEED))

    assert await fetch_error(url, guarded) == reason
    assert server.requests == []  # refused before connecting


@pytest.mark.parametrize(
    ("target", "kind"),
    [
        ("http://127.0.0.2:{port}/feed.json", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.1.2.3/feed.json", "private"),
        ("http://192.168.0.1/feed.json", "private"),
        ("http://[fd00::1]/feed.json", "private"),
        ("http://240.0.0.1/feed.json", "reserved"),
        ("http://100.64.0.1/feed.json", "non-public"),
    ],
)
async def test_a_redirect_to_a_private_address_is_refused(server, target: str, kind: str) -> None:
    port = server.base_url.rsplit(":", 1)[1]
    start = server.redirect("/old", target.format(port=port))
    # Only the test server's own address passes, standing in for a public one.
    async with make_client(timeout=2.0, trusted=[LOCAL]) as http:
        reason = await fetch_error(start, http)

    assert reason.startswith("refused to connect to ")
    assert reason.endswith(f" {kind} address")
    assert [r.path for r in server.requests] == ["/old"]


async def test_the_connection_goes_to_the_address_that_was_checked(server) -> None:
    server.serve("/feed.json", Reply(body=FEED, headers=JSON_TYPE))
    port = server.base_url.rsplit(":", 1)[1]
    looked_up: list[str] = []

    async def resolver(host: str, port: int) -> list[IPAddress]:
        looked_up.append(host)
        return [LOCAL]

    # feed.example exists in no DNS: the fetch can only work by connecting to the
    # address the resolver gave, the one that was checked, with the URL's Host.
    async with make_client(timeout=2.0, trusted=[LOCAL], resolver=resolver) as http:
        result = await fetch(f"http://feed.example:{port}/feed.json", client=http)

    assert [b.title for b in result.items if isinstance(b, BriefData)] == ["Healthy news"]
    assert looked_up == ["feed.example"]
    assert server.requests[0].headers["host"] == f"feed.example:{port}"


async def test_one_private_address_among_public_ones_refuses_the_host() -> None:
    async def resolver(host: str, port: int) -> list[IPAddress]:
        return [ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("10.0.0.7")]

    async with make_client(timeout=2.0, resolver=resolver) as http:
        reason = await fetch_error("https://feed.example/feed.json", http)

    assert reason == "refused to connect to feed.example (10.0.0.7): a private address"


def test_public_addresses_pass() -> None:
    for public in ("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "1.1.1.1"):
        assert address_class(ipaddress.ip_address(public)) is None


async def test_ingest_command_refuses_private_addresses_unless_allowed(server, database_url):
    url = server.serve("/feed.json", Reply(body=FEED, headers=JSON_TYPE))

    async with running_bot(database_url, admin_ids=[1]) as bot:
        (_fetching, refused) = await bot.texts(bot.server.private_chat(1), f"/ingest {url}")
    assert server.requests == []
    assert "refused to connect to 127.0.0.1: a loopback address" in refused

    async with running_bot(database_url, admin_ids=[1], feed_allow_private="true") as bot:
        (_fetching, stored) = await bot.texts(bot.server.private_chat(1), f"/ingest {url}")
    assert stored.startswith(f"{url}: 1 added")


# --- compressed bodies ----------------------------------------------------------------------


def deflate_raw(data: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", gzip.compress(FEED)),
        ("x-gzip", gzip.compress(FEED)),
        ("deflate", zlib.compress(FEED)),
        ("deflate", deflate_raw(FEED)),  # some servers send it without the zlib wrapper
        ("identity", FEED),
    ],
)
async def test_compressed_feeds_are_decoded(server, client, encoding: str, body: bytes) -> None:
    headers = [*JSON_TYPE, ("Content-Encoding", encoding)]
    url = server.serve("/feed.json", Reply(body=body, headers=headers, chunked=True, chunk_size=7))

    result = await fetch(url, client=client)

    assert [b.title for b in result.items if isinstance(b, BriefData)] == ["Healthy news"]
    assert server.requests[0].headers["accept-encoding"] == "gzip, deflate"


@pytest.mark.parametrize("compress", [gzip.compress, zlib.compress], ids=["gzip", "deflate"])
async def test_a_compression_bomb_is_refused_in_bounded_memory(server, client, compress) -> None:
    bomb = compress(b"\0" * (64 * 1024 * 1024))  # about 64 KB that expands to 64 MB
    encoding = "gzip" if compress is gzip.compress else "deflate"
    url = server.serve("/bomb", Reply(body=bomb, headers=[("Content-Encoding", encoding)]))

    tracemalloc.start()
    try:
        reason = await fetch_error(url, client)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert reason == "the response is larger than 5 MB"
    assert peak < 3 * DEFAULT_MAX_BYTES  # the cap, and a copy of it: never the 64 MB


async def test_an_encoding_we_did_not_ask_for_is_refused(server, client) -> None:
    url = server.serve("/br", Reply(body=b"\x1b\x00", headers=[("Content-Encoding", "br")]))

    assert await fetch_error(url, client) == "unsupported Content-Encoding 'br'"


@pytest.mark.parametrize(
    "body", [gzip.compress(FEED)[:-12], b"not gzip at all"], ids=["cut-short", "garbage"]
)
async def test_a_broken_gzip_body_is_a_decoding_error(server, client, body: bytes) -> None:
    url = server.serve("/gz", Reply(body=body, headers=[("Content-Encoding", "gzip")]))

    reason = await fetch_error(url, client)

    assert reason == "the response could not be decoded (bad Content-Encoding)"
