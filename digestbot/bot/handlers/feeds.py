"""Admin feed commands: /feeds, and /feed add, remove, pause, resume.

Thin: the arguments go to :mod:`digestbot.briefs.feedadmin`, which checks them and
does the work; a mistake comes back as one short sentence. Only admins get here
(``bot/commands.py`` wraps these in ``admin.admin_only``); each action is audited.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from telegram import Update

from digestbot.bot.context import BotContext
from digestbot.bot.handlers.common import args_of, echo, reply
from digestbot.briefs import feedadmin
from digestbot.briefs.feedadmin import FeedAdminError
from digestbot.briefs.render import clip, esc, pack
from digestbot.store.models import Feed

USAGE = (
    "Feeds: <code>/feeds</code> lists them; "
    f"<code>{esc(feedadmin.ADD_USAGE)}</code>, "
    "<code>/feed remove N</code>, <code>/feed pause N</code>, <code>/feed resume N</code>."
)


async def _zone(update: Update, context: BotContext) -> ZoneInfo:
    """The admin's own timezone (their /timezone), else the bot's default."""
    chat = update.effective_chat
    known = await context.services.chats.get(chat.id) if chat else None
    return ZoneInfo(known.timezone) if known else context.services.settings.default_zone


async def feeds(update: Update, context: BotContext) -> None:
    """/feeds: every feed with its defaults, state and what it has stored."""
    user = update.effective_user
    assert user is not None
    views = await context.services.feed_admin.list()
    await context.services.stats.audit(admin_id=user.id, action="feeds.list")
    if not views:
        await reply(update, ["No feeds yet. " + USAGE])
        return
    zone = await _zone(update, context)
    blocks = [esc("\n".join(view.lines(zone))) for view in views]
    await reply(update, pack(blocks, header="<b>Feeds</b>"))


def _described(feed: Feed) -> str:
    return f"feed {feed.id} ({esc(clip(feed.url, 80))})"


async def feed(update: Update, context: BotContext) -> None:
    """/feed add|remove|pause|resume ...: change the feeds."""
    user = update.effective_user
    assert user is not None
    args = args_of(context)
    action = args[0].lower() if args else ""
    admin = context.services.feed_admin
    try:
        if action == "add":
            added = await admin.add(feedadmin.parse_add(args[1:]))
            done, text = "feed.add", f"Added {_described(added)}; it is polled within a minute."
            subject = added
        elif action in ("remove", "pause", "resume") and len(args) == 2:
            feed_id = feedadmin.parse_id(args[1])
            if action == "remove":
                subject = await admin.remove(feed_id)
                text = f"Removed {_described(subject)}; the briefs it brought stay."
            else:
                subject = await admin.set_paused(feed_id, paused=action == "pause")
                text = f"{action.capitalize()}d {_described(subject)}."
            done = f"feed.{action}"
        elif action in ("remove", "pause", "resume"):
            await reply(update, [f"Send <code>/feed {action} N</code>, N from /feeds."])
            return
        else:
            await reply(
                update, [USAGE if not action else f"No such action {echo(action)}. {USAGE}"]
            )
            return
    except FeedAdminError as exc:
        await reply(update, [f"{esc(exc.reason[:1].upper() + exc.reason[1:])}. Nothing changed."])
        return
    await context.services.stats.audit(
        admin_id=user.id, action=done, detail=clip(f"{subject.id} {subject.url}", 200)
    )
    await reply(update, [text])
