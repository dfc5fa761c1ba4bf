"""Start, help, and answers to anything the bot does not understand."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatType

from digestbot.bot import keyboards
from digestbot.bot.context import BotContext
from digestbot.bot.handlers.common import args_of, chat_type, language_of, reply
from digestbot.bot.handlers.guards import is_bot_admin, may_configure
from digestbot.briefs.render import esc

HELP: list[tuple[str, str]] = [
    ("digest", "what's new on your tags, best first"),
    ("summary", "one line per recent brief [TAG]"),
    ("watch", "what to watch next [TAG]"),
    ("brief", "one brief in full: /brief ID"),
    ("search", "briefs matching words: /search WORDS"),
    ("tags", "pick tags to follow"),
    ("subscribe", "follow tags: /subscribe TAG..."),
    ("unsubscribe", "stop following: /unsubscribe TAG... or all"),
    ("mytags", "the tags you follow"),
    ("settings", "time, timezone, frequency, minimum score, size"),
    ("time", "digest time: /time 07:30"),
    ("timezone", "your timezone: /timezone Europe/Berlin"),
    ("frequency", "daily, weekdays, weekly [DAY] or off"),
    ("minscore", "only briefs scoring at least N (0-10)"),
    ("size", "briefs per digest (1-30)"),
    ("stop", "pause digests (/start resumes)"),
    ("forget", "delete all I keep about this chat"),
    ("help", "this list"),
]
ADMIN_HELP: list[tuple[str, str]] = [
    ("broadcast", "TEXT, #TAG TEXT, or in reply to a message: preview, then send"),
    ("broadcasts", "recent broadcasts, with Stop for one under way"),
    ("stats", "users, tags, deliveries, outbox and feeds"),
    ("ingest", "URL: fetch and store briefs (or send a card or a .txt/.json file)"),
]


async def start(update: Update, context: BotContext) -> None:
    """Register the chat, greet, and offer the tag picker (``/start tag-NAME`` subscribes)."""
    chat = update.effective_chat
    if chat is None:
        return
    services = context.services
    if chat.type != ChatType.PRIVATE and not await may_configure(update, context):
        # in a group, only its admins may resume digests or follow tags by deep link
        await services.chats.ensure(chat.id, type=chat_type(update))
        await reply(update, ["Hi! Group admins pick my tags with /tags; anyone can /digest."])
        return
    _, created = await services.chats.register(
        chat_id=chat.id,
        type=chat_type(update),
        title=chat.title or chat.full_name,
        language=language_of(update),
    )
    deep = [a.removeprefix("tag-") for a in args_of(context) if a.startswith("tag-")]
    if deep:
        result = await services.chats.subscribe(chat.id, deep)
        if result.added or result.already:
            tags = ", ".join(result.added + result.already)
            await reply(update, [f"You now follow <b>{esc(tags)}</b>. /digest shows what's new."])
            return
    greeting = "Welcome! " if created else "Welcome back! Digests are on again. "
    page = await services.chats.tag_page(chat.id, 0)
    await reply(
        update,
        [
            f"{greeting}I send short digests of news briefs on the tags you follow.\n"
            "Tap tags below to follow them, then /digest; /help lists everything."
        ],
        keyboards.tag_picker(page) if page.entries else None,
    )


async def help_command(update: Update, context: BotContext) -> None:
    """List every command, one line each."""
    lines = [f"/{name} — {esc(about)}" for name, about in HELP]
    text = "<b>What I can do</b>\n" + "\n".join(lines)
    if is_bot_admin(update, context):
        text += "\n\n<b>Admin</b>\n" + "\n".join(f"/{n} — {esc(a)}" for n, a in ADMIN_HELP)
    await reply(update, [text])


async def unknown_command(update: Update, context: BotContext) -> None:
    """Any command this bot does not have."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or not message.text:
        return
    name, _, addressee = message.text.split()[0].partition("@")
    in_group = chat is not None and chat.type != ChatType.PRIVATE
    # In groups, other bots' commands are none of our business: answer only ours.
    if in_group and addressee.lower() != (context.bot.username or "").lower():
        return
    await reply(update, [f"I don't know {esc(name[:40])}. /help lists what I can do."])


async def plain_text(update: Update, context: BotContext) -> None:
    """Text that is not a command, in a private chat."""
    if update.effective_chat is None or update.effective_chat.type != ChatType.PRIVATE:
        return
    await reply(update, ["I answer commands: try /digest, or /help for the list."])
