"""chats by digest minute: on SQLite, each chat's row placed with those whose digest
falls in the same UTC minute of the day (see store/planning.py, PLACE_BITS)

A day's due chats lay scattered over the table, so every schedule move wrote a page of
its own. PostgreSQL: nothing to do (its rows cannot be kept in an order).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As store.planning.SQLITE_PLACE_ALL was when this was written (a migration never follows
# later changes of the code).
_PLACE_ALL = (
    "UPDATE OR IGNORE chats SET rowid = ((CAST(strftime('%H', next_digest_at) AS INTEGER) * 60"
    " + CAST(strftime('%M', next_digest_at) AS INTEGER)) << 44)"
    " | (id & 17592186044415) WHERE next_digest_at IS NOT NULL"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(_PLACE_ALL)


def downgrade() -> None:
    pass  # where rows lie changes no answer: nothing to undo
