"""The fake Bot API server in a child process of its own, for the benchmarks in ``bench/``.

Telegram is another machine: in production the bot's process never pays for answering
its own requests. Running ``FakeBotAPI`` on the measured code's event loop made every
request cost both sides' CPU on one core, and the Sender's concurrency look like a loss
(it overlaps server work that then competes with it). So the benchmarks start the server
here, in its own Python process (on this 2-core machine: one core for the server, one
for the code measured), and talk to it over real HTTP on 127.0.0.1. The baseline and
the code measured use the same server process, so both pay the same server cost.

The child (``python bench/fakeserver.py``) is driven over its standard streams:

* arguments: ``--chats START:COUNT`` (repeatable) registers private chats START,
  START+1, ... (``FakeBotAPI.private_chat``) before it listens; ``--limit N`` makes it
  enforce Telegram's flood limits (``enforce_limits(per_second=N)``: N sends a second
  overall, one a second per chat, 429 with ``retry_after`` past them);
* its first line on standard output is ``{"port": P}``;
* then each line on its standard input is a JSON command, answered by one JSON line:

  - ``{"cmd": "sends"}``: the sends (``sendMessage``, ``copyMessage``...) answered since
    the previous ``sends``: how many were accepted, the server's arrival times of the
    first and last accepted, how many were answered 429 and when, other failures;
  - ``{"cmd": "cpu"}``: the CPU seconds the server child has used so far;
  - ``{"cmd": "load", "texts": [...], "first_user": U, "count": M, "rate": R}``: users
    U ... U+M-1 (private chats, created here) each send one message,
    ``texts[i % len(texts)]``, as updates for ``getUpdates``: all at once (``R == 0``)
    or R a second on a fixed schedule. It waits until the bot answered each one: an
    update is handled when the first successful send to its chat after the push reached
    the server. Answers the latencies (push to that send's arrival, both on this
    process's clock), the seconds from the first push to the last answer, and every
    send to those chats (a command answered with two messages shows there);

* end of input: it answers ``{"requests": n, "errors": [...]}`` (``errors`` are
  exceptions in the server's own code, which must stay empty) and exits.

:class:`ServerProcess` is the parent's side.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from digestbot.fakeapi import DEFAULT_TOKEN, FakeBotAPI, RecordedRequest  # noqa: E402

JSONDict = dict[str, Any]
SENDS = frozenset({"sendMessage", "copyMessage", "editMessageText", "sendDocument"})
LOAD_TIMEOUT = 120.0  # seconds an update may wait for its answer before the load gives up
SETTLE = 0.3  # seconds to wait after the last answer, to count late extra messages
LINE_LIMIT = 1 << 26  # JSON lines carry one latency per update: allow big ones


# ---- the child ---------------------------------------------------------------------------


class _Child:
    """The server and the commands the parent sends it."""

    def __init__(self, server: FakeBotAPI) -> None:
        self.server = server
        self._mark = 0

    def sends(self, arrivals: bool = False) -> JSONDict:
        requests = self.server.requests[self._mark :]
        self._mark += len(requests)
        sends = [r for r in requests if r.method in SENDS and r.status is not None]
        accepted = [r.at for r in sends if r.ok]
        rejected = [r.at for r in sends if r.status == 429]
        others: dict[str, int] = {}
        for r in sends:
            if not r.ok and r.status != 429:
                others[str(r.status)] = others.get(str(r.status), 0) + 1
        first = accepted[0] if accepted else 0.0
        return {
            "accepted": len(accepted),
            "first": first,
            "last": accepted[-1] if accepted else 0.0,
            "rejected_429": len(rejected),
            "rejected_at": [at - first for at in rejected],
            "failed": others,
            # (chat, arrival, status) of each send, on request: to see where time went
            "arrivals": [[r.chat_id, r.at, r.status] for r in sends] if arrivals else [],
        }

    async def load(
        self, texts: Sequence[str], first_user: int, count: int, rate: float
    ) -> JSONDict:
        server = self.server
        pushed: dict[int, float] = {}
        answered: dict[int, float] = {}
        messages: dict[int, int] = {}
        done = asyncio.Event()

        def seen(request: RecordedRequest) -> None:
            chat = request.chat_id
            if request.method not in SENDS or not request.ok or not isinstance(chat, int):
                return
            if chat not in pushed:
                return
            messages[chat] = messages.get(chat, 0) + 1
            if chat not in answered:
                answered[chat] = request.at  # arrival, not the end of answering it
                if len(answered) == count:
                    done.set()

        chats = [server.private_chat(first_user + i) for i in range(count)]
        unsubscribe = server.add_listener(seen)
        try:
            started = time.monotonic()
            for i, chat in enumerate(chats):
                if rate:
                    # a fixed schedule, not a sleep per update: late pushes catch up
                    delay = started + i / rate - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                pushed[chat.id] = time.monotonic()
                await server.send_message(chat, texts[i % len(texts)])
            with contextlib.suppress(TimeoutError):  # what is unanswered is reported missing
                await asyncio.wait_for(done.wait(), LOAD_TIMEOUT)
            await asyncio.sleep(SETTLE)
        finally:
            unsubscribe()
        first_push = min(pushed.values())
        return {
            "handled": len(answered),
            "missing": count - len(answered),
            "seconds": (max(answered.values()) - first_push) if answered else 0.0,
            "push_seconds": max(pushed.values()) - first_push,
            # in push order (update i is texts[i % len(texts)]); None: never answered
            "latencies_ms": [
                1000 * (answered[c.id] - pushed[c.id]) if c.id in answered else None for c in chats
            ],
            "messages": sum(messages.values()),
        }


async def _serve(chats: Sequence[tuple[int, int]], limit: int) -> None:
    async with FakeBotAPI(strict_html=True) as server:
        for start, count in chats:
            for chat_id in range(start, start + count):
                server.private_chat(chat_id)
        if limit:
            server.enforce_limits(per_second=limit)
        child = _Child(server)
        _answer({"port": server.port})
        loop = asyncio.get_running_loop()
        commands = asyncio.StreamReader(limit=LINE_LIMIT)
        await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(commands), os.fdopen(0, "rb", buffering=0)
        )
        while line := await commands.readline():
            command = json.loads(line)
            name = command.pop("cmd")
            if name == "sends":
                _answer(child.sends(**command))
            elif name == "cpu":
                _answer({"cpu": time.process_time()})
            elif name == "load":
                _answer(await child.load(**command))
            else:
                _answer({"error": f"unknown command {name!r}"})
        _answer({"requests": len(server.requests), "errors": [repr(e) for e in server.errors]})


def _answer(data: JSONDict) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


def _chat_range(text: str) -> tuple[int, int]:
    start, _, count = text.partition(":")
    return int(start), int(count)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="The fake Bot API server as a child process for bench/ scripts; "
        "see the module docstring for its line protocol.",
    )
    parser.add_argument(
        "--chats",
        type=_chat_range,
        action="append",
        default=[],
        metavar="START:COUNT",
        help="register private chats START ... START+COUNT-1 (repeatable)",
    )
    parser.add_argument(
        "--limit", type=int, default=0, help="enforce Telegram's flood limits at N sends/s"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_serve(args.chats, args.limit))
    return 0


# ---- the parent --------------------------------------------------------------------------


class ServerProcess:
    """Starts ``bench/fakeserver.py`` as a child process; ``async with`` it, then send
    commands with :meth:`ask`. Leaving the block ends the child and raises if the server
    failed on its own code."""

    def __init__(self, *, chats: Sequence[range] = (), limit: int = 0) -> None:
        self._args: list[str] = []
        for ids in chats:
            if ids.step != 1:
                raise ValueError("chat ranges must be consecutive")
            self._args += ["--chats", f"{ids.start}:{len(ids)}"]
        if limit:
            self._args += ["--limit", str(limit)]
        self._process: asyncio.subprocess.Process | None = None
        self.token = DEFAULT_TOKEN
        self.port = 0
        self.final: JSONDict = {}

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def __aenter__(self) -> Self:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(HERE),
            *self._args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=LINE_LIMIT,
        )
        self.port = int((await self._read())["port"])
        return self

    async def ask(self, cmd: str, **params: Any) -> JSONDict:
        process = self._require()
        assert process.stdin is not None
        process.stdin.write(json.dumps({"cmd": cmd, **params}).encode() + b"\n")
        await process.stdin.drain()
        answer = await self._read()
        if "error" in answer:
            raise RuntimeError(f"fake server: {answer['error']}")
        return answer

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        process = self._require()
        assert process.stdin is not None
        process.stdin.close()
        try:
            self.final = await asyncio.wait_for(self._read(), 30)
            await asyncio.wait_for(process.wait(), 30)
        except BaseException:
            if process.returncode is None:
                process.kill()
                await process.wait()
            if exc is None:
                raise
            return
        if exc is None and self.final.get("errors"):
            raise RuntimeError(f"the fake server failed: {self.final['errors'][0]}")

    async def _read(self) -> JSONDict:
        process = self._require()
        assert process.stdout is not None
        line = await process.stdout.readline()
        if not line:
            raise RuntimeError(f"the fake server exited (status {await process.wait()})")
        answer: JSONDict = json.loads(line)
        return answer

    def _require(self) -> asyncio.subprocess.Process:
        if self._process is None:
            raise RuntimeError("ServerProcess is not started; use `async with`")
        return self._process


if __name__ == "__main__":
    sys.exit(main())
