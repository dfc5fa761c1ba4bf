"""readers shape their digest: chat_filters, tag_weights, chats.compact

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chat_filters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("term", sa.String(length=256), nullable=False),
        sa.Column("text", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["chat_id"], ["chats.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chat_id", "kind", "term"),
    )
    op.create_index("ix_chat_filters_chat_id", "chat_filters", ["chat_id"], unique=False)
    op.create_table(
        "tag_weights",
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["chat_id"], ["chats.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("chat_id", "tag"),
    )
    # plain ADD COLUMN: batch mode would rebuild chats, and dropping the old table
    # cascades to every subscription (see 0003)
    op.add_column(
        "chats", sa.Column("compact", sa.Boolean(), server_default=sa.false(), nullable=False)
    )


def downgrade() -> None:
    op.execute("ALTER TABLE chats DROP COLUMN compact")
    op.drop_table("tag_weights")
    op.drop_index("ix_chat_filters_chat_id", table_name="chat_filters")
    op.drop_table("chat_filters")
