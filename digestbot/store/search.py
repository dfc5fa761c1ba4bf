"""Full-text search of the briefs, with each database's own engine.

SQLite: the FTS5 table ``briefs_fts`` (external content: it reads ``briefs``, and
triggers keep it in step in the writing transaction). PostgreSQL: the generated column
``briefs.search`` (a ``tsvector`` of the title, summary and tags) and ``search_title``,
each with a GIN index. Migration 0004 creates both kinds; they index a brief's title,
summary and tags (``briefs.tag_text``).

Matches with every word in the title come first, then the best scored, then the newest.
A query is the user's words cut into the same words both engines index (runs of
letters, digits and combining marks, so Devanagari words stay whole), each matched as
a whole word or a word's prefix, all of them required. The words are quoted into the
engines' query syntax, never passed through it: ``"``, ``*``, ``NEAR``, ``AND``, ``(``
or ``-`` in a search are text to find, not operators.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from digestbot.store.briefs import Item, items_by_ids, to_brief_data
from digestbot.store.models import Brief

MAX_TERMS = 8
# No indexed word is longer: PostgreSQL leaves words over 2,047 bytes out of a tsvector,
# and a term this long is already specific enough to find what it is the prefix of.
MAX_TERM_CHARS = 100

FTS_TABLE = "briefs_fts"
"""SQLite's FTS5 table (and the prefix of its shadow tables)."""

# The order: briefs with every word in their title first (the relevance that matters in a
# news headline), then best scored, then newest. Neither engine reads its full-text index
# in that order, and ranking every match (bm25(), ts_rank()) took 50-160 ms for a word in
# half of a year's briefs; fetching every match took as long. So each tier is first
# looked for among the WINDOW best briefs in that order (ix_briefs_rank): a common word
# fills the page there, and that page is the right one. Only a rarer word, with fewer
# matches there, goes through the full-text index, which then has few to return.
WINDOW = 2000
# PostgreSQL reads its window once for both tiers, and a miss costs one GIN scan, not
# two: 1,000 gave the lowest p99 of 500, 1,000 and 2,000 (bench/RESULTS.md, issue 19).
POSTGRES_WINDOW = 1000
_ORDER = "ORDER BY score DESC, published_at DESC, id DESC"
_ROW = "id, score, published_at"
_BEST = f"SELECT {_ROW}{{extra}} FROM briefs {_ORDER} LIMIT :window"


def _sqlite(match: str, *, window: bool) -> str:
    """The first :limit briefs matching :title or :every (among the window's)."""
    source = f"({_BEST.format(extra='')}) AS best" if window else "briefs"
    return (
        f"SELECT {_ROW} FROM {source} WHERE id IN"
        f" (SELECT rowid FROM briefs_fts WHERE briefs_fts MATCH :{match}) {_ORDER} LIMIT :limit"
    )


# PostgreSQL: the whole search in one statement, one round trip however far it has to
# look, and at most one scan of a GIN index. A GIN scan of prefix terms is the dearest
# step: it gathers the postings of every word each term begins (4-10 ms for two or three
# terms over 110,000 briefs, against 0.5 ms for whole words), so the search picks the
# one scan that will do from what the window held (bench/RESULTS.md, issue 19). Each
# step runs only when the ones before it fell short: a CTE that nothing reads never
# runs, and a condition with no column in it is checked once, before its scan starts
# ("One-Time Filter" in EXPLAIN).
# - best: the WINDOW best briefs in rank order, and whether each matches in its title
#   and at all. Read lazily and once: title_window stops at :limit title matches (a
#   common word: a few dozen rows); what reads on reads the same rows.
# - the window held too few title matches (short), then either
#   - title_all: every title match, through search_title's index, when the window held
#     some title matches (there are likely enough in all) or :limit matches of any kind
#     (those then fill the page after the titles: they are the best of their tier); or
#   - every_all: every match through search's index, each marked in its title or not,
#     when neither (a rare combination: few matches) or when title_all fell short too.
# The tsquery comes from a CTE, not inline: the planner then assumes few matches (its
# default selectivity) and always plans the GIN indexes, where a word's statistics could
# make it read the whole table; and to_tsquery runs once, not once a row (the statement
# is prepared once and its plan cached). The CTE readers take rows in the order `best`
# produced them (rank order: PostgreSQL reads a CTE's rows back in the order they were
# made), and the final ORDER BY sorts the page.
_POSTGRES = f"""
WITH q AS MATERIALIZED (SELECT to_tsquery('simple', :query) AS q),
best AS MATERIALIZED (
    SELECT {_ROW},
        search_title @@ (SELECT q FROM q) AS in_title, search @@ (SELECT q FROM q) AS found
    FROM briefs {_ORDER} LIMIT {{window}}
),
title_window AS MATERIALIZED (SELECT {_ROW} FROM best WHERE in_title LIMIT :limit),
short AS MATERIALIZED (SELECT count(*) < :limit AS short FROM title_window),
window_found AS MATERIALIZED (
    SELECT count(*) AS n FROM best WHERE found AND (SELECT short FROM short)
),
title_all AS MATERIALIZED (
    SELECT {_ROW} FROM briefs WHERE search_title @@ (SELECT q FROM q) AND (SELECT short FROM short)
        AND ((SELECT count(*) FROM title_window) > 0 OR (SELECT n FROM window_found) >= :limit)
),
every_all AS MATERIALIZED (
    SELECT {_ROW}, search_title @@ (SELECT q FROM q) AS in_title FROM briefs
    WHERE search @@ (SELECT q FROM q) AND (SELECT short FROM short)
        AND (SELECT n FROM window_found) < :limit
        AND ((SELECT count(*) FROM title_window) = 0 OR (SELECT count(*) FROM title_all) < :limit)
),
titles AS MATERIALIZED (
    SELECT {_ROW} FROM (
        SELECT * FROM title_window UNION SELECT * FROM title_all
        UNION SELECT {_ROW} FROM every_all WHERE in_title
    ) AS t {_ORDER} LIMIT :limit
),
others AS MATERIALIZED (
    SELECT {_ROW} FROM (
        SELECT {_ROW} FROM best
        WHERE found AND NOT in_title AND (SELECT count(*) FROM titles) < :limit
        UNION SELECT {_ROW} FROM every_all WHERE NOT in_title
    ) AS o {_ORDER} LIMIT :limit
)
SELECT {{columns}} FROM (
    SELECT {_ROW}, 0 AS tier FROM titles UNION ALL SELECT {_ROW}, 1 FROM others
) AS found JOIN briefs USING (id)
ORDER BY tier, found.score DESC, found.published_at DESC, id DESC LIMIT :limit
"""
# the briefs themselves, read in the same statement: a round trip fewer
_BRIEF_COLUMNS: list[sa.Column[Any]] = list(Brief.__table__.columns)  # type: ignore[attr-defined]
_COLUMNS = ", ".join(f"briefs.{c.name}" for c in _BRIEF_COLUMNS)


def terms(words: Sequence[str]) -> list[str]:
    """The words to find: lower-cased runs of letters, digits and marks, in order, once
    each, at most MAX_TERMS of them, each at most MAX_TERM_CHARS long."""
    found: dict[str, None] = {}  # an ordered set
    current: list[str] = []

    def close() -> None:
        if current:
            found.setdefault("".join(current)[:MAX_TERM_CHARS])
            current.clear()

    for char in " ".join(words).lower():
        # what FTS5's unicode61 tokenizer keeps too: letters, numbers, marks, private use
        if unicodedata.category(char)[0] in "LNM" or unicodedata.category(char) == "Co":
            current.append(char)
        else:
            close()
    close()
    return list(found)[:MAX_TERMS]


def sqlite_query(found: Sequence[str]) -> str:
    """An FTS5 query: each term a quoted string (terms hold no quote), as a prefix."""
    return " AND ".join(f'"{term}"*' for term in found)


def postgres_query(found: Sequence[str]) -> str:
    """A tsquery: each term a quoted lexeme (terms hold no quote or backslash), as a prefix."""
    return " & ".join(f"'{term}':*" for term in found)


async def search_items(
    *, session: AsyncSession, words: Sequence[str], limit: int = 10, window: int | None = None
) -> list[Item]:
    """Briefs holding every word (whole, or as the start of a word) in their title,
    summary or tags: those with every word in the title first, then best scored, then
    newest. ``window``: how many of the best briefs are looked through before the
    full-text index (WINDOW, POSTGRES_WINDOW; tests make it small to reach every step
    with a few briefs)."""
    found = terms(words)
    if not found:  # only punctuation or symbols: nothing a word index can match
        return []
    if session.get_bind().dialect.name == "postgresql":
        sql = _POSTGRES.format(
            window=POSTGRES_WINDOW if window is None else int(window), columns=_COLUMNS
        )
        bound = sa.text(sql).bindparams(query=postgres_query(found), limit=limit)
        typed = bound.columns(*_BRIEF_COLUMNS)
        briefs = select(Brief).from_statement(typed)
        rows = (await session.exec(briefs)).scalars()  # type: ignore[call-overload]
        # tags from the row's tag_text, as items_by_ids reads them
        return [Item(r.id, to_brief_data(r, r.tag_text.split())) for r in rows if r.id is not None]
    conn = await session.connection()
    rows_seen = WINDOW if window is None else window
    ids = await _sqlite_ids(conn, found, limit=limit, window=rows_seen)
    items = await items_by_ids(session=session, brief_ids=ids)
    return [items[brief_id] for brief_id in ids if brief_id in items]


async def _sqlite_ids(
    conn: AsyncConnection, found: Sequence[str], *, limit: int, window: int
) -> list[int]:
    """The ids of the first ``limit`` matches, in order: each tier looked for in the
    window first, then through the FTS5 index (a statement is a thread hop, not a
    round trip to a server, so the steps stay separate statements here)."""
    query = sqlite_query(found)
    params = {"every": query, "title": f"title : ({query})", "window": window}

    async def first(tier: int, n: int) -> list[int]:
        match = ("title", "every")[tier]
        bounds = {**params, "limit": n}
        rows = list(await conn.execute(sa.text(_sqlite(match, window=True)), bounds))
        if len(rows) < n:  # fewer in the window: a rarer word, few matches in all
            rows = list(await conn.execute(sa.text(_sqlite(match, window=False)), bounds))
        return [row[0] for row in rows]

    ids = await first(0, limit)
    if len(ids) < limit:  # then these are all the title's: the others follow them
        others = await first(1, limit + len(ids))
        ids += [brief_id for brief_id in others if brief_id not in ids][: limit - len(ids)]
    return ids
