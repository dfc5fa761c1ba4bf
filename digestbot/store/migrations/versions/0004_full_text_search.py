"""full-text search of briefs: briefs.tag_text (a copy of a brief's tags), then SQLite's
FTS5 table briefs_fts with triggers, or PostgreSQL's generated tsvectors briefs.search
and briefs.search_title with GIN indexes; both filled from the briefs already stored;
ix_briefs_rank (score, published_at, id), the order matches are shown in

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# ASCII punctuation becomes a space before PostgreSQL's parser reads the text, so
# "open-source", "r&d" and "a@b.com" are cut into words as FTS5's unicode61 cuts them
# (PostgreSQL alone would also keep "open-source" and "-7" whole). Not [[:punct:]]: in
# C.UTF-8 that holds the Devanagari virama, and would cut "हिन्दी" in two.
_WORDS = "regexp_replace({}, '[!-/:-@[-`{{-~]+', ' ', 'g')"
_TITLE = "to_tsvector('simple', " + _WORDS.format("title") + ")"
_SEARCH = (
    "to_tsvector('simple', "
    + _WORDS.format("title || ' ' || coalesce(summary, '') || ' ' || tag_text")
    + ")"
)

_FTS_COLUMNS = "title, summary, tag_text"
_SQLITE_UP = (
    # External content: the index reads its text from briefs, and holds no copy of it.
    # Every search term is a prefix: the 2- and 3-letter ones ("ai", "gpu") are indexed
    # as such, rather than merged from every word they begin at each query.
    f"CREATE VIRTUAL TABLE briefs_fts USING fts5({_FTS_COLUMNS}, content='briefs',"
    " content_rowid='id', tokenize='unicode61 remove_diacritics 0', prefix='2 3')",
    # the triggers keep it in step inside the transaction that writes the brief
    "CREATE TRIGGER briefs_fts_insert AFTER INSERT ON briefs BEGIN"
    f" INSERT INTO briefs_fts(rowid, {_FTS_COLUMNS})"
    " VALUES (new.id, new.title, new.summary, new.tag_text); END",
    "CREATE TRIGGER briefs_fts_delete AFTER DELETE ON briefs BEGIN"
    f" INSERT INTO briefs_fts(briefs_fts, rowid, {_FTS_COLUMNS})"
    " VALUES ('delete', old.id, old.title, old.summary, old.tag_text); END",
    "CREATE TRIGGER briefs_fts_update AFTER UPDATE OF title, summary, tag_text ON briefs BEGIN"
    f" INSERT INTO briefs_fts(briefs_fts, rowid, {_FTS_COLUMNS})"
    " VALUES ('delete', old.id, old.title, old.summary, old.tag_text);"
    f" INSERT INTO briefs_fts(rowid, {_FTS_COLUMNS})"
    " VALUES (new.id, new.title, new.summary, new.tag_text); END",
    "INSERT INTO briefs_fts(briefs_fts) VALUES ('rebuild')",  # the briefs stored so far
)


def upgrade() -> None:
    op.add_column("briefs", sa.Column("tag_text", sa.Text(), server_default="", nullable=False))
    # the tags as store.py writes the column, as this revision was written
    if op.get_bind().dialect.name == "postgresql":
        each = "SELECT string_agg(t.slug, ' ' ORDER BY bt.position)"
    else:
        each = "SELECT group_concat(slug, ' ') FROM (SELECT t.slug"
    each += " FROM brief_tags bt JOIN tags t ON t.id = bt.tag_id WHERE bt.brief_id = briefs.id"
    if op.get_bind().dialect.name != "postgresql":
        each += " ORDER BY bt.position)"
    op.execute(f"UPDATE briefs SET tag_text = COALESCE(({each}), '')")
    # matches come best scored, then newest, first: read in this order, a common word's
    # first page is found after a few rows, not after sorting thousands
    op.create_index("ix_briefs_rank", "briefs", ["score", "published_at", "id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # STORED computes it for every existing row here, and on every write after
        op.execute(
            f"ALTER TABLE briefs ADD COLUMN search tsvector GENERATED ALWAYS AS ({_SEARCH}) STORED"
        )
        op.execute("CREATE INDEX ix_briefs_search ON briefs USING gin (search)")
        # the title alone: briefs with every word in their title come first
        op.execute(
            f"ALTER TABLE briefs ADD COLUMN search_title tsvector GENERATED ALWAYS AS ({_TITLE})"
            " STORED"
        )
        op.execute("CREATE INDEX ix_briefs_search_title ON briefs USING gin (search_title)")
    else:
        for sql in _SQLITE_UP:
            op.execute(sql)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for column in ("search_title", "search"):
            op.execute(f"DROP INDEX ix_briefs_{column}")
            op.execute(f"ALTER TABLE briefs DROP COLUMN {column}")
    else:
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER briefs_fts_{trigger}")
        op.execute("DROP TABLE briefs_fts")
    op.drop_index("ix_briefs_rank", table_name="briefs")
    # Plain ALTER (SQLite 3.35+), not batch mode: batch would copy briefs into a new table
    # and drop the old one, and with foreign keys on that drop deletes every brief's tags.
    op.execute("ALTER TABLE briefs DROP COLUMN tag_text")
