"""Following tags: /tags picker, /subscribe, /unsubscribe, /mytags."""

from __future__ import annotations

from telegram import Update

from digestbot.bot import keyboards
from digestbot.bot.context import BotContext
from digestbot.bot.handlers import managed
from digestbot.bot.handlers.common import (
    args_of,
    echo,
    reply,
    stale_button,
    unknown_tag_line,
)
from digestbot.bot.handlers.guards import may_configure
from digestbot.briefs.render import esc
from digestbot.i18n import _, count
from digestbot.readers.chats import SubscribeResult, UnsubscribeResult

MAX_TAGS_PER_COMMAND = 20


def _typed_tags(context: BotContext) -> list[str]:
    words = [w for a in args_of(context) for w in a.replace(",", " ").split()]
    return words[:MAX_TAGS_PER_COMMAND]


def describe_subscribe(result: SubscribeResult) -> str:
    lines = []
    if result.added:
        lines.append(_("Following <b>{tags}</b> now.").format(tags=esc(", ".join(result.added))))
    if result.already:
        lines.append(_("Already following {tags}.").format(tags=esc(", ".join(result.already))))
    lines.extend(unknown_tag_line(typed, hints) for typed, hints in result.unknown.items())
    return "\n".join(lines)


def describe_unsubscribe(result: UnsubscribeResult) -> str:
    lines = []
    if result.removed:
        text = _("Stopped following <b>{tags}</b>.")
        lines.append(text.format(tags=esc(", ".join(result.removed))))
    if result.not_subscribed:
        # a word with nothing of a tag in it (emoji, another script) comes back as typed
        typed = ", ".join(echo(t) for t in result.not_subscribed)
        lines.append(_("You weren't following {tags}.").format(tags=typed))
    return "\n".join(lines)


async def tags(update: Update, context: BotContext) -> None:
    """The tag picker: known tags with brief counts; tapping toggles."""
    where = await managed.target(update, context)
    if where is None:
        return
    await context.services.chats.ensure(where.id, type=where.type, known=context.chat_row)
    page = await context.services.chats.tag_page(where.id, 0)
    if not page.entries:
        await reply(update, [_("There are no tags yet: no briefs have arrived.")])
        return
    text = where.note + _("Tap a tag to follow or unfollow it:")
    await reply(update, [text], keyboards.tag_picker(page))


async def subscribe(update: Update, context: BotContext) -> None:
    """/subscribe TAG...: follow tags (case-insensitive, # allowed)."""
    chat = update.effective_chat
    typed = _typed_tags(context)
    if chat is None:
        return
    if not typed:
        text = _("Which tags? For example: /subscribe generative-ai chips\nOr pick from /tags.")
        await reply(update, [text])
        return
    where = await managed.to_change(update, context)
    if where is None:
        return
    await context.services.chats.ensure(where.id, type=where.type, known=context.chat_row)
    result = await context.services.chats.subscribe(where.id, typed)
    await reply(update, [where.note + describe_subscribe(result)])


async def unsubscribe(update: Update, context: BotContext) -> None:
    """/unsubscribe TAG... or /unsubscribe all."""
    chat = update.effective_chat
    typed = _typed_tags(context)
    if chat is None:
        return
    if not typed:
        await reply(
            update, [_("Which tags? For example: /unsubscribe chips, or /unsubscribe all.")]
        )
        return
    where = await managed.to_change(update, context)
    if where is None:
        return
    if [t.lower() for t in typed] == ["all"]:
        removed = await context.services.chats.unsubscribe_all(where.id)
        text = (
            count("Stopped following all {n} tag.", "Stopped following all {n} tags.", removed)
            if removed
            else _("You follow no tags.")
        )
        await reply(update, [where.note + text])
        return
    result = await context.services.chats.unsubscribe(where.id, typed)
    await reply(update, [where.note + describe_unsubscribe(result)])


async def mytags(update: Update, context: BotContext) -> None:
    """The tags this chat follows."""
    where = await managed.target(update, context)
    if where is None:
        return
    mine = await context.services.chats.tags(where.id)
    if not mine:
        await reply(update, [where.note + _("You follow no tags yet. Pick some with /tags.")])
        return
    text = _("You follow: <b>{tags}</b>").format(tags=esc(", ".join(mine)))
    await reply(update, [where.note + text])


async def picker_button(update: Update, context: BotContext, parts: list[str]) -> None:
    """A press on the tag picker: toggle a tag, turn a page, or close it."""
    query = update.callback_query
    if query is None:
        return
    chat = await managed.target(update, context)
    if chat is None:
        return
    if parts[0] == keyboards.TAGS_DONE:
        mine = await context.services.chats.tags(chat.id)
        text = (
            _("You follow: <b>{tags}</b>\n/digest shows what's new.").format(
                tags=esc(", ".join(mine))
            )
            if mine
            else _("You follow no tags.\n/digest shows what's new.")
        )
        await query.answer()
        await query.edit_message_text(chat.note + text)
        return
    if parts[0] == keyboards.TAG_TOGGLE:
        tag_id, page_no = keyboards.int_part(parts, 1), keyboards.int_part(parts, 2)
        if tag_id is None or page_no is None:
            await query.answer(stale_button())
            return
        if not await may_configure(update, context):
            await query.answer(_("Only this group's admins can change its tags."))
            return
        await context.services.chats.ensure(chat.id, type=chat.type, known=context.chat_row)
        toggled = await context.services.chats.toggle(chat.id, tag_id)
        if toggled is None:
            await query.answer(stale_button())
            return
        slug, on = toggled
        done = _("Following {tag}") if on else _("Stopped following {tag}")
        await query.answer(done.format(tag=slug)[:200])
    else:
        page_no = keyboards.int_part(parts, 1)
        if page_no is None:
            await query.answer(stale_button())
            return
        await query.answer()
    page = await context.services.chats.tag_page(chat.id, page_no)
    await query.edit_message_reply_markup(keyboards.tag_picker(page))
