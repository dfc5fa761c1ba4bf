"""Readers shaping their digest, through the real bot on both databases: /mute, /only,
/unmute, /filters, mutes from a brief with Undo, feedback that reranks, /style, groups,
/forget; and the scheduled digest planned with them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from digestbot.fakeapi import RecordedRequest
from digestbot.fakeapi.models import StoredMessage
from tests.factories import make_brief

GROUP_ID = -1001234567890
ADMIN = 7001
MEMBER = 7002
REFUSAL = "Only this group's admins can change what I send here."


def answers(requests: list[RecordedRequest]) -> list[str]:
    return [str(r.params.get("text", "")) for r in requests if r.method == "answerCallbackQuery"]


def titles(text: str) -> list[str]:
    return re.findall(r"<b>([^<]*)</b></?a?", text)


def last(bot, chat) -> StoredMessage:
    return bot.server.messages(chat)[-1]


async def reader(bot, *tags: str, user_id: int = 42):
    chat = bot.server.private_chat(user_id)
    await bot.say(chat, "/start")
    if tags:
        await bot.say(chat, "/subscribe " + " ".join(tags))
    return chat


async def test_mute_hides_words_everywhere_but_search_whole_word_and_accent_blind(bot):
    await bot.add_briefs(
        [
            make_brief(title="Café chains adopt robots", tags=("robotics",), score=6),
            make_brief(title="Mainland factories grow", tags=("robotics",), score=5),
            make_brief(title="Robot arms get cheaper", tags=("robotics",), score=4,
                       what_to_watch="Watch the price."),
        ]
    )  # fmt: skip
    chat = await reader(bot, "robotics")
    (answer,) = await bot.texts(chat, "/mute CAFE")
    assert "Hiding briefs that mention “CAFE”" in answer
    await bot.say(chat, "/mute main")  # a word inside "Mainland": no whole-word match

    (digest,) = await bot.texts(chat, "/digest")
    assert "Café chains" not in digest
    assert "Mainland factories" in digest and "Robot arms" in digest
    (summary,) = await bot.texts(chat, "/summary")
    assert "Café chains" not in summary and "Mainland" in summary
    await bot.say(chat, "/mute arms")
    (watch,) = await bot.texts(chat, "/watch")
    assert "Robot arms" not in watch
    (search,) = await bot.texts(chat, "/search chains")
    assert "Café chains" in search  # /search shows everything


async def test_a_quoted_phrase_matches_those_words_in_a_row(bot):
    await bot.add_briefs(
        [
            make_brief(title="Self-driving cars pause", tags=("auto",), score=7),
            make_brief(title="Cars for the self-driving age", tags=("auto",), score=6,
                       summary="Nothing else."),
        ]
    )  # fmt: skip
    chat = await reader(bot, "auto")
    await bot.say(chat, '/mute "self driving cars"')
    (digest,) = await bot.texts(chat, "/digest")
    assert "Self-driving cars pause" not in digest
    assert "Cars for the self-driving age" in digest


async def test_matching_in_devanagari_keeps_vowel_signs(bot):
    await bot.add_briefs(
        [
            make_brief(title="हिंदी समाचार सेवा शुरू", tags=("india",), score=7),
            make_brief(title="हिंदु पंचांग ऐप", tags=("india",), score=6),
            make_brief(title="Kānun update", tags=("india",), score=5),
        ]
    )  # fmt: skip
    chat = await reader(bot, "india")
    await bot.say(chat, "/mute हिंदी")  # differs from हिंदु only in its vowel sign
    await bot.say(chat, "/mute kanun")  # Latin accents do not count
    (digest,) = await bot.texts(chat, "/digest")
    assert "हिंदी समाचार" not in digest
    assert "हिंदु पंचांग" in digest
    assert "Kānun" not in digest


async def test_only_keeps_briefs_mentioning_one_word_within_the_chats_tags(bot):
    await bot.add_briefs(
        [
            make_brief(title="Drones deliver mail", tags=("robotics",), score=7),
            make_brief(title="Robotics startup funded", tags=("robotics",), score=6),
            make_brief(title="Warehouse automation", tags=("robotics",), score=5),
            make_brief(title="Drones in farming", tags=("farming",), score=9),
        ]
    )  # fmt: skip
    chat = await reader(bot, "robotics")
    (answer,) = await bot.texts(chat, "/only drones startup")
    assert "Showing only briefs that mention “drones”, “startup”" in answer
    (digest,) = await bot.texts(chat, "/digest")
    assert "Drones deliver mail" in digest and "Robotics startup" in digest
    assert "Warehouse" not in digest
    assert "Drones in farming" not in digest  # not on the chat's tags


async def test_limits_get_a_clear_answer_and_lose_nothing(bot):
    chat = await reader(bot)
    (too_long,) = await bot.texts(chat, "/mute " + "x" * 65)
    assert "is over 64 characters" in too_long
    (ligatures,) = await bot.texts(chat, "/mute " + "\ufdfa" * 20)  # NFKD: 18 letters each
    assert "is over 64 characters" in ligatures
    assert len(too_long) < 200  # the echo is clipped
    for n in range(30):
        await bot.say(chat, f"/mute word{n}")
        bot.clock.advance(seconds=3)  # clear of the flood guard
    (full,) = await bot.texts(chat, "/mute onemore")
    assert "You have 30 filters, the most I keep" in full
    (listing,) = await bot.texts(chat, "/filters")
    assert "(30/30)" in listing and "onemore" not in listing
    (usage,) = await bot.texts(chat, "/mute")
    assert usage.startswith("Mute what?")


async def test_filters_lists_each_with_a_remove_button_and_unmute_removes(bot):
    chat = await reader(bot)
    (empty,) = await bot.texts(chat, "/filters")
    assert empty.startswith("No filters.")
    await bot.say(chat, '/mute crypto "open weights"')
    await bot.say(chat, "/only robots")
    (listing,) = await bot.texts(chat, "/filters")
    assert "mute “crypto”" in listing and "mute “open weights”" in listing
    assert "only “robots”" in listing
    message = last(bot, chat)
    remove = message.button("✕ mute “crypto”").callback_data
    pressed = await bot.press(chat, message.message_id, remove)
    assert answers(pressed) == ["Removed: mute “crypto”"]
    assert "crypto" not in last(bot, chat).text
    again = await bot.press(chat, message.message_id, remove)  # stale now
    assert "expired" in answers(again)[0]
    forged = await bot.press(chat, message.message_id, "fr:99999999999")
    assert "expired" in answers(forged)[0]
    (gone,) = await bot.texts(chat, '/unmute "Open Weights"')
    assert gone.startswith("Removed 1 filter")
    (none,) = await bot.texts(chat, "/unmute nothing")
    assert "No filter on “nothing”" in none


async def test_brief_view_mutes_a_tag_or_source_in_one_tap_with_undo(bot):
    ids = await bot.add_briefs(
        [
            make_brief(title="Crypto rally", tags=("crypto",), score=8,
                       url="https://www.coindesk.example/a"),
            make_brief(title="Chips news", tags=("chips",), score=7,
                       url="https://news.coindesk.example/b"),
            make_brief(title="Other chips", tags=("chips",), score=6),
        ]
    )  # fmt: skip
    chat = await reader(bot, "crypto", "chips")
    await bot.say(chat, f"/brief {ids[0]}")
    view = last(bot, chat)
    mute_tag = view.button("Mute #crypto").callback_data
    pressed = await bot.press(chat, view.message_id, mute_tag)
    assert answers(pressed) == ["Done: mute #crypto"]
    undo_message = last(bot, chat)
    (digest,) = await bot.texts(chat, "/digest")
    assert "Crypto rally" not in digest and "Chips news" in digest

    await bot.press(chat, undo_message.message_id, undo_message.button("Undo").callback_data)
    assert "Undone" in last(bot, chat).text or "Undone" in bot.server.sent_texts(chat)[-1]
    (listing,) = await bot.texts(chat, "/filters")
    assert listing.startswith("No filters.")

    await bot.say(chat, f"/brief {ids[1]}")
    view = last(bot, chat)
    pressed = await bot.press(chat, view.message_id, view.button("Mute this source").callback_data)
    assert answers(pressed) == ["Done: mute news.coindesk.example"]
    await bot.add_briefs(
        [
            make_brief(title="Fresh chips", tags=("chips",), url="https://coindesk.example/c"),
            make_brief(title="Sub chips", tags=("chips",), url="http://a.news.coindesk.example/"),
        ]
    )
    (digest,) = await bot.texts(chat, "/digest")
    assert "Fresh chips" in digest and "Sub chips" not in digest

    forged = await bot.press(chat, view.message_id, "mu:tag:abc")
    assert "expired" in answers(forged)[0]
    no_source = await bot.press(chat, view.message_id, f"mu:src:{ids[2]}")
    assert answers(no_source) == ["That brief names no source."]


async def test_five_not_useful_rank_a_tag_below_an_equal_score_brief(bot):
    ids = await bot.add_briefs(
        [
            make_brief(title="Chips at eight", tags=("chips",), score=8),
            make_brief(title="Robots at eight", tags=("robotics",), score=8),  # newer: first
        ]
    )
    chat = await reader(bot, "chips", "robotics")
    await bot.say(chat, f"/brief {ids[1]}")
    view = last(bot, chat)
    down = view.button("👎").callback_data
    for _ in range(5):
        pressed = await bot.press(chat, view.message_id, down)
        assert answers(pressed) == ["Less of #robotics"]
    (digest,) = await bot.texts(chat, "/digest")
    assert digest.index("Chips at eight") < digest.index("Robots at eight")
    assert "Robots at eight" in digest  # reordered, never hidden
    (summary,) = await bot.texts(chat, "/summary")
    assert summary.index("Chips at eight") < summary.index("Robots at eight")
    (why,) = [t for t in await bot.texts(chat, f"/brief {ids[1]}") if "Why you get" in t]
    assert "follows #robotics, score 8, you found #robotics not useful often" in why

    bot.clock.advance(days=120)  # weights fade over weeks
    (later,) = await bot.texts(chat, "/summary")
    assert later.index("Robots at eight") < later.index("Chips at eight")


async def test_liking_a_tag_says_so_and_lifts_it(bot):
    ids = await bot.add_briefs(
        [
            make_brief(title="Robots at seven", tags=("robotics",), score=7),
            make_brief(title="Chips at seven", tags=("chips",), score=7),
        ]
    )
    chat = await reader(bot, "chips", "robotics")
    await bot.say(chat, f"/brief {ids[0]}")
    view = last(bot, chat)
    for _ in range(3):
        pressed = await bot.press(chat, view.message_id, view.button("👍").callback_data)
    assert answers(pressed) == ["More like #robotics"]
    texts = await bot.texts(chat, f"/brief {ids[0]}")
    assert any("you liked #robotics often" in t for t in texts)
    (digest,) = await bot.texts(chat, "/digest")
    assert digest.index("Robots at seven") < digest.index("Chips at seven")


async def test_a_digest_has_one_feedback_row_and_tune_marks_items(bot):
    ids = await bot.add_briefs(
        [
            make_brief(title="Alpha", tags=("chips",), score=8),
            make_brief(title="Beta", tags=("robotics",), score=7),
        ]
    )
    chat = await reader(bot, "chips", "robotics")
    await bot.say(chat, "/digest")
    digest = last(bot, chat)
    assert [b.text for b in digest.buttons[0]] == ["👍 Useful", "👎 Not useful", "Tune"]
    assert len(digest.buttons) == 1
    useful = await bot.press(chat, digest.message_id, digest.button("👍 Useful").callback_data)
    assert answers(useful) == ["More like #chips, #robotics"]
    tune = await bot.press(chat, digest.message_id, digest.button("Tune").callback_data)
    assert answers(tune) == ["Mark what you liked, or not"]
    tuned = bot.server.message(chat, digest.message_id)
    assert [b.text for b in tuned.buttons[1]] == [
        f"👍 {ids[1]}",
        f"👎 {ids[1]}",
        f"Mute tag of {ids[1]}",
    ]
    down = await bot.press(chat, digest.message_id, f"fb:down:{ids[1]}")
    assert answers(down) == ["Less of #robotics"]
    forged = await bot.press(chat, digest.message_id, "fb:down:99999999")
    assert "expired" in answers(forged)[0]


async def test_gist_line_and_style(bot):
    await bot.add_briefs(
        [
            make_brief(
                title=f"Item {n}",
                tags=("chips",),
                why_it_matters="Prices of every accelerator fall by a third over the "
                "coming year as supply catches up with demand. More follows.",
                summary="S. " * 200,
            )
            for n in range(10)
        ]
    )
    chat = await reader(bot, "chips")
    texts = await bot.texts(chat, "/digest")
    assert 1 <= len(texts) <= 2  # a 10-item digest stays within two messages
    joined = "\n".join(texts)
    gists = re.findall(r"<i>(Prices[^<]*)</i>", joined)
    assert len(gists) == 10 and all(len(g) <= 80 for g in gists)
    assert "More follows" not in joined
    (answer,) = await bot.texts(chat, "/style compact")
    assert answer.startswith("Compact digests")
    await bot.add_briefs([make_brief(title="Compact one", tags=("chips",))])
    (compact,) = await bot.texts(chat, "/digest")
    assert "Compact one" in compact and "It matters" not in compact
    await bot.say(chat, "/style full")
    await bot.add_briefs([make_brief(title="Full one", tags=("chips",))])
    (full,) = await bot.texts(chat, "/digest")
    assert "<i>It matters.</i>" in full
    (wrong,) = await bot.texts(chat, "/style " + "z" * 300)
    assert "Which style" in wrong and len(wrong) < 120
    (settings,) = await bot.texts(chat, "/settings")
    assert "Style: <b>full</b>" in settings and "Filters on: <b>0</b>" in settings
    await bot.say(chat, "/mute a b")
    (settings,) = await bot.texts(chat, "/settings")
    assert "Filters on: <b>2</b>" in settings


async def test_in_groups_only_admins_change_filters_and_no_feedback_buttons(bot):
    ids = await bot.add_briefs([make_brief(title="Group brief", tags=("llm",), score=8)])
    group = bot.server.group_chat(GROUP_ID, "Newsroom", type="supergroup", admins=[ADMIN])
    await bot.say(group, "/subscribe llm", from_user=ADMIN)
    for command in ("/mute llm", "/only llm", "/unmute llm", "/style compact"):
        bot.clock.advance(seconds=5)
        assert await bot.texts(group, command, from_user=MEMBER) == [REFUSAL], command
    bot.clock.advance(seconds=5)
    (listing,) = await bot.texts(group, "/filters", from_user=MEMBER)
    assert listing.startswith("No filters.")

    await bot.say(group, f"/brief {ids[0]}", from_user=MEMBER)
    view = last(bot, group)
    labels = [b.text for row in view.buttons for b in row]
    assert "👍" not in labels and "Mute #llm" in labels
    refused = await bot.press(group, view.message_id, view.button("Mute #llm").callback_data,
                              from_user=MEMBER)  # fmt: skip
    assert answers(refused) == [REFUSAL]
    feedback = await bot.press(group, view.message_id, f"fb:up:{ids[0]}", from_user=ADMIN)
    assert answers(feedback) == ["Feedback works in a private chat with me."]

    bot.clock.advance(seconds=5)
    await bot.say(group, "/digest", from_user=ADMIN)
    assert not last(bot, group).buttons

    bot.clock.advance(seconds=5)
    (muted,) = await bot.texts(group, "/mute group", from_user=ADMIN)
    assert "Hiding briefs" in muted
    await bot.add_briefs([make_brief(title="Group brief two", tags=("llm",))])
    bot.clock.advance(seconds=5)
    (digest,) = await bot.texts(group, "/digest", from_user=ADMIN)
    assert "Group brief two" not in digest


async def test_forget_deletes_filters_and_weights(bot):
    ids = await bot.add_briefs([make_brief(title="Some brief", tags=("llm",))])
    chat = await reader(bot, "llm")
    await bot.say(chat, "/mute crypto")
    await bot.say(chat, f"/brief {ids[0]}")
    view = last(bot, chat)
    await bot.press(chat, view.message_id, view.button("👍").callback_data)
    assert (await bot.services.filters.shaping(42)).weights
    await bot.say(chat, "/forget")
    question = last(bot, chat)
    await bot.press(chat, question.message_id, question.button("Yes, delete everything")
                    .callback_data)  # fmt: skip
    shaping = await bot.services.filters.shaping(42)
    assert shaping.filters == () and shaping.weights == {}


async def test_passes_answers_for_alerts(bot):
    (brief_id,) = await bot.add_briefs([make_brief(title="Quantum leap", tags=("quantum",))])
    chat = await reader(bot, "quantum")
    item = await bot.services.digests.brief_item(brief_id)
    assert item is not None
    assert await bot.services.filters.passes(42, item)
    await bot.say(chat, "/mute quantum")
    assert not await bot.services.filters.passes(42, item)


async def test_scheduled_digest_applies_filters_and_weights_per_chat(bot):
    bot.clock.set(datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    ids = await bot.add_briefs(
        [
            make_brief(title="Chips eight", tags=("chips",), score=8),
            make_brief(title="Robots eight", tags=("robotics",), score=8),
            make_brief(title="Crypto nine", tags=("chips",), score=9),
        ]
    )
    plain = await reader(bot, "chips", "robotics", user_id=51)
    shaped = await reader(bot, "chips", "robotics", user_id=52)
    await bot.say(shaped, "/mute crypto")
    for _ in range(2):
        await bot.press(shaped, last(bot, shaped).message_id, f"fb:down:{ids[1]}")
    await bot.services.planner.plan()
    bot.clock.set(datetime(2026, 11, 27, 8, 0, tzinfo=UTC))
    await bot.services.planner.plan()
    await bot.deliver()
    (to_plain,) = [t for t in bot.server.sent_texts(plain) if "Your digest" in t]
    (to_shaped,) = [t for t in bot.server.sent_texts(shaped) if "Your digest" in t]
    assert (
        to_plain.index("Crypto nine")
        < to_plain.index("Robots eight")
        < to_plain.index("Chips eight")
    )
    assert "Crypto nine" not in to_shaped
    assert to_shaped.index("Chips eight") < to_shaped.index("Robots eight")
