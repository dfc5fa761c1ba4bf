"""Engine setup and schema migrations on both databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from digestbot import db
from digestbot.errors import SchemaOutdatedError, StoreError


async def test_migrations_build_exactly_the_models_schema(engine):
    def diff(connection: sa.Connection) -> list[object]:
        return compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)

    async with engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_migrations_go_down_to_empty_and_up_again(engine):
    await db.downgrade(engine, "base")
    assert await db.current_revision(engine) is None
    await db.upgrade(engine)
    assert await db.current_revision(engine) == db.head_revision()


async def test_old_schema_is_upgraded_when_allowed_and_refused_otherwise(database_url):
    engine = db.create_engine(database_url)
    try:
        with pytest.raises(SchemaOutdatedError, match="digestbot db upgrade"):
            await db.ensure_schema(engine, auto_upgrade=False)
        assert await db.ensure_schema(engine, auto_upgrade=True) is True
        assert await db.ensure_schema(engine, auto_upgrade=False) is False
    finally:
        await engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(engine):
    async with engine.connect() as conn:
        assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
        assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 10_000
        assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1


async def test_unreachable_database_is_a_store_error_not_a_traceback():
    engine = db.create_engine("postgresql://nobody@127.0.0.1:1/nothing")
    try:
        with pytest.raises(StoreError, match="cannot open the database"):
            await db.current_revision(engine)
    finally:
        await engine.dispose()
