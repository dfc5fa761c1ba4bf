"""Engine setup and schema migrations on both databases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from digestbot import store
from digestbot.delivery.leader import postgres_dsn
from digestbot.errors import SchemaOutdatedError, StoreError
from digestbot.store import db
from digestbot.store.models import Broadcast, Chat, Feed, OutboxKind, is_model_object
from tests.factories import make_brief


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


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_many_concurrent_writers_on_one_sqlite_file_all_succeed(engine, database_url):
    # Two engines on one file (the bot and a CLI command, say), 120 transactions at once,
    # each reading before it writes and yielding to the others in between: none may fail
    # with "database is locked". Each write waits on the busy timeout, and a read never
    # holds a lock a write must then upgrade (the driver begins a transaction at the
    # first write, reads before it run outside one).
    other = db.create_engine(database_url)
    factories = [db.session_factory(engine), db.session_factory(other)]

    async def subscribe(chat_id: int) -> None:
        async with db.session_scope(factories[chat_id % 2]) as session:
            assert await store.chat_tags(session=session, chat_id=chat_id) == []
            await asyncio.sleep(0)
            await store.get_or_create_chat(session=session, chat_id=chat_id)
            await asyncio.sleep(0)
            await store.add_subscription(session=session, chat_id=chat_id, tag="llm")

    try:
        await asyncio.gather(*(subscribe(chat_id) for chat_id in range(1, 121)))
    finally:
        await other.dispose()
    async with db.session_scope(factories[0]) as session:
        followers = await store.top_tags(session=session, limit=1)
    assert followers == [("llm", 120)]


async def _backend_of(engine: AsyncEngine) -> int:
    """The server process of the connection the pool hands out next (the only one)."""
    async with engine.connect() as conn:
        return int((await conn.exec_driver_sql("SELECT pg_backend_pid()")).scalar_one())


async def _terminate(database_url: str, pid: int) -> None:
    """The server ends that session, as a restart or a failover would."""
    admin = await asyncpg.connect(postgres_dsn(database_url))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_pooled_connection_the_server_dropped_while_idle_is_replaced_unseen(
    database_url,
):
    engine = db.create_engine(database_url, idle_ping_seconds=0)  # every reuse is "idle"
    try:
        old = await _backend_of(engine)
        await _terminate(database_url, old)
        # the next use pings the dead connection, and gets a fresh one instead
        assert await _backend_of(engine) != old
    finally:
        await engine.dispose()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_connection_in_use_a_moment_ago_is_not_pinged_again(database_url):
    # what the threshold saves: a busy bot's connections are reused without a round
    # trip; one dropped within the threshold fails once, and the pool replaces it
    engine = db.create_engine(database_url, idle_ping_seconds=3600)
    try:
        await _terminate(database_url, await _backend_of(engine))
        with pytest.raises(sa.exc.DBAPIError):
            await _backend_of(engine)
        assert await _backend_of(engine) > 0
    finally:
        await engine.dispose()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_reads_run_outside_a_transaction_and_a_write_session_inside_one(sessions):
    # a transaction has one id: each statement of an autocommit session is a
    # transaction of its own, so each gets another
    xid = sa.text("SELECT txid_current()")

    async def two_ids(session: AsyncSession) -> set[int]:
        conn = await session.connection()
        return {(await conn.execute(xid)).scalar_one() for _ in range(2)}

    async with db.read_scope(sessions) as session:
        assert len(await two_ids(session)) == 2
    async with db.autocommit_scope(sessions) as session:
        assert len(await two_ids(session)) == 2
    async with db.session_scope(sessions) as session:
        assert len(await two_ids(session)) == 1


async def test_an_autocommit_session_writes_what_it_changed_and_a_read_session_sees_it(
    sessions,
):
    async with db.session_scope(sessions) as session:
        session.add(Chat(id=5, type="private", timezone="UTC", digest_time="08:00"))
    async with db.autocommit_scope(sessions) as session:
        chat = await session.get(Chat, 5)
        assert chat is not None
        chat.min_score = 7  # flushed when the block ends
    async with db.read_scope(sessions) as session:
        again = await session.get(Chat, 5)
        assert again is not None and again.min_score == 7
    with pytest.raises(RuntimeError):
        async with db.autocommit_scope(sessions) as session:
            chat = await session.get(Chat, 5)
            assert chat is not None
            chat.min_score = 9
            raise RuntimeError("before the block's end: nothing written")
    async with db.read_scope(sessions) as session:
        again = await session.get(Chat, 5)
        assert again is not None and again.min_score == 7


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_64_sessions_at_once_share_the_pools_connections_and_open_no_more(database_url):
    # the default pool opened and closed a connection for every other update under the
    # bot's 64 concurrent updates (bench/RESULTS.md, issue 19)
    engine = db.create_engine(database_url)
    opened = []
    sa.event.listen(engine.sync_engine, "connect", lambda *_args: opened.append(1))
    sessions = db.session_factory(engine)

    async def one(n: int) -> None:
        scope = db.read_scope if n % 2 else db.session_scope
        async with scope(sessions) as session:
            await (await session.connection()).execute(sa.text("SELECT 1"))

    try:
        for _round in range(3):
            await asyncio.gather(*(one(n) for n in range(64)))
        assert len(opened) <= db.PG_POOL_SIZE
    finally:
        await engine.dispose()


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


async def test_0005_gives_stored_briefs_their_link_and_title_key_and_keeps_them_going_down(
    database_url,
):
    engine = db.create_engine(database_url)

    async def rows(sql: str) -> list[tuple[object, ...]]:
        async with engine.connect() as conn:
            return [tuple(r) for r in await conn.execute(sa.text(sql))]

    try:
        await db.upgrade(engine, "0003")
        async with engine.begin() as conn:
            for sql in (
                "insert into briefs (id, title, score, category, published_at, url,"
                " content_hash, ingested_at, updated_at) values"
                " (1, 'OpenAI''s GPT-5 — out!', 5, 'News', '2026-11-27 08:00:00',"
                " 'https://a.example/gpt5', 'h1', '2026-11-27 08:00:00', '2026-11-27 08:00:00'),"
                " (2, 'No link', 5, 'News', '2026-11-27 08:00:00', null,"
                " 'h2', '2026-11-27 08:00:00', '2026-11-27 08:00:00')",
                "insert into tags (id, slug) values (3, 'llm')",
                "insert into brief_tags (brief_id, tag_id, position) values (1, 3, 0)",
                "insert into feeds (url, failures) values ('https://f.example/rss', 0)",
            ):
                await conn.execute(sa.text(sql))

        await db.upgrade(engine)
        assert await rows("select brief_id, feed_id, url from brief_sources") == [
            (1, None, "https://a.example/gpt5")
        ]
        assert await rows("select id, title_key from briefs order by id") == [
            (1, "openai s gpt 5 out"),
            (2, "no link"),
        ]
        assert await rows("select url, tags, paused from feeds") == [
            ("https://f.example/rss", "", False)
        ]

        await db.downgrade(engine, "0003")  # SQLite: must not rebuild briefs (cascades)
        assert await rows("select brief_id, tag_id from brief_tags") == [(1, 3)]
        assert len(await rows("select * from briefs")) == 2
        assert len(await rows("select * from feeds")) == 1
    finally:
        await engine.dispose()


async def _fill_every_table(sessions: db.SessionFactory) -> None:
    """A row or more in every table, as the bot writes them: briefs and their tags, a chat
    following one, a broadcast sent to it (outbox rows naming the broadcast), a feed
    and the brief's source in it, an audit entry and a kept value."""
    now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    async with db.session_scope(sessions) as session:
        feed = await store.add_feed(
            session=session, feed=Feed(url="https://example.com/feed.json", tags="llm")
        )
        assert feed is not None
        await store.upsert_briefs(
            session=session,
            briefs=[make_brief(tags=("llm",), url="https://example.com/a")],
            feed_id=feed.id,
        )
        await store.get_or_create_chat(
            session=session,
            chat_id=42,
            defaults={
                "digest_times": "08:00,18:00",
                "alert_score": 8,
                "quiet_hours": "23:00-06:00",
            },
        )
        await store.add_subscription(session=session, chat_id=42, tag="llm")
        await store.save_alerts(  # an alert queued, and the chat's count of them
            session=session,
            rows=[store.AlertRow(42, 1, '{"v":1,"alert":1}')],
            counts=[(42, "2026-12-01", 1, "1")],
            now=now,
        )
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
        await store.add_audit(session=session, admin_id=1, action="broadcast.send", now=now)
        await store.get_or_set_value(session=session, key="webhook_secret", value="s")
        await store.add_filter(session=session, chat_id=42, kind="mute", term="x", text="X")
        await store.save_weights(session=session, chat_id=42, values={"llm": (1.0, 1)}, now=now)
        # a channel (chat -100) its admin 42 manages from their private chat, a saved
        # brief and a shared tag list
        await store.get_or_create_chat(session=session, chat_id=-100, defaults={"type": "channel"})
        await store.add_channel(session=session, chat_id=-100, added_by=42)
        await store.set_managed_chat(session=session, user_id=42, chat_id=-100)
        await store.save_brief(session=session, user_id=42, brief_id=1, at=now)
        await store.add_share(session=session, code="abcdEF12", chat_id=42, tags=["llm"])


async def test_0007_down_keeps_each_chat_with_its_first_digest_time(database_url):
    engine = db.create_engine(database_url)
    try:
        await db.upgrade(engine)
        sessions = db.session_factory(engine)
        async with db.session_scope(sessions) as session:
            await store.get_or_create_chat(
                session=session,
                chat_id=7,
                defaults={"digest_time": "06:30", "digest_times": "06:30,18:00", "alert_score": 9},
            )
        before = ScriptDirectory.from_config(db.alembic_config()).get_revision("0007").down_revision
        await db.downgrade(engine, str(before))
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.text("select id, digest_time from chats"))).all()
        assert [tuple(r) for r in rows] == [(7, "06:30")]
        await db.upgrade(engine)
        async with sessions() as session:
            chat = await session.get(Chat, 7)
            assert chat is not None
            assert (chat.times(), chat.alert_score, chat.quiet_hours) == (
                "06:30",
                None,
                "22:00-07:00",
            )
    finally:
        await engine.dispose()


async def _row_counts(engine: AsyncEngine) -> dict[str, int]:
    """Rows in each table the schema has at its current revision."""
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
        return {
            name: (await conn.execute(sa.text(f"select count(*) from {name}"))).scalar_one()
            for name in names
            # the full-text index's tables follow briefs by themselves (models.is_model_object)
            if name != "alembic_version" and is_model_object(name, "table", {})
        }


# Tables a downgrade drops with the feature they hold, so their rows can't come back up
# (everything else is kept on the way down, or rebuilt on the way up like brief_sources).
EMPTY_AFTER_DOWN_AND_UP = {"channels", "managing", "saved_briefs", "tag_shares"}  # 0008


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
            # every table the downgrade kept keeps its rows; one the revision creates comes
            # back empty, or with what its upgrade derives from kept rows (0005's sources)
            assert {name: back[name] for name in kept} == {name: filled[name] for name in kept}
            assert set(back) >= set(kept)
        await db.downgrade(engine, previous or "base")
    assert await _row_counts(engine) == {}


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
