"""Why a message was not sent: one table from error phrases to outcomes.

The sender sets a :class:`Failure` on each outcome as it happens (Telegram's
description of a 400 or 403 is looked up here); metrics label it, and the reports
that only have a row's stored error text (broadcast counts, ``/stats``) look that
text up in the same table. Rows written before the failure had a field of its own
hold only text too, so the table covers the sender's own texts as well as Telegram's.
"""

from __future__ import annotations

from enum import StrEnum


class Failure(StrEnum):
    """What went wrong with one row; the value is its metrics label."""

    BLOCKED = "blocked"  # 403: the user blocked the bot
    LEFT = "left"  # 403: kicked from the group, account deactivated, not a member
    FORBIDDEN = "forbidden"  # any other 403
    CHAT_NOT_FOUND = "chat_not_found"  # 400: the chat was deleted or never existed
    UNPARSEABLE = "unparseable"  # 400: Telegram refused the HTML
    BAD_REQUEST = "bad_request"  # any other 400
    RATE_LIMITED = "rate_limited"  # 429: waits, not counted as an attempt
    NETWORK = "network"  # timeouts, connection errors, 5xx: retried
    RETRIES_EXHAUSTED = "retries_exhausted"
    BAD_PAYLOAD = "bad_payload"  # the row's payload cannot be read (see payload.py)
    CANCELLED_BY_ADMIN = "cancelled_by_admin"  # a broadcast stopped before it was sent
    CANCELLED = "cancelled"  # moot: the chat merged into a supergroup, the briefs are gone
    OTHER = "other"

    @property
    def chat_gone(self) -> bool:
        """The chat can no longer be reached: it goes inactive, its other rows cancelled."""
        return self in _CHAT_GONE

    @property
    def label(self) -> str:
        """The ``reason`` label of the failure metrics (kept as they were: dashboards)."""
        return _LABELS.get(self, self.value)


_CHAT_GONE = frozenset({Failure.BLOCKED, Failure.LEFT, Failure.FORBIDDEN, Failure.CHAT_NOT_FOUND})
_LABELS = {
    Failure.BLOCKED: "forbidden",
    Failure.LEFT: "forbidden",
    Failure.UNPARSEABLE: "bad_request",
    Failure.CANCELLED_BY_ADMIN: "cancelled",
}

# The sender's own texts (see errors below), written into rows' last_error.
RATE_LIMITED_TEXT = "rate limited"
CANCELLED_BY_ADMIN_TEXT = "cancelled by an admin"  # written by store.cancel_broadcast
MERGED_TEXT = "merged into a supergroup"
BRIEFS_GONE_TEXT = "its briefs are gone"
_EXHAUSTED = " (after "  # "<error> (after 8 attempts)"

# Phrases (lowercase) found in Telegram's error descriptions or in a stored error, and
# what they mean; the first that matches wins, so the more specific come first.
PHRASES: tuple[tuple[str, Failure], ...] = (
    (CANCELLED_BY_ADMIN_TEXT, Failure.CANCELLED_BY_ADMIN),
    (MERGED_TEXT, Failure.CANCELLED),
    (BRIEFS_GONE_TEXT, Failure.CANCELLED),
    ("blocked", Failure.BLOCKED),  # "bot was blocked by the user"
    ("kicked", Failure.LEFT),  # "bot was kicked from the group chat"
    ("deactivated", Failure.LEFT),  # "user is deactivated"
    ("not a member", Failure.LEFT),  # "bot is not a member of the channel chat"
    ("chat not found", Failure.CHAT_NOT_FOUND),
    ("can't parse entities", Failure.UNPARSEABLE),
    (RATE_LIMITED_TEXT, Failure.RATE_LIMITED),
    ("attempts)", Failure.RETRIES_EXHAUSTED),
    ("timedout", Failure.NETWORK),
    ("networkerror", Failure.NETWORK),
    ("bad payload", Failure.BAD_PAYLOAD),
    ("forbidden", Failure.FORBIDDEN),
    ("bad request", Failure.BAD_REQUEST),
)


def classify(text: str | None, default: Failure = Failure.OTHER) -> Failure:
    """The failure an error text names (Telegram's description or a stored error)."""
    lowered = (text or "").lower()
    for phrase, failure in PHRASES:
        if phrase in lowered:
            return failure
    return default


def exhausted(error: str, attempts: int) -> str:
    """The stored error of a row given up on after ``attempts`` tries."""
    return f"{error}{_EXHAUSTED}{attempts} attempts)"


def grouping(error: str | None) -> str:
    """A stored error without what differs between alike failures (the attempts)."""
    return (error or "unknown").strip().split(_EXHAUSTED)[0]


# Which broadcast count (delivery.broadcasts.Counts) a failed or cancelled row falls
# under; any other failure counts as "failed", or "left" when the row was cancelled
# because its chat became unreachable.
BROADCAST_COUNT: dict[Failure, str] = {
    Failure.BLOCKED: "blocked",
    Failure.LEFT: "left",
    Failure.CHAT_NOT_FOUND: "left",
    Failure.CANCELLED_BY_ADMIN: "cancelled",
}
