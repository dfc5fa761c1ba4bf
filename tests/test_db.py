"""Engine setup and schema migrations on both databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from digestbot.errors import SchemaOutdatedError, StoreError
from digestbot.store import db
from digestbot.store.models import is_model_object


async def test_migrations_build_exactly_the_models_schema(engine):
    def diff(connection: sa.Connection) -> list[object]:
        # FTS5 tables and the tsvector column have no model: see models.is_model_object
        context = MigrationContext.configure(connection, opts={"include_name": is_model_object})
        return compare_metadata(context, SQLModel.metadata)

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


async def test_0003_copies_subscriptions_into_tag_ids_and_its_downgrade_keeps_them(database_url):
    engine = db.create_engine(database_url)

    async def rows(sql: str) -> list[tuple[object, ...]]:
        async with engine.connect() as conn:
            return [tuple(r) for r in await conn.execute(sa.text(sql))]

    try:
        await db.upgrade(engine, "0002")
        async with engine.begin() as conn:
            for sql in (
                "insert into chats (id, type, timezone, digest_time, frequency, weekly_day,"
                " min_score, digest_size, active, paused, last_brief_id, window_end_id,"
                " window_shown, created_at) values (7, 'private', 'UTC', '08:00', 'daily',"
                " 0, 0, 10, true, false, 0, 0, 0, '2026-11-27 08:00:00')",
                "insert into tags (id, slug) values (3, 'llm'), (12, 'chips')",
                "insert into subscriptions (chat_id, tag_id, created_at) values"
                " (7, 12, '2026-11-27 08:00:00'), (7, 3, '2026-11-27 08:00:00')",
            ):
                await conn.execute(sa.text(sql))

        await db.upgrade(engine)
        assert await rows("select id, tag_ids from chats") == [(7, "3,12")]

        await db.downgrade(engine, "0002")  # SQLite: must not rebuild chats (cascades)
        assert len(await rows("select * from subscriptions")) == 2
        assert await rows("select id from chats") == [(7,)]
    finally:
        await engine.dispose()


async def test_0004_indexes_the_briefs_already_stored_and_its_downgrade_keeps_them(
    database_url,
):
    from digestbot import store

    engine = db.create_engine(database_url)
    sessions = db.session_factory(engine)

    async def rows(sql: str) -> list[tuple[object, ...]]:
        async with engine.connect() as conn:
            return [tuple(r) for r in await conn.execute(sa.text(sql))]

    async def found(*words: str) -> list[int]:
        async with sessions() as session:
            return [i.id for i in await store.search_items(session=session, words=list(words))]

    try:
        await db.upgrade(engine, "0003")
        async with engine.begin() as conn:
            for sql in (
                "insert into briefs (id, title, score, category, published_at, summary,"
                " content_hash, ingested_at, updated_at) values (5, 'Kestrel-7 weights',"
                " 8, 'Tools', '2026-11-01 08:00:00', 'हिन्दी सारांश', 'h', '2026-11-01 08:00:00',"
                " '2026-11-01 08:00:00')",
                "insert into tags (id, slug) values (3, 'open-source'), (12, 'llm')",
                "insert into brief_tags (brief_id, tag_id, position) values (5, 12, 1), (5, 3, 0)",
            ):
                await conn.execute(sa.text(sql))

        await db.upgrade(engine)
        assert await rows("select id, tag_text from briefs") == [(5, "open-source llm")]
        assert await found("open", "weights") == [5]
        assert await found("हिन्दी") == [5]

        await db.downgrade(engine, "0003")  # SQLite: must not rebuild briefs (cascades)
        assert len(await rows("select * from brief_tags")) == 2
        assert await rows("select id, title from briefs") == [(5, "Kestrel-7 weights")]
        columns = await rows("select * from briefs")
        assert len(columns[0]) == 15  # tag_text and the tsvector are gone

        await db.upgrade(engine)  # and up again, indexing it afresh
        assert await found("llm") == [5]
    finally:
        await engine.dispose()
