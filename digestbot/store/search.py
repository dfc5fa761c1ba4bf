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

from digestbot.store.queries import Item, items_by_ids

MAX_TERMS = 8
# No indexed word is longer: PostgreSQL leaves words over 2,047 bytes out of a tsvector,
# and a term this long is already specific enough to find what it is the prefix of.
MAX_TERM_CHARS = 100

FTS_TABLE = "briefs_fts"
"""SQLite's FTS5 table (and the prefix of its shadow tables)."""

# The order: briefs with every word in their title first (the relevance that matters in a
# news headline), then best scored, then newest. Each of the two tiers is read in the
# order of ix_briefs_rank with its own LIMIT, so a word in half the briefs finds its page
# after a few rows, and a rare one through the full-text index: p99 stays in milliseconds
# over a year of briefs (bench/search.py), where ranking every match by bm25() or
# ts_rank() took 50-160 ms for a common word.
_ORDER = "ORDER BY score DESC, published_at DESC, id DESC LIMIT :limit"
_SQLITE = f"""
SELECT * FROM (SELECT id, 0 AS tier, score, published_at FROM briefs
    WHERE id IN (SELECT rowid FROM briefs_fts WHERE briefs_fts MATCH :title) {_ORDER})
UNION ALL
SELECT * FROM (SELECT id, 1 AS tier, score, published_at FROM briefs
    WHERE id IN (SELECT rowid FROM briefs_fts WHERE briefs_fts MATCH :query)
    AND id NOT IN (SELECT rowid FROM briefs_fts WHERE briefs_fts MATCH :title) {_ORDER})
ORDER BY tier, score DESC, published_at DESC, id DESC LIMIT :limit
"""
_POSTGRES = f"""
(SELECT id, 0 AS tier, score, published_at FROM briefs
    WHERE search_title @@ to_tsquery('simple', :query) {_ORDER})
UNION ALL
(SELECT id, 1 AS tier, score, published_at FROM briefs
    WHERE search @@ to_tsquery('simple', :query)
    AND NOT search_title @@ to_tsquery('simple', :query) {_ORDER})
ORDER BY tier, score DESC, published_at DESC, id DESC LIMIT :limit
"""


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
    if session.get_bind().dialect.name == "postgresql":
        sql, params = _POSTGRES, {"query": postgres_query(found)}
    else:
        query = sqlite_query(found)
        sql, params = _SQLITE, {"query": query, "title": f"title : ({query})"}
    conn = await session.connection()
    rows = await conn.execute(sa.text(sql), {**params, "limit": limit})
    ids = [row[0] for row in rows]
    items = await items_by_ids(session=session, brief_ids=ids)
    return [items[brief_id] for brief_id in ids if brief_id in items]
