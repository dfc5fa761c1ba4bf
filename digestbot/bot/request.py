"""The bot's HTTP requests to the Bot API: a few at a time, the rest waiting their turn.

The bot answers up to 64 updates at once, so up to 64 replies were in flight at once, and
PTB's default pool (up to 256 connections) opened a connection for each. httpcore walks
every pooled connection on each request and again when its response closes (for an idle
connection, over the whole list once more), and walks every queued request against every
connection: with 64 connections that cost each reply more CPU than the echo bot spends
on a whole update (bench/RESULTS.md, 8 Dec 2026). Here at most ``connections`` requests
reach httpcore at a time; the others wait on a semaphore (first come, first served),
which costs nothing while they wait.
"""

from __future__ import annotations

import asyncio
from typing import Any

from telegram._utils.types import ODVInput
from telegram.request import BaseRequest, HTTPXRequest, RequestData


class BoundedRequest(HTTPXRequest):
    """PTB's HTTPX request with at most ``connections`` requests in flight (and as many
    connections kept)."""

    def __init__(self, connections: int, **kwargs: Any) -> None:
        super().__init__(connection_pool_size=connections, **kwargs)
        self._slots = asyncio.Semaphore(connections)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        async with self._slots:
            return await super().do_request(
                url,
                method,
                request_data,
                read_timeout=read_timeout,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
            )
