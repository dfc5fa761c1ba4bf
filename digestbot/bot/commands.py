"""The one command table: every command declared once, and what comes from it.

The handler registration (:func:`command_handlers`), ``/help`` (:func:`help_text`)
and the command menus Telegram shows (:func:`menu`) are all derived from
:data:`COMMANDS`, so a command cannot be registered yet missing from ``/help``, or
listed in the menu without a handler. Button and plain-message handlers are not
commands; they stay in ``app.register_handlers``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from enum import StrEnum

from telegram import BotCommand, Update
from telegram.constants import ChatType
from telegram.ext import BaseHandler, CommandHandler, filters

from digestbot.bot.context import BotContext
from digestbot.bot.handlers import (
    admin,
    basics,
    channels,
    feeds,
    language,
    reading,
    saved,
    settings,
    shaping,
    tags,
)
from digestbot.bot.handlers.common import echo, reply
from digestbot.bot.handlers.guards import is_bot_admin
from digestbot.briefs.render import esc
from digestbot.i18n import N_, _

# what PTB calls: a coroutine function of (update, context)
Handler = Callable[[Update, BotContext], Coroutine[object, None, None]]


class Where(StrEnum):
    """Where a command works."""

    ANYWHERE = "anywhere"  # private chats and groups
    PRIVATE = "private"  # private chats only; in a group it is an unknown command
    BOT_ADMIN = "bot admin"  # bot admins (ADMIN_IDS) in their private chat; hidden from others


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    handler: Handler
    help: str  # its line in /help (marked for the catalog, translated where shown)
    where: Where = Where.ANYWHERE
    menu: str | None = None  # its description in Telegram's command menu; None: not there


async def help_command(update: Update, context: BotContext) -> None:
    """List every command this user may use here, one line each."""
    chat = update.effective_chat
    in_group = chat is not None and chat.type != ChatType.PRIVATE
    await reply(update, [help_text(admin=is_bot_admin(update, context), in_group=in_group)])


COMMANDS: tuple[Command, ...] = (
    Command("start", basics.start, N_("register and pick tags; resumes digests after /stop")),
    Command("digest", reading.digest, N_("what's new on your tags, best first"),
            menu=N_("What's new on your tags")),
    Command("summary", reading.summary, N_("one line per recent brief [TAG]"),
            menu=N_("One line per recent brief")),
    Command("watch", reading.watch, N_("what to watch next [TAG]"), menu=N_("What to watch next")),
    Command("brief", reading.brief, N_("one brief in full: /brief ID")),
    Command("search", reading.search, N_("briefs matching words: /search WORDS"),
            menu=N_("Find briefs by words")),
    Command("saved", saved.saved, N_("the briefs you saved (☆ Save under /brief)"),
            Where.PRIVATE, menu=N_("Briefs you saved")),
    Command("tags", tags.tags, N_("pick tags to follow"), menu=N_("Pick tags to follow")),
    Command("subscribe", tags.subscribe, N_("follow tags: /subscribe TAG...")),
    Command("unsubscribe", tags.unsubscribe, N_("stop following: /unsubscribe TAG... or all")),
    Command("mytags", tags.mytags, N_("the tags you follow"), menu=N_("Tags you follow")),
    Command("mute", shaping.mute,
            N_('hide briefs mentioning a word: /mute WORD or /mute "a phrase"')),
    Command("only", shaping.only, N_("only briefs mentioning one of: /only WORD...")),
    Command("unmute", shaping.unmute, N_("remove a filter: /unmute WORD")),
    Command("filters", shaping.filters_command, N_("your filters, a button to remove each"),
            menu=N_("Your mutes and filters")),
    Command("style", shaping.style,
            N_("digest items with a gist line (full) or without (compact)")),
    Command("share", channels.share, N_("a link that offers your tags to others")),
    Command("channels", channels.channels, N_("manage a channel you made me admin of, from here"),
            Where.PRIVATE, menu=N_("Manage your channels")),
    Command("settings", settings.settings, N_("time, timezone, frequency, minimum score, size"),
            menu=N_("Time, timezone, frequency, score")),
    Command("time", settings.time_command, N_("digest times, up to three: /time 08:00 18:00")),
    Command("timezone", settings.timezone, N_("your timezone: /timezone Europe/Berlin")),
    Command("frequency", settings.frequency, N_("daily, weekdays, weekly [DAY] or off")),
    Command("minscore", settings.minscore, N_("only briefs scoring at least N (0-10)")),
    Command("size", settings.size, N_("briefs per digest (1-30)")),
    Command("alerts", settings.alerts, N_("briefs scoring N+ at once: /alerts N [max K] or off"),
            menu=N_("Instant alerts for top briefs")),
    Command("quiet", settings.quiet, N_("no alerts in these hours: /quiet 22:00-07:00 or off")),
    Command("language", language.language, N_("the language I use here: English or Hindi"),
            menu=N_("Language: English or Hindi")),
    Command("stop", settings.stop, N_("pause digests (/start resumes)")),
    Command("forget", settings.forget, N_("delete all I keep about this chat")),
    Command("help", help_command, N_("this list"), menu=N_("Everything I can do")),
    Command("broadcast", admin.broadcast,
            N_("TEXT, #TAG TEXT, or in reply to a message: preview, then send"),
            Where.BOT_ADMIN, menu=N_("Message all chats or a tag's followers")),
    Command("broadcasts", admin.broadcasts, N_("recent broadcasts, with Stop for one under way"),
            Where.BOT_ADMIN, menu=N_("Recent broadcasts")),
    Command("stats", admin.stats, N_("users, tags, deliveries, outbox and feeds"),
            Where.BOT_ADMIN, menu=N_("Users, deliveries, outbox, feeds")),
    Command("ingest", admin.ingest,
            N_("URL: fetch and store briefs (or send a card or a .txt/.json file)"),
            Where.BOT_ADMIN, menu=N_("Fetch briefs from a URL")),
    Command("feeds", feeds.feeds, N_("the feeds: tags, state, briefs stored, untagged"),
            Where.BOT_ADMIN, menu=N_("Feeds and how they fare")),
    Command("feed", feeds.feed,
            N_("add URL #tag… [category NAME] [score N], remove N, pause N, resume N"),
            Where.BOT_ADMIN),
)  # fmt: skip


def _shown(command: Command, *, admin: bool, in_group: bool) -> bool:
    if command.where == Where.BOT_ADMIN:
        return admin and not in_group
    return command.where == Where.ANYWHERE or not in_group


def help_text(*, admin: bool, in_group: bool, commands: Sequence[Command] = COMMANDS) -> str:
    """``/help``: the commands that work here; bot admins get theirs in a part of its own."""
    lines = [
        f"/{c.name} — {esc(_(c.help))}"
        for c in commands
        if c.where != Where.BOT_ADMIN and _shown(c, admin=admin, in_group=in_group)
    ]
    heading, admin_heading = _("What I can do"), _("Admin")
    text = f"<b>{heading}</b>\n" + "\n".join(lines)
    own = [f"/{c.name} — {esc(_(c.help))}" for c in commands if c.where == Where.BOT_ADMIN]
    if admin and not in_group and own:
        text += f"\n\n<b>{admin_heading}</b>\n" + "\n".join(own)
    return text


def suggest(
    typed: str, *, admin: bool, in_group: bool, commands: Sequence[Command] = COMMANDS
) -> list[str]:
    """Commands spelled close to ``typed`` that work here (admin ones only for admins)."""
    names = [c.name for c in commands if _shown(c, admin=admin, in_group=in_group)]
    return difflib.get_close_matches(typed.lstrip("/").lower(), names, n=2, cutoff=0.7)


def unknown_text(typed: str, *, admin: bool, in_group: bool) -> str:
    """The answer to a command this bot does not have (or this user may not use)."""
    close = suggest(typed, admin=admin, in_group=in_group)
    if not close:
        return _("I don't know {command}. /help lists what I can do.").format(command=echo(typed))
    if len(close) == 1:
        hint = _("Did you mean {command}?").format(command="/" + close[0])
    else:
        hint = _("Did you mean {command} or {other}?").format(
            command="/" + close[0], other="/" + close[1]
        )
    return _("I don't know {command}. {hint} /help lists what I can do.").format(
        command=echo(typed), hint=hint
    )


async def unknown_command(update: Update, context: BotContext) -> None:
    """Any command this bot does not have, with the ones spelled like it."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or not message.text:
        return
    name, _, addressee = message.text.split()[0].partition("@")
    in_group = chat is not None and chat.type != ChatType.PRIVATE
    # In groups, other bots' commands are none of our business: answer only ours.
    if in_group and addressee.lower() != (context.bot.username or "").lower():
        return
    admin = is_bot_admin(update, context) and not in_group
    await reply(update, [unknown_text(name, admin=admin, in_group=in_group)])


def menu(
    *, admin: bool = False, in_group: bool = False, commands: Sequence[Command] = COMMANDS
) -> list[BotCommand]:
    """The command menu for a scope, in the current language: the flagged commands that
    work there."""
    return [
        BotCommand(c.name, _(c.menu))
        for c in commands
        if c.menu is not None and _shown(c, admin=admin, in_group=in_group)
    ]


def command_handlers(
    new: filters.BaseFilter, commands: Sequence[Command] = COMMANDS
) -> list[BaseHandler[Update, BotContext, None]]:
    """One CommandHandler per command; ``new`` keeps edited messages from running again."""
    found: list[BaseHandler[Update, BotContext, None]] = []
    for c in commands:
        handler, where = c.handler, new
        if c.where == Where.PRIVATE:
            where = new & filters.ChatType.PRIVATE
        elif c.where == Where.BOT_ADMIN:
            # not filtered to private chats: anyone else, anywhere, must get the
            # unknown-command answer and leave a refusal in the log (admin.admin_only)
            handler = admin.admin_only(handler, otherwise=unknown_command)
        found.append(CommandHandler(c.name, handler, filters=where))
    return found
