"""digest lateness: outbox.lateness_ms, how long after its due moment Telegram took a digest

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch mode): batch would rebuild the table on SQLite (see 0007).
    op.add_column("outbox", sa.Column("lateness_ms", sa.Integer(), nullable=True))


def downgrade() -> None:
    # Only a figure for /stats goes; every row stays. Plain ALTER (SQLite 3.35+).
    op.execute("ALTER TABLE outbox DROP COLUMN lateness_ms")
