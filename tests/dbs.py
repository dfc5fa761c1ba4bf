"""Real databases for tests: a SQLite file, or a fresh PostgreSQL database dropped after."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

ADMIN_URL = os.environ.get(
    "DIGESTBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def _with_database(url: str, name: str) -> str:
    base, _, _old = url.rpartition("/")
    return f"{base}/{name}"


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for one test; its URL (``postgresql://``)."""
    name = f"digestbot_t_{uuid.uuid4().hex[:12]}"
    try:
        admin = await asyncpg.connect(ADMIN_URL)
    except (OSError, asyncpg.PostgresError) as exc:
        raise RuntimeError(
            f"PostgreSQL is not reachable at {ADMIN_URL} ({exc}); start it, set "
            "DIGESTBOT_TEST_POSTGRES_URL, or deselect with -m 'not postgres'"
        ) from exc
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield _with_database(ADMIN_URL, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@asynccontextmanager
async def database_url(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database of ``kind`` (``sqlite`` or ``postgres``), as a DATABASE_URL."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'digestbot.db'}"
    else:
        async with postgres_database() as url:
            yield url
