"""Odd input through the real bot: huge words, other scripts, a bare "/", and floods."""

from __future__ import annotations

import pytest

from digestbot.bot.handlers.guards import APOLOGY, FloodGuard
from tests.bot import Bot, running_bot
from tests.factories import make_brief

ADMIN = 1001
READER = 3001
GROUP_ID = -1001234567890
BOT_NAME = "digestbot_test_bot"
TOO_FAST = "You're sending commands too fast. Wait a few seconds, then try again."
HELP_HEAD = "<b>What I can do</b>"
SHORT = 400  # characters: a reply quoting the user's input stays about this small


@pytest.fixture
async def bot(database_url):
    async with running_bot(database_url, admin_ids=[ADMIN]) as running:
        await running.add_briefs([make_brief(tags=("llm", "chips"))])
        running.server.private_chat(ADMIN)  # so error notices could reach the admin
        yield running


async def calmly(bot: Bot, chat, text: str, from_user: int) -> list[str]:
    bot.clock.ticks += 60  # one at a time: never a flood
    return await bot.texts(chat, text, from_user)


# ---- echoes of the user's input -----------------------------------------------------------

HUGE = {
    "latin": "x" * 5000,
    "emoji": "🙂" * 5000,  # two UTF-16 units each: 10,000 for Telegram's count
    "hindi": "हिन्दी" * 834,
    "mixed": "Tag🙂हि&<b>" * 500,
}
ECHOING = [
    "/subscribe {w}",
    "/subscribe llm {w} chips",
    "/unsubscribe {w}",
    "/summary {w}",
    "/watch {w}",
    "/time {w}",
    "/timezone {w}",
    "/frequency weekly {w}",
    "/minscore {w}",
    "/brief {w}",
    "/search {w}",
    "/{w}",  # an unknown command
]


@pytest.mark.parametrize("word", HUGE.values(), ids=HUGE.keys())
async def test_a_huge_word_gets_a_short_answer_from_every_command(bot, word):
    chat = bot.server.private_chat(READER)
    for command in ECHOING:
        replies = await calmly(bot, chat, command.format(w=word), READER)

        assert replies, f"{command}: no answer"
        for reply in replies:
            assert len(reply) < SHORT, f"{command}: a {len(reply)}-character answer"
            assert reply != APOLOGY, command
    assert bot.server.sent_texts(ADMIN) == []  # no error notice either


async def test_the_echo_is_clipped_visibly_and_keeps_the_start(bot):
    chat = bot.server.private_chat(READER)

    (reply,) = await calmly(bot, chat, "/subscribe " + "quantum" * 700, READER)

    assert reply.startswith("No tag quantumquantum")
    assert "…" in reply


@pytest.mark.parametrize("word", ["x" * 5000, "Ωμέγα" * 1000], ids=["latin", "greek"])
async def test_an_admins_huge_broadcast_tag_gets_a_short_answer(bot, word):
    chat = bot.server.private_chat(ADMIN)

    (reply,) = await calmly(bot, chat, f"/broadcast #{word} hello", ADMIN)

    assert reply.startswith("There is no tag #") and len(reply) < SHORT


# ---- a bare slash -------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["/ ", "/\u00a0", "/", "/  \t "])
async def test_a_slash_and_whitespace_is_no_error_in_private_or_in_a_group(bot, text):
    private = bot.server.private_chat(READER)
    group = bot.server.group_chat(GROUP_ID, "Newsroom", type="supergroup", admins=[ADMIN])

    in_private = await calmly(bot, private, text, READER)
    in_group = await calmly(bot, group, text, READER)

    assert APOLOGY not in in_private + in_group
    assert in_private == ["I answer commands: try /digest, or /help for the list."]
    assert in_group == []  # group talk is left alone
    assert bot.server.sent_texts(ADMIN) == []  # no error notice to the admin
    (still,) = await calmly(bot, private, "/help", READER)
    assert still.startswith(HELP_HEAD)


# ---- floods -------------------------------------------------------------------------------


async def test_a_person_at_human_pace_is_never_throttled(bot):
    """Following tags in the picker, a tap a second, with a command every two seconds,
    for four minutes."""
    for n in range(30):
        await bot.add_briefs([make_brief(title=f"Brief {n}", tags=(f"tag-{n}",))])
    chat = bot.server.private_chat(READER)
    bot.clock.ticks += 60
    await bot.say(chat, "/tags", READER)
    picker = bot.server.messages(chat)[-1]
    toggles = [b.callback_data for row in picker.buttons for b in row if b.callback_data]
    toggles = [d for d in toggles if d.startswith("tg:")]

    toasts, replies = [], []
    for second in range(240):
        bot.clock.advance(seconds=1)
        pressed = await bot.press(chat, picker.message_id, toggles[second % len(toggles)], READER)
        toasts += [
            str(r.params.get("text", "")) for r in pressed if r.method == "answerCallbackQuery"
        ]
        if second % 2:
            replies.append(await bot.texts(chat, "/mytags", READER))

    assert len(toasts) == 240
    assert not [t for t in toasts if t.startswith("Too fast")]
    assert all(t.startswith(("Following", "Stopped following")) for t in toasts)
    assert len(replies) == 120 and all(len(r) == 1 and TOO_FAST not in r for r in replies)


async def flood(bot: Bot, chat, count: int, *, per_second: float) -> list[str]:
    """A script sending /help ``count`` times at ``per_second``; the bot's answers."""
    answers = []
    for _ in range(count):
        answers += await bot.texts(chat, "/help", READER)
        bot.clock.advance(seconds=1 / per_second)
    return answers


async def test_a_script_at_ten_a_second_is_throttled_with_one_notice_and_answered_after(bot):
    chat = bot.server.private_chat(READER)

    answers = await flood(bot, chat, 300, per_second=10)  # thirty seconds of it

    helped = [a for a in answers if a.startswith(HELP_HEAD)]
    assert answers.count(TOO_FAST) == 1  # one notice for the whole flood
    assert len(helped) <= FloodGuard().burst * 2  # a start, then nothing while it lasts
    assert len(answers) == len(helped) + 1
    assert not [a for a in answers[answers.index(TOO_FAST) :] if a.startswith(HELP_HEAD)]

    bot.clock.advance(seconds=FloodGuard().full_after)  # the flood is over
    (again,) = await bot.texts(chat, "/help", READER)
    assert again.startswith(HELP_HEAD)

    second = await flood(bot, chat, 100, per_second=10)  # a new flood, a new notice
    assert second.count(TOO_FAST) == 1


async def test_a_flood_slowing_to_human_pace_is_answered_again(bot):
    chat = bot.server.private_chat(READER)
    assert TOO_FAST in await flood(bot, chat, 60, per_second=10)

    bot.clock.advance(seconds=2)
    calm = await flood(bot, chat, 30, per_second=0.5)

    assert all(a.startswith(HELP_HEAD) for a in calm) and len(calm) == 30


def test_the_guard_forgets_idle_users_so_memory_stays_bounded():
    now = [0.0]
    guard = FloodGuard(clock=lambda: now[0])
    for user in range(300_000):  # one-off users, a hundred a second
        now[0] += 0.01
        assert guard.allow(user) == (True, False)
        assert len(guard._buckets) <= 100 * guard.full_after + 1

    now[0] += guard.full_after
    guard.allow(1)
    assert len(guard._buckets) == 1


def test_a_forgotten_user_is_as_fresh_as_one_remembered():
    now = [0.0]
    guard = FloodGuard(clock=lambda: now[0])
    verdicts = [guard.allow(7) for _ in range(guard.burst + 5)]
    assert verdicts.count((False, True)) == 1  # ran dry: one warning

    now[0] += guard.full_after  # idle long enough to be forgotten
    guard.allow(8)
    assert 7 not in guard._buckets
    assert [guard.allow(7)[0] for _ in range(guard.burst)] == [True] * guard.burst
    assert guard.allow(7) == (False, True)  # a new flood warns again
