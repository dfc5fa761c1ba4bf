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

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from digestbot.store.briefs import Item, items_by_ids

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


def _postgres(match: str, *, window: bool) -> str:
    """The same on PostgreSQL; OFFSET 0 keeps the planner from walking the whole rank
    index for a rare word (it would, given a LIMIT and a guess of how many match)."""
    column = "search_title" if match == "title" else "search"
    if window:
        source = f"({_BEST.format(extra=f', {column}')}) AS best"
    else:
        source = (
            f"(SELECT {_ROW} FROM briefs WHERE {column} @@ to_tsquery('simple', :query)"
            " OFFSET 0) AS found"
        )
        return f"SELECT {_ROW} FROM {source} {_ORDER} LIMIT :limit"
    return (
        f"SELECT {_ROW} FROM {source} WHERE {column} @@ to_tsquery('simple', :query)"
        f" {_ORDER} LIMIT :limit"
    )


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
    *, session: AsyncSession, words: Sequence[str], limit: int = 10
) -> list[Item]:
    """Briefs holding every word (whole, or as the start of a word) in their title,
    summary or tags: those with every word in the title first, then best scored, then
    newest."""
    found = terms(words)
    if not found:  # only punctuation or symbols: nothing a word index can match
        return []
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        params = {"query": postgres_query(found)}
    else:
        query = sqlite_query(found)
        params = {"every": query, "title": f"title : ({query})"}
    conn = await session.connection()
    sql = _postgres if postgres else _sqlite
    seqscan_off = False

    async def first(tier: int, n: int) -> list[int]:
        nonlocal seqscan_off
        match = ("title", "every")[tier]
        bounds = {**params, "limit": n, "window": WINDOW}
        rows = list(await conn.execute(sa.text(sql(match, window=True)), bounds))
        if len(rows) < n:  # fewer in the window: a rarer word, few matches in all
            if postgres and not seqscan_off:
                # a rare word's matches come through the GIN index, never a read of the
                # table (for this transaction only: the search's own). Set only here: the
                # window's queries read the rank index either way, and most searches end
                # there, a round trip sooner (bench/RESULTS.md, issue 19)
                await conn.execute(sa.text("SELECT set_config('enable_seqscan', 'off', true)"))
                seqscan_off = True
            rows = list(await conn.execute(sa.text(sql(match, window=False)), bounds))
        return [row[0] for row in rows]

    ids = await first(0, limit)
    if len(ids) < limit:  # then these are all the title's: the others follow them
        others = await first(1, limit + len(ids))
        ids += [brief_id for brief_id in others if brief_id not in ids][: limit - len(ids)]
    items = await items_by_ids(session=session, brief_ids=ids)
    return [items[brief_id] for brief_id in ids if brief_id in items]
