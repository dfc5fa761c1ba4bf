"""Start, help, the menu, unknown input and errors, through the real Application."""

from __future__ import annotations

import gc

from digestbot.fakeapi import FakeBotAPI, Fault
from tests.bot import running_bot
from tests.factories import make_brief


async def test_start_registers_greets_and_offers_the_tag_picker(bot):
    await bot.add_briefs([make_brief(tags=("llm", "chips")), make_brief(tags=("llm",))])
    chat = bot.server.private_chat(42, first_name="Ada")

    (greeting,) = await bot.say(chat, "/start")

    assert greeting.params["text"].startswith("Welcome! I send short digests")
    assert greeting.params["text"].count("\n") == 1  # two lines
    buttons = [b.text for row in bot.server.messages(chat)[-1].buttons for b in row]
    assert buttons[:2] == ["llm (2)", "chips (1)"]
    assert (await bot.services.chats.get(42)) is not None


async def test_start_with_a_tag_deep_link_subscribes_at_once(bot):
    await bot.add_briefs([make_brief(tags=("llm",))])
    chat = bot.server.private_chat(42)

    (reply,) = await bot.texts(chat, "/start tag-llm")

    assert "You now follow <b>llm</b>" in reply
    assert await bot.services.chats.tags(42) == ["llm"]


async def test_the_command_menu_is_set_at_start(bot):
    menu = [c["command"] for c in bot.server.commands()]
    assert menu[:3] == ["digest", "summary", "watch"]
    assert "help" in menu


async def test_a_failing_menu_call_is_logged_and_the_bot_runs_on(database_url, caplog):
    def break_menu(server: FakeBotAPI) -> None:
        server.fail("setMyCommands", Fault.server_error(500), times=5)

    async with running_bot(database_url, before_start=break_menu) as bot:
        chat = bot.server.private_chat(42)
        assert (await bot.texts(chat, "/help"))[0].startswith("<b>What I can do</b>")
    assert "could not set the command menu" in caplog.text


async def test_a_bot_started_with_its_heap_frozen_keeps_it_out_of_the_collector_and_answers(
    database_url,
):
    try:
        async with running_bot(database_url, freeze_heap=True) as bot:
            assert gc.get_freeze_count() > 0  # what `digestbot run` does once started
            chat = bot.server.private_chat(42)
            assert (await bot.texts(chat, "/help"))[0].startswith("<b>What I can do</b>")
    finally:
        gc.unfreeze()  # the other tests' bots are collected as usual


async def test_help_lists_every_command_one_line_each(bot):
    chat = bot.server.private_chat(42)
    (text,) = await bot.texts(chat, "/help")
    lines = text.splitlines()[1:]
    assert len(lines) >= 18
    for command in (
        "/digest",
        "/summary",
        "/watch",
        "/brief",
        "/search",
        "/tags",
        "/settings",
        "/timezone",
        "/frequency",
        "/minscore",
        "/stop",
        "/forget",
    ):
        assert any(line.startswith(command + " ") for line in lines), command


async def test_unknown_commands_and_plain_text_get_a_short_helpful_answer(bot):
    chat = bot.server.private_chat(42)
    assert await bot.texts(chat, "/frobnicate now") == [
        "I don't know /frobnicate. /help lists what I can do."
    ]
    assert await bot.texts(chat, "<b>hi</b> & bye") == [
        "I answer commands: try /digest, or /help for the list."
    ]


async def test_an_edited_command_does_not_run_again(bot):
    await bot.add_briefs([make_brief(tags=("llm",))])
    chat = bot.server.private_chat(42)
    await bot.say(chat, "/subscribe llm")
    (message,) = [m for m in bot.server.messages(chat, include_user=True) if not m.from_bot]
    edited = {
        "edited_message": {
            **message.to_dict(),
            "text": "/unsubscribe llm",
            "edit_date": message.date + 5,
            "entities": [{"type": "bot_command", "offset": 0, "length": 12}],
        }
    }

    answered = await bot.update(await bot.server.push_update(edited))
    assert [r for r in answered if r.method != "getUpdates"] == []
    assert await bot.services.chats.tags(42) == ["llm"]
