"""The store on a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from digestbot import store
from digestbot.store import Outcome
from digestbot.store.db import SessionFactory, session_scope
from digestbot.store.models import Brief, Chat, Outbox
from tests.factories import make_brief


async def upsert(sessions: SessionFactory, *briefs):
    async with session_scope(sessions) as session:
        return await store.upsert_briefs(session=session, briefs=list(briefs))


async def all_briefs(sessions: SessionFactory):
    async with sessions() as session:
        return [b async for b in store.iter_briefs(session=session)]


async def test_new_briefs_are_added_and_read_back_losslessly(sessions):
    first = make_brief(tags=("zeta", "alpha", "mid"), url="https://example.org/a", id="src-1")
    second = make_brief(summary=None, what_happened=None, technical_details="Δ < 5 ms & more")

    assert await upsert(sessions, first, second) == [Outcome.ADDED, Outcome.ADDED]

    assert await all_briefs(sessions) == [first, second]  # tag order kept, None kept None


async def test_ingesting_the_same_brief_again_changes_nothing(sessions):
    brief = make_brief()
    await upsert(sessions, brief)

    assert await upsert(sessions, brief) == [Outcome.UNCHANGED]
    assert await all_briefs(sessions) == [brief]


async def test_changed_brief_with_same_title_and_time_is_updated_not_duplicated(sessions):
    brief = make_brief(score=4, tags=("a", "b"))
    await upsert(sessions, brief)
    changed = dataclasses.replace(brief, score=9, summary="Rewritten.", tags=("b", "c"))

    assert await upsert(sessions, changed) == [Outcome.UPDATED]
    assert await all_briefs(sessions) == [changed]


async def test_changed_brief_with_same_source_id_is_updated_even_if_retitled(sessions):
    brief = make_brief(id="feed-42")
    await upsert(sessions, brief)
    retitled = dataclasses.replace(brief, title="A better title", published_at=brief.published_at)

    assert await upsert(sessions, retitled) == [Outcome.UPDATED]
    assert await all_briefs(sessions) == [retitled]


async def test_duplicates_within_one_batch_are_stored_once(sessions):
    brief = make_brief()
    newer = dataclasses.replace(brief, score=8)

    assert await upsert(sessions, brief, brief, newer) == [
        Outcome.ADDED,
        Outcome.UNCHANGED,
        Outcome.UPDATED,
    ]
    assert await all_briefs(sessions) == [newer]


async def test_same_title_at_another_time_is_another_brief(sessions):
    brief = make_brief()
    later = dataclasses.replace(
        brief, published_at=brief.published_at.replace(year=brief.published_at.year + 1)
    )

    assert await upsert(sessions, brief, later) == [Outcome.ADDED, Outcome.ADDED]


async def test_brief_ids_are_never_reused_after_a_delete(sessions):
    # digests remember "the newest brief id a chat has seen"; a reused id would hide briefs
    from sqlalchemy import delete

    from digestbot.store.models import Brief

    await upsert(sessions, make_brief(), make_brief())
    async with session_scope(sessions) as session:
        await session.exec(delete(Brief).where(Brief.id == 2))
    await upsert(sessions, make_brief())
    async with sessions() as session:
        ids = sorted((await session.exec(select(Brief.id))).all())
    assert ids == [1, 3]


async def test_tag_counts_and_subscriptions(sessions):
    await upsert(sessions, make_brief(tags=("llm", "chips")), make_brief(tags=("llm",)))
    async with session_scope(sessions) as session:
        await store.get_or_create_chat(session=session, chat_id=-100123456789)
        assert await store.add_subscription(session=session, chat_id=-100123456789, tag="llm")
        assert not await store.add_subscription(session=session, chat_id=-100123456789, tag="llm")
        assert await store.add_subscription(session=session, chat_id=-100123456789, tag="new-tag")

    async with session_scope(sessions) as session:
        assert await store.chat_tags(session=session, chat_id=-100123456789) == ["llm", "new-tag"]
        assert await store.tag_counts(session=session) == [
            store.TagCount("llm", 2),
            store.TagCount("chips", 1),
        ]
        assert await store.remove_subscription(session=session, chat_id=-100123456789, tag="llm")
        assert not await store.remove_subscription(
            session=session, chat_id=-100123456789, tag="llm"
        )
        assert await store.chat_tags(session=session, chat_id=-100123456789) == ["new-tag"]


async def test_timestamps_come_back_as_aware_utc(sessions):
    brief = make_brief()
    await upsert(sessions, brief)
    async with sessions() as session:
        row = await session.get(Brief, 1)
    assert row is not None
    assert row.published_at == brief.published_at
    assert row.published_at.utcoffset() is not None
    assert row.ingested_at.utcoffset() is not None


@pytest.mark.parametrize("count", [1200])
async def test_large_batches_cross_the_parameter_limit(sessions, count):
    briefs = [make_brief(tags=(f"t{i % 50}",)) for i in range(count)]
    assert (await upsert(sessions, *briefs)).count(Outcome.ADDED) == count
    assert (await upsert(sessions, *briefs)).count(Outcome.UNCHANGED) == count


async def test_search_folds_case_beyond_ascii(sessions):
    await upsert(sessions, make_brief(title="Über-fast ÉCLAIR chips", summary="Ставка на чипы"))
    async with sessions() as session:
        for word in ("über", "éclair", "ставка", "ЧИПЫ"):
            found = await store.search_items(session=session, words=[word])
            assert [i.brief.title for i in found] == ["Über-fast ÉCLAIR chips"], word


async def test_nul_characters_are_dropped_and_overlong_ids_rejected(sessions):
    from digestbot.briefs.parse import parse_json_text

    good, too_long = parse_json_text(
        json.dumps(
            [
                {**make_brief().to_dict(), "summary": "Null\u0000 byte", "id": "a\u0000b"},
                {**make_brief().to_dict(), "id": "x" * 513},
            ]
        )
    )
    assert too_long.reason == "id is too long (at most 512 characters)"
    assert (await upsert(sessions, good)) == [Outcome.ADDED]  # PostgreSQL would refuse a NUL
    (stored,) = await all_briefs(sessions)
    assert stored.summary == "Null byte"


async def test_claiming_reads_the_queue_in_index_order_never_sorting_all_of_it(sessions, engine):
    """The sender claims a batch every half second: with 100k rows waiting, a claim that
    sorted them all each time would cap delivery (measured: 155 ms vs 2 ms a claim)."""
    now = datetime(2026, 11, 27, 8, tzinfo=UTC)
    statements: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE OUTBOX"):
            statements.append((statement, parameters))

    sa.event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        async with session_scope(sessions) as session:
            await store.claim_due(session=session, now=now, limit=13, kind="digest")
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", capture)
    (statement, parameters), *_ = statements
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        dbapi = raw.driver_connection
        if engine.dialect.name == "sqlite":
            cursor = await dbapi.execute("EXPLAIN QUERY PLAN " + statement, parameters)
            plan = " / ".join(str(row[-1]) for row in await cursor.fetchall())
        else:
            # asyncpg: the compiled statement uses $1..$n placeholders
            rows = await dbapi.fetch("EXPLAIN " + statement, *parameters)
            plan = " / ".join(row[0] for row in rows)
    assert "ix_outbox_claim" in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


async def test_a_batch_of_new_briefs_gets_ids_in_the_order_given(sessions):
    # digests take "every id above the last one seen": ids must follow ingestion order
    briefs = [make_brief(title=f"Order {n}") for n in (3, 1, 2, 5, 4)]
    await upsert(sessions, *briefs)

    async with sessions() as session:
        items = await store.find_items(session=session, order="latest", limit=10)
    by_title = {item.brief.title: item.id for item in items}
    assert [by_title[b.title] for b in briefs] == sorted(by_title.values())


async def test_a_brief_changed_twice_in_one_batch_keeps_the_last_tags_once(sessions):
    stored = make_brief(tags=("a", "b"))
    await upsert(sessions, stored)
    fresh = make_brief(tags=("x",))
    batch = [
        dataclasses.replace(stored, tags=("c",)),
        dataclasses.replace(stored, tags=("d", "a")),
        fresh,
        dataclasses.replace(fresh, tags=("y", "z")),
    ]

    assert await upsert(sessions, *batch) == [
        Outcome.UPDATED,
        Outcome.UPDATED,
        Outcome.ADDED,
        Outcome.UPDATED,
    ]
    assert await all_briefs(sessions) == [batch[1], batch[3]]


async def test_brief_window_says_where_recent_briefs_lie_and_when_they_changed(sessions):
    from datetime import timedelta

    from digestbot.store.models import utcnow

    old, recent = make_brief(), make_brief(id="w-1")
    await upsert(sessions, old)
    between = utcnow()
    await upsert(sessions, recent)

    async with sessions() as session:
        window = await store.brief_window(session=session, since=between)
        again = await store.brief_window(session=session, since=between)
        everything = await store.brief_window(session=session, since=between - timedelta(days=1))
        none = await store.brief_window(session=session, since=utcnow() + timedelta(hours=1))
    assert (window.end, window.first, window.count) == (2, 2, 1)
    assert window.changed is not None and window.changed >= between
    assert again == window  # nothing happened: the planner may keep what it loaded
    assert (everything.first, everything.count) == (1, 2)
    assert (none.end, none.first, none.count, none.changed) == (2, None, 0, None)

    await upsert(sessions, dataclasses.replace(recent, score=recent.score + 1))
    async with sessions() as session:
        corrected = await store.brief_window(session=session, since=between)
    assert (corrected.end, corrected.count) == (2, 1)
    assert corrected.changed is not None and corrected.changed > window.changed

    await upsert(sessions, make_brief())
    async with sessions() as session:
        grown = await store.brief_window(session=session, since=between)
    assert (grown.end, grown.first, grown.count) == (3, 2, 2)


async def test_due_chats_come_earliest_first_without_the_unreachable_paused_or_off(sessions):
    from datetime import UTC, datetime, timedelta

    from digestbot.store.models import Chat

    now = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    chats = [
        Chat(id=1, next_digest_at=now - timedelta(minutes=1)),
        Chat(id=2, next_digest_at=now - timedelta(hours=2)),
        Chat(id=-100, type="group", next_digest_at=now),  # groups have negative ids
        Chat(id=3, next_digest_at=now + timedelta(seconds=1)),  # not yet
        Chat(id=4, next_digest_at=None),  # not scheduled yet
        Chat(id=5, next_digest_at=now - timedelta(hours=1), active=False),
        Chat(id=6, next_digest_at=now - timedelta(hours=1), paused=True),
        Chat(id=7, next_digest_at=now - timedelta(hours=1), frequency="off"),
        Chat(id=8, next_digest_at=now - timedelta(minutes=30)),
    ]
    async with session_scope(sessions) as session:
        session.add_all(chats)

    async with sessions() as session:
        due = await store.due_chats(session=session, now=now, limit=10)
        first_two = await store.due_chats(session=session, now=now, limit=2)
        unscheduled = await store.unscheduled_chats(session=session, limit=10)
    assert [c.id for c in due] == [2, 8, 1, -100]
    assert [c.id for c in first_two] == [2, 8]
    assert [c.id for c in unscheduled] == [4]


async def test_due_chats_say_which_have_filters_or_weights(sessions):
    """The planner reads filters and weights only for the due chats that have some."""
    now = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    due = now - timedelta(minutes=1)
    async with session_scope(sessions) as session:
        session.add_all([Chat(id=n, next_digest_at=due) for n in (1, 2, 3, 4)])
    async with session_scope(sessions) as session:
        await store.add_filter(
            session=session, chat_id=2, kind="mute", term="crypto", text="crypto"
        )
        await store.save_weights(session=session, chat_id=3, values={"llm": (1.0, 1)}, now=now)
        await store.add_filter(session=session, chat_id=4, kind="tag", term="llm", text="llm")
        await store.save_weights(session=session, chat_id=4, values={"chips": (-1.0, 1)}, now=now)

    async with sessions() as session:
        found = await store.due_chats(session=session, now=now, limit=10)
    assert {c.id: c.shaped for c in found} == {1: False, 2: True, 3: True, 4: True}

    async with session_scope(sessions) as session:
        await store.delete_shaping(session=session, chat_id=4)
    async with sessions() as session:
        found = await store.due_chats(session=session, now=now, limit=10)
    assert [c.id for c in found if c.shaped] == [2, 3]


async def test_every_change_to_the_briefs_moves_the_window_revision(sessions):
    """The planner keeps briefs between ticks while the window stays the same: an edit
    must change it even when stamped earlier than the latest change (a clock behind)."""
    since = datetime(2000, 1, 1, tzinfo=UTC)

    async def window():
        async with sessions() as session:
            return await store.brief_window(session=session, since=since)

    brief = make_brief(title="Chip export rules", score=5)
    await upsert(sessions, brief, make_brief(title="Fab subsidies"))
    first = await window()
    async with session_scope(sessions) as session:  # another process stamped one ahead
        await session.exec(
            sa.update(Brief)
            .where(col(Brief.title) == "Fab subsidies")
            .values(updated_at=datetime(2100, 1, 1, tzinfo=UTC))
        )
    ahead = await window()

    await upsert(sessions, brief)  # unchanged: nothing moves
    assert await window() == ahead
    await upsert(sessions, dataclasses.replace(brief, score=9))  # a correction
    corrected = await window()

    assert corrected.changed == ahead.changed  # the time stamp alone would miss it
    assert corrected != ahead and corrected.revision != ahead.revision == first.revision


async def test_save_plan_queues_each_key_once_and_moves_the_schedules(sessions):
    now = datetime(2026, 11, 27, 8, 0, 30, tzinfo=UTC)
    tomorrow = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    async with session_scope(sessions) as session:
        for chat_id in (1, 2):
            await store.get_or_create_chat(session=session, chat_id=chat_id)
    first = [("digest:1:x:0", 1, 0, '{"digest":[1]}')]
    moves = [
        (1, tomorrow, 7, 7, 0, now),
        (2, tomorrow, 3, 7, 2, None),  # no digest: last_digest_at kept
    ]
    async with session_scope(sessions) as session:
        await store.save_plan(session=session, rows=first, moves=moves, now=now)
    again = [*first, ("digest:1:x:1", 1, 1, '{"digest":[2]}')]
    async with session_scope(sessions) as session:
        await store.save_plan(session=session, rows=again, moves=[], now=now)

    async with sessions() as session:
        rows = (await session.exec(sa.select(Outbox).order_by(Outbox.id))).scalars().all()
        chats = {c.id: c for c in (await session.exec(sa.select(Chat))).scalars().all()}
    assert [(r.key, r.part, r.payload, r.status, r.next_attempt_at) for r in rows] == [
        ("digest:1:x:0", 0, '{"digest":[1]}', "pending", now),
        ("digest:1:x:1", 1, '{"digest":[2]}', "pending", now),
    ]
    assert (chats[1].next_digest_at, chats[1].last_brief_id, chats[1].last_digest_at) == (
        tomorrow,
        7,
        now,
    )
    assert (chats[2].last_brief_id, chats[2].window_end_id, chats[2].window_shown) == (3, 7, 2)
    assert chats[2].last_digest_at is None


async def test_schedules_saved_by_the_plan_compare_as_the_orm_stores_them(sessions):
    # save_plan binds timestamps itself: they must sort and match like every other write
    at = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    async with session_scope(sessions) as session:
        session.add(Chat(id=1, next_digest_at=at))  # through the ORM
        await store.get_or_create_chat(session=session, chat_id=2)
    async with session_scope(sessions) as session:
        move = (2, at, 0, 0, 0, None)
        await store.save_plan(session=session, rows=[], moves=[move], now=at)

    async with sessions() as session:
        same = await session.exec(sa.select(sa.func.count()).where(Chat.next_digest_at == at))
        assert same.scalar_one() == 2
        early = await store.due_chats(session=session, now=at - timedelta(microseconds=1), limit=9)
        due = await store.due_chats(session=session, now=at, since=at - timedelta(days=1), limit=9)
    assert early == [] and sorted(c.id for c in due) == [1, 2]
    assert all(c.next_digest_at == at for c in due)


async def test_a_chats_tag_ids_follow_its_subscriptions_through_every_change(sessions):
    async def tag_ids_of(chat_id):
        async with sessions() as session:
            chat = await session.get(Chat, chat_id)
            return None if chat is None else chat.tag_ids

    async with session_scope(sessions) as session:
        ids = await store.ensure_tags(session=session, slugs=["a", "b", "c"])
        for chat_id in (1, 2):
            await store.get_or_create_chat(session=session, chat_id=chat_id)
        for tag in ("c", "a"):
            await store.add_subscription(session=session, chat_id=1, tag=tag)
        await store.add_subscription(session=session, chat_id=2, tag="b")
    assert await tag_ids_of(1) == f"{ids['a']},{ids['c']}"

    async with session_scope(sessions) as session:
        await store.remove_subscription(session=session, chat_id=1, tag="a")
    assert await tag_ids_of(1) == str(ids["c"])

    async with session_scope(sessions) as session:  # group 1 becomes supergroup 2
        await store.move_chat(session=session, old_id=1, new_id=2)
    assert await tag_ids_of(2) == f"{ids['b']},{ids['c']}"

    async with session_scope(sessions) as session:
        await store.remove_all_subscriptions(session=session, chat_id=2)
    assert await tag_ids_of(2) == ""


async def test_chats_rows_lie_by_their_digest_minute_on_sqlite_and_read_the_same(sessions):
    # on SQLite a chat's row is placed with those due at the same minute of the day (a
    # tick's schedule moves then share pages); nothing a query returns may change
    at = {1: (8, 0), 2: (8, 0), 3: (17, 45), -1001234567890: (8, 0)}
    async with session_scope(sessions) as session:
        for chat_id, (hour, minute) in at.items():
            when = datetime(2026, 11, 28, hour, minute, tzinfo=UTC)
            session.add(Chat(id=chat_id, next_digest_at=when))
    async with session_scope(sessions) as session:
        await store.place_chats(session=session, chat_ids=list(at))
    async with session_scope(sessions) as session:  # chat 2 now at 21:10
        chat = await session.get(Chat, 2)
        assert chat is not None
        chat.next_digest_at = datetime(2026, 11, 28, 21, 10, tzinfo=UTC)
    async with session_scope(sessions) as session:
        await store.place_chats(session=session, chat_ids=[2])

    async with sessions() as session:
        chats = {c.id: c for c in (await session.exec(select(Chat))).all()}
        conn = await session.connection()
        if conn.dialect.name == "sqlite":
            rows = await conn.exec_driver_sql("SELECT id, rowid FROM chats")
            minutes = {chat_id: rowid >> store.PLACE_BITS for chat_id, rowid in rows}
            assert minutes == {1: 480, 2: 21 * 60 + 10, 3: 17 * 60 + 45, -1001234567890: 480}
    assert set(chats) == set(at)
    assert chats[2].next_digest_at == datetime(2026, 11, 28, 21, 10, tzinfo=UTC)
    assert chats[-1001234567890].next_digest_at == datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
