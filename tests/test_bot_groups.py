"""Groups and channels through the real bot: joining, leaving, blocking, and who may change what."""

from __future__ import annotations

from typing import Any, Literal

import pytest

from digestbot.fakeapi import BotStatus, ChatHandle, RecordedRequest
from tests.bot import Bot
from tests.factories import make_brief

GROUP_ID = -1001234567890
ADMIN = 7001
MEMBER = 7002
REFUSAL = "Only this group's admins can change what I send here."
GREETING = "Hello! I'll post digests of news briefs here."


def newsroom(
    bot: Bot, type: Literal["group", "supergroup", "channel"] = "supergroup"
) -> ChatHandle:
    return bot.server.group_chat(GROUP_ID, "Newsroom", type=type, admins=[ADMIN])


async def settings_of(bot: Bot, chat_id: int = GROUP_ID) -> tuple[object, ...]:
    chat = await bot.services.chats.get(chat_id)
    assert chat is not None
    return (
        chat.digest_time,
        chat.timezone,
        chat.frequency,
        chat.weekly_day,
        chat.min_score,
        chat.digest_size,
        chat.paused,
    )


async def added(bot: Bot, group: ChatHandle, status: BotStatus = "member") -> list[str]:
    """The bot is added to ``group``; returns the texts it sent there."""
    mark = bot.server.mark()
    await bot.update(await bot.server.chat_member_update(group, status, "left"))
    return [str(r.params["text"]) for r in bot.sent_since(mark) if r.chat_id == group.id]


def answer_texts(requests: list[RecordedRequest]) -> list[str]:
    return [str(r.params.get("text", "")) for r in requests if r.method == "answerCallbackQuery"]


# ---- joining, leaving, blocking ---------------------------------------------------------------


@pytest.mark.parametrize("kind", ["group", "supergroup"])
async def test_added_to_a_group_registers_it_and_greets_once(bot, kind):
    group = newsroom(bot, kind)

    (greeting,) = await added(bot, group)

    assert greeting.startswith(GREETING)
    chat = await bot.services.chats.get(GROUP_ID)
    assert chat is not None and chat.active
    assert (chat.type, chat.title) == (kind, "Newsroom")
    # promoted to admin afterwards: still there, no second hello
    mark = bot.server.mark()
    await bot.update(await bot.server.chat_member_update(group, "administrator", "member"))
    assert bot.sent_since(mark) == []
    assert (await bot.services.chats.get(GROUP_ID)).active


async def test_added_straight_as_administrator_greets_too(bot):
    (greeting,) = await added(bot, newsroom(bot), "administrator")
    assert greeting.startswith(GREETING)


async def test_added_to_a_channel_registers_it_without_posting_and_removal_deactivates(bot):
    channel = newsroom(bot, "channel")

    assert await added(bot, channel, "administrator") == []  # readers see no chatter

    chat = await bot.services.chats.get(GROUP_ID)
    assert chat is not None and chat.active and chat.type == "channel"
    await bot.update(await bot.server.chat_member_update(channel, "left", "administrator"))
    assert not (await bot.services.chats.get(GROUP_ID)).active


@pytest.mark.parametrize("how", ["left", "kicked"])
async def test_removed_from_a_group_marks_it_inactive_and_back_again_is_active(bot, how):
    group = newsroom(bot)
    await added(bot, group)

    mark = bot.server.mark()
    await bot.update(await bot.server.chat_member_update(group, how, "member"))

    assert not (await bot.services.chats.get(GROUP_ID)).active
    assert bot.sent_since(mark) == []  # nothing is sent to a chat the bot just left
    (hello_again,) = await added(bot, group)
    assert hello_again.startswith(GREETING)
    assert (await bot.services.chats.get(GROUP_ID)).active


async def test_a_user_blocking_the_bot_marks_the_chat_inactive_and_unblocking_wakes_it(bot):
    chat = bot.server.private_chat(42)
    await bot.say(chat, "/start")
    assert (await bot.services.chats.get(42)).active

    await bot.update(await bot.server.chat_member_update(chat, "kicked", "member"))
    assert not (await bot.services.chats.get(42)).active

    await bot.update(await bot.server.chat_member_update(chat, "member", "kicked"))
    assert (await bot.services.chats.get(42)).active
    assert (await bot.texts(chat, "/mytags"))[0].startswith("You follow no tags")


async def test_leaving_and_coming_back_keeps_a_stop(bot):
    """/stop holds until /start: unblocking the bot or re-adding it to a group is no /start."""
    chat = bot.server.private_chat(42)
    await bot.say(chat, "/start")
    await bot.say(chat, "/stop")
    await bot.update(await bot.server.chat_member_update(chat, "kicked", "member"))
    await bot.update(await bot.server.chat_member_update(chat, "member", "kicked"))
    private = await bot.services.chats.get(42)
    assert private.active and private.paused

    group = newsroom(bot)
    await added(bot, group)
    await bot.say(group, "/stop", from_user=ADMIN)
    await bot.update(await bot.server.chat_member_update(group, "left", "member"))
    (hello_again,) = await added(bot, group)
    assert hello_again.startswith(GREETING)
    again = await bot.services.chats.get(GROUP_ID)
    assert again.active and again.paused
    assert "paused (/start resumes)" in (await bot.texts(group, "/settings", from_user=MEMBER))[0]


# ---- who may change what ---------------------------------------------------------------------

CHANGES = [
    "/subscribe chips",
    "/unsubscribe llm",
    "/unsubscribe all",
    "/time 06:15",
    "/timezone Asia/Kolkata",
    "/frequency weekly friday",
    "/minscore 7",
    "/size 3",
    "/stop",
    "/forget",
]


async def test_a_non_admin_cannot_change_the_groups_tags_or_settings(bot):
    await bot.add_briefs([make_brief(tags=("llm", "chips"))])
    group = newsroom(bot)
    await added(bot, group)
    await bot.say(group, "/subscribe llm", from_user=ADMIN)
    before = await settings_of(bot)

    for command in CHANGES:
        bot.clock.advance(seconds=5)  # stay clear of the flood limit
        assert await bot.texts(group, command, from_user=MEMBER) == [REFUSAL], command

    assert await settings_of(bot) == before
    assert await bot.services.chats.tags(GROUP_ID) == ["llm"]
    assert not any(m.buttons for m in bot.server.messages(group))  # no /forget question


async def test_the_groups_admin_can_change_everything(bot):
    await bot.add_briefs([make_brief(tags=("llm", "chips"))])
    group = newsroom(bot)
    await added(bot, group)

    answers = {}
    for command in CHANGES[:-1]:  # /forget last, it deletes
        bot.clock.advance(seconds=5)
        if command == "/unsubscribe llm":
            await bot.say(group, "/subscribe llm", from_user=ADMIN)
        (answers[command],) = await bot.texts(group, command, from_user=ADMIN)

    assert REFUSAL not in answers.values()
    assert answers["/subscribe chips"] == "Following <b>chips</b> now."
    assert answers["/unsubscribe llm"] == "Stopped following <b>llm</b>."
    assert answers["/unsubscribe all"] == "Stopped following all 1 tag."
    assert await settings_of(bot) == ("06:15", "Asia/Kolkata", "weekly", 4, 7, 3, True)

    (question,) = await bot.texts(group, "/forget", from_user=ADMIN)
    assert question == "Delete your tags and settings? This cannot be undone."
    message = bot.server.messages(group)[-1]
    yes = message.button("Yes, delete everything").callback_data
    refused = await bot.press(group, message.message_id, yes, from_user=MEMBER)
    assert answer_texts(refused) == ["Only this group's admins can do that."]
    assert await bot.services.chats.get(GROUP_ID) is not None
    await bot.press(group, message.message_id, yes, from_user=ADMIN)
    assert await bot.services.chats.get(GROUP_ID) is None


async def test_the_group_owner_counts_as_an_admin(bot):
    await bot.add_briefs([make_brief(tags=("llm",))])
    group = bot.server.group_chat(GROUP_ID, "Newsroom", type="supergroup", owner=ADMIN + 50)
    assert await bot.texts(group, "/subscribe llm", from_user=ADMIN + 50) == [
        "Following <b>llm</b> now."
    ]


async def test_an_anonymous_admin_posting_as_the_group_may_change_settings(bot):
    group = newsroom(bot)
    await added(bot, group)

    async def post_as(sender_chat: dict[str, Any], text: str) -> list[str]:
        message = {
            "message_id": 900 + len(bot.server.requests),
            "from": {"id": 1087968824, "is_bot": True, "first_name": "Group",
                     "username": "GroupAnonymousBot"},
            "sender_chat": sender_chat,
            "chat": group.to_dict(),
            "date": 1_780_000_000,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": text.index(" ")}],
        }  # fmt: skip
        mark = bot.server.mark()
        await bot.handled(await bot.server.push_update({"message": message}))
        return [str(r.params["text"]) for r in bot.sent_since(mark)]

    assert await post_as(group.to_dict(), "/size 4") == ["Up to <b>4</b> briefs per digest."]
    linked_channel = {"id": -1009999, "type": "channel", "title": "Some channel"}
    assert await post_as(linked_channel, "/size 9") == [REFUSAL]
    assert (await bot.services.chats.get(GROUP_ID)).digest_size == 4


async def test_tag_picker_presses_by_a_non_admin_are_refused_and_change_nothing(bot):
    await bot.add_briefs([make_brief(tags=("llm", "chips"))])
    group = newsroom(bot)
    await added(bot, group)

    (picker,) = await bot.say(group, "/tags", from_user=MEMBER)  # anyone may look
    assert picker.params["text"] == "Tap a tag to follow or unfollow it:"
    message = bot.server.messages(group)[-1]
    llm = message.button("llm (1)").callback_data

    refused = await bot.press(group, message.message_id, llm, from_user=MEMBER)
    assert answer_texts(refused) == ["Only this group's admins can change its tags."]
    assert [r.method for r in refused if r.method.startswith("edit")] == []
    assert await bot.services.chats.tags(GROUP_ID) == []

    accepted = await bot.press(group, message.message_id, llm, from_user=ADMIN)
    assert answer_texts(accepted) == ["Following llm"]
    assert await bot.services.chats.tags(GROUP_ID) == ["llm"]
    assert "✓ llm (1)" in [b.text for row in bot.server.messages(group)[-1].buttons for b in row]


async def test_settings_buttons_pressed_by_a_non_admin_are_refused_and_change_nothing(bot):
    group = newsroom(bot)
    await added(bot, group)
    (shown,) = await bot.say(group, "/settings", from_user=MEMBER)  # anyone may look
    assert shown.params["text"].startswith("<b>Your settings</b>")
    message = bot.server.messages(group)[-1]
    before = await settings_of(bot)

    for label in ("Time +1h", "weekly", "Min score +1", "Size −1"):
        bot.clock.advance(seconds=5)
        data = message.button(label).callback_data
        refused = await bot.press(group, message.message_id, data, from_user=MEMBER)
        assert answer_texts(refused) == ["Only this group's admins can change settings."]
        assert not [r for r in refused if r.method.startswith("edit")], label

    assert await settings_of(bot) == before
    assert bot.server.message(group, message.message_id).text == message.text
    await bot.press(group, message.message_id, message.button("Size −1").callback_data, ADMIN)
    assert (await bot.services.chats.get(GROUP_ID)).digest_size == 9


async def test_admin_status_is_checked_fresh_each_time(bot):
    await bot.add_briefs([make_brief(tags=("llm",))])
    group = newsroom(bot)
    assert await bot.texts(group, "/subscribe llm", from_user=MEMBER) == [REFUSAL]
    group.admins.append(MEMBER)  # promoted by the group's owner
    assert await bot.texts(group, "/subscribe llm", from_user=MEMBER) == [
        "Following <b>llm</b> now."
    ]
    group.admins.remove(MEMBER)  # and demoted again
    assert await bot.texts(group, "/unsubscribe llm", from_user=MEMBER) == [REFUSAL]


# ---- reading in groups -----------------------------------------------------------------------


async def test_anyone_in_a_group_can_read_and_answers_go_to_the_group(bot):
    ids = await bot.add_briefs(
        [
            make_brief(title="Chip fab news", score=8, tags=("chips",)),
            make_brief(title="Model news", score=6, tags=("llm",)),
        ]
    )
    group = newsroom(bot)
    await added(bot, group)
    await bot.say(group, "/subscribe chips", from_user=ADMIN)
    member_private = bot.server.private_chat(MEMBER)

    reads = {}
    for command in ("/digest", "/summary", "/watch", f"/brief {ids[1]}", "/tags", "/mytags"):
        bot.clock.advance(seconds=5)
        sent = await bot.say(group, command, from_user=MEMBER)
        assert sent and all(r.chat_id == GROUP_ID for r in sent), command
        reads[command] = "\n".join(str(r.params["text"]) for r in sent)

    assert "Your digest" in reads["/digest"] and "Chip fab news" in reads["/digest"]
    assert "Model news" not in reads["/digest"]  # the group's tags, not everything
    assert "Chip fab news" in reads["/summary"]
    assert "Model news" in reads[f"/brief {ids[1]}"]
    assert reads["/mytags"] == "You follow: <b>chips</b>"
    assert REFUSAL not in reads.values()
    assert bot.server.messages(member_private) == []


async def test_commands_addressed_to_this_bot_by_username_work_in_groups(bot):
    await bot.add_briefs([make_brief(title="Chip fab news", tags=("chips",))])
    group = newsroom(bot)
    await added(bot, group)
    me = bot.server.bot.username

    (subscribed,) = await bot.texts(group, f"/subscribe@{me} chips", from_user=ADMIN)
    assert subscribed == "Following <b>chips</b> now."
    (digest,) = await bot.texts(group, f"/digest@{me}", from_user=MEMBER)
    assert "Chip fab news" in digest
    (help_text,) = await bot.texts(group, f"/help@{me}", from_user=MEMBER)
    assert help_text.startswith("<b>What I can do</b>")
    assert await bot.texts(group, f"/size@{me} 3", from_user=MEMBER) == [REFUSAL]


async def test_commands_for_other_bots_in_a_group_get_no_answer(bot):
    group = newsroom(bot)
    await added(bot, group)
    assert await bot.texts(group, "/digest@some_other_bot", from_user=MEMBER) == []
    assert await bot.texts(group, "/roll@dice_bot 6", from_user=MEMBER) == []


async def test_plain_talk_in_a_group_is_left_alone(bot):
    group = newsroom(bot)
    await added(bot, group)
    assert await bot.texts(group, "anyone read the chip news today?", from_user=MEMBER) == []


async def test_a_member_cannot_resume_or_subscribe_the_group_with_start(bot):
    await bot.add_briefs([make_brief(tags=("chips",))])
    group = newsroom(bot)
    await added(bot, group)
    await bot.say(group, "/stop", from_user=ADMIN)

    (hello,) = await bot.texts(group, "/start tag-chips", from_user=MEMBER)

    assert "Group admins pick my tags" in hello
    chat = await bot.services.chats.get(group.id)
    assert chat.paused and await bot.services.chats.tags(group.id) == []


async def test_brief_links_for_other_bots_are_left_alone(bot):
    (brief_id,) = await bot.add_briefs([make_brief()])
    group = newsroom(bot)
    await added(bot, group)
    assert await bot.texts(group, f"/brief_{brief_id}@another_bot", from_user=MEMBER) == []
    me = bot.server.bot.username
    (shown,) = await bot.texts(group, f"/brief_{brief_id}@{me}", from_user=MEMBER)
    assert "What happened" in shown
