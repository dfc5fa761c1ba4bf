"""Factories shared by the tests: briefs and cards with sensible defaults, and reads of
what only tests look at."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from digestbot.briefs.parse import BriefData
from digestbot.store.models import AuditEntry

_counter = itertools.count(1)
BASE_TIME = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def make_brief(**overrides: Any) -> BriefData:
    """A valid brief; every call a different title and time unless told otherwise."""
    n = next(_counter)
    fields: dict[str, Any] = {
        "title": f"Brief number {n} about things",
        "score": 5,
        "category": "Research",
        "published_at": BASE_TIME + timedelta(minutes=n),
        "tags": ("generative-ai", "research"),
        "summary": f"Summary of brief {n}.",
        "what_happened": "Something happened.",
        "why_it_matters": "It matters.",
        "what_to_watch": "Watch this space.",
    }
    fields.update(overrides)
    return BriefData(**fields)


def make_card(brief: BriefData, *, back_link: bool = True, newline: str = "\n") -> str:
    """The brief written as a text card, in the scraped format."""
    stamp = brief.published_at.astimezone(UTC)
    lines = ["Back to feed"] if back_link else []
    lines += [
        f"{brief.score}/10",
        brief.category,
        f"{stamp.day} {stamp:%B %Y, %H:%M} UTC",
        brief.title,
    ]
    if brief.summary:
        lines.append(brief.summary)
    for field, heading in (
        ("what_happened", "What happened"),
        ("technical_details", "Technical details"),
        ("why_it_matters", "Why it matters"),
        ("what_to_watch", "What to watch next"),
    ):
        value = getattr(brief, field)
        if value:
            lines += [heading, value]
    lines += list(brief.tags)
    return newline.join(lines)


async def audit_entries(session: AsyncSession) -> list[AuditEntry]:
    """The admin audit log, oldest first (the bot only writes it)."""
    return list(await session.exec(select(AuditEntry).order_by(col(AuditEntry.id))))
