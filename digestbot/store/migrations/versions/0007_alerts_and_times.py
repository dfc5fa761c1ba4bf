"""instant alerts and quiet hours, several digests a day: chats.alert_score, alert_max,
alert_day, alert_count, alerted_ids, quiet_hours and digest_times

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    sa.Column("digest_times", sa.String(length=17), server_default="", nullable=False),
    sa.Column("alert_score", sa.Integer(), nullable=True),
    sa.Column("alert_max", sa.Integer(), server_default="3", nullable=False),
    sa.Column("alert_day", sa.String(length=10), server_default="", nullable=False),
    sa.Column("alert_count", sa.Integer(), server_default="0", nullable=False),
    sa.Column("alerted_ids", sa.Text(), server_default="", nullable=False),
    sa.Column("quiet_hours", sa.String(length=11), server_default="22:00-07:00", nullable=False),
)


def upgrade() -> None:
    # Plain ADD COLUMN, not batch mode: batch would rebuild chats on SQLite, and with
    # foreign keys on, dropping the old table deletes every subscription (see 0003).
    for column in _COLUMNS:
        op.add_column("chats", column)


def downgrade() -> None:
    # A chat with several times keeps the first (digest_time always holds it); alerts
    # and quiet hours go. Plain ALTER (SQLite 3.35+), for the same reason as above.
    for column in reversed(_COLUMNS):
        op.execute(f"ALTER TABLE chats DROP COLUMN {column.name}")
