"""Shared fixtures: real databases (SQLite file and PostgreSQL), settings, factories."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from digestbot.store import db
from tests.dbs import database_url as make_database_url

FIXTURES = Path(__file__).parent / "fixtures"

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never read the developer's .env or DIGESTBOT settings from the shell."""
    for name in (
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_API_BASE_URL",
        "DATABASE_URL",
        "ADMIN_IDS",
        "FEED_URLS",
        "FEED_TIMEOUT",
        "FEED_ALLOW_PRIVATE",
        "DEFAULT_TIMEZONE",
        "DEFAULT_DIGEST_TIME",
        "SEND_RATE",
        "LOG_LEVEL",
        "WEBHOOK_URL",
        "WEBHOOK_LISTEN",
        "WEBHOOK_SECRET",
        "LEADER_RETRY_SECONDS",
        "OUTBOX_RETENTION_DAYS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # as the digestbot command sets it
    monkeypatch.chdir(tmp_path)


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database on each backend, as a DATABASE_URL."""
    async with make_database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a fresh database migrated to head."""
    engine = db.create_engine(database_url)
    await db.upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> db.SessionFactory:
    return db.session_factory(engine)


@pytest.fixture
async def bot(database_url: str):
    """The real bot polling the fake Bot API server, on a fresh database of each backend."""
    from tests.bot import running_bot

    async with running_bot(database_url) as running:
        yield running
