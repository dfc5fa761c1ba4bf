"""outbox by chat: the rows still to send and the rest in two partial indexes

ix_outbox_chat_status indexed every row, weeks of sent digests included, so each digest
planned wrote a page of its own at its chat's place (bench/RESULTS.md, issue 19).
ix_outbox_chat_waiting holds the rows still to send (what the sender asks about for
every row it claims); ix_outbox_chat_done the others (for /forget).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As models.WAITING and models.DONE were when this was written (a migration never
# follows later changes of the models).
_INDEXES = (
    ("ix_outbox_chat_waiting", "status IN ('pending', 'sending')"),
    ("ix_outbox_chat_done", "status NOT IN ('pending', 'sending')"),
)


def upgrade() -> None:
    # Plain index operations (no batch mode, which would rebuild outbox on SQLite).
    for name, where in _INDEXES:
        op.create_index(
            name,
            "outbox",
            ["chat_id"],
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )
    op.drop_index("ix_outbox_chat_status", table_name="outbox")


def downgrade() -> None:
    op.create_index("ix_outbox_chat_status", "outbox", ["chat_id", "status"])
    for name, _ in _INDEXES:
        op.drop_index(name, table_name="outbox")
