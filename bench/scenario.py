"""The synthetic store ``bench/plan.py`` measures (issue 7's scenario, described in its
docstring): the measured day, the tags and their popularity, the chats' zones, digest
times and minimum scores, the briefs, and the bulk insert that fills the store.
``bench/yearstore.py`` builds its year store's chats from the same parts.

The store is built with bulk SQL on the migrated schema: chats and subscriptions go in
through the driver directly (``executemany`` of plain tuples on SQLite, ``COPY`` on
PostgreSQL), which keeps SQLAlchemy's per-row parameter processing out of a build of
millions of rows (each chat's ``tag_ids`` set as ``store.add_subscription`` keeps it;
PostgreSQL is then vacuumed, as its autovacuum would have); the briefs go through
``store.upsert_briefs``, as ingestion stores them (then their ``ingested_at`` is moved
to the night before the measured day, so they are "new" whatever day this runs).
Everything is drawn from the seed given, so every build is the same.
"""

from __future__ import annotations

import itertools
import os
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from digestbot import store
from digestbot.briefs.parse import BriefData
from digestbot.delivery.schedule import next_due
from digestbot.store import db
from digestbot.store.models import Brief, Chat
from digestbot.store.planning import SQLITE_PLACE_ALL

DAY = datetime(2026, 11, 27, tzinfo=UTC)  # the measured day (a Friday, no DST change)
BURST_DUE = DAY.replace(hour=8)  # the burst: every chat due at 08:00
INGESTED = DAY - timedelta(hours=6)  # when the 300 briefs arrived
CREATED = DAY - timedelta(days=30)
TAGS = [f"topic-{n:02d}" for n in range(40)]
MAX_TAGS_PER_CHAT = 8
BRIEFS = 300
CHUNK = 50_000  # chats generated and inserted at a time
# (zone, weight): roughly where a bot's users are, with the odd offsets that make UTC
# due moments fall on half and quarter hours (Kolkata, Kathmandu, St John's, Chatham...).
ZONES: list[tuple[str, float]] = [
    ("UTC", 4),
    ("Europe/London", 8),
    ("Europe/Berlin", 10),
    ("Europe/Moscow", 5),
    ("America/New_York", 12),
    ("America/Chicago", 6),
    ("America/Denver", 3),
    ("America/Los_Angeles", 8),
    ("America/Sao_Paulo", 5),
    ("America/St_Johns", 1),
    ("Asia/Kolkata", 10),
    ("Asia/Kathmandu", 1),
    ("Asia/Shanghai", 6),
    ("Asia/Tokyo", 5),
    ("Asia/Singapore", 3),
    ("Asia/Jakarta", 3),
    ("Asia/Dubai", 2),
    ("Asia/Tehran", 1),
    ("Africa/Lagos", 3),
    ("Africa/Nairobi", 2),
    ("Australia/Sydney", 3),
    ("Australia/Adelaide", 1),
    ("Pacific/Auckland", 1),
    ("Pacific/Chatham", 0.2),
]
MIN_SCORES: list[tuple[int, float]] = [(0, 60), (3, 5), (4, 5), (5, 10), (6, 10), (7, 6), (8, 4)]
CHAT_COLUMNS = (
    "id", "type", "title", "language", "timezone", "digest_time", "frequency", "weekly_day",
    "min_score", "digest_size", "active", "paused", "last_brief_id", "window_end_id",
    "window_shown", "last_digest_at", "next_digest_at", "created_at", "tag_ids",
)  # fmt: skip
SUB_COLUMNS = ("chat_id", "tag_id", "created_at")
FILTER_COLUMNS = ("chat_id", "kind", "term", "text", "created_at")
WEIGHT_COLUMNS = ("chat_id", "tag", "value", "count", "updated_at")
ADMIN_URL = os.environ.get(
    "DIGESTBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


class TagPicker:
    """Draws distinct tags: uniformly, or with Zipf-like popularity (weight 1/rank**skew)."""

    def __init__(self, rng: random.Random, skew: float) -> None:
        self.rng = rng
        self.skew = skew
        weights = [1 / (rank**skew) for rank in range(1, len(TAGS) + 1)]
        self.cum_weights = list(itertools.accumulate(weights))

    def pick(self, k: int) -> list[int]:
        if not self.skew:
            return self.rng.sample(range(len(TAGS)), k)
        chosen: dict[int, None] = {}  # ordered set
        while len(chosen) < k:
            for i in self.rng.choices(range(len(TAGS)), cum_weights=self.cum_weights, k=k):
                chosen.setdefault(i)
        return list(chosen)[:k]


def synthetic_briefs(picker: TagPicker) -> list[BriefData]:
    rng = picker.rng
    briefs = []
    for n in range(BRIEFS):
        tags = tuple(TAGS[i] for i in picker.pick(rng.randint(2, 4)))
        briefs.append(
            BriefData(
                id=f"bench-{n}",
                title=f"Synthetic brief {n}: a model, a chip and a policy walk into a lab",
                score=rng.randint(1, 10),
                category=rng.choice(["Research", "Industry", "Policy", "Open source"]),
                published_at=INGESTED - timedelta(minutes=BRIEFS - n),
                tags=tags,
                summary=f"What brief {n} says, in two sentences. It is synthetic.",
                what_happened="Something happened that the benchmark made up.",
                why_it_matters="It makes the planner assemble a realistic digest.",
                what_to_watch="Whether the planner keeps up.",
                url=f"https://example.org/briefs/{n}",
            )
        )
    return briefs


class ChatMaker:
    """Draws each chat's settings and tags, and knows its first digest moment of the day."""

    def __init__(self, rng: random.Random, picker: TagPicker) -> None:
        self.rng = rng
        self.picker = picker
        self.zones = [zone for zone, _ in ZONES]
        self.zone_weights = list(itertools.accumulate(w for _, w in ZONES))
        self.scores = [score for score, _ in MIN_SCORES]
        self.score_weights = list(itertools.accumulate(w for _, w in MIN_SCORES))
        self._due: dict[tuple[str, str], datetime] = {}

    def digest_time(self) -> str:
        rng = self.rng
        draw = rng.random()
        if draw < 0.40:
            return "08:00"
        if draw < 0.60:
            return f"{rng.randint(6, 22):02d}:00"
        if draw < 0.85:
            return f"{rng.randrange(24):02d}:{rng.choice((0, 15, 30, 45)):02d}"
        return f"{rng.randrange(24):02d}:{rng.randrange(60):02d}"

    def first_due(self, zone: str, at: str) -> datetime:
        """The chat's first digest at or after the day's start (once per zone and time)."""
        key = (zone, at)
        if key not in self._due:
            due = next_due(
                after=DAY - timedelta(microseconds=1),
                digest_time=at,
                timezone=zone,
                frequency="daily",
            )
            assert due is not None and DAY <= due < DAY + timedelta(days=1)
            self._due[key] = due
        return self._due[key]

    def chat(self, chat_id: int) -> tuple[dict[str, Any], list[int]]:
        """One chat's column values and the indexes (into TAGS) of the tags it follows."""
        rng = self.rng
        zone = rng.choices(self.zones, cum_weights=self.zone_weights)[0]
        at = self.digest_time()
        values = {
            "id": chat_id,
            "type": "private",
            "title": None,
            "language": "en",
            "timezone": zone,
            "digest_time": at,
            "frequency": "daily",
            "weekly_day": 0,
            "min_score": rng.choices(self.scores, cum_weights=self.score_weights)[0],
            "digest_size": 10,
            "active": True,
            "paused": False,
            "last_brief_id": 0,
            "window_end_id": 0,
            "window_shown": 0,
            "last_digest_at": None,
            "next_digest_at": self.first_due(zone, at),
            "created_at": CREATED,
        }
        return values, self.picker.pick(rng.randint(1, MAX_TAGS_PER_CHAT))


def _naive(value: Any) -> Any:
    """Stored the way ``models.UTCDateTime`` stores it: naive UTC."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _sqlite_value(value: Any) -> Any:
    # SQLAlchemy's SQLite DateTime format: schedules are compared as these strings.
    if isinstance(value, datetime):
        return _naive(value).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, bool):
        return int(value)
    return value


async def _bulk_insert(
    conn: Any, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """Insert plain tuples through the driver itself, skipping SQLAlchemy's per-row work."""
    if conn.dialect.name == "postgresql":
        raw = await conn.get_raw_connection()
        pg = raw.driver_connection
        await pg.copy_records_to_table(
            table, records=[tuple(_naive(v) for v in row) for row in rows], columns=columns
        )
    else:
        marks = ", ".join("?" for _ in columns)
        await conn.exec_driver_sql(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
            [tuple(_sqlite_value(v) for v in row) for row in rows],
        )


def shaping_rows(
    chat_id: int, rng: random.Random, picker: TagPicker, *, filters: float, weights: float
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """A chat's filters and tag weights (issue 16), each with the chance given: 1-3
    filters (60% mute a brief's number, which hides that brief; 25% mute a tag; 15%
    only a tag's words) and 1-4 tag weights in [-3, 3] set in the last 30 days. Drawn
    from their own generator, so the chats themselves stay those of a run without."""
    filter_rows: list[tuple[Any, ...]] = []
    weight_rows: list[tuple[Any, ...]] = []
    if rng.random() < filters:
        seen = set()
        for _ in range(rng.randint(1, 3)):
            roll = rng.random()
            if roll < 0.6:
                kind, term = "mute", str(rng.randrange(BRIEFS))
            elif roll < 0.85:
                kind, term = "tag", TAGS[picker.pick(1)[0]]
            else:
                kind, term = "only", TAGS[picker.pick(1)[0]].replace("-", " ")
            if (kind, term) not in seen:
                seen.add((kind, term))
                filter_rows.append((chat_id, kind, term, term, CREATED))
    if rng.random() < weights:
        for i in picker.pick(rng.randint(1, 4)):
            at = DAY - timedelta(minutes=rng.randrange(30 * 24 * 60))
            weight_rows.append((chat_id, TAGS[i], rng.uniform(-3, 3), rng.randint(1, 9), at))
    return filter_rows, weight_rows


async def build_store(
    url: str,
    chats: int,
    *,
    skew: float,
    seed: int,
    filters: float = 0.0,
    weights: float = 0.0,
) -> None:
    """Migrate an empty database and fill it: tags, 300 briefs, ``chats`` chats (the
    ``filters`` and ``weights`` fractions of them with filters and tag weights)."""
    engine = db.create_engine(url)
    try:
        await db.upgrade(engine)
        sessions = db.session_factory(engine)
        picker = TagPicker(random.Random(seed), skew)
        async with db.session_scope(sessions) as session:
            tag_ids = await store.ensure_tags(session=session, slugs=TAGS)
            await store.upsert_briefs(session=session, briefs=synthetic_briefs(picker))
            # "new" on the planner's clock, not on the wall clock of the day this runs
            await session.exec(sa.update(Brief).values(ingested_at=INGESTED, updated_at=INGESTED))
        ids = [tag_ids[slug] for slug in TAGS]
        maker = ChatMaker(picker.rng, picker)
        shaping_rng = random.Random(seed + 1)
        shaping_picker = TagPicker(shaping_rng, skew)
        async with engine.begin() as conn:
            for first in range(1, chats + 1, CHUNK):
                chat_rows: list[tuple[Any, ...]] = []
                sub_rows: list[tuple[Any, ...]] = []
                filter_rows: list[tuple[Any, ...]] = []
                weight_rows: list[tuple[Any, ...]] = []
                for chat_id in range(first, min(first + CHUNK, chats + 1)):
                    values, tags = maker.chat(chat_id)
                    # the copy of its subscriptions store.py keeps (see models.Chat.tag_ids)
                    values["tag_ids"] = ",".join(str(t) for t in sorted(ids[i] for i in tags))
                    chat_rows.append(tuple(values[name] for name in CHAT_COLUMNS))
                    sub_rows.extend((chat_id, ids[i], CREATED) for i in tags)
                    if filters or weights:
                        found, weighed = shaping_rows(
                            chat_id, shaping_rng, shaping_picker, filters=filters, weights=weights
                        )
                        filter_rows += found
                        weight_rows += weighed
                await _bulk_insert(conn, "chats", CHAT_COLUMNS, chat_rows)
                await _bulk_insert(conn, "subscriptions", SUB_COLUMNS, sub_rows)
                if filter_rows:
                    await _bulk_insert(conn, "chat_filters", FILTER_COLUMNS, filter_rows)
                if weight_rows:
                    await _bulk_insert(conn, "tag_weights", WEIGHT_COLUMNS, weight_rows)
            if conn.dialect.name == "sqlite":  # rows where the bot keeps them (store.place_chats)
                await conn.exec_driver_sql(SQLITE_PLACE_ALL)
        if engine.dialect.name == "postgresql":
            # what a production server's autovacuum keeps: statistics, and the visibility
            # map (index-only scans)
            async with engine.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(sa.text("VACUUM ANALYZE"))
    finally:
        await engine.dispose()


async def make_burst(url: str) -> None:
    """Turn a copy of the store into the burst scenario: every chat due at 08:00."""
    engine = db.create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.update(Chat).values(next_digest_at=BURST_DUE))
    finally:
        await engine.dispose()
