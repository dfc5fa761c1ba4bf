"""Telegram's rate limits, kept on our side: the global budget and the per-chat pace.

:class:`SendBudget` holds the overall messages-per-second budget, shared by the
outbox sender (which waits for it) and command replies (which go first, through
:class:`SharedRateLimiter`); :class:`ChatPacer` keeps each chat's own limits.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from telegram.ext import AIORateLimiter

PRIVATE_INTERVAL = 1.0  # seconds between messages to one private chat
GROUP_PER_MINUTE = 20
GROUP_WINDOW = 60.0  # seconds over which GROUP_PER_MINUTE counts
PACER_SIZE = 100_000  # chats remembered before the pacer drops those pacing no longer needs
# SendBudget: at most floor(rate) messages in any WINDOW seconds. Telegram counts its
# second on its side, after the network; SendBudget.answered moves a message that was
# held up on its way, and the 10 ms spare (1% of the rate) cover the jitter left.
WINDOW = 1.01
BUCKET = 1.25  # tokens: a timer up to a quarter of an interval late loses nothing
MAX_WINDOWED = 10_000  # per second; above that (benchmarks) no window is kept

Sleep = Callable[[float], Awaitable[None]]
JSONDict = dict[str, Any]  # PTB's name for a Bot API call's JSON (private in PTB)


# The shortest wait: a clock that moves in whole microseconds (timedelta, a test's
# injected one) would not move at all for less, and the wait would never end.
MIN_WAIT = 1e-6


@dataclass
class SendBudget:
    """The global messages-per-second budget, shared by the sender and command replies.

    Command replies :meth:`spend` without waiting (they go first); the sender
    :meth:`take` s and so waits whenever replies used the budget up.
    """

    rate: float
    monotonic: Callable[[], float] = time.monotonic
    sleep: Sleep = asyncio.sleep
    _tokens: float = field(init=False)
    _at: float = field(init=False)
    _recent: deque[list[float]] | None = field(init=False)
    _fastest: float = field(init=False, default=math.inf)  # seconds, the quickest answer
    paused_until: float = 0.0

    def __post_init__(self) -> None:
        self._tokens, self._at = 1.0, self.monotonic()
        # Telegram counts messages in a rolling second: never more than floor(rate) in one.
        per_window = math.floor(self.rate)
        self._recent = deque(maxlen=per_window) if 1 <= per_window <= MAX_WINDOWED else None

    def _refill(self) -> None:
        now = self.monotonic()
        # A bucket of little more than one: messages go out evenly spaced, never in a
        # burst. The extra fraction makes up for timers that fire late (the event loop's
        # are about a millisecond coarse), which would otherwise cost a few percent of
        # the rate; the rolling window below keeps it from ever letting one too many by.
        self._tokens = min(BUCKET, self._tokens + (now - self._at) * self.rate)
        self._at = now

    def _window_wait(self, now: float) -> float:
        """Seconds until the rolling window has room (0 when it has now)."""
        recent = self._recent
        if recent is None or len(recent) < (recent.maxlen or 0):
            return 0.0
        return recent[0][0] + WINDOW - now

    def _stamp(self, now: float) -> list[float]:
        stamp = [now]  # when the message left, as best known; see answered()
        if self._recent is not None:
            self._recent.append(stamp)
        return stamp

    def spend(self) -> None:
        self._refill()
        self._tokens -= 1
        self._stamp(self._at)

    def answered(self, stamp: list[float]) -> None:
        """Telegram accepted the message :meth:`take` stamped. It cannot have arrived
        before its answer came back less the quickest round trip seen, so a message held
        up on its way (this process or the machine busy, the network slow) counts in the
        window from then: the next ones keep their distance from when it really arrived."""
        now = self.monotonic()
        self._fastest = min(self._fastest, now - stamp[0])
        stamp[0] = max(stamp[0], now - self._fastest)

    def pause(self, seconds: float) -> None:
        """Telegram said 429: nothing is sent until ``seconds`` from now."""
        self.paused_until = max(self.paused_until, self.monotonic() + seconds)

    async def take(self) -> list[float]:
        """Wait for the budget to allow one more message; returns its stamp for answered()."""
        while True:
            now = self.monotonic()
            if now < self.paused_until:
                await self.sleep(self.paused_until - now)
                continue
            wait = self._window_wait(now)
            if wait > 1e-9:
                await self.sleep(max(wait, MIN_WAIT))
                continue
            self._refill()
            # within rounding of a whole token: waiting for the last 1e-12 of one would
            # never end once the clock's float cannot move by that little
            if self._tokens >= 1 - 1e-9:
                self._tokens -= 1
                return self._stamp(now)
            await self.sleep(max((1 - self._tokens) / self.rate, MIN_WAIT))


class SharedRateLimiter(AIORateLimiter):
    """PTB's rate limiter for command replies, counting each call against the shared budget."""

    def __init__(self, budget: SendBudget, *, overall_max_rate: float, max_retries: int) -> None:
        super().__init__(overall_max_rate=overall_max_rate, max_retries=max_retries)
        self._budget = budget

    # PTB's own signature: the arguments of any Bot API call, as PTB types them
    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        self._budget.spend()
        return await super().process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )


@dataclass
class ChatPacer:
    """Telegram's per-chat limits: one message a second to a user, 20 a minute to a group."""

    monotonic: Callable[[], float] = time.monotonic
    _last: dict[int, float] = field(default_factory=dict)
    _groups: dict[int, deque[float]] = field(default_factory=dict)
    _pruned_at: float = field(init=False)
    _prune_above: int = field(init=False, default=PACER_SIZE)

    def __post_init__(self) -> None:
        self._pruned_at = self.monotonic()

    def ready_in(self, chat_id: int) -> float:
        """Seconds until this chat may get another message (0 when it may now)."""
        now = self.monotonic()
        if chat_id < 0:  # groups, supergroups and channels have negative ids
            recent = self._groups.get(chat_id)
            while recent and now - recent[0] >= GROUP_WINDOW:
                recent.popleft()
            if recent and len(recent) >= GROUP_PER_MINUTE:
                return GROUP_WINDOW - (now - recent[0])
            return 0.0
        last = self._last.get(chat_id)
        return 0.0 if last is None else max(0.0, PRIVATE_INTERVAL - (now - last))

    def record(self, chat_id: int) -> None:
        now = self.monotonic()
        if chat_id < 0:
            self._groups.setdefault(chat_id, deque()).append(now)
        else:
            self._last[chat_id] = now
        if (
            now - self._pruned_at >= GROUP_WINDOW
            or len(self._last) + len(self._groups) > self._prune_above
        ):
            self._prune(now)

    def _prune(self, now: float) -> None:
        """Forget chats whose messages are too old to hold the next one up: otherwise
        every chat ever sent to stays (200k groups kept 174 MB). Once a minute, or when
        the chats remembered double, so each record pays for its own forgetting."""
        self._last = {k: v for k, v in self._last.items() if now - v < PRIVATE_INTERVAL}
        self._groups = {k: q for k, q in self._groups.items() if q and now - q[-1] < GROUP_WINDOW}
        self._pruned_at = now
        self._prune_above = max(PACER_SIZE, 2 * (len(self._last) + len(self._groups)))

    def __len__(self) -> int:
        """Chats remembered."""
        return len(self._last) + len(self._groups)
