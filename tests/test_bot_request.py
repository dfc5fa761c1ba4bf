"""The bot's Bot API requests: a bounded number in flight, the rest served in turn."""

from __future__ import annotations

import asyncio
import threading
import time

from digestbot.bot.request import BoundedRequest
from tests.httpserver import LocalHTTPServer, Reply, Request


async def test_at_most_the_bounds_requests_are_in_flight_and_every_one_is_answered() -> None:
    guard = threading.Lock()
    in_flight = most = 0

    def held(_request: Request) -> Reply:
        # holds each request a moment, so that the ones sent together overlap
        nonlocal in_flight, most
        with guard:
            in_flight += 1
            most = max(most, in_flight)
        time.sleep(0.02)
        with guard:
            in_flight -= 1
        return Reply(body=b'{"ok": true, "result": true}')

    with LocalHTTPServer() as server:
        url = server.serve("/botTOKEN/getMe", held)
        request = BoundedRequest(4)
        await request.initialize()
        try:
            answers = await asyncio.gather(*(request.do_request(url, "GET") for _ in range(24)))
        finally:
            await request.shutdown()
        assert len(server.requests_to("/botTOKEN/getMe")) == 24
    assert [status for status, _body in answers] == [200] * 24
    assert 1 < most <= 4
