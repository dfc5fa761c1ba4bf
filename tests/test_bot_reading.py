"""Reading commands through the real bot: /digest, /summary, /watch, /brief, /search, /tags."""

from __future__ import annotations

import re

from tests.factories import make_brief


async def test_digest_best_first_then_nothing_new_then_new_again(bot):
    ids = await bot.add_briefs(
        [
            make_brief(title="Low llm news", score=3, tags=("llm",)),
            make_brief(title="Top llm news", score=9, tags=("llm",)),
            make_brief(title="Chip news", score=8, tags=("chips",)),
        ]
    )
    chat = bot.server.private_chat(42)
    await bot.say(chat, "/subscribe llm")

    (first,) = await bot.texts(chat, "/digest")
    assert first.index("Top llm news") < first.index("Low llm news")
    assert "Chip news" not in first
    assert f"/brief_{ids[1]}" in first

    (again,) = await bot.texts(chat, "/digest")
    assert "Nothing new since your last digest" in again

    await bot.add_briefs([make_brief(title="Fresh llm news", score=5, tags=("llm",))])
    (third,) = await bot.texts(chat, "/digest")
    assert "Fresh llm news" in third and "Top llm news" not in third


async def test_digest_respects_min_score_and_pages_with_more(bot):
    await bot.add_briefs(
        [make_brief(title=f"News {s}", score=s, tags=("llm",)) for s in range(1, 9)]
    )
    chat = bot.server.private_chat(42)
    await bot.say(chat, "/subscribe llm")
    await bot.say(chat, "/minscore 4")
    await bot.say(chat, "/size 3")

    (first,) = await bot.texts(chat, "/digest")
    assert re.findall(r"News (\d)", first) == ["8", "7", "6"]
    assert first.endswith("+2 more: /digest")
    (second,) = await bot.texts(chat, "/digest")
    assert re.findall(r"News (\d)", second) == ["5", "4"]
    assert "more" not in second


async def test_digest_without_tags_shows_top_briefs_and_a_nudge(bot):
    await bot.add_briefs([make_brief(title="Anything", tags=("misc",))])
    chat = bot.server.private_chat(42)
    (text,) = await bot.texts(chat, "/digest")
    assert "Anything" in text
    assert "/tags" in text


async def test_summary_is_one_line_per_brief_and_takes_a_tag(bot):
    await bot.add_briefs(
        [
            make_brief(title="About chips", tags=("chips",)),
            make_brief(title="About llm", tags=("llm",)),
        ]
    )
    chat = bot.server.private_chat(42)
    (everything,) = await bot.texts(chat, "/summary")
    assert everything.count("/brief_") == 2
    (chips,) = await bot.texts(chat, "/summary #Chips")
    assert "About chips" in chips and "About llm" not in chips
    (none,) = await bot.texts(chat, "/summary nosuchtag")
    assert none == "No tag nosuchtag. See /tags."


async def test_watch_lists_what_to_watch_once_each(bot):
    await bot.add_briefs(
        [
            make_brief(title="One", what_to_watch="Watch the vote. Then more."),
            make_brief(title="Two", what_to_watch="Watch the vote. Then more."),
            make_brief(title="Three", what_to_watch="Watch the launch."),
        ]
    )
    chat = bot.server.private_chat(42)
    (text,) = await bot.texts(chat, "/watch")
    assert text.count("•") == 2
    assert "Watch the launch." in text


async def test_brief_in_full_by_command_and_by_link(bot):
    (brief_id,) = await bot.add_briefs(
        [make_brief(title="Full <story> & more", technical_details="Deep details.")]
    )
    chat = bot.server.private_chat(42)
    (by_command,) = await bot.texts(chat, f"/brief {brief_id}")
    (by_link,) = await bot.texts(chat, f"/brief_{brief_id}")
    assert by_command == by_link
    assert "Full &lt;story&gt; &amp; more" in by_command
    for heading in ("What happened", "Technical details", "Why it matters", "What to watch next"):
        assert heading in by_command
    assert await bot.texts(chat, "/brief 99999") == [
        "There is no brief 99999. /summary lists recent ones."
    ]
    assert await bot.texts(chat, "/brief abc") == [
        "Which brief? Send /brief and its number, like /brief 12."
    ]


async def test_search_matches_title_and_summary(bot):
    await bot.add_briefs(
        [
            make_brief(title="Quantum chips arrive", summary="A lab did it."),
            make_brief(title="Other", summary="Mentions QUANTUM once."),
            make_brief(title="Unrelated", summary="Nothing."),
        ]
    )
    chat = bot.server.private_chat(42)
    (text,) = await bot.texts(chat, "/search quantum")
    assert "Quantum chips arrive" in text and "Other" in text and "Unrelated" not in text
    (nothing,) = await bot.texts(chat, "/search <zzz>")
    assert nothing == "No briefs match &lt;zzz&gt;. Try fewer or other words."
    assert await bot.texts(chat, "/search") == [
        "Search for what? For example: /search open weights"
    ]


async def test_tag_picker_toggles_and_pages(bot):
    await bot.add_briefs([make_brief(tags=(f"tag-{n:02d}",)) for n in range(12)])
    chat = bot.server.private_chat(42)
    await bot.say(chat, "/tags")
    picker = bot.server.messages(chat)[-1]
    first = picker.buttons[0][0]

    requests = await bot.press(chat, picker.message_id, first.callback_data)

    answer = next(r for r in requests if r.method == "answerCallbackQuery")
    assert answer.params["text"] == f"Following {first.text.split()[0]}"
    assert bot.server.message(chat, picker.message_id).buttons[0][0].text.startswith("✓ ")
    assert await bot.services.chats.tags(42) == [first.text.split()[0]]

    nxt = bot.server.message(chat, picker.message_id).button("Next ›")
    await bot.press(chat, picker.message_id, nxt.callback_data)
    labels = [b.text for row in bot.server.message(chat, picker.message_id).buttons for b in row]
    assert "2/2" in labels and "‹ Prev" in labels

    done = bot.server.message(chat, picker.message_id).button("Done")
    await bot.press(chat, picker.message_id, done.callback_data)
    assert "You follow: " in bot.server.message(chat, picker.message_id).text
