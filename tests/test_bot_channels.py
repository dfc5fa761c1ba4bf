"""Channels managed from a private chat, share links, inline mode and saved briefs:
the real bot against the fake Bot API, on both databases."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from digestbot.bot.handlers.inline import INLINE_BURST
from digestbot.fakeapi import ChatHandle, RecordedRequest
from digestbot.readers.saved import MAX_SAVED
from tests.bot import Bot
from tests.factories import make_brief

ADMIN = 5001
OTHER = 5002
CHANNEL = -1005550001


def answers(requests: list[RecordedRequest]) -> list[str]:
    return [str(r.params.get("text", "")) for r in requests if r.method == "answerCallbackQuery"]


async def channel_with_bot(bot: Bot) -> ChatHandle:
    """ "Chip News", of which ADMIN is an admin and made the bot one."""
    channel = bot.server.group_chat(CHANNEL, "Chip News", type="channel", admins=[ADMIN])
    await bot.update(
        await bot.server.chat_member_update(channel, "administrator", "left", from_user=ADMIN)
    )
    return channel


async def pick(bot: Bot, me: ChatHandle, label: str) -> list[RecordedRequest]:
    """/channels, then a tap on ``label``."""
    await bot.say(me, "/channels")
    picker = bot.server.messages(me)[-1]
    return await bot.press(me, picker.message_id, picker.button(label).callback_data)


async def test_a_channel_is_managed_from_the_private_chat_and_gets_its_digests(bot):
    await bot.add_briefs([make_brief(tags=("chips",)), make_brief(tags=("rust",))])
    channel = await channel_with_bot(bot)
    me = bot.server.private_chat(ADMIN)

    await pick(bot, me, "Chip News")
    assert "Managing <b>Chip News</b>" in bot.server.messages(me)[-1].source

    (followed,) = await bot.texts(me, "/subscribe chips")
    (timed,) = await bot.texts(me, "/time 09:30")
    (settings,) = await bot.texts(me, "/settings")
    for reply in (followed, timed, settings):  # every reply says which chat it changes
        assert reply.startswith("📢 Managing <b>Chip News</b>")
    assert await bot.services.chats.tags(CHANNEL) == ["chips"]
    assert await bot.services.chats.tags(ADMIN) == []
    assert (await bot.services.chats.get(CHANNEL)).digest_time == "09:30"

    # the digest is posted in the channel at its time
    await bot.services.planner.plan()
    bot.clock.set(datetime(2026, 10, 1, 9, 30, tzinfo=UTC))
    await bot.services.planner.plan()
    await bot.deliver()
    [digest] = [t for t in bot.server.sent_texts(channel) if "Your digest" in t]
    assert "chips" in digest and "rust" not in digest
    assert not any("Your digest" in t for t in bot.server.sent_texts(me))

    # back to me: the same commands change the user's own chat again
    await pick(bot, me, "Back to me")
    (own,) = await bot.texts(me, "/subscribe rust")
    assert not own.startswith("📢") and "rust" in own
    assert await bot.services.chats.tags(ADMIN) == ["rust"]
    assert await bot.services.chats.tags(CHANNEL) == ["chips"]


async def test_filters_and_style_set_while_managing_apply_to_the_channel(bot):
    await bot.add_briefs(
        [
            make_brief(title="Chip fabs expand", tags=("chips",), score=8),
            make_brief(title="Crypto chips rally", tags=("chips",), score=9),
        ]
    )
    channel = await channel_with_bot(bot)
    me = bot.server.private_chat(ADMIN)
    await pick(bot, me, "Chip News")
    await bot.texts(me, "/subscribe chips")

    (muted,) = await bot.texts(me, "/mute crypto")
    (styled,) = await bot.texts(me, "/style compact")
    (listed,) = await bot.texts(me, "/filters")
    for reply in (muted, styled, listed):
        assert reply.startswith("📢 Managing <b>Chip News</b>")
    assert "crypto" in listed
    assert (await bot.services.chats.get(CHANNEL)).compact
    own = await bot.services.chats.get(ADMIN)
    assert own is None or not own.compact

    await bot.services.planner.plan()
    bot.clock.set(datetime(2026, 10, 1, 8, 0, tzinfo=UTC))
    await bot.services.planner.plan()
    await bot.deliver()
    [digest] = [t for t in bot.server.sent_texts(channel) if "Your digest" in t]
    assert "Chip fabs expand" in digest and "Crypto" not in digest


async def test_an_admin_no_longer_is_refused_and_manages_themselves_again(bot):
    await bot.add_briefs([make_brief(tags=("chips",))])
    channel = await channel_with_bot(bot)
    me = bot.server.private_chat(ADMIN)
    await pick(bot, me, "Chip News")
    channel.admins.remove(ADMIN)  # demoted (and not a subscriber: Telegram says "left")

    (refusal,) = await bot.texts(me, "/time 06:00")

    assert "no longer an admin of <b>Chip News</b>" in refusal
    assert (await bot.services.chats.get(CHANNEL)).digest_time == "08:00"  # unchanged
    (own,) = await bot.texts(me, "/time 06:00")
    assert own.startswith("Digests come at <b>06:00</b>")
    assert (await bot.services.chats.get(ADMIN)).digest_time == "06:00"
    # nor can they pick it again
    answered = answers(await pick(bot, me, "Chip News"))
    assert answered == ["You are not an admin there."]
    assert (await bot.services.channels.managed(ADMIN)) is None


async def test_someone_else_cannot_pick_a_channel_they_did_not_add(bot):
    await channel_with_bot(bot)
    other = bot.server.private_chat(OTHER)
    (reply,) = await bot.texts(other, "/channels")
    assert reply.startswith("You have no channels with me yet")
    answer = bot.server.messages(other)[-1]
    forged = await bot.press(other, answer.message_id, f"ch:{CHANNEL}")  # a forged button
    assert answers(forged) == ["This button has expired. Send the command again for a fresh one."]
    assert (await bot.services.channels.managed(OTHER)) is None


async def test_a_channel_that_removes_the_bot_goes_inactive_and_is_managed_no_more(bot):
    await bot.add_briefs([make_brief(tags=("chips",))])
    channel = await channel_with_bot(bot)
    me = bot.server.private_chat(ADMIN)
    await pick(bot, me, "Chip News")

    await bot.update(await bot.server.chat_member_update(channel, "kicked", "administrator"))

    assert not (await bot.services.chats.get(CHANNEL)).active
    (tags,) = await bot.texts(me, "/subscribe chips")
    assert not tags.startswith("📢")  # the user's own chat again
    assert await bot.services.chats.tags(ADMIN) == ["chips"]
    (none,) = await bot.texts(me, "/channels")
    assert none.startswith("You have no channels with me yet")


async def test_a_share_link_offers_the_same_tags_in_one_tap(bot):
    await bot.add_briefs([make_brief(tags=("chips", "rust"))])
    me, friend = bot.server.private_chat(ADMIN), bot.server.private_chat(OTHER)
    await bot.say(me, "/subscribe chips rust")

    (shared,) = await bot.texts(me, "/share")

    link = re.search(r"https://t\.me/digestbot_test_bot\?start=([A-Za-z0-9_-]+)", shared)
    assert link is not None and len(link[1]) <= 64, shared
    (offer,) = await bot.texts(friend, f"/start {link[1]}")
    assert "chips, rust" in offer
    message = bot.server.messages(friend)[-1]
    await bot.press(friend, message.message_id, message.button("Follow these 2 tags").callback_data)
    assert await bot.services.chats.tags(OTHER) == ["chips", "rust"]
    assert "Following <b>chips, rust</b>" in bot.server.messages(friend)[-1].source

    (bad,) = await bot.texts(friend, "/start tags-nosuchcode")
    assert bad.startswith("That share link is not valid")
    (nothing,) = await bot.texts(bot.server.private_chat(5003), "/share")
    assert nothing.startswith("Follow some tags first")


async def inline(bot: Bot, user: int, text: str) -> dict[str, object]:
    update_id, query_id = await bot.server.inline_query(user, text)
    await bot.update(update_id)
    return bot.server.inline_answers[query_id]


async def test_inline_mode_lists_matching_briefs_as_articles_to_send(bot):
    await bot.add_briefs(
        [
            make_brief(title="Quantum chips ship", score=8, url="https://example.com/q"),
            make_brief(title="Rust in the kernel"),
        ]
    )

    answer = await inline(bot, OTHER, "quantum")

    (result,) = answer["results"]
    assert result["type"] == "article" and result["title"] == "Quantum chips ship"
    assert result["url"] == "https://example.com/q"
    assert result["description"].startswith("8/10")
    assert "Quantum chips ship" in result["input_message_content"]["message_text"]
    assert answer["cache_time"] == 300
    assert (await inline(bot, OTHER, "nothing-matches-this"))["results"] == []


async def test_inline_queries_are_limited_per_user_with_a_clear_empty_answer(bot):
    await bot.add_briefs([make_brief(title="Quantum chips ship")])
    for _ in range(INLINE_BURST):
        assert len((await inline(bot, OTHER, "quantum"))["results"]) == 1

    limited = await inline(bot, OTHER, "quantum")

    assert limited["results"] == [] and limited["cache_time"] == 0
    assert "Too many searches" in limited["button"]["text"]
    assert len((await inline(bot, ADMIN, "quantum"))["results"]) == 1  # others go on
    bot.clock.advance(seconds=10)
    assert len((await inline(bot, OTHER, "quantum"))["results"]) == 1  # and so do they, later


async def test_saved_briefs_are_kept_listed_and_removed(bot):
    (first, second) = await bot.add_briefs([make_brief(), make_brief()])
    me = bot.server.private_chat(ADMIN)
    for brief_id in (first, second):
        await bot.say(me, f"/brief {brief_id}")
        shown = bot.server.messages(me)[-1]
        pressed = await bot.press(me, shown.message_id, shown.button("☆ Save").callback_data)
        assert answers(pressed) == ["Saved: /saved lists them."]
        bot.clock.advance(seconds=1)
    again = await bot.press(me, shown.message_id, f"sv:{second}")
    assert answers(again) == ["Already saved: /saved lists them."]

    (listed,) = await bot.texts(me, "/saved")
    assert listed.index(f"/brief_{second}") < listed.index(f"/brief_{first}")  # newest first
    saved = bot.server.messages(me)[-1]
    removed = await bot.press(me, saved.message_id, saved.button(f"✕ {first}").callback_data)
    assert answers(removed) == [f"Removed {first}."]
    assert [b.text for row in bot.server.messages(me)[-1].buttons for b in row] == [f"✕ {second}"]
    assert [i.id for i in await bot.services.saved.items(ADMIN)] == [second]


async def test_at_most_100_saved_briefs_the_oldest_dropped_with_a_notice(bot):
    ids = await bot.add_briefs([make_brief() for _ in range(MAX_SAVED + 1)])
    for brief_id in ids[:MAX_SAVED]:
        await bot.services.saved.save(ADMIN, brief_id)
        bot.clock.advance(seconds=1)
    me = bot.server.private_chat(ADMIN)
    await bot.say(me, f"/brief {ids[-1]}")
    shown = bot.server.messages(me)[-1]

    pressed = await bot.press(me, shown.message_id, shown.button("☆ Save").callback_data)

    assert answers(pressed) == [f"Saved. You keep at most {MAX_SAVED}: the oldest 1 went."]
    kept = [i.id for i in await bot.services.saved.items(ADMIN)]
    assert len(kept) == MAX_SAVED and ids[0] not in kept and kept[0] == ids[-1]
    mark = bot.server.mark()
    await bot.say(me, "/saved")
    listing = [m for m in bot.server.messages(me) if m.text and "Saved briefs" in m.text]
    assert listing and f"({MAX_SAVED} of at most {MAX_SAVED})" in listing[-1].text
    assert bot.server.requests[mark:]  # answered, in as many messages as it takes
    last = bot.server.messages(me)[-1]
    assert sum(len(row) for row in last.buttons) == MAX_SAVED
