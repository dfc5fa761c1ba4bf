"""SQLModel tables, and :class:`BriefData`, the parsed form of a brief every layer shares.

Every timestamp is stored as naive UTC and read back as aware UTC.

Tables: briefs and their tags (many-to-many, order kept), chats and their
subscriptions, the outbox every pushed message goes through, broadcasts, feeds,
the admin audit log, and a small key/value table for values the bot keeps itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

# Integer columns are 32-bit on PostgreSQL: a bigger id or number would be refused by
# the database, so input beyond these is rejected before it gets there.
MAX_INT32 = 2**31 - 1
MAX_BRIEF_ID = MAX_INT32  # briefs.id

SECTIONS: tuple[tuple[str, str], ...] = (
    ("what_happened", "What happened"),
    ("technical_details", "Technical details"),
    ("why_it_matters", "Why it matters"),
    ("what_to_watch", "What to watch next"),
)
"""The four optional sections, as (field, card heading), in their fixed order."""


@dataclass(frozen=True, slots=True)
class BriefData:
    """One brief as parsed from any source, before it is stored."""

    title: str
    score: int
    category: str
    published_at: datetime  # always timezone-aware UTC
    tags: tuple[str, ...]
    summary: str | None = None
    what_happened: str | None = None
    technical_details: str | None = None
    why_it_matters: str | None = None
    what_to_watch: str | None = None
    url: str | None = None
    id: str | None = None  # the source's own id, when it gives one
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The brief in the JSON shape of the format README; absent fields are left out."""
        out: dict[str, Any] = {
            "title": self.title,
            "score": self.score,
            "category": self.category,
            "published_at": self.published_at.astimezone(UTC).isoformat(),
        }
        for name in ("summary", *(f for f, _ in SECTIONS)):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        out["tags"] = list(self.tags)
        if self.url is not None:
            out["url"] = self.url
        if self.id is not None:
            out["id"] = self.id
        return out


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware UTC datetimes on both SQLite and PostgreSQL, stored as naive UTC."""

    impl = sa.DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _ts(*, nullable: bool = False, index: bool = False, default_now: bool = False) -> Any:
    kwargs: dict[str, Any] = {"sa_type": UTCDateTime, "nullable": nullable, "index": index}
    if default_now:
        kwargs["default_factory"] = utcnow
    return Field(**kwargs)


class ChatType(StrEnum):
    PRIVATE = "private"
    GROUP = "group"
    SUPERGROUP = "supergroup"
    CHANNEL = "channel"


class Frequency(StrEnum):
    DAILY = "daily"
    WEEKDAYS = "weekdays"
    WEEKLY = "weekly"
    OFF = "off"


class OutboxKind(StrEnum):
    DIGEST = "digest"
    BROADCAST = "broadcast"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class BroadcastStatus(StrEnum):
    DRAFT = "draft"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class Brief(SQLModel, table=True):
    """One stored brief. ``id`` is ours (``/brief_ID``); ``source_id`` is the source's."""

    __tablename__ = "briefs"
    # AUTOINCREMENT on SQLite: ids are never reused, so "briefs after id N" stays true
    __table_args__ = (
        sa.Index("ix_briefs_title_published", "title", "published_at"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    source_id: str | None = Field(default=None, max_length=512, unique=True)
    title: str = Field(max_length=500)
    score: int = Field(index=True)
    category: str = Field(max_length=200)
    published_at: datetime = _ts(index=True)
    summary: str | None = Field(default=None, sa_type=sa.Text)
    what_happened: str | None = Field(default=None, sa_type=sa.Text)
    technical_details: str | None = Field(default=None, sa_type=sa.Text)
    why_it_matters: str | None = Field(default=None, sa_type=sa.Text)
    what_to_watch: str | None = Field(default=None, sa_type=sa.Text)
    url: str | None = Field(default=None, max_length=2048)
    # sha256 of the brief's canonical JSON, so re-ingesting an unchanged brief costs one read
    content_hash: str = Field(max_length=64)
    ingested_at: datetime = _ts(default_now=True, index=True)
    updated_at: datetime = _ts(default_now=True)


class Tag(SQLModel, table=True):
    __tablename__ = "tags"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True)


class BriefTag(SQLModel, table=True):
    __tablename__ = "brief_tags"

    brief_id: int = Field(foreign_key="briefs.id", primary_key=True, ondelete="CASCADE")
    tag_id: int = Field(foreign_key="tags.id", primary_key=True, index=True, ondelete="CASCADE")
    position: int = 0  # the order the source gave the tags in


class Chat(SQLModel, table=True):
    """A private chat, group or channel the bot talks to, with its digest settings."""

    __tablename__ = "chats"

    id: int = Field(
        sa_type=sa.BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    type: str = Field(default=ChatType.PRIVATE, max_length=16)
    title: str | None = Field(default=None, max_length=256)
    language: str | None = Field(default=None, max_length=16)
    timezone: str = Field(default="UTC", max_length=64)
    digest_time: str = Field(default="08:00", max_length=5)  # local HH:MM
    frequency: str = Field(default=Frequency.DAILY, max_length=16)
    weekly_day: int = 0  # Monday = 0, used when frequency is weekly
    min_score: int = 0
    digest_size: int = 10
    active: bool = True  # False once Telegram says we cannot reach it
    paused: bool = False  # the user's /stop
    # Digest window: briefs with last_brief_id < id <= window_end_id, best first;
    # window_shown of them have been sent, so "+N more: /digest" pages through the rest.
    last_brief_id: int = 0
    window_end_id: int = 0
    window_shown: int = 0
    last_digest_at: datetime | None = _ts(nullable=True)
    next_digest_at: datetime | None = _ts(nullable=True, index=True)
    created_at: datetime = _ts(default_now=True)
    # The ids of the tags it follows, "3,17,22": a copy of its subscriptions, kept by
    # store/chats.py (the bot's only writer of them) so planning reads a due chat's tags with
    # its row rather than looking them up chat by chat (a million lookups a day).
    tag_ids: str = Field(default="", sa_type=sa.Text, sa_column_kwargs={"server_default": ""})
    # /style compact: digest items without their gist line
    compact: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})


class Subscription(SQLModel, table=True):
    __tablename__ = "subscriptions"

    chat_id: int = Field(
        sa_type=sa.BigInteger, foreign_key="chats.id", primary_key=True, ondelete="CASCADE"
    )
    tag_id: int = Field(foreign_key="tags.id", primary_key=True, index=True, ondelete="CASCADE")
    created_at: datetime = _ts(default_now=True)


class Broadcast(SQLModel, table=True):
    __tablename__ = "broadcasts"

    id: int | None = Field(default=None, primary_key=True)
    admin_id: int = Field(sa_type=sa.BigInteger)
    text: str | None = Field(default=None, sa_type=sa.Text)
    # set when the admin broadcasts an existing message (sent with copyMessage)
    from_chat_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    from_message_id: int | None = None
    tag: str | None = Field(default=None, max_length=64)
    status: str = Field(default=BroadcastStatus.DRAFT, max_length=16)
    audience: int = 0
    # the admin's message with the Send/Cancel buttons, edited as sending goes
    status_message_id: int | None = None
    # JSON: the outcome counts, kept when it is done so reports need not recount rows
    counts: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = _ts(default_now=True)
    started_at: datetime | None = _ts(nullable=True)
    finished_at: datetime | None = _ts(nullable=True)

    def message(self) -> dict[str, Any]:
        """What each chat gets, as an outbox payload: HTML text, or a message to copy.

        Outbox rows of a broadcast hold only ``{"broadcast": id}``: a message to a
        million chats is stored once, not a million times.
        """
        if self.from_chat_id is not None and self.from_message_id is not None:
            return {"copy": {"from_chat_id": self.from_chat_id, "message_id": self.from_message_id}}
        return {"text": self.text or ""}


class Outbox(SQLModel, table=True):
    """One message to push; ``key`` makes each (chat, digest period / broadcast) unique."""

    __tablename__ = "outbox"
    # The sender claims "pending rows of one kind, oldest first": this index serves that
    # in order, however many rows wait or were sent before.
    # ix_outbox_chat_status: "does this chat have an earlier row still to send?", asked
    # for every row claimed, must not depend on the planner's row estimates.
    __table_args__ = (
        sa.Index("ix_outbox_claim", "status", "kind", "id"),
        # only where set: every digest row would otherwise add a NULL entry to each
        *(
            sa.Index(f"ix_outbox_{c}", c, sqlite_where=sa.text(w), postgresql_where=sa.text(w))
            for c, w in (
                ("broadcast_id", "broadcast_id IS NOT NULL"),
                ("sent_at", "sent_at IS NOT NULL"),
            )
        ),
        sa.Index("ix_outbox_chat_status", "chat_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, unique=True)
    chat_id: int = Field(sa_type=sa.BigInteger)
    kind: str = Field(max_length=16)
    part: int = 0  # a digest split into several messages has one row per part
    payload: str = Field(sa_type=sa.Text)  # JSON: what to send
    broadcast_id: int | None = Field(default=None, foreign_key="broadcasts.id")
    status: str = Field(default=OutboxStatus.PENDING, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = _ts(default_now=True)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = _ts(default_now=True)
    sent_at: datetime | None = _ts(nullable=True)  # /stats counts today's (indexed above)


class Feed(SQLModel, table=True):
    __tablename__ = "feeds"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2048, unique=True)
    etag: str | None = Field(default=None, max_length=512)
    last_modified: str | None = Field(default=None, max_length=128)
    last_success_at: datetime | None = _ts(nullable=True)
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    last_error_at: datetime | None = _ts(nullable=True)
    failures: int = 0
    next_poll_at: datetime | None = _ts(nullable=True)


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    admin_id: int = Field(sa_type=sa.BigInteger, index=True)
    action: str = Field(max_length=64)
    detail: str | None = Field(default=None, sa_type=sa.Text)
    audience: str | None = Field(default=None, max_length=128)
    counts: str | None = Field(default=None, sa_type=sa.Text)  # JSON
    created_at: datetime = _ts(default_now=True)


class KeyValue(SQLModel, table=True):
    """Small values the bot generates and keeps (e.g. a webhook secret)."""

    __tablename__ = "kv"

    key: str = Field(max_length=64, primary_key=True)
    value: str = Field(sa_type=sa.Text)


class FilterKind(StrEnum):
    MUTE = "mute"  # hide briefs holding the word or phrase
    ONLY = "only"  # keep only briefs holding one of the chat's ONLY words
    TAG = "tag"  # hide briefs with this tag (muted from a brief)
    SOURCE = "source"  # hide briefs whose link is on this host


class ChatFilter(SQLModel, table=True):
    """One of a chat's filters: ``term`` is the normalised form matching uses, ``text``
    what the reader typed (clipped), for listing."""

    __tablename__ = "chat_filters"
    __table_args__ = (sa.UniqueConstraint("chat_id", "kind", "term"),)

    id: int | None = Field(default=None, primary_key=True)
    chat_id: int = Field(
        sa_type=sa.BigInteger, foreign_key="chats.id", index=True, ondelete="CASCADE"
    )
    kind: str = Field(max_length=8)
    term: str = Field(max_length=256)
    text: str = Field(max_length=256)
    created_at: datetime = _ts(default_now=True)


class TagWeight(SQLModel, table=True):
    """A chat's feeling about a tag from its feedback: ``value`` as of ``updated_at``;
    it decays towards zero from then (see readers/feedback.py), so it is decayed on read."""

    __tablename__ = "tag_weights"

    chat_id: int = Field(
        sa_type=sa.BigInteger, foreign_key="chats.id", primary_key=True, ondelete="CASCADE"
    )
    tag: str = Field(max_length=64, primary_key=True)
    value: float = 0.0
    count: int = 0  # feedback presses on it, for "you liked #chips often"
    updated_at: datetime = _ts()
