"""Engine setup and schema migrations on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from digestbot import store
from digestbot.errors import SchemaOutdatedError, StoreError
from digestbot.store import db
from digestbot.store.models import Broadcast, Feed, OutboxKind
from tests.factories import make_brief


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


async def _fill_every_table(sessions: db.SessionFactory) -> None:
    """A row or more in every table, as the bot writes them: briefs and their tags, a chat
    following one, a broadcast sent to it (outbox rows naming the broadcast), a feed,
    an audit entry and a kept value."""
    now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    async with db.session_scope(sessions) as session:
        await store.upsert_briefs(session=session, briefs=[make_brief(tags=("llm",))])
        await store.get_or_create_chat(session=session, chat_id=42)
        await store.add_subscription(session=session, chat_id=42, tag="llm")
        broadcast = await store.add_broadcast(
            session=session, broadcast=Broadcast(admin_id=1, text="hello")
        )
        assert broadcast.id is not None
        await store.start_broadcast(
            session=session, broadcast_id=broadcast.id, tag_id=None, payload="{}", now=now
        )
        claimed = await store.claim_due(
            session=session, now=now, limit=10, kind=OutboxKind.BROADCAST
        )
        await store.mark_sent(session=session, ids=[r.id for r in claimed], now=now)
        await store.finish_broadcast(
            session=session, broadcast_id=broadcast.id, now=now, counts={"sent": 1}
        )
        session.add(Feed(url="https://example.com/feed.json"))
        await store.add_audit(session=session, admin_id=1, action="broadcast.send", now=now)
        await store.get_or_set_value(session=session, key="webhook_secret", value="s")
        await store.add_filter(session=session, chat_id=42, kind="mute", term="x", text="X")
        await store.save_weights(session=session, chat_id=42, values={"llm": (1.0, 1)}, now=now)


async def _row_counts(engine: AsyncEngine) -> dict[str, int]:
    """Rows in each table the schema has at its current revision."""
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
        return {
            name: (await conn.execute(sa.text(f"select count(*) from {name}"))).scalar_one()
            for name in names
            if name != "alembic_version"
        }


async def test_every_revision_goes_down_and_up_again_with_rows_in_every_table(engine, sessions):
    await _fill_every_table(sessions)
    filled = await _row_counts(engine)
    assert set(filled) == set(SQLModel.metadata.tables)  # a new table needs rows above
    assert all(filled.values()), filled
    script = ScriptDirectory.from_config(db.alembic_config())
    chain = [r.revision for r in reversed(list(script.walk_revisions()))]
    for revision, previous in reversed(list(zip(chain, [None, *chain[:-1]], strict=True))):
        await db.downgrade(engine, previous or "base")
        assert await db.current_revision(engine) == previous
        kept = await _row_counts(engine)
        assert kept == {name: filled[name] for name in kept}  # nothing lost on the way down
        await db.upgrade(engine, revision)
        assert await db.current_revision(engine) == revision
        if previous is not None:
            back = await _row_counts(engine)
            # a table the revision creates comes back empty; every other keeps its rows
            assert back == {name: filled[name] if name in kept else 0 for name in back}
        await db.downgrade(engine, previous or "base")
    assert await _row_counts(engine) == {}
