"""feeds managed as rows (default tags, category, score, paused); brief_sources, the
links and feeds a brief came from; briefs.title_key, the normalised title stories are
matched by

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOT_WORD = re.compile(r"[\W_]+")


def title_key(title: str) -> str:
    """store.briefs.title_key as it was when this revision was written: a migration
    outlives the code it shipped with, so it keeps its own copy."""
    folded = unicodedata.normalize("NFKC", title).casefold()
    return " ".join(_NOT_WORD.sub(" ", folded).split())[:500]


_BATCH = 1000


def upgrade() -> None:
    # Plain ADD COLUMN, not batch mode: batch would copy each table into a new one and
    # drop the old, which on SQLite (foreign keys on) deletes the rows that name it.
    op.add_column("feeds", sa.Column("tags", sa.Text(), server_default="", nullable=False))
    op.add_column("feeds", sa.Column("category", sa.String(length=200), nullable=True))
    op.add_column("feeds", sa.Column("score", sa.Integer(), nullable=True))
    op.add_column(
        "feeds", sa.Column("paused", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column("briefs", sa.Column("title_key", sa.String(length=500), nullable=True))
    op.create_index(op.f("ix_briefs_title_key"), "briefs", ["title_key"], unique=False)
    op.create_table(
        "brief_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("brief_id", sa.Integer(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=True),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.ForeignKeyConstraint(["brief_id"], ["briefs.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["feed_id"], ["feeds.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_brief_sources_brief_id"), "brief_sources", ["brief_id"])
    op.create_index(op.f("ix_brief_sources_feed_id"), "brief_sources", ["feed_id"])
    op.create_index("ix_brief_sources_url", "brief_sources", ["url"], postgresql_using="hash")
    # Every stored link becomes its brief's first source, so a feed repeating it later
    # joins that brief instead of making another.
    op.execute(
        "INSERT INTO brief_sources (brief_id, url) SELECT id, url FROM briefs"
        " WHERE url IS NOT NULL ORDER BY id"
    )
    _fill_title_keys()


def _fill_title_keys() -> None:
    """briefs.title_key for the stored briefs, a batch at a time (memory stays flat)."""
    conn = op.get_bind()
    after = 0
    while True:
        rows = conn.execute(
            sa.text("SELECT id, title FROM briefs WHERE id > :after ORDER BY id LIMIT :n"),
            {"after": after, "n": _BATCH},
        ).all()
        if not rows:
            return
        conn.execute(
            sa.text("UPDATE briefs SET title_key = :key WHERE id = :id"),
            [{"id": row_id, "key": title_key(title)} for row_id, title in rows],
        )
        after = rows[-1][0]


def downgrade() -> None:
    op.drop_index("ix_brief_sources_url", table_name="brief_sources", postgresql_using="hash")
    op.drop_index(op.f("ix_brief_sources_feed_id"), table_name="brief_sources")
    op.drop_index(op.f("ix_brief_sources_brief_id"), table_name="brief_sources")
    op.drop_table("brief_sources")
    op.drop_index(op.f("ix_briefs_title_key"), table_name="briefs")
    # Plain DROP COLUMN (SQLite 3.35+), for the reason given in upgrade()
    op.execute("ALTER TABLE briefs DROP COLUMN title_key")
    for column in ("paused", "score", "category", "tags"):
        op.execute(f"ALTER TABLE feeds DROP COLUMN {column}")
