"""Every command in Hindi, seen through the fake Bot API: translated, valid, within limits.

The sweep sends each command of the one table as a user whose Telegram is in Hindi (a
bot admin, so the admin commands answer too), with no arguments and with nonsense, and
checks every reply: Telegram HTML that parses (``Bot.sent_since`` checks each), within
4,096 characters, and in Hindi. The menus are checked in both languages.
"""

from __future__ import annotations

import re

import pytest

from digestbot import i18n
from digestbot.bot.commands import COMMANDS, Where
from digestbot.briefs.render import utf16_len
from tests.bot import running_bot
from tests.factories import make_brief

ADMIN = 1001
READER = 3001
DEVANAGARI = re.compile(r"[\u0900-\u097F]")
# what a command is sent with, beyond nothing at all: nonsense of the kind people type
NONSENSE = ("कुछ भी", "x" * 5000, "🙂🙂🙂")


@pytest.fixture
async def bot(database_url):
    async with running_bot(database_url, admin_ids=[ADMIN]) as running:
        await running.add_briefs([make_brief(tags=("llm",)), make_brief(tags=("chips",))])
        yield running


def _replies(requests) -> list[str]:
    texts = []
    for request in requests:
        text = request.params.get("text")
        if text is not None:
            texts.append(str(text))
    return texts


async def test_every_command_answers_a_hindi_user_in_hindi(bot):
    chat = bot.server.private_chat(ADMIN, language_code="hi")
    for command in COMMANDS:
        for typed in ("", *NONSENSE):
            bot.clock.ticks += 60  # one at a time: never a flood
            text = f"/{command.name} {typed}".strip()
            replies = _replies(await bot.say(chat, text, ADMIN))
            assert replies, f"{text[:40]!r} got no answer"
            for reply in replies:
                assert utf16_len(reply) <= 4096, f"{text[:40]!r}: too long"
                assert DEVANAGARI.search(reply), f"{text[:40]!r} answered in English: {reply!r}"
                assert "x" * 200 not in reply, f"{text[:40]!r} echoed the whole word"


async def test_an_english_user_beside_gets_english(bot):
    hindi = bot.server.private_chat(READER, language_code="hi")
    english = bot.server.private_chat(READER + 1, language_code="en")
    (in_hindi,) = await bot.texts(hindi, "/help")
    (in_english,) = await bot.texts(english, "/help")
    assert DEVANAGARI.search(in_hindi)
    assert not DEVANAGARI.search(in_english)
    assert "What I can do" in in_english


async def test_a_user_of_a_language_we_do_not_speak_gets_the_default(bot):
    (reply,) = await bot.texts(bot.server.private_chat(READER, language_code="de"), "/help")
    assert "What I can do" in reply


async def test_the_menus_are_set_in_english_and_in_hindi(database_url):
    async with running_bot(
        database_url, admin_ids=[ADMIN], before_start=lambda server: server.private_chat(ADMIN)
    ) as bot:
        menus = {
            code: (
                bot.server.commands(language_code=code),
                bot.server.commands({"type": "all_private_chats"}, language_code=code),
                bot.server.commands({"type": "chat", "chat_id": ADMIN}, language_code=code),
            )
            for code in ("", "en", "hi")
        }

    def entries(language: str, *wheres: Where) -> list[dict[str, str]]:
        with i18n.use(language):
            return [
                {"command": c.name, "description": i18n.gettext(c.menu)}
                for c in COMMANDS
                if c.menu is not None and c.where in wheres
            ]

    groups, private, admin = Where.ANYWHERE, Where.PRIVATE, Where.BOT_ADMIN
    for code, language in (("", "en"), ("en", "en"), ("hi", "hi")):
        assert menus[code] == (
            entries(language, groups),
            entries(language, groups, private),
            entries(language, groups, private, admin),
        ), code
    hindi = menus["hi"][1]
    assert all(DEVANAGARI.search(e["description"]) for e in hindi)
    assert all(1 <= len(e["description"]) <= 256 for e in hindi)


async def test_language_switches_with_its_buttons_and_persists(database_url):
    async with running_bot(database_url) as bot:
        chat = bot.server.private_chat(READER, language_code="en")
        (picker,) = await bot.say(chat, "/language")
        assert "English" in str(picker.params["reply_markup"])
        message = bot.server.messages(chat)[-1]
        await bot.press(chat, message.message_id, "lg:hi", READER)
        assert "हिन्दी" in bot.server.messages(chat)[-1].text
        (reply,) = await bot.texts(chat, "/help")
        assert DEVANAGARI.search(reply)
    async with running_bot(database_url) as bot:  # a restart: the choice was stored
        (reply,) = await bot.texts(bot.server.private_chat(READER, language_code="en"), "/help")
        assert DEVANAGARI.search(reply)


async def test_a_forged_language_button_is_refused(database_url):
    async with running_bot(database_url) as bot:
        chat = bot.server.private_chat(READER)
        await bot.say(chat, "/language")
        message = bot.server.messages(chat)[-1]
        pressed = await bot.press(chat, message.message_id, "lg:xx", READER)
        answers = [r for r in pressed if r.method == "answerCallbackQuery"]
        assert "expired" in str(answers[0].params.get("text"))
        assert await bot.services.chats.language(READER, None) == "en"


async def test_a_group_speaks_the_language_of_whoever_added_the_bot(database_url):
    group_id = -1009876543210
    async with running_bot(database_url) as bot:
        bot.server.user(READER, language_code="hi")
        bot.server.user(READER + 1, language_code="en")
        group = bot.server.group_chat(group_id, "Newsroom", type="supergroup", admins=[READER])
        await bot.update(
            await bot.server.chat_member_update(group, "member", "left", from_user=READER)
        )
        # an English member speaks first after the Hindi admin added the bot
        (reply,) = await bot.texts(group, "/help", READER + 1)
        assert DEVANAGARI.search(reply)
    async with running_bot(database_url) as bot:  # kept with the group, not remembered
        assert await bot.services.chats.language(group_id, "en") == "hi"


async def test_forget_forgets_the_language_chosen(database_url):
    async with running_bot(database_url) as bot:
        chat = bot.server.private_chat(READER, language_code="en")
        await bot.say(chat, "/language")
        await bot.press(chat, bot.server.messages(chat)[-1].message_id, "lg:hi", READER)
        await bot.say(chat, "/forget")
        forget = bot.server.messages(chat)[-1]
        await bot.press(chat, forget.message_id, "fg:yes", READER)
        (reply,) = await bot.texts(chat, "/help")
        assert "What I can do" in reply  # this user's Telegram is in English
