"""The one command table (bot/commands.py) against what users see: handlers, /help, menus."""

from __future__ import annotations

import inspect
import re

import pytest

from digestbot.bot.commands import COMMANDS, Where
from digestbot.briefs.render import esc
from tests.bot import running_bot

ADMIN = 1001
READER = 3001
GROUP_ID = -1001234567890
BOT_NAME = "digestbot_test_bot"
UNKNOWN = "I don't know"


@pytest.fixture
async def bot(database_url):
    async with running_bot(database_url, admin_ids=[ADMIN]) as running:
        yield running


def line(command) -> str:
    return f"/{command.name} — {esc(command.help)}"


def everyones() -> list[str]:
    return [line(c) for c in COMMANDS if c.where != Where.BOT_ADMIN]


def admins() -> list[str]:
    return [line(c) for c in COMMANDS if c.where == Where.BOT_ADMIN]


def test_every_command_has_a_handler_a_help_line_and_a_menu_entry_when_flagged():
    names = [c.name for c in COMMANDS]
    assert len(names) == len(set(names)), "a command is declared twice"
    for c in COMMANDS:
        # Telegram's rules for a command and its menu description
        assert re.fullmatch(r"[a-z0-9_]{1,32}", c.name), c.name
        assert inspect.iscoroutinefunction(c.handler), c.name
        assert c.help.strip(), f"/{c.name} has no help line"
        if c.menu is not None:
            assert 1 <= len(c.menu.strip()) <= 256, f"/{c.name}: menu entry {c.menu!r}"
    assert {"help", "start", "digest"} <= set(names)


async def test_every_command_in_the_table_is_answered_and_not_as_unknown(bot):
    chat = bot.server.private_chat(ADMIN)
    for command in COMMANDS:
        bot.clock.ticks += 60  # one at a time: never a flood
        answers = await bot.texts(chat, f"/{command.name}", ADMIN)
        assert answers, f"/{command.name} got no answer"
        assert not any(a.startswith(UNKNOWN) for a in answers), f"/{command.name} is unknown"


async def test_help_in_a_private_chat_is_the_table_and_admins_see_their_part(bot):
    bot.clock.ticks += 60
    (for_reader,) = await bot.texts(bot.server.private_chat(READER), "/help", READER)
    bot.clock.ticks += 60
    (for_admin,) = await bot.texts(bot.server.private_chat(ADMIN), "/help", ADMIN)

    assert for_reader.splitlines() == ["<b>What I can do</b>", *everyones()]
    assert for_admin.splitlines() == [
        "<b>What I can do</b>",
        *everyones(),
        "",
        "<b>Admin</b>",
        *admins(),
    ]


async def test_help_in_a_group_has_no_admin_commands_even_for_a_bot_admin(bot):
    group = bot.server.group_chat(GROUP_ID, "Newsroom", type="supergroup", admins=[ADMIN])
    (in_group,) = await bot.texts(group, f"/help@{BOT_NAME}", ADMIN)

    expected = [line(c) for c in COMMANDS if c.where == Where.ANYWHERE]
    assert in_group.splitlines() == ["<b>What I can do</b>", *expected]


async def test_the_menus_are_the_flagged_commands_of_the_table(database_url):
    async with running_bot(
        database_url, admin_ids=[ADMIN], before_start=lambda server: server.private_chat(ADMIN)
    ) as bot:
        everywhere = bot.server.commands()
        private = bot.server.commands({"type": "all_private_chats"})
        mine = bot.server.commands({"type": "chat", "chat_id": ADMIN})

    def entries(*wheres: Where) -> list[dict[str, str]]:
        return [
            {"command": c.name, "description": c.menu}
            for c in COMMANDS
            if c.menu is not None and c.where in wheres
        ]

    assert everywhere == entries(Where.ANYWHERE)
    assert private == entries(Where.ANYWHERE, Where.PRIVATE)
    assert mine == entries(Where.ANYWHERE, Where.PRIVATE, Where.BOT_ADMIN)
    assert {"digest", "help", "broadcast", "stats"} <= {e["command"] for e in mine}
