"""The admin audit log: who did what, with counts (never the chats it reached)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from digestbot.store.models import AuditEntry


async def add_audit(
    *,
    session: AsyncSession,
    admin_id: int,
    action: str,
    detail: str | None = None,
    audience: str | None = None,
    counts: dict[str, int] | None = None,
    now: datetime,
) -> None:
    session.add(
        AuditEntry(
            admin_id=admin_id,
            action=action,
            detail=detail,
            audience=audience,
            counts=json.dumps(counts, sort_keys=True) if counts is not None else None,
            created_at=now,
        )
    )
    await session.flush()
