"""Subscriptions and settings through the real bot."""

from __future__ import annotations

from tests.factories import make_brief


async def test_subscribe_unsubscribe_and_mytags(bot):
    await bot.add_briefs([make_brief(tags=("generative-ai", "chips", "llm"))])
    chat = bot.server.private_chat(42)

    (added,) = await bot.texts(chat, "/subscribe #Generative-AI, chips chipz")
    assert "Following <b>generative-ai, chips</b> now." in added
    assert "No tag chipz. Did you mean chips?" in added
    assert await bot.texts(chat, "/mytags") == ["You follow: <b>chips, generative-ai</b>"]
    (again,) = await bot.texts(chat, "/subscribe chips")
    assert again == "Already following chips."

    (removed,) = await bot.texts(chat, "/unsubscribe CHIPS llm")
    assert removed == "Stopped following <b>chips</b>.\nYou weren't following llm."
    assert await bot.texts(chat, "/unsubscribe all") == ["Stopped following all 1 tag."]
    assert await bot.texts(chat, "/mytags") == ["You follow no tags yet. Pick some with /tags."]
    assert (await bot.texts(chat, "/subscribe"))[0].startswith("Which tags?")


async def test_settings_commands_change_what_settings_shows(bot):
    chat = bot.server.private_chat(42)
    assert await bot.texts(chat, "/time 7:05") == ["Digests come at <b>07:05</b> (UTC)."]
    assert await bot.texts(chat, "/timezone asia/kolkata") == [
        "Timezone set to <b>Asia/Kolkata</b>; digests at 07:05."
    ]
    assert await bot.texts(chat, "/frequency weekly fri") == [
        "Frequency: <b>weekly, on Friday</b>."
    ]
    assert await bot.texts(chat, "/minscore 6") == [
        "Only briefs scoring <b>6</b>/10 or more from now on."
    ]
    assert await bot.texts(chat, "/size 5") == ["Up to <b>5</b> briefs per digest."]

    (shown,) = await bot.texts(chat, "/settings")
    for part in ("<b>07:05</b> (Asia/Kolkata)", "weekly on Friday", "<b>6</b>/10", "<b>5</b>"):
        assert part in shown


async def test_bad_settings_get_a_short_helpful_answer_and_change_nothing(bot):
    chat = bot.server.private_chat(42)
    assert await bot.texts(chat, "/time 25:99") == [
        "'25:99' is not a time; use 24-hour HH:MM, like 07:30"
    ]
    assert await bot.texts(chat, "/timezone IST") == [
        "I don't know the timezone 'IST'. Did you mean Asia/Kolkata?"
    ]
    assert await bot.texts(chat, "/timezone <b>") == ["I don't know the timezone '&lt;b&gt;'."]
    assert "one of: daily, weekdays, weekly, off" in (await bot.texts(chat, "/frequency hourly"))[0]
    assert "0 to 10" in (await bot.texts(chat, "/minscore 11"))[0]
    assert "1 to 30" in (await bot.texts(chat, "/size 0"))[0]
    assert (await bot.texts(chat, "/time"))[0].startswith("When should digests come?")
    settings = await bot.services.chats.get(42)
    assert (settings.digest_time, settings.timezone, settings.frequency) == (
        "08:00",
        "UTC",
        "daily",
    )
    assert (settings.min_score, settings.digest_size) == (0, 10)


async def test_settings_buttons_change_and_redraw(bot):
    chat = bot.server.private_chat(42)
    await bot.say(chat, "/settings")
    message = bot.server.messages(chat)[-1]

    await bot.press(chat, message.message_id, message.button("Time +1h").callback_data)
    await bot.press(chat, message.message_id, message.button("weekdays").callback_data)
    await bot.press(chat, message.message_id, message.button("Min score +1").callback_data)
    await bot.press(chat, message.message_id, message.button("Size −1").callback_data)

    shown = bot.server.message(chat, message.message_id)
    assert "09:00" in shown.text and "weekdays" in shown.text
    assert "✓ weekdays" in [b.text for row in shown.buttons for b in row]
    chat_row = await bot.services.chats.get(42)
    assert (chat_row.digest_time, chat_row.frequency, chat_row.min_score, chat_row.digest_size) == (
        "09:00",
        "weekdays",
        1,
        9,
    )


async def test_stop_pauses_and_start_resumes(bot):
    chat = bot.server.private_chat(42)
    await bot.say(chat, "/start")
    (stopped,) = await bot.texts(chat, "/stop")
    assert stopped.startswith("Digests paused.")
    assert (await bot.services.chats.get(42)).paused
    (back,) = await bot.texts(chat, "/start")
    assert back.startswith("Welcome back!")
    assert not (await bot.services.chats.get(42)).paused


async def test_forget_asks_first_then_deletes_everything(bot):
    await bot.add_briefs([make_brief(tags=("llm",))])
    chat = bot.server.private_chat(42)
    await bot.say(chat, "/subscribe llm")
    await bot.say(chat, "/forget")
    question = bot.server.messages(chat)[-1]

    await bot.press(chat, question.message_id, question.button("Cancel").callback_data)
    assert await bot.services.chats.tags(42) == ["llm"]

    await bot.say(chat, "/forget")
    question = bot.server.messages(chat)[-1]
    await bot.press(
        chat, question.message_id, question.button("Yes, delete everything").callback_data
    )
    assert bot.server.message(chat, question.message_id).text.startswith("Done: I deleted")
    assert await bot.services.chats.get(42) is None
    assert await bot.services.chats.tags(42) == []
