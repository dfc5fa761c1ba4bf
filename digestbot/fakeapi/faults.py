"""Injected faults and Telegram's flood limits: error answers a test queues
(:meth:`FakeBotAPI.fail`) and 429s for sends over the limits (:class:`RateLimits`)."""

from __future__ import annotations

import json
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from digestbot.fakeapi.http import HttpResponse, phrase
from digestbot.fakeapi.models import JSONDict, RecordedRequest

#: Methods that count against Telegram's flood limits in :meth:`FakeBotAPI.enforce_limits`.
LIMITED_METHODS = frozenset(
    {
        "sendMessage", "copyMessage", "copyMessages", "forwardMessage", "forwardMessages",
        "sendDocument", "sendPhoto", "sendVideo", "sendAudio", "sendAnimation", "sendVoice",
        "sendVideoNote", "sendSticker", "sendMediaGroup", "sendPoll", "sendLocation",
        "sendVenue", "sendContact", "sendDice",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Fault:
    """An error answer to inject with :meth:`FakeBotAPI.fail`.

    ``delay`` seconds are waited before answering; a fault with ``status == 200`` (see
    :meth:`stall`) then answers normally.
    """

    status: int
    description: str = ""
    parameters: JSONDict | None = None
    delay: float = 0.0

    @classmethod
    def retry_after(cls, seconds: int) -> Fault:
        return cls(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})

    @classmethod
    def blocked(cls) -> Fault:
        return cls(403, "Forbidden: bot was blocked by the user")

    @classmethod
    def kicked(cls) -> Fault:
        return cls(403, "Forbidden: bot was kicked from the group chat")

    @classmethod
    def deactivated(cls) -> Fault:
        return cls(403, "Forbidden: user is deactivated")

    @classmethod
    def chat_not_found(cls) -> Fault:
        return cls(400, "Bad Request: chat not found")

    @classmethod
    def migrated(cls, new_chat_id: int) -> Fault:
        return cls(
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            {"migrate_to_chat_id": new_chat_id},
        )

    @classmethod
    def cant_parse(cls) -> Fault:
        return cls(
            400,
            'Bad Request: can\'t parse entities: Unsupported start tag "br" at byte offset 0',
        )

    @classmethod
    def server_error(cls, status: int = 502) -> Fault:
        return cls(status, phrase(status))

    @classmethod
    def stall(cls, seconds: float) -> Fault:
        return cls(200, delay=seconds)

    @classmethod
    def bad_request(cls, description: str) -> Fault:
        if not description.startswith("Bad Request"):
            description = f"Bad Request: {description}"
        return cls(400, description)

    def payload(self) -> JSONDict:
        """The JSON error body Telegram sends."""
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body

    def response(self) -> HttpResponse:
        """The HTTP answer carrying :meth:`payload`."""
        return HttpResponse(self.status, json.dumps(self.payload()).encode())


class ApiError(Exception):
    """Raised by handlers to answer with a Telegram error."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None):
        super().__init__(description)
        self.fault = Fault(status, description, parameters)


@dataclass
class _FaultRule:
    method: str  # lower-cased
    chat_id: int | str | None
    fault: Fault
    remaining: int


class FaultQueue:
    """Faults waiting for the calls they answer, used in the order they were added."""

    def __init__(self) -> None:
        self._rules: list[_FaultRule] = []

    def add(self, method: str, fault: Fault, *, chat_id: int | str | None, times: int) -> None:
        self._rules.append(_FaultRule(method.lower(), chat_id, fault, times))

    def take(self, record: RecordedRequest) -> Fault | None:
        """The fault that answers ``record``, if one is queued for it (and count it used)."""
        chat = record.chat_id
        for rule in self._rules:
            if rule.method == record.method.lower() and rule.chat_id in (None, chat):
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._rules.remove(rule)
                return rule.fault
        return None


@dataclass
class RateLimits:
    """Telegram's flood limits, in sliding windows on ``clock`` (monotonic seconds).

    ``per_second`` messages in total, ``per_chat_per_second`` to one chat, and
    ``per_group_per_minute`` to one group, supergroup or channel. A send over a limit is
    answered 429 with ``retry_after`` (whole seconds until the window has room) and does not
    count; :attr:`rejected` counts those answers.
    """

    per_second: int = 30
    per_chat_per_second: int = 1
    per_group_per_minute: int = 20
    clock: Callable[[], float] = time.monotonic
    methods: frozenset[str] = LIMITED_METHODS
    rejected: int = 0
    _all: deque[float] = field(default_factory=deque, repr=False)
    _chats: dict[int, deque[float]] = field(default_factory=dict, repr=False)
    _groups: dict[int, deque[float]] = field(default_factory=dict, repr=False)

    def check(self, chat_id: int, *, group: bool) -> int | None:
        """Count one send to ``chat_id``; return ``retry_after`` seconds if it is over a limit."""
        now = self.clock()
        windows = [
            (self._all, self.per_second, 1.0),
            (self._chats.setdefault(chat_id, deque()), self.per_chat_per_second, 1.0),
        ]
        if group:
            windows.append(
                (self._groups.setdefault(chat_id, deque()), self.per_group_per_minute, 60.0)
            )
        wait = 0.0
        for stamps, limit, window in windows:
            while stamps and stamps[0] <= now - window:
                stamps.popleft()
            if len(stamps) >= limit:
                wait = max(wait, stamps[len(stamps) - limit] + window - now)
        if wait > 0:
            self.rejected += 1
            return max(1, math.ceil(wait))
        for stamps, _, _ in windows:
            stamps.append(now)
        return None
