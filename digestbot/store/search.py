"""Full-text search of the briefs, with each database's own engine.

SQLite: the FTS5 table ``briefs_fts`` (external content: it reads ``briefs``, and
triggers keep it in step in the writing transaction). PostgreSQL: the generated column
``briefs.search`` (a ``tsvector``) with a GIN index. Migration 0004 creates both; they
index a brief's title (weighted highest), summary and tags (``briefs.tag_text``).

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
SEARCH_COLUMN = "search"
"""PostgreSQL's generated ``tsvector`` column of ``briefs``."""
SEARCH_INDEX = "ix_briefs_search"
"""PostgreSQL's GIN index on it."""

# bm25() weights of the FTS5 columns (title, summary, tag_text); setweight() classes on
# PostgreSQL give the same order: a word in the title counts most.
_BM25 = "bm25(briefs_fts, 10.0, 3.0, 3.0)"

# Relevance is rounded so briefs about as relevant tie, and the better-scored, then the
# newer, comes first; a brief that is clearly more relevant still wins.
_SQLITE = f"""
SELECT briefs.id FROM briefs_fts JOIN briefs ON briefs.id = briefs_fts.rowid
WHERE briefs_fts MATCH :query
ORDER BY round({_BM25}, 1), briefs.score DESC, briefs.published_at DESC, briefs.id DESC
LIMIT :limit
"""
_POSTGRES = """
SELECT briefs.id FROM briefs, to_tsquery('simple', :query) AS query
WHERE briefs.search @@ query
ORDER BY round(ts_rank(briefs.search, query)::numeric, 2) DESC, briefs.score DESC,
    briefs.published_at DESC, briefs.id DESC
LIMIT :limit
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
    summary or tags; most relevant first, then best scored, then newest."""
    found = terms(words)
    if not found:  # only punctuation or symbols: nothing a word index can match
        return []
    if session.get_bind().dialect.name == "postgresql":
        sql, query = _POSTGRES, postgres_query(found)
    else:
        sql, query = _SQLITE, sqlite_query(found)
    conn = await session.connection()
    rows = await conn.execute(sa.text(sql), {"query": query, "limit": limit})
    ids = [brief_id for (brief_id,) in rows]
    items = await items_by_ids(session=session, brief_ids=ids)
    return [items[brief_id] for brief_id in ids if brief_id in items]
