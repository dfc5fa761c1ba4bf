"""What the bot says, worded for the user: greetings, notes, suggestions, paging (issue 14)."""

from __future__ import annotations

import re

from tests.bot import SENDS, Bot, running_bot
from tests.factories import make_brief

ADMIN = 7


def last_buttons(bot: Bot, chat) -> list[str]:
    return [b.text for row in bot.server.messages(chat)[-1].buttons for b in row]


async def test_a_repeated_start_says_on_again_only_after_a_pause(bot):
    await bot.add_briefs([make_brief(tags=("llm",))])
    chat = bot.server.private_chat(42)
    await bot.say(chat, "/start")

    (again,) = await bot.texts(chat, "/start")
    await bot.say(chat, "/stop")
    (resumed,) = await bot.texts(chat, "/start")

    assert again.startswith("Welcome back! I send short digests")
    assert "on again" not in again
    assert resumed.startswith("Welcome back! Digests are on again.")
    assert not (await bot.services.chats.get(42)).paused


async def test_a_start_link_to_an_unknown_tag_says_so_and_offers_the_picker(bot):
    await bot.add_briefs([make_brief(tags=("chips",)), make_brief(tags=("llm",))])
    chat = bot.server.private_chat(42)

    (answer,) = await bot.texts(chat, "/start tag-chps")
    (long,) = await bot.texts(chat, "/start tag-" + "x" * 500)

    assert answer.startswith("No tag chps. Did you mean chips?\nWelcome! I send")
    assert last_buttons(bot, chat)[:2] == ["chips (1)", "llm (1)"]
    assert long.startswith("No tag xxxx") and len(long.splitlines()[0]) < 80
    assert await bot.services.chats.tags(42) == []


async def test_time_says_when_digests_are_off_or_paused_and_how_to_turn_them_on(bot):
    chat = bot.server.private_chat(42)
    await bot.say(chat, "/start")
    (on,) = await bot.texts(chat, "/time 06:30")
    await bot.say(chat, "/frequency off")
    (off,) = await bot.texts(chat, "/time 06:30")
    await bot.say(chat, "/stop")
    (both,) = await bot.texts(chat, "/time 06:30")
    await bot.say(chat, "/frequency daily")
    (paused,) = await bot.texts(chat, "/time 06:30")

    assert on == "Digests come at <b>06:30</b> (UTC)."
    assert off.endswith("But digests are off: /frequency daily turns them on.")
    assert both.endswith(
        "But digests are off and paused: /frequency daily and /start turn them on."
    )
    assert paused.endswith("But digests are paused: /start turns them on.")


async def test_an_unknown_command_gets_the_commands_spelled_like_it(database_url):
    async with running_bot(database_url, admin_ids=[ADMIN]) as bot:
        chat = bot.server.private_chat(42)
        admin = bot.server.private_chat(ADMIN)

        (typo,) = await bot.texts(chat, "/digets")
        (hidden,) = await bot.texts(chat, "/brodcast hi")
        (admins,) = await bot.texts(admin, "/brodcast hi", ADMIN)
        (far,) = await bot.texts(chat, "/frobnicate")

    assert typo == "I don't know /digets. Did you mean /digest? /help lists what I can do."
    assert "broadcast" not in hidden.replace("/brodcast", "")  # admin commands stay hidden
    assert "Did you mean /broadcast" in admins
    assert far == "I don't know /frobnicate. /help lists what I can do."


async def test_summary_and_watch_suggest_tags_as_subscribe_does(bot):
    await bot.add_briefs([make_brief(tags=("chips",))])
    chat = bot.server.private_chat(42)

    (subscribe,) = await bot.texts(chat, "/subscribe chps")
    (summary,) = await bot.texts(chat, "/summary chps")
    (watch,) = await bot.texts(chat, "/watch chps")

    assert subscribe == summary == watch == "No tag chps. Did you mean chips?"


async def test_summary_and_search_have_no_stray_blank_lines(bot):
    await bot.add_briefs([make_brief(title=f"Chip story {n}", tags=("chips",)) for n in range(15)])
    chat = bot.server.private_chat(42)

    for command in ("/summary", "/summary chips", "/search chip"):
        (text,) = await bot.texts(chat, command)
        heading, rest = text.split("\n\n", 1)
        assert heading.startswith("<b>"), command
        assert rest.count("\n") == 14 and "\n\n" not in rest, command


async def test_search_pages_with_more_and_the_query_stays_on_the_server(bot):
    titles = [f"Chip story {n:02}" for n in range(20)]
    await bot.add_briefs([make_brief(title=t, tags=("chips",)) for t in titles])
    chat = bot.server.private_chat(42)
    await bot.say(chat, "/search chip")
    first = bot.server.messages(chat)[-1]
    (more,) = [b for row in first.buttons for b in row]

    sent = await bot.press(chat, first.message_id, more.callback_data)
    second = bot.server.messages(chat)[-1]

    assert more.text == "More"
    assert len(more.callback_data.encode()) < 20  # no query in it
    assert first.text.count("/brief_") == 15
    assert second.text.count("/brief_") == 5 and second.buttons == []
    assert "(16–20)" in second.text
    assert bot.server.message(chat, first.message_id).buttons == []  # pressed: gone
    shown = re.findall(r"Chip story \d\d", first.text + second.text)
    assert sorted(shown) == titles  # every result once, none twice
    assert any(r.method == "answerCallbackQuery" for r in sent)


async def test_more_pages_a_long_query_full_of_separators(bot):
    title = "Story: 'x' \"<&>\" " + "colon:" * 30
    await bot.add_briefs([make_brief(title=f"{title} {n}") for n in range(17)])
    chat = bot.server.private_chat(42)
    query = "story: 'x' \"<&>\" " + "colon:" * 30  # long, and full of separators

    await bot.say(chat, f"/search {query}")
    first = bot.server.messages(chat)[-1]
    await bot.press(chat, first.message_id, first.buttons[0][0].callback_data)
    second = bot.server.messages(chat)[-1]

    assert first.text.count("/brief_") == 15
    assert second.text.count("/brief_") == 2 and second.buttons == []


async def test_an_old_more_button_expires_when_a_new_search_or_forget_comes(bot):
    await bot.add_briefs([make_brief(title=f"Chip story {n}", tags=("chips",)) for n in range(20)])
    await bot.add_briefs([make_brief(title=f"Memory story {n}", tags=("ram",)) for n in range(20)])
    chat = bot.server.private_chat(42)
    await bot.say(chat, "/search chip")
    old = bot.server.messages(chat)[-1]
    await bot.say(chat, "/search memory")
    new = bot.server.messages(chat)[-1]

    stale = await bot.press(chat, old.message_id, old.buttons[0][0].callback_data)
    answers = [r.params.get("text") for r in stale if r.method == "answerCallbackQuery"]
    assert answers == ["This search has expired. Send /search again."]

    await bot.say(chat, "/forget")
    forgotten = bot.server.messages(chat)[-1]
    await bot.press(chat, forgotten.message_id, "fg:yes")
    gone = await bot.press(chat, new.message_id, new.buttons[0][0].callback_data)
    answers = [r.params.get("text") for r in gone if r.method == "answerCallbackQuery"]
    assert answers == ["This search has expired. Send /search again."]


async def test_any_newer_search_expires_the_more_of_the_last(bot):
    await bot.add_briefs([make_brief(title=f"Chip story {n}", tags=("chips",)) for n in range(20)])
    chat = bot.server.private_chat(42)
    await bot.say(chat, "/search chip")
    old = bot.server.messages(chat)[-1]
    (none,) = await bot.texts(chat, "/search nothingmatchesthis")

    stale = await bot.press(chat, old.message_id, old.buttons[0][0].callback_data)

    assert none.startswith("No briefs match")
    answers = [r.params.get("text") for r in stale if r.method == "answerCallbackQuery"]
    assert answers == ["This search has expired. Send /search again."]
    assert [r for r in stale if r.method in SENDS] == []  # nothing sent or edited
