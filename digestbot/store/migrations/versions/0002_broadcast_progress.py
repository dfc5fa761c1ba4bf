"""broadcast progress (status message, start time); outbox claim, per-chat, sent_at indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_message_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("started_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("counts", sa.Text(), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_sent_at"), ["sent_at"], unique=False)
        # claims go per kind in id order; the old (status, next_attempt_at) index made
        # every claim sort all waiting rows
        batch_op.drop_index("ix_outbox_due")
        batch_op.create_index("ix_outbox_claim", ["status", "kind", "id"], unique=False)
        batch_op.drop_index(batch_op.f("ix_outbox_chat_id"))
        batch_op.create_index("ix_outbox_chat_status", ["chat_id", "status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_chat_status")
        batch_op.create_index(batch_op.f("ix_outbox_chat_id"), ["chat_id"], unique=False)
        batch_op.drop_index("ix_outbox_claim")
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at"], unique=False)
        batch_op.drop_index(batch_op.f("ix_outbox_sent_at"))
    # Plain ALTER (SQLite 3.35+), not batch mode: batch would copy broadcasts into a new
    # table and drop the old one, which fails on SQLite, foreign keys on, as soon as an
    # outbox row names a broadcast ("FOREIGN KEY constraint failed").
    for column in ("counts", "started_at", "status_message_id"):
        op.execute(f"ALTER TABLE broadcasts DROP COLUMN {column}")
