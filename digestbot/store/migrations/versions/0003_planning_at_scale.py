"""planning a million chats a day: chats.tag_ids (a copy of each chat's subscriptions);
no index on chats.active; outbox broadcast_id and sent_at indexes only where set

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each digest planned inserts an outbox row and moves a chat's schedule. On PostgreSQL
# that move writes a new entry into every index of chats, and the row one into every
# index of outbox, NULLs included: these indexes served no query that needs them there.
_SET = {
    "ix_outbox_broadcast_id": ("broadcast_id", "broadcast_id IS NOT NULL"),
    "ix_outbox_sent_at": ("sent_at", "sent_at IS NOT NULL"),
}


def upgrade() -> None:
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.drop_index("ix_chats_active")
        batch_op.add_column(sa.Column("tag_ids", sa.Text(), server_default="", nullable=False))
    # the SQL store.py keeps the column with, as it stood when this revision was written
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        each = (
            "SELECT string_agg(tag_id::text, ',' ORDER BY tag_id) FROM subscriptions"
            " WHERE chat_id = chats.id"
        )
    else:
        each = (
            "SELECT group_concat(tag_id) FROM"
            " (SELECT tag_id FROM subscriptions WHERE chat_id = chats.id ORDER BY tag_id)"
        )
    op.execute(f"UPDATE chats SET tag_ids = COALESCE(({each}), '')")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        for name, (column, where) in _SET.items():
            batch_op.drop_index(name)
            batch_op.create_index(
                name,
                [column],
                unique=False,
                sqlite_where=sa.text(where),
                postgresql_where=sa.text(where),
            )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        for name, (column, _where) in _SET.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, [column], unique=False)
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.create_index("ix_chats_active", ["active"], unique=False)
    # Plain ALTER (SQLite 3.35+), not batch mode: batch would copy chats into a new table
    # and drop the old one, and with foreign keys on that drop deletes every subscription.
    op.execute("ALTER TABLE chats DROP COLUMN tag_ids")
