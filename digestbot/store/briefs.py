"""Briefs: storing them (added, updated or unchanged), and finding them for readers."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from digestbot.store.models import (
    SECTIONS,
    Brief,
    BriefData,
    BriefSource,
    BriefTag,
    Feed,
    KeyValue,
    Tag,
    utcnow,
)
from digestbot.store.sql import CHUNK, chunks, dialect_insert
from digestbot.store.tags import ensure_tags


class Outcome(StrEnum):
    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    MERGED = "merged"  # the story of a brief already stored: it gains a source instead


SAME_STORY_WINDOW = timedelta(hours=48)
"""Feed entries titled alike this close together are one story, whatever their links."""
_NOT_WORD = re.compile(r"[\W_]+")


def title_key(title: str) -> str:
    """A title as stories are matched by: case, accents' forms, punctuation and spacing
    do not count ("OpenAI's GPT-5 — out!" and "openai s gpt 5 out" are one)."""
    folded = unicodedata.normalize("NFKC", title).casefold()
    return " ".join(_NOT_WORD.sub(" ", folded).split())[:500]


@dataclass(frozen=True, slots=True)
class Source:
    """Where a brief came from: its link, and the feed that carried it, if any."""

    url: str | None
    feed_url: str | None


@dataclass(frozen=True, slots=True)
class Item:
    """A stored brief: our id (what ``/brief_ID`` uses) and its parsed fields."""

    id: int
    brief: BriefData


def content_hash(brief: BriefData) -> str:
    """A fingerprint of everything a brief says, to tell a changed brief from a re-sent one."""
    canonical = json.dumps(brief.to_dict(), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _brief_values(data: BriefData, digest: str) -> dict[str, Any]:
    values: dict[str, Any] = {
        "source_id": data.id,
        "title": data.title,
        "score": data.score,
        "category": data.category,
        "published_at": data.published_at,
        "summary": data.summary,
        "url": data.url,
        "title_key": title_key(data.title),
        "content_hash": digest,
        "tag_text": " ".join(data.tags),  # what full-text search reads (see models.Brief)
    }
    for name, _heading in SECTIONS:
        values[name] = getattr(data, name)
    return values


async def _find_existing(
    session: AsyncSession, briefs: Sequence[BriefData]
) -> tuple[dict[str, Brief], dict[tuple[str, datetime], Brief]]:
    by_source: dict[str, Brief] = {}
    by_title: dict[tuple[str, datetime], Brief] = {}
    source_ids = sorted({b.id for b in briefs if b.id is not None})
    for chunk in chunks(source_ids):
        for row in await session.exec(select(Brief).where(col(Brief.source_id).in_(chunk))):
            by_source[row.source_id or ""] = row
    titles = sorted({b.title for b in briefs})
    for chunk in chunks(titles):
        for row in await session.exec(select(Brief).where(col(Brief.title).in_(chunk))):
            by_title[(row.title, row.published_at)] = row
    return by_source, by_title


class _Stories:
    """Stored briefs a feed entry may be the story of: by its link or its title."""

    def __init__(self) -> None:
        self.by_url: dict[str, Brief] = {}
        self.by_key: dict[str, list[Brief]] = {}

    async def load(self, session: AsyncSession, briefs: Sequence[BriefData]) -> None:
        urls = sorted({b.url for b in briefs if b.url})
        for chunk in chunks(urls):
            stmt = (
                select(BriefSource.url, Brief)
                .join(Brief, col(Brief.id) == col(BriefSource.brief_id))
                .where(col(BriefSource.url).in_(chunk))
                .order_by(col(Brief.id))
            )
            for url, row in await session.exec(stmt):
                self.by_url.setdefault(url or "", row)
        keys = sorted({title_key(b.title) for b in briefs})
        for chunk in chunks(keys):
            stmt2 = select(Brief).where(col(Brief.title_key).in_(chunk)).order_by(col(Brief.id))
            for row in await session.exec(stmt2):
                self.add(row)

    def add(self, row: Brief) -> None:
        if row.url:
            self.by_url.setdefault(row.url, row)
        self.by_key.setdefault(row.title_key or title_key(row.title), []).append(row)

    def find(self, data: BriefData) -> Brief | None:
        if data.url and (row := self.by_url.get(data.url)) is not None:
            return row
        for row in self.by_key.get(title_key(data.title), []):
            if abs(row.published_at - data.published_at) <= SAME_STORY_WINDOW:
                return row
        return None


async def upsert_briefs(
    *, session: AsyncSession, briefs: Sequence[BriefData], feed_id: int | None = None
) -> list[Outcome]:
    """Store briefs, one outcome each: a known brief is updated only when it changed.

    A brief is known by its source id, or else by the same title and publish time.
    Entries of a feed (``feed_id``) are also matched to the story they tell: a brief
    stored with the same link, or a title the same once normalised within 48 hours,
    gains this feed and link as a source (``MERGED``) rather than a twin.
    """
    if session.get_bind().dialect.name == "postgresql":
        # One ingestion at a time, so brief ids become visible in the order they are
        # given: digests take "every id above the last one seen" and must not skip any.
        conn = await session.connection()
        await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(74100001)))
    by_source, by_title = await _find_existing(session, briefs)
    stories = _Stories()
    if feed_id is not None:
        await stories.load(session, briefs)
    tag_ids = await ensure_tags(session=session, slugs=(t for b in briefs for t in b.tags))
    outcomes: list[Outcome] = []
    now = utcnow()
    # Every brief added or changed, with its tags (by object: a new one has no id yet),
    # and the stored ones whose old tags go: written at the end, so a batch costs a few
    # statements (one INSERT of all the new briefs) rather than a few per brief.
    tagged: dict[int, tuple[Brief, Sequence[str]]] = {}
    retagged: list[int] = []
    sources: list[tuple[Brief, str | None]] = []  # (brief, link) of each entry stored
    merges: dict[int, int] = {}  # outcome index -> its sources index
    for data in briefs:
        digest = content_hash(data)
        row = (by_source.get(data.id) if data.id is not None else None) or by_title.get(
            (data.title, data.published_at)
        )
        if row is None and feed_id is not None and (story := stories.find(data)) is not None:
            merges[len(outcomes)] = len(sources)
            sources.append((story, data.url))
            outcomes.append(Outcome.MERGED)  # UNCHANGED below when the source is known
            continue
        if row is not None and (data.url or feed_id is not None):
            sources.append((row, data.url))
        if row is not None and row.content_hash == digest:
            outcomes.append(Outcome.UNCHANGED)
            continue
        values = _brief_values(data, digest)
        if row is None:
            row = Brief(**values, ingested_at=now, updated_at=now)
            session.add(row)  # the ORM inserts them in this order: ids follow the input's
            outcomes.append(Outcome.ADDED)
            if data.url or feed_id is not None:
                sources.append((row, data.url))
        else:
            if row.source_id is not None and data.id is None:
                values["source_id"] = row.source_id  # a card re-ingested without its id
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = now
            if row.id is not None:  # stored before this batch (else added earlier in it)
                retagged.append(row.id)
            outcomes.append(Outcome.UPDATED)
        tagged[id(row)] = (row, data.tags)
        if row.source_id:
            by_source[row.source_id] = row
        by_title[(row.title, row.published_at)] = row
        stories.add(row)
    for chunk in chunks(retagged):
        await session.exec(sa.delete(BriefTag).where(col(BriefTag.brief_id).in_(chunk)))
    await session.flush()  # assigns the new briefs' ids
    links = [
        {"brief_id": row.id, "tag_id": tag_ids[slug], "position": i}
        for row, tags in tagged.values()
        for i, slug in enumerate(tags)
    ]
    if links:  # Core, not ORM objects: building those cost more than storing them
        conn = await session.connection()
        await conn.execute(sa.insert(BriefTag.__table__), links)  # type: ignore[attr-defined]
    fresh = await _add_sources(session, sources, feed_id)
    for index, source in merges.items():
        if not fresh[source]:  # this feed told the story before: no news
            outcomes[index] = Outcome.UNCHANGED
    if any(o not in (Outcome.UNCHANGED, Outcome.MERGED) for o in outcomes):
        await _bump_revision(session)
    return outcomes


async def _add_sources(
    session: AsyncSession, sources: Sequence[tuple[Brief, str | None]], feed_id: int | None
) -> list[bool]:
    """Store each (brief, link) as a source of the brief, from ``feed_id``, unless it is
    one already; for each, whether it was new (in order, for the merged outcomes)."""
    ids = sorted({row.id for row, _ in sources if row.id is not None})
    known: set[tuple[int, int | None, str | None]] = set()
    for chunk in chunks(ids):
        stmt = select(BriefSource.brief_id, BriefSource.feed_id, BriefSource.url).where(
            col(BriefSource.brief_id).in_(chunk)
        )
        known.update(await session.exec(stmt))
    fresh: list[bool] = []
    rows: list[dict[str, object]] = []
    for row, url in sources:
        assert row.id is not None
        key = (row.id, feed_id, url)
        fresh.append(key not in known)
        if key not in known:
            known.add(key)
            rows.append({"brief_id": row.id, "feed_id": feed_id, "url": url})
    if rows:
        conn = await session.connection()
        await conn.execute(sa.insert(BriefSource.__table__), rows)  # type: ignore[attr-defined]
    return fresh


async def sources_of(*, session: AsyncSession, brief_id: int) -> list[Source]:
    """Where a brief came from, first known first."""
    stmt = (
        select(BriefSource.url, Feed.url)
        .outerjoin(Feed, col(Feed.id) == col(BriefSource.feed_id))
        .where(col(BriefSource.brief_id) == brief_id)
        .order_by(col(BriefSource.id))
    )
    return [Source(url, feed_url) for url, feed_url in await session.exec(stmt)]


BRIEFS_REVISION = "briefs_rev"


async def _bump_revision(session: AsyncSession) -> None:
    """Count every change to the briefs, in the changing transaction: the planner keeps
    briefs between ticks while this stays the same. A counter, not a time stamp, so an
    edit from a process whose clock is behind is never mistaken for no change."""
    table = KeyValue.__table__  # type: ignore[attr-defined]
    insert = dialect_insert(session, table).values(key=BRIEFS_REVISION, value="1")
    bumped = sa.cast(sa.cast(table.c.value, sa.Integer) + 1, sa.Text)
    conn = await session.connection()
    await conn.execute(insert.on_conflict_do_update(index_elements=["key"], set_={"value": bumped}))


async def count_briefs(*, session: AsyncSession) -> int:
    return (await session.exec(select(sa.func.count()).select_from(Brief))).one()


async def tags_of(*, session: AsyncSession, brief_ids: Sequence[int]) -> dict[int, list[str]]:
    """Tag slugs of each brief, in the order the source gave them."""
    out: dict[int, list[str]] = {brief_id: [] for brief_id in brief_ids}
    for chunk in chunks(list(brief_ids)):
        stmt = (
            select(BriefTag.brief_id, Tag.slug)
            .join(Tag, col(Tag.id) == col(BriefTag.tag_id))
            .where(col(BriefTag.brief_id).in_(chunk))
            .order_by(col(BriefTag.brief_id), col(BriefTag.position))
        )
        for brief_id, slug in await session.exec(stmt):
            out[brief_id].append(slug)
    return out


def to_brief_data(row: Brief, tags: Sequence[str]) -> BriefData:
    """The stored brief in its parsed form (what export writes)."""
    return BriefData(
        title=row.title,
        score=row.score,
        category=row.category,
        published_at=row.published_at,
        tags=tuple(tags),
        summary=row.summary,
        what_happened=row.what_happened,
        technical_details=row.technical_details,
        why_it_matters=row.why_it_matters,
        what_to_watch=row.what_to_watch,
        url=row.url,
        id=row.source_id,
    )


async def iter_briefs(*, session: AsyncSession, batch: int = CHUNK) -> AsyncIterator[BriefData]:
    """Every stored brief, oldest first, in batches so memory stays flat."""
    after = 0
    while True:
        stmt = select(Brief).where(col(Brief.id) > after).order_by(col(Brief.id)).limit(batch)
        rows = list(await session.exec(stmt))
        if not rows:
            return
        ids = [r.id for r in rows if r.id is not None]
        tags = await tags_of(session=session, brief_ids=ids)
        for row in rows:
            assert row.id is not None
            yield to_brief_data(row, tags[row.id])
        after = ids[-1]


async def get_item(*, session: AsyncSession, brief_id: int) -> Item | None:
    """One brief with its tags, or None."""
    row = await session.get(Brief, brief_id)
    if row is None or row.id is None:
        return None
    tags = await tags_of(session=session, brief_ids=[row.id])
    return Item(row.id, to_brief_data(row, tags[row.id]))


async def items_by_ids(*, session: AsyncSession, brief_ids: Iterable[int]) -> dict[int, Item]:
    """The briefs with these ids that exist, with their tags, by id."""
    out: dict[int, Item] = {}
    for chunk in chunks(sorted(set(brief_ids))):
        rows = (await session.exec(select(Brief).where(col(Brief.id).in_(chunk)))).all()
        out.update((item.id, item) for item in await _items(session, rows))
    return out


async def _items(session: AsyncSession, rows: Sequence[Brief]) -> list[Item]:
    # The tags from the row's own copy of them (``tag_text``, in the source's order, kept
    # with brief_tags by upsert_briefs), not a second query of brief_tags: every digest,
    # summary and watch list reads its briefs here, and on a busy SQLite each statement
    # is a round trip to its thread (~1 ms; bench/RESULTS.md, issue 19).
    del session  # kept in the signature: callers pass the session their rows came from
    return [Item(r.id, to_brief_data(r, r.tag_text.split())) for r in rows if r.id is not None]


async def max_brief_id(*, session: AsyncSession) -> int:
    newest: int | None = (await session.exec(select(sa.func.max(Brief.id)))).one()
    return newest or 0


async def first_brief_since(*, session: AsyncSession, newest_id: int, days: int) -> int:
    """The id just before the first brief ingested within ``days`` days of brief
    ``newest_id``'s ingestion: what a digest window may reach back to (0: the first)."""
    stamp = (
        await session.exec(select(Brief.ingested_at).where(col(Brief.id) == newest_id))
    ).first()
    if stamp is None:
        return 0
    since = stamp - timedelta(days=days)
    first: int | None = (
        # id + 0: read through ix_briefs_ingested_at, not the primary key from the
        # oldest brief (see planning.brief_window)
        await session.exec(
            select(sa.func.min(col(Brief.id) + 0)).where(col(Brief.ingested_at) >= since)
        )
    ).one()
    return max(0, (first or 1) - 1)


async def _tag_ids(
    session: AsyncSession, tags: Sequence[str] | None, ids: Sequence[int] | None = None
) -> list[int] | None:
    """The ids of the tags that exist among ``tags`` (None: no tag filter), or ``ids``
    as given when there are no slugs (a chat's ``tag_ids``: no lookup)."""
    if tags is None:
        return None if ids is None else list(ids)
    rows = await session.exec(select(Tag.id).where(col(Tag.slug).in_(list(tags))))
    return [i for i in rows if i is not None]


# find_items' and count_items' statements, built once for each shape of filter (which
# filters are given, which order) and run with the filters' values as parameters.
# Building a select and its cache key for every call cost the bot about as much CPU as
# executing it (a py-spy profile of bench/commands.py; bench/RESULTS.md, 8 Dec 2026).
_SHAPES: dict[tuple[object, ...], Any] = {}  # Any: sqlmodel types exec() for its own selects

# What an Item is made of, read as plain rows: ORM Brief objects (identity map, state,
# instrumented attributes) cost CPU for every row, only to be copied into Items.
_ITEM_COLUMNS = tuple(
    Brief.__table__.c[name]  # type: ignore[attr-defined]
    for name in (
        "id",
        "source_id",
        "title",
        "score",
        "category",
        "published_at",
        "summary",
        "what_happened",
        "technical_details",
        "why_it_matters",
        "what_to_watch",
        "url",
        "tag_text",
    )
)
_ORDERS = {
    "best": (col(Brief.score).desc(), col(Brief.published_at).desc(), col(Brief.id).desc()),
    "latest": (col(Brief.published_at).desc(), col(Brief.id).desc()),
}


def _row_item(
    brief_id: int,
    source_id: str | None,
    title: str,
    score: int,
    category: str,
    published_at: datetime,
    summary: str | None,
    what_happened: str | None,
    technical_details: str | None,
    why_it_matters: str | None,
    what_to_watch: str | None,
    url: str | None,
    tag_text: str,
) -> Item:
    """An Item from a row of ``_ITEM_COLUMNS``, by position: a row's attributes by name
    cost a lookup each, as much as the rest of turning a page of rows into Items."""
    return Item(
        brief_id,
        BriefData(
            title=title,
            score=score,
            category=category,
            published_at=published_at,
            tags=tuple(tag_text.split()),
            summary=summary,
            what_happened=what_happened,
            technical_details=technical_details,
            why_it_matters=why_it_matters,
            what_to_watch=what_to_watch,
            url=url,
            id=source_id,
        ),
    )


def _filtered(
    stmt: sa.Select[Any],
    *,
    tag_ids: bool,
    min_score: bool,
    after_id: bool,
    upto_id: bool,
    published_after: bool,
) -> sa.Select[Any]:
    """``stmt`` with the filters that are given, each on a parameter of its name."""
    if published_after:
        stmt = stmt.where(col(Brief.published_at) >= sa.bindparam("published_after"))
    if tag_ids:
        # Per brief, "has one of these tags?" (EXISTS), not "id IN (every brief on the
        # tags)": SQLite then walks the ordering's index and stops at the limit, where
        # the IN list made it gather and sort every brief of a popular tag (a year of
        # briefs: /summary 545 ms → 0.04 ms; PostgreSQL plans both alike).
        stmt = stmt.where(
            sa.exists().where(
                col(BriefTag.brief_id) == col(Brief.id),
                col(BriefTag.tag_id).in_(sa.bindparam("tag_ids", expanding=True)),
            )
        )
    if min_score:
        stmt = stmt.where(col(Brief.score) >= sa.bindparam("min_score"))
    if after_id:
        stmt = stmt.where(col(Brief.id) > sa.bindparam("after_id"))
    if upto_id:
        stmt = stmt.where(col(Brief.id) <= sa.bindparam("upto_id"))
    return stmt


def _window(
    tag_ids: list[int] | None,
    min_score: int,
    after_id: int | None,
    upto_id: int | None,
    published_after: datetime | None,
) -> tuple[tuple[bool, ...], dict[str, Any]]:
    """The filters' shape (which are given) and their values as parameters."""
    values: dict[str, Any] = {}
    for name, value, given in (
        ("tag_ids", tag_ids, tag_ids is not None),
        ("min_score", min_score, bool(min_score)),
        ("after_id", after_id, after_id is not None),
        ("upto_id", upto_id, upto_id is not None),
        ("published_after", published_after, published_after is not None),
    ):
        if given:
            values[name] = value
    shape = tuple(name in values for name in _FILTERS)
    return shape, values


_FILTERS = ("tag_ids", "min_score", "after_id", "upto_id", "published_after")


def _statement(key: tuple[object, ...], shape: tuple[bool, ...], build: Any) -> Any:
    stmt = _SHAPES.get(key)
    if stmt is None:
        stmt = _SHAPES[key] = _filtered(build(), **dict(zip(_FILTERS, shape, strict=True)))
    return stmt


async def find_items(
    *,
    session: AsyncSession,
    tags: Sequence[str] | None = None,
    tag_ids: Sequence[int] | None = None,
    min_score: int = 0,
    after_id: int | None = None,
    upto_id: int | None = None,
    published_after: datetime | None = None,
    order: str = "best",
    limit: int = 10,
    offset: int = 0,
) -> list[Item]:
    """Briefs on any of ``tags`` (slugs) or, without them, of ``tag_ids`` (None: all), at
    or above ``min_score``, in an id window.

    ``order`` is ``best`` (score, then newest) or ``latest`` (newest published first).
    """
    ids = await _tag_ids(session, tags, tag_ids)
    if ids is not None and not ids:  # no such tag: nothing, without reading a brief
        return []
    shape, values = _window(ids, min_score, after_id, upto_id, published_after)
    ordering = _ORDERS["best" if order == "best" else "latest"]
    stmt = _statement(
        ("find", order == "best", *shape),
        shape,
        lambda: (
            sa.select(*_ITEM_COLUMNS)
            .order_by(*ordering)
            .limit(sa.bindparam("limit", type_=sa.Integer))
            .offset(sa.bindparam("offset", type_=sa.Integer))
        ),
    )
    rows = await session.exec(stmt, params={**values, "limit": limit, "offset": offset})
    return [_row_item(*row) for row in rows]


async def count_items(
    *,
    session: AsyncSession,
    tags: Sequence[str] | None = None,
    tag_ids: Sequence[int] | None = None,
    min_score: int = 0,
    after_id: int | None = None,
    upto_id: int | None = None,
) -> int:
    ids = await _tag_ids(session, tags, tag_ids)
    if ids is not None and not ids:  # no such tag: nothing, without counting
        return 0
    shape, values = _window(ids, min_score, after_id, upto_id, None)
    stmt = _statement(
        ("count", *shape), shape, lambda: sa.select(sa.func.count()).select_from(Brief)
    )
    count: int = (await session.exec(stmt, params=values)).one()[0]
    return count
