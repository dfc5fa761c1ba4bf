"""SQLModel tables, and :class:`BriefData`, the parsed form of a brief every layer shares.

Every timestamp is stored as naive UTC and read back as aware UTC.

Tables: briefs and their tags (many-to-many, order kept) and sources (the links and
feeds a brief came from), chats and their subscriptions, the outbox every pushed
message goes through, broadcasts, feeds (with their default tags), the admin audit
log, and a small key/value table for values the bot keeps itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

if TYPE_CHECKING:
    from alembic.runtime.environment import NameFilterParentNames, NameFilterType

# Integer columns are 32-bit on PostgreSQL: a bigger id or number would be refused by
# the database, so input beyond these is rejected before it gets there.
MAX_INT32 = 2**31 - 1
MAX_BRIEF_ID = MAX_INT32  # briefs.id
DEFAULT_QUIET_HOURS = "22:00-07:00"  # chats.quiet_hours: no alerts then, local time

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
    ALERT = "alert"  # one brief pushed at once (see delivery/alerts.py); claimed first


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


# A row still to send, and one that is not, as the indexes by chat (see Outbox) are
# partial: a query that reads one must carry the same condition, written the same way
# (literal values: a partial index serves a statement only if its condition follows
# from the statement's own, whatever is bound to it), see :func:`waiting`.
WAITING_STATUSES = (OutboxStatus.PENDING, OutboxStatus.SENDING)
_WAITING_LIST = ", ".join(f"'{s.value}'" for s in WAITING_STATUSES)
WAITING = f"status IN ({_WAITING_LIST})"
DONE = f"status NOT IN ({_WAITING_LIST})"


def waiting(status: Any, *, done: bool = False) -> Any:
    """The condition of ix_outbox_chat_waiting (``done``: ix_outbox_chat_done) on an
    outbox table's (or alias's) ``status`` column, with literal values."""
    values: list[Any] = [sa.literal_column(f"'{s.value}'") for s in WAITING_STATUSES]
    return status.not_in(values) if done else status.in_(values)


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
        # /search shows matches best scored, then newest, first (see store.search)
        sa.Index("ix_briefs_rank", "score", "published_at", "id"),
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
    # The title normalised (see store/briefs.py title_key): a story two feeds word alike
    # within 48 hours is one brief.
    title_key: str | None = Field(default=None, max_length=500, index=True)
    # sha256 of the brief's canonical JSON, so re-ingesting an unchanged brief costs one read
    content_hash: str = Field(max_length=64)
    ingested_at: datetime = _ts(default_now=True, index=True)
    updated_at: datetime = _ts(default_now=True)
    # Its tag slugs, space-separated: a copy of brief_tags that the full-text index reads,
    # since an index (SQLite's FTS5 triggers, PostgreSQL's generated column) sees one row.
    tag_text: str = Field(default="", sa_type=sa.Text, sa_column_kwargs={"server_default": ""})


# What migration 0004 builds for full-text search, beside the tables above: SQLAlchemy has
# no model for an FTS5 virtual table (nor its shadow tables) or for a generated tsvector
# column, so comparing the models with the database skips them (store.search queries them).
SEARCH_OBJECTS: frozenset[tuple[str, str]] = frozenset(
    {
        ("column", "search"),
        ("column", "search_title"),
        ("index", "ix_briefs_search"),
        ("index", "ix_briefs_search_title"),
    }
)


def is_model_object(
    name: str | None, type_: NameFilterType, _parents: NameFilterParentNames
) -> bool:
    """Alembic's ``include_name`` hook: False for the full-text search objects."""
    if type_ == "table" and name is not None and name.startswith("briefs_fts"):
        return False
    return (type_, name or "") not in SEARCH_OBJECTS


class BriefSource(SQLModel, table=True):
    """Where a brief came from: its link, and the feed that carried it (when one did).

    One brief may have several: the same story from two feeds is stored once.
    """

    __tablename__ = "brief_sources"
    # A hash index on PostgreSQL: a btree refuses keys over ~2.7 kB, a long link is not.
    __table_args__ = (sa.Index("ix_brief_sources_url", "url", postgresql_using="hash"),)

    id: int | None = Field(default=None, primary_key=True)
    brief_id: int = Field(foreign_key="briefs.id", index=True, ondelete="CASCADE")
    # a removed feed leaves its briefs, and their links, in place
    feed_id: int | None = Field(
        default=None, foreign_key="feeds.id", index=True, ondelete="SET NULL"
    )
    url: str | None = Field(default=None, max_length=2048)


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
    digest_time: str = Field(default="08:00", max_length=5)  # local HH:MM (the first)
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
    # Several digests a day: every local time, "08:00,18:00" (sorted, the first being
    # digest_time), or "" for digest_time alone. A column of its own rather than a wider
    # digest_time, which SQLite could only get by rebuilding chats (see migration 0003).
    digest_times: str = Field(default="", max_length=17, sa_column_kwargs={"server_default": ""})
    # Instant alerts (delivery/alerts.py): a brief scoring at least alert_score (None: off)
    # on the chat's tags is pushed at once, at most alert_max a local day (alert_day,
    # "YYYY-MM-DD", had alert_count of them), never in quiet_hours ("22:00-07:00" local;
    # "": none). alerted_ids ("41,57") are the briefs alerted since the digest cursor, so
    # the next digest leaves them out.
    alert_score: int | None = None
    alert_max: int = Field(default=3, sa_column_kwargs={"server_default": "3"})
    alert_day: str = Field(default="", max_length=10, sa_column_kwargs={"server_default": ""})
    alert_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    alerted_ids: str = Field(default="", sa_type=sa.Text, sa_column_kwargs={"server_default": ""})
    quiet_hours: str = Field(
        default=DEFAULT_QUIET_HOURS,
        max_length=11,
        sa_column_kwargs={"server_default": DEFAULT_QUIET_HOURS},
    )

    def times(self) -> str:
        """Its digest times, "08:00" or "08:00,18:00" (what schedule.py takes)."""
        return self.digest_times or self.digest_time

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
    # ix_outbox_chat_waiting: "does this chat have an earlier row still to send?", asked
    # for every row claimed, must not depend on the planner's row estimates. It holds
    # the rows still to send alone (the queue, not weeks of history): every digest
    # planned adds an entry at its chat's place, and in an index of every row that place
    # was a page of its own to write, for most rows (most of the writes of a year
    # store's day: bench/RESULTS.md, issue 19). ix_outbox_chat_done holds the rest, for
    # what reads all of a chat's rows (/forget; a group becoming a supergroup): the
    # sender now moves a row from one to the other when it is sent, at 25 a second,
    # rather than the planner adding it in bursts of thousands.
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
        *(
            sa.Index(name, "chat_id", sqlite_where=sa.text(w), postgresql_where=sa.text(w))
            for name, w in (("ix_outbox_chat_waiting", WAITING), ("ix_outbox_chat_done", DONE))
        ),
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
    # digests only: from the row's due moment (when the planner queued it) to when
    # Telegram accepted it; /stats and /metrics show it
    lateness_ms: int | None = None


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
    # What its entries get when they say nothing (admins set them: /feed add, the CLI):
    # tags "rust,llm" for entries naming none, and the category and score that replace
    # the generic feed defaults.
    tags: str = Field(default="", sa_type=sa.Text, sa_column_kwargs={"server_default": ""})
    category: str | None = Field(default=None, max_length=200)
    score: int | None = None
    paused: bool = Field(default=False, sa_column_kwargs={"server_default": sa.false()})

    @property
    def tag_list(self) -> list[str]:
        return [t for t in self.tags.split(",") if t]


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


class Channel(SQLModel, table=True):
    """A channel the bot was made admin of, and who did it (from the ``my_chat_member``
    update): /channels offers it to them. The digest settings live in its ``chats`` row."""

    __tablename__ = "channels"

    chat_id: int = Field(
        sa_type=sa.BigInteger,
        foreign_key="chats.id",
        primary_key=True,
        ondelete="CASCADE",
        sa_column_kwargs={"autoincrement": False},
    )
    added_by: int = Field(sa_type=sa.BigInteger, index=True)
    created_at: datetime = _ts(default_now=True)


class Managing(SQLModel, table=True):
    """Whose private chat manages which channel (/channels), until "back to me"."""

    __tablename__ = "managing"

    user_id: int = Field(
        sa_type=sa.BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    chat_id: int = Field(sa_type=sa.BigInteger, foreign_key="chats.id", ondelete="CASCADE")


class SavedBrief(SQLModel, table=True):
    """A brief a user kept with the Save button (/saved)."""

    __tablename__ = "saved_briefs"

    user_id: int = Field(
        sa_type=sa.BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    brief_id: int = Field(foreign_key="briefs.id", primary_key=True, ondelete="CASCADE")
    saved_at: datetime = _ts(default_now=True)


class TagShare(SQLModel, table=True):
    """A /share link's tags, behind a short code (a start payload holds 64 characters)."""

    __tablename__ = "tag_shares"

    code: str = Field(max_length=16, primary_key=True)
    chat_id: int = Field(sa_type=sa.BigInteger, index=True)  # whose tags; /forget deletes
    tags: str = Field(sa_type=sa.Text)  # "chips,rust"
    created_at: datetime = _ts(default_now=True)
