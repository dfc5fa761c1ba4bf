"""Small helpers every handler module shares."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType

from digestbot.bot.context import BotContext
from digestbot.briefs.render import clip, esc
from digestbot.i18n import _


def stale_button() -> str:
    """The answer to a press on a button this bot no longer knows (or never made)."""
    return _("This button has expired. Send the command again for a fresh one.")


# How much of a user's own input a reply quotes back. Unclipped, a 5,000-character word
# made a reply Telegram refuses (over 4,096 characters), so the user got nothing at all.
ECHO_LIMIT = 40


def echo(typed: str, limit: int = ECHO_LIMIT) -> str:
    """User input quoted in an HTML reply: clipped to ``limit`` characters, and escaped.

    Every handler that repeats what the user typed goes through here.
    """
    return esc(clip(typed, limit))


def unknown_tag_line(typed: str, hints: Sequence[str]) -> str:
    """One unknown tag, quoted (clipped), with the known tags it is close to."""
    tag = echo(typed)
    names = [esc(h) for h in hints]
    # one whole sentence per number of suggestions (at most three): a translator can't
    # reorder a sentence glued from pieces
    if len(names) >= 3:
        return _("No tag {tag}. Did you mean {a} or {b} or {c}?").format(
            tag=tag, a=names[0], b=names[1], c=names[2]
        )
    if len(names) == 2:
        return _("No tag {tag}. Did you mean {a} or {b}?").format(tag=tag, a=names[0], b=names[1])
    if names:
        return _("No tag {tag}. Did you mean {a}?").format(tag=tag, a=names[0])
    return _("No tag {tag}. See /tags.").format(tag=tag)


def args_of(context: BotContext) -> list[str]:
    return list(context.args or [])


def chat_type(update: Update) -> str:
    return update.effective_chat.type if update.effective_chat else ChatType.PRIVATE


def language_of(update: Update) -> str | None:
    user = update.effective_user
    return user.language_code if user else None


async def reply(
    update: Update, messages: Sequence[str], markup: InlineKeyboardMarkup | None = None
) -> Message | None:
    """Send each message in order; the keyboard, if any, goes on the last one."""
    target = update.effective_message
    if target is None:
        return None
    last: Message | None = None
    for i, text in enumerate(messages):
        is_last = i == len(messages) - 1
        last = await target.reply_text(
            text, reply_markup=markup if is_last else None, do_quote=False
        )
    return last
