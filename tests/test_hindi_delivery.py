"""Digests, alerts and reading in the reader's language and style: pushed digests and
alerts are made in the chat's language (its payload says which), follow /style compact,
and a private chat's pushed digest carries the feedback row /digest shows. Through the
real bot, planner and sender against the fake Bot API, on both databases, with the
injected clock."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

from digestbot import i18n, store
from digestbot.bot import jobs
from digestbot.briefs import render
from digestbot.readers.filters import load_shaping
from digestbot.store import Source
from digestbot.store.models import OutboxKind
from tests.factories import make_brief

MORNING = datetime(2026, 11, 27, 7, 0, tzinfo=UTC)  # before the 08:00 UTC digests
EIGHT = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
BUTTONS_EN = ["👍 Useful", "👎 Not useful", "Tune"]
BUTTONS_HI = ["👍 काम का", "👎 काम का नहीं", "ट्यून करें"]


async def reader(bot, chat_id: int, *, language: str = "en", tags=("llm",)):
    """A private chat whose Telegram is in ``language``, that sent /start and follows
    ``tags`` (its digest at the default 08:00 UTC)."""
    chat = bot.server.private_chat(chat_id, language_code=language)
    await bot.say(chat, "/start")
    await bot.services.chats.subscribe(chat_id, list(tags))
    await bot.services.chats.set_time(chat_id, "08:00")
    return chat


async def push(bot) -> None:
    """Plan at 07:00 (schedules), then at 08:00 (the digests), and send them."""
    if bot.clock.now < MORNING:
        bot.clock.set(MORNING)
    await bot.services.planner.plan()
    bot.clock.set(EIGHT)
    await bot.services.planner.plan()
    await bot.deliver()


def pushed(bot, chat_id: int) -> list:
    """The bot's messages in the chat that the sender sent (digests and alerts)."""
    return bot.server.messages(chat_id)


async def payloads(bot, chat_id: int) -> list[dict]:
    return [json.loads(r.payload) for r in await bot.outbox() if r.chat_id == chat_id]


async def test_a_hindi_chats_pushed_digest_is_in_hindi_and_an_english_one_beside_it_is_not(bot):
    await bot.add_briefs([make_brief(title=f"Model news {n}", tags=("llm",)) for n in range(3)])
    hindi = await reader(bot, 1, language="hi")
    english = await reader(bot, 2)
    for chat_id in (1, 2):
        await bot.services.chats.set_size(chat_id, "2")
    mark = bot.server.mark()

    await push(bot)

    bot.sent_since(mark)  # every pushed message is valid Telegram HTML
    (hi_text,) = [m.source for m in pushed(bot, hindi) if "/brief_" in (m.source or "")]
    assert hi_text.startswith("<b>आपका डाइजेस्ट · 27 नव॰</b>")  # a Hindi date too
    assert hi_text.endswith("+1 और: /digest")
    assert "Model news" in hi_text  # brief content as written
    (en_text,) = [m.source for m in pushed(bot, english) if "/brief_" in (m.source or "")]
    assert en_text.startswith("<b>Your digest · 27 Nov</b>")
    assert en_text.endswith("+1 more: /digest")
    # the language is in the payload only when it is not the default
    (hi_row,) = await payloads(bot, 1)
    (en_row,) = await payloads(bot, 2)
    assert hi_row["lang"] == "hi" and "lang" not in en_row


async def test_compact_chats_get_pushed_digests_without_gist_lines(bot):
    await bot.add_briefs(
        [make_brief(title=f"Item {n}", tags=("llm",), why_it_matters="Costs fall.") for n in (1, 2)]
    )
    compact = await reader(bot, 1)
    await bot.say(compact, "/style compact")
    full = await reader(bot, 2)

    report_mark = bot.server.mark()
    await push(bot)

    bot.sent_since(report_mark)
    (compact_text,) = [m.source for m in pushed(bot, compact) if "Your digest" in (m.source or "")]
    (full_text,) = [m.source for m in pushed(bot, full) if "Your digest" in (m.source or "")]
    assert "Item 1" in compact_text and "Item 2" in compact_text
    assert "Costs fall" not in compact_text
    assert full_text.count("<i>Costs fall.</i>") == 2


async def test_a_private_chats_pushed_digest_has_the_feedback_row_and_not_useful_works(bot):
    await bot.add_briefs([make_brief(title=f"Chip news {n}", tags=("llm",)) for n in (1, 2)])
    chat = await reader(bot, 1)
    hindi = await reader(bot, 3, language="hi")
    bot.server.group_chat(-100, "Team", admins=[1])
    await bot.services.chats.register(chat_id=-100, type="group")
    await bot.services.chats.subscribe(-100, ["llm"])

    await push(bot)

    (digest,) = [m for m in pushed(bot, chat) if "Your digest" in (m.source or "")]
    assert [b.text for b in digest.buttons[0]] == BUTTONS_EN and len(digest.buttons) == 1
    (hi_digest,) = [m for m in pushed(bot, hindi) if "/brief_" in (m.source or "")]
    assert [b.text for b in hi_digest.buttons[0]] == BUTTONS_HI
    (group_digest,) = [m for m in pushed(bot, -100) if "Your digest" in (m.source or "")]
    assert group_digest.buttons == []  # issue #16: no feedback buttons in groups

    down = await bot.press(chat, digest.message_id, digest.button("👎 Not useful").callback_data)
    (answer,) = [r for r in down if r.method == "answerCallbackQuery"]
    assert answer.params["text"] == "Less of #llm"
    async with bot.services.sessions() as session:
        shaping = await load_shaping(session=session, chat_id=1, now=bot.clock.now)
    assert shaping.weights["llm"] < 0  # the chat's ranking moved
    pressed = await bot.press(
        hindi, hi_digest.message_id, hi_digest.button("👍 काम का").callback_data
    )
    assert any(r.method == "answerCallbackQuery" and r.params.get("text") for r in pressed)
    async with bot.services.sessions() as session:
        shaping = await load_shaping(session=session, chat_id=3, now=bot.clock.now)
    assert shaping.weights["llm"] > 0


async def test_only_the_last_message_of_a_long_pushed_digest_has_the_row(bot):
    long_title = "A long headline " * 12
    await bot.add_briefs([make_brief(title=f"{long_title}{n}", tags=("llm",)) for n in range(30)])
    chat = await reader(bot, 1, language="hi")
    await bot.services.chats.set_size(1, "30")

    await push(bot)

    parts = [m for m in pushed(bot, chat) if "/brief_" in (m.source or "")]
    assert len(parts) >= 2
    assert [bool(m.buttons) for m in parts] == [False] * (len(parts) - 1) + [True]
    assert parts[0].source.startswith("<b>आपका डाइजेस्ट")
    assert sum(p.source.count("/brief_") for p in parts) == 30


async def test_a_ten_item_hindi_digest_fits_two_messages_within_telegrams_limits(bot):
    why = "Prices of every accelerator fall by a third over the coming year. More follows."
    await bot.add_briefs(
        [
            make_brief(title=f"Item {n} " + "word " * 60, tags=("llm",), why_it_matters=why)
            for n in range(10)
        ]
    )
    chat = await reader(bot, 1, language="hi")
    await bot.services.chats.set_size(1, "10")
    mark = bot.server.mark()

    await push(bot)

    bot.sent_since(mark)  # valid Telegram HTML
    texts = [t for t in bot.server.sent_texts(chat) if "/brief_" in t]
    assert 1 <= len(texts) <= 2
    assert all(render.fits(t) for t in texts)
    assert sum(t.count("/brief_") for t in texts) == 10
    assert len(texts) == len(await payloads(bot, 1))  # each row went as the one message planned


async def test_the_heading_is_measured_in_the_chats_language_when_packing(bot):
    # Briefs that fill an English digest to exactly 4096 units: the Hindi heading is
    # longer, so the Hindi digest must be planned as two messages (measured with the
    # English heading, its one row would have to be split again when sent).
    ids = await bot.add_briefs(
        [make_brief(id=f"fill-{n}", title="T" * 465, tags=("llm",), score=7) for n in range(8)]
    )
    async with bot.services.sessions() as session:
        items = await store.find_items(session=session, limit=8)
    day = EIGHT.date()
    length = render.visible_len("\n\n".join(render.digest_part(items, day=day, more=0)))
    last = next(i for i in items if i.id == ids[-1])
    grown = "T" * (465 + render.MAX_CHARS - length)
    await bot.add_briefs([dataclasses.replace(last.brief, title=grown)])
    async with bot.services.sessions() as session:
        items = await store.find_items(session=session, limit=8)
    (english_message,) = render.digest_part(items, day=day, more=0)
    assert render.visible_len(english_message) == render.MAX_CHARS
    with i18n.use("hi"):
        assert len(render.digest_part(items, day=day, more=0)) == 2
    english = await reader(bot, 1)
    hindi = await reader(bot, 2, language="hi")
    for chat_id in (1, 2):
        await bot.services.chats.set_size(chat_id, "8")

    await push(bot)

    assert len(await payloads(bot, 1)) == 1 and len(await payloads(bot, 2)) == 2
    for chat_id, messages in ((1, 1), (2, 2)):  # each row sent as the one message planned
        sends = bot.server.calls("sendMessage", chat_id=chat_id)
        assert len([c for c in sends if "/brief_" in str(c.params["text"])]) == messages
    for chat in (english, hindi):
        assert all(render.fits(t) for t in bot.server.sent_texts(chat))


async def test_an_alert_comes_in_the_chats_language(bot):
    bot.clock.set(datetime(2026, 11, 27, 12, 0, tzinfo=UTC))
    await bot.add_briefs([make_brief(title="Already here", tags=("llm",), score=9)])
    await jobs.minute_tick(bot.services)  # looked at for alerts: nobody wanted any yet
    hindi = bot.server.private_chat(1, language_code="hi")
    english = bot.server.private_chat(2)
    for chat in (hindi, english):
        await bot.say(chat, "/subscribe llm")
        await bot.say(chat, "/alerts 8")
    bot.clock.advance(seconds=10)
    await bot.add_briefs([make_brief(title="Big model launch", tags=("llm",), score=9)])
    bot.clock.advance(seconds=50)
    mark = bot.server.mark()

    await jobs.minute_tick(bot.services)
    await bot.deliver()

    bot.sent_since(mark)
    (hi_alert,) = [t for t in bot.server.sent_texts(hindi) if "Big model launch" in t]
    assert hi_alert.startswith("<b>🔔 अलर्ट</b>\n")
    (en_alert,) = [t for t in bot.server.sent_texts(english) if "Big model launch" in t]
    assert en_alert.startswith("<b>🔔 Alert</b>\n")
    rows = {r.chat_id: json.loads(r.payload) for r in await bot.outbox()}
    assert rows[1]["lang"] == "hi" and "lang" not in rows[2]
    assert all(r.kind == OutboxKind.ALERT for r in await bot.outbox())


async def test_reading_commands_answer_in_hindi_and_stay_english_for_others(bot):
    ids = await bot.add_briefs(
        [
            make_brief(
                title=f"Chip story {n}",
                tags=("llm",),
                score=9 - n,
                url=f"https://news{n}.example/story",
                what_to_watch=f"Watch point {n}.",
            )
            for n in range(3)
        ]
    )
    bot.clock.set(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    hindi = bot.server.private_chat(42, language_code="hi")
    english = bot.server.private_chat(43)
    for chat in (hindi, english):
        await bot.say(chat, "/start")
        await bot.say(chat, "/subscribe llm")
        await bot.say(chat, "/size 2")

    said = await bot.say(hindi, "/digest")  # checked as valid HTML
    (digest,) = [str(r.params["text"]) for r in said if "/brief_" in str(r.params["text"])]
    assert digest.startswith("<b>आपका डाइजेस्ट · 27 नव॰</b>") and digest.endswith("+1 और: /digest")
    (message,) = [m for m in bot.server.messages(hindi) if "/brief_" in (m.source or "")]
    assert [b.text for b in message.buttons[0]] == BUTTONS_HI
    (rest,) = await bot.texts(hindi, "/digest")
    assert rest.startswith("<b>आपका डाइजेस्ट") and "/digest" not in rest.split("\n")[-1]
    (latest,) = await bot.texts(hindi, "/digest")
    assert "पिछले डाइजेस्ट के बाद कुछ नया नहीं आया" in latest
    assert latest.startswith("<b>आपके टैग पर ताज़ा ब्रीफ़ · 27 नव॰</b>")

    (summary,) = await bot.texts(hindi, "/summary")
    assert summary.startswith("<b>सारांश · 27 नव॰</b>") and "Chip story 0" in summary
    (watch,) = await bot.texts(hindi, "/watch llm")
    assert watch.startswith("<b>किस पर नज़र रखें: llm · 27 नव॰</b>") and "Watch point 0" in watch
    brief = "\n".join(await bot.texts(hindi, f"/brief {ids[0]}"))
    for heading in ("क्या हुआ", "यह क्यों अहम है", "आगे किस पर नज़र रखें"):
        assert f"<b>{heading}</b>" in brief
    assert "नव॰ 2026" in brief and "What happened" not in brief
    assert 'स्रोत: <a href="https://news0.example/story">news0.example</a>' in brief
    (nothing,) = await bot.texts(hindi, "/search zzzz")
    assert nothing == "zzzz से मेल खाता कोई ब्रीफ़ नहीं मिला। कम या दूसरे शब्दों से खोजें।"

    said = await bot.say(english, "/digest")
    (digest,) = [str(r.params["text"]) for r in said if "/brief_" in str(r.params["text"])]
    assert digest.startswith("<b>Your digest · 27 Nov</b>") and digest.endswith("+1 more: /digest")
    (summary,) = await bot.texts(english, "/summary")
    assert summary.startswith("<b>Summary · 27 Nov</b>")
    (watch,) = await bot.texts(english, "/watch")
    assert watch.startswith("<b>What to watch · 27 Nov</b>")
    brief = "\n".join(await bot.texts(english, f"/brief {ids[0]}"))
    assert "<b>What happened</b>" in brief and "Nov 2026" in brief
    assert 'Source: <a href="https://news0.example/story">news0.example</a>' in brief


def test_counted_texts_take_the_form_of_their_number():
    one, two = Source("https://a.example/x", None), Source("https://b.example/y", None)
    assert render.sources_line([one]).startswith("Source: ")
    assert render.sources_line([one, two]).startswith("Sources: ")
    assert render.more_footer(1) == "+1 more: /digest"
    assert render.more_footer(1204) == "+1,204 more: /digest"
    with i18n.use("hi"):
        assert render.sources_line([one]).startswith("स्रोत: ")
        assert render.sources_line([one, two]).startswith("स्रोत: ")
        assert render.more_footer(1) == "+1 और: /digest"
        assert render.more_footer(2) == "+2 और: /digest"
        feeds = render.sources_line([Source("https://a.example/x", "https://f.example/rss")])
        assert feeds.endswith("a.example</a>, f.example के ज़रिए")


async def test_a_digest_row_planned_before_languages_and_styles_still_goes_out(bot):
    await bot.add_briefs([make_brief(title="Queued before the upgrade", tags=("llm",))])
    chat = await reader(bot, 1, language="hi")
    bot.clock.set(MORNING)
    await bot.services.planner.plan()
    bot.clock.set(EIGHT)
    await bot.services.planner.plan()
    (row,) = await bot.outbox()
    old = json.loads(row.payload)
    assert (old["lang"], old["fb"]) == ("hi", 1)
    async with bot.services.sessions() as session:  # as an older version wrote it
        stored = await session.get(type(row), row.id)
        stored.payload = json.dumps({"v": 1, "digest": old["digest"], "day": old["day"]})
        await session.commit()

    await bot.deliver()

    (digest,) = [m for m in pushed(bot, chat) if "Queued before" in (m.source or "")]
    # what such a row always meant: the default language, full items, no buttons
    assert digest.source.startswith("<b>Your digest · 27 Nov</b>")
    assert "<i>It matters.</i>" in digest.source and digest.buttons == []
