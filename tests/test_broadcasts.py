"""Admin broadcasts end to end: preview, Send once, audiences, faults, cancel, progress,
and fair sharing with digests; the real bot against the fake Bot API, on both databases."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from digestbot import store
from digestbot.bot.jobs import show_progress
from digestbot.delivery.payload import BroadcastPayload, decode
from digestbot.fakeapi import Fault
from digestbot.store import db
from digestbot.store.models import Broadcast, Chat, Outbox, OutboxKind, OutboxStatus, Subscription
from tests.bot import running_bot
from tests.factories import audit_entries, make_brief

ADMIN = 9000


@pytest.fixture
async def bot(database_url):
    async with running_bot(database_url, admin_ids=[ADMIN]) as running:
        running.server.private_chat(ADMIN)
        await running.add_briefs([make_brief(tags=("llm", "chips"))])
        yield running


async def add_chats(bot, ids, *, tag: str | None = None, **values) -> None:
    """Chats the fake server knows and the store has, following ``tag`` if given."""
    async with db.session_scope(bot.services.sessions) as session:
        tag_ids = await store.ensure_tags(session=session, slugs=[tag] if tag else [])
        for chat_id in ids:
            follows = str(tag_ids[tag]) if tag else ""  # as store.add_subscription keeps it
            session.add(Chat(id=chat_id, tag_ids=follows, **values))
        await session.flush()
        if tag:
            for chat_id in ids:
                session.add(Subscription(chat_id=chat_id, tag_id=tag_ids[tag]))
    for chat_id in ids:
        bot.server.private_chat(chat_id)


async def status_message(bot):
    """The admin's latest message from the bot that carries buttons."""
    for request in reversed(bot.server.calls("sendMessage", chat_id=ADMIN)):
        if request.ok and request.params.get("reply_markup"):
            return request.result
    raise AssertionError("no message with buttons")


def button_data(message) -> list[str]:
    markup = message["reply_markup"]
    if isinstance(markup, str):
        markup = json.loads(markup)
    return [b["callback_data"] for row in markup["inline_keyboard"] for b in row]


async def press(bot, message, data: str, from_user=ADMIN):
    return await bot.press(bot.server.chat(ADMIN), message["message_id"], data, from_user)


def answer_of(requests) -> str:
    (answer,) = [r for r in requests if r.method == "answerCallbackQuery"]
    return str(answer.params.get("text", ""))


def got(bot, needle: str = "Maintenance") -> dict[int, int]:
    """Chat id -> how many times the broadcast arrived there."""
    counts: dict[int, int] = {}
    for request in bot.server.calls("sendMessage"):
        chat_id = int(request.chat_id or 0)
        if request.ok and chat_id != ADMIN and needle in str(request.params.get("text")):
            counts[chat_id] = counts.get(chat_id, 0) + 1
    return counts


async def drafted(bot, text="/broadcast Maintenance tonight at 22:00 <sharp>"):
    """Ask for a broadcast (its first word after the command in bold, as the admin
    formatted it); returns the status message with its buttons."""
    start = text.find("Maintenance")
    bold = [{"type": "bold", "offset": start, "length": len("Maintenance")}] if start > 0 else []
    update = await bot.server.send_message(bot.server.chat(ADMIN), text, ADMIN, entities=bold)
    await bot.handled(update)
    return await status_message(bot)


async def test_preview_shows_the_message_and_audience_and_nothing_goes_before_send(bot):
    await add_chats(bot, range(1, 6))
    await add_chats(bot, [6], paused=True)  # /stop means no pushes, broadcasts included
    await add_chats(bot, [7], active=False)

    replies = await bot.texts(bot.server.chat(ADMIN), "/broadcast Maintenance tonight", ADMIN)

    assert replies[0] == "Maintenance tonight"  # the preview is the message itself
    assert "all active chats" in replies[1] and "5 chats" in replies[1]
    message = await status_message(bot)
    assert button_data(message) == [f"bc:go:{1}", f"bc:no:{1}"]
    await bot.deliver()
    assert got(bot) == {}
    assert await bot.outbox() == []


async def test_send_reaches_every_active_chat_once_and_a_second_press_sends_nothing(bot):
    await add_chats(bot, range(1, 21))
    message = await drafted(bot)

    first = answer_of(await press(bot, message, "bc:go:1"))
    second = answer_of(await press(bot, message, "bc:go:1"))
    await bot.deliver()

    assert "Sending to 20 chats" in first
    assert "Already sent" in second
    assert got(bot) == dict.fromkeys(range(1, 21), 1)
    sent = [r for r in bot.server.calls("sendMessage") if int(r.chat_id or 0) == 7]
    # the admin's formatting kept, their text escaped
    assert sent[0].params["text"] == "<b>Maintenance</b> tonight at 22:00 &lt;sharp&gt;"
    rows = await bot.outbox()
    assert {r.key for r in rows} == {f"broadcast:1:{n}" for n in range(1, 21)}
    # the text is stored once: each row names the broadcast
    assert {decode(r.payload) for r in rows} == {BroadcastPayload(1)}


async def test_forged_or_stale_presses_send_nothing(bot):
    await add_chats(bot, range(1, 4))
    message = await drafted(bot)
    other = await bot.say(bot.server.chat(ADMIN), "/help", ADMIN)

    # the right data on another message (not the broadcast's own), an unknown id, a
    # non-admin pressing the real button
    wrong_message = {"message_id": other[0].result["message_id"]}
    answers = [
        answer_of(await press(bot, wrong_message, "bc:go:1")),
        answer_of(await press(bot, message, "bc:go:99")),
        answer_of(await press(bot, message, "bc:go:1", from_user=4242)),
        answer_of(await press(bot, message, "bc:go:x")),
    ]
    await bot.deliver()

    assert all("expired" in a for a in answers), answers
    assert got(bot) == {}


async def test_a_tag_broadcast_reaches_only_its_followers(bot):
    await add_chats(bot, range(1, 5), tag="chips")
    await add_chats(bot, range(5, 9), tag="llm")

    replies = await bot.texts(bot.server.chat(ADMIN), "/broadcast #Chips Maintenance", ADMIN)
    assert "followers of #chips" in replies[-1] and "4 chats" in replies[-1]
    await press(bot, await status_message(bot), "bc:go:1")
    await bot.deliver()

    assert got(bot) == dict.fromkeys(range(1, 5), 1)


async def test_unknown_tag_no_audience_and_bad_usage_get_clear_answers(bot):
    admin = bot.server.chat(ADMIN)
    await add_chats(bot, [1], tag="llm")

    unknown = await bot.texts(admin, "/broadcast #chipz Hello", ADMIN)
    usage = await bot.texts(admin, "/broadcast", ADMIN)
    nobody = await bot.texts(admin, "/broadcast #chips Hello", ADMIN)

    assert "no tag #chipz" in unknown[0] and "#chips" in unknown[0]
    assert "/broadcast TEXT" in usage[0]
    assert "No chat would get it" in nobody[0]
    async with bot.services.sessions() as session:
        assert list(await session.exec(select(Broadcast))) == []


async def test_a_reply_broadcast_copies_the_message_itself(bot):
    await add_chats(bot, range(1, 4))
    admin = bot.server.chat(ADMIN)
    original = await bot.server.send_message(admin, "Photo caption with formatting", ADMIN)
    await bot.handled(original)
    source_id = bot.server.messages(admin)[-1].message_id

    update = await bot.server.send_message(
        admin, "/broadcast", ADMIN, reply_to_message_id=source_id
    )
    await bot.handled(update)
    preview = bot.server.calls("copyMessage", chat_id=ADMIN)
    assert len(preview) == 1 and preview[0].params["message_id"] == source_id
    await press(bot, await status_message(bot), "bc:go:1")
    await bot.deliver()

    copies = [r for r in bot.server.calls("copyMessage") if int(r.chat_id or 0) != ADMIN]
    assert sorted(int(r.chat_id or 0) for r in copies if r.ok) == [1, 2, 3]
    assert all(int(r.params["from_chat_id"]) == ADMIN for r in copies)


async def test_500_chats_with_403s_and_a_429_midway_all_reachable_get_it_once(bot):
    await add_chats(bot, range(1, 501))
    for chat_id in range(10, 500, 50):  # 10 chats blocked the bot
        bot.server.fail("sendMessage", Fault.blocked(), chat_id=chat_id)
    bot.server.fail("sendMessage", Fault.kicked(), chat_id=3)
    bot.server.fail("sendMessage", Fault.retry_after(5), chat_id=250)
    message = await drafted(bot)
    await press(bot, message, "bc:go:1")
    start = bot.clock.monotonic()

    await bot.deliver()
    await show_progress(bot.app.bot, bot.services)

    unreachable = {*range(10, 500, 50), 3}
    assert bot.clock.monotonic() - start >= 5  # the 429 paused everything
    assert got(bot) == {n: 1 for n in range(1, 501) if n not in unreachable}
    final = bot.server.calls("editMessageText", chat_id=ADMIN)[-1].params["text"]
    assert "489 of 500 chats got it" in final
    assert "10 blocked the bot" in final and "1 left or was deleted" in final
    assert "is done: 489 of 500" in bot.server.sent_texts(ADMIN)[-1]
    for chat_id in unreachable:
        assert not (await bot.services.chats.get(chat_id)).active


async def test_progress_is_edited_as_sending_goes_and_only_when_it_moved(bot):
    await add_chats(bot, range(1, 41))
    message = await drafted(bot)
    await press(bot, message, "bc:go:1")
    edits = bot.server.calls("editMessageText", chat_id=ADMIN)
    assert "0 of 40 sent" in edits[-1].params["text"]  # Send turns the buttons into Stop
    assert button_data(edits[-1].result) == ["bc:stop:1"]

    mark = bot.server.mark()
    await bot.services.sender.drain_once()
    await bot.services.sender.drain_once()
    await show_progress(bot.app.bot, bot.services)
    await show_progress(bot.app.bot, bot.services)  # nothing moved: no second edit
    edits = [r for r in bot.server.requests[mark:] if r.method == "editMessageText"]
    assert len(edits) == 1
    text = edits[0].params["text"]
    sent = len(got(bot))
    assert 0 < sent < 40 and f"{sent} of 40 sent" in text and "left." in text  # with an ETA

    await bot.deliver()
    await show_progress(bot.app.bot, bot.services)
    final = bot.server.calls("editMessageText", chat_id=ADMIN)[-1]
    assert "40 of 40 chats got it" in final.params["text"]
    assert "reply_markup" not in final.params  # no Stop button on a finished broadcast
    async with bot.services.sessions() as session:
        (broadcast,) = await session.exec(select(Broadcast))
    assert broadcast.status == "done" and broadcast.finished_at is not None


async def test_cancel_before_send_sends_nothing_and_stop_drops_the_rest(bot):
    await add_chats(bot, range(1, 31))
    draft = await drafted(bot)
    assert answer_of(await press(bot, draft, "bc:no:1")) == "Cancelled."
    assert "was cancelled" in answer_of(await press(bot, draft, "bc:go:1"))
    await bot.deliver()
    assert got(bot) == {}

    message = await drafted(bot, "/broadcast Maintenance again")
    await press(bot, message, "bc:go:2")
    await bot.services.sender.drain_once()
    sent_before_stop = len(got(bot))
    answer = answer_of(await press(bot, message, "bc:stop:2"))
    await bot.deliver()

    assert 0 < sent_before_stop < 30
    assert len(got(bot)) == sent_before_stop  # nothing more after the stop
    assert f"{30 - sent_before_stop} messages will not be sent" in answer
    final = bot.server.calls("editMessageText", chat_id=ADMIN)[-1].params["text"]
    assert f"{sent_before_stop} of 30 chats got it" in final and "stopped" in final
    assert "finished already" in answer_of(await press(bot, message, "bc:stop:2"))


async def test_broadcasts_lists_recent_ones_with_counts_and_a_stop_button(bot):
    await add_chats(bot, range(1, 11))
    await press(bot, await drafted(bot), "bc:go:1")
    await bot.deliver()
    await show_progress(bot.app.bot, bot.services)
    await press(bot, await drafted(bot, "/broadcast Maintenance 2"), "bc:go:2")

    (listing,) = await bot.texts(bot.server.chat(ADMIN), "/broadcasts", ADMIN)

    lines = listing.splitlines()
    assert lines[1].startswith("#2") and "sending: 0/10 sent, 10 waiting" in lines[1]
    assert lines[2].startswith("#1") and "done: 10/10 sent" in lines[2]
    listed = bot.server.calls("sendMessage", chat_id=ADMIN)[-1].result
    assert button_data(listed) == ["bc:stop:2"]


async def test_digests_and_a_big_broadcast_share_the_sender_fairly(bot):
    # a broadcast queued first (lower ids) must not make the morning's digests wait, not
    # even in the chats that are still to get the broadcast
    await add_chats(bot, range(1, 201))
    await press(bot, await drafted(bot), "bc:go:1")
    async with db.session_scope(bot.services.sessions) as session:
        now = bot.clock.now
        await store.enqueue(
            session=session,
            rows=[
                {
                    "key": f"digest:{n}:x:0",
                    "chat_id": n,
                    "kind": OutboxKind.DIGEST,
                    "part": 0,
                    "payload": json.dumps({"text": "Your digest"}),
                    "next_attempt_at": now,
                    "created_at": now,
                    "status": "pending",
                    "attempts": 0,
                }
                for n in range(101, 141)  # chats that get the broadcast too
            ],
        )

    for _ in range(6):  # the first few batches
        await bot.services.sender.drain_once()
        bot.clock.advance(seconds=1)

    async with bot.services.sessions() as session:
        sent = dict(
            (
                await session.exec(
                    sa.select(Outbox.kind, sa.func.count())
                    .where(Outbox.status == OutboxStatus.SENT)
                    .group_by(Outbox.kind)
                )
            ).all()
        )
    assert sent.get("digest", 0) >= 20 and sent.get("broadcast", 0) >= 20, sent
    await bot.deliver()
    assert got(bot) == dict.fromkeys(range(1, 201), 1)
    assert got(bot, "Your digest") == dict.fromkeys(range(101, 141), 1)


async def test_a_broadcast_is_audited_from_draft_to_done(bot):
    await add_chats(bot, range(1, 4), tag="llm")
    await press(bot, await drafted(bot, "/broadcast #llm Maintenance"), "bc:go:1")
    await bot.deliver()
    bot.clock.advance(seconds=3)
    await show_progress(bot.app.bot, bot.services)

    async with bot.services.sessions() as session:
        entries = await audit_entries(session)
    assert [e.action for e in entries] == ["broadcast.draft", "broadcast.send", "broadcast.done"]
    assert all(e.admin_id == ADMIN for e in entries)
    assert entries[0].audience == "followers of #llm"
    assert json.loads(entries[1].counts or "{}") == {"queued": 3}
    assert json.loads(entries[2].counts or "{}")["sent"] == 3
    assert entries[2].created_at - entries[0].created_at >= timedelta(seconds=3)


async def test_a_nul_in_the_text_is_dropped_and_the_broadcast_goes_on_both_databases(bot):
    # PostgreSQL refuses NUL in text: the preview went out, then saving the draft failed
    await add_chats(bot, [1, 2])
    message = await drafted(bot, "/broadcast Maintenance\x00 tonight")

    assert "2 chats" in message["text"]
    assert "Sending to 2 chats" in answer_of(await press(bot, message, "bc:go:1"))
    await bot.deliver()

    assert got(bot) == {1: 1, 2: 1}
    sent = [r for r in bot.server.calls("sendMessage") if int(r.chat_id or 0) == 1]
    assert sent[0].params["text"] == "<b>Maintenance</b> tonight"


async def test_one_chat_is_one_chat_and_a_short_wait_is_less_than_a_minute(bot):
    await add_chats(bot, [1])
    message = await drafted(bot)
    texts = bot.server.sent_texts(ADMIN)
    labels = [b.text for row in bot.server.messages(ADMIN)[-1].buttons for b in row]

    answer = answer_of(await press(bot, message, "bc:go:1"))
    running = bot.server.calls("editMessageText", chat_id=ADMIN)[-1].params["text"]
    await bot.deliver()
    await show_progress(bot.app.bot, bot.services)
    final = bot.server.calls("editMessageText", chat_id=ADMIN)[-1].params["text"]

    assert "<b>1 chat</b>. Send it?" in texts[-1]
    assert labels == ["Send to 1 chat", "Cancel"]
    assert answer == "Sending to 1 chat."
    assert "Less than a minute left." in running and " 0 s" not in running
    assert "1 of 1 chat got it" in final
