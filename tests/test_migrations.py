"""Migrations on PostgreSQL, walked generically: every revision from base to head one step
at a time, and `digestbot db upgrade` from every earlier revision (the previous release's
included) to head. Written against whatever revisions exist, so new ones are covered."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from digestbot.store import db
from digestbot.store.models import is_model_object
from tests.test_cli import digestbot

pytestmark = pytest.mark.postgres


def revisions() -> list[str]:
    """Every revision, base first; the history must stay one straight line."""
    script = ScriptDirectory.from_config(db.alembic_config())
    assert len(script.get_heads()) == 1, "migrations branched: merge the heads"
    return [r.revision for r in reversed(list(script.walk_revisions()))]


async def schema_diff(engine: AsyncEngine) -> list[object]:
    def diff(connection: sa.Connection) -> list[object]:
        # FTS5 tables and the tsvector column have no model: see models.is_model_object
        context = MigrationContext.configure(connection, opts={"include_name": is_model_object})
        return compare_metadata(context, SQLModel.metadata)

    async with engine.connect() as conn:
        return await conn.run_sync(diff)


async def tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_every_revision_applies_one_step_at_a_time_and_ends_at_the_models(database_url):
    engine = db.create_engine(database_url)
    try:
        assert await db.current_revision(engine) is None
        for revision in revisions():
            await db.upgrade(engine, revision)
            assert await db.current_revision(engine) == revision
        assert revisions()[-1] == db.head_revision()
        assert await schema_diff(engine) == []
        # and back down, step by step, to nothing (a release can be rolled back)
        for previous in [*reversed(revisions()[:-1]), "base"]:
            await db.downgrade(engine, previous)
            assert await db.current_revision(engine) == (None if previous == "base" else previous)
        assert await tables(engine) <= {"alembic_version"}
    finally:
        await engine.dispose()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("start", [None, *revisions()[:-1]], ids=lambda r: r or "empty")
async def test_db_upgrade_from_an_earlier_revision_reaches_head_keeping_data(
    database_url, start, tmp_path
):
    engine = db.create_engine(database_url)
    try:
        if start is not None:
            await db.upgrade(engine, start)
            if "kv" in await tables(engine):  # data written by the earlier release survives
                async with engine.begin() as conn:
                    await conn.execute(sa.text("insert into kv (key, value) values ('k', 'v')"))
        had_data = start is not None and "kv" in await tables(engine)

        result = digestbot("db", "upgrade", env={"DATABASE_URL": database_url}, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        head = db.head_revision()
        assert result.stdout.strip() == f"schema upgraded from {start or 'empty'} to {head}"
        assert await db.current_revision(engine) == head
        assert await schema_diff(engine) == []
        if had_data:
            async with engine.connect() as conn:
                kept = await conn.execute(sa.text("select value from kv where key = 'k'"))
                assert kept.scalar_one() == "v"
        again = digestbot("db", "upgrade", env={"DATABASE_URL": database_url}, cwd=tmp_path)
        assert again.stdout.strip() == f"schema already up to date ({head})"
    finally:
        await engine.dispose()
