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
from digestbot.i18n import _
from digestbot.store.models import Feed


def usage() -> str:
    """How to use /feeds and /feed, in the current language."""
    return _(
        "Feeds: <code>/feeds</code> lists them; <code>{add}</code>, <code>/feed remove N</code>,"
        " <code>/feed pause N</code>, <code>/feed resume N</code>."
    ).format(add=esc(feedadmin.ADD_USAGE))


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
        await reply(update, [_("No feeds yet.") + " " + usage()])
        return
    zone = await _zone(update, context)
    blocks = [esc("\n".join(view.lines(zone))) for view in views]
    await reply(update, pack(blocks, header=_("<b>Feeds</b>")))


def _url(feed: Feed) -> str:
    return esc(clip(feed.url, 80))


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
            done, subject = "feed.add", added
            text = _("Added feed {id} ({url}); it is polled within a minute.").format(
                id=added.id, url=_url(added)
            )
        elif action in ("remove", "pause", "resume") and len(args) == 2:
            feed_id = feedadmin.parse_id(args[1])
            if action == "remove":
                subject = await admin.remove(feed_id)
                text = _("Removed feed {id} ({url}); the briefs it brought stay.")
            else:
                subject = await admin.set_paused(feed_id, paused=action == "pause")
                if action == "pause":
                    text = _("Paused feed {id} ({url}).")
                else:
                    text = _("Resumed feed {id} ({url}).")
            text = text.format(id=subject.id, url=_url(subject))
            done = f"feed.{action}"
        elif action in ("remove", "pause", "resume"):
            text = _("Send <code>/feed {action} N</code>, N from /feeds.")
            await reply(update, [text.format(action=action)])
            return
        else:
            if action:
                text = _("No such action {action}.").format(action=echo(action)) + " " + usage()
            else:
                text = usage()
            await reply(update, [text])
            return
    except FeedAdminError as exc:
        reason = esc(exc.reason[:1].upper() + exc.reason[1:])
        await reply(update, [_("{reason}. Nothing changed.").format(reason=reason)])
        return
    await context.services.stats.audit(
        admin_id=user.id, action=done, detail=clip(f"{subject.id} {subject.url}", 200)
    )
    await reply(update, [text])
