"""Admin commands: /broadcast, /broadcasts, /stats, /ingest, and briefs sent as text or files.

Admins are the user ids in ``ADMIN_IDS``, in their private chat with the bot. To
anyone else, anywhere, these commands behave like any unknown command (they reveal
nothing), and the attempt is logged: ``bot/commands.py`` wraps the commands in
:func:`admin_only`, the buttons and files check :func:`is_bot_admin` here.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Coroutine
from pathlib import PurePath
from zoneinfo import ZoneInfo

from telegram import Message, MessageEntity, Update
from telegram.constants import ChatAction, MessageEntityType
from telegram.error import BadRequest, TelegramError

from digestbot import i18n
from digestbot.bot import keyboards
from digestbot.bot.context import BotContext
from digestbot.bot.handlers import basics
from digestbot.bot.handlers.common import args_of, echo, reply, stale_button
from digestbot.bot.handlers.guards import is_bot_admin
from digestbot.bot.status import (
    audience_text,
    local_moment,
    progress_text,
    stats_text,
    status_name,
)
from digestbot.briefs.ingest import FOLDER_SUFFIXES, IngestReport, is_url
from digestbot.briefs.parse import looks_like_json
from digestbot.briefs.render import clip, esc, pack
from digestbot.delivery.broadcasts import Audience, UnknownTag
from digestbot.i18n import N_, _
from digestbot.store.models import BroadcastStatus

log = logging.getLogger(__name__)

# what PTB calls: a coroutine function of (update, context)
Handler = Callable[[Update, BotContext], Coroutine[object, None, None]]

BROADCAST_USAGE = N_(
    "Send <code>/broadcast TEXT</code> to all active chats, or "
    "<code>/broadcast #TAG TEXT</code> to one tag's followers. To send any message "
    "as it is (formatting and media kept), reply to it with <code>/broadcast</code> "
    "or <code>/broadcast #TAG</code>."
)
MAX_REPORT_LINES = 10
MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # the Bot API lets bots download files up to 20 MB
_COMMAND = re.compile(r"/\w+(?:@\w+)?\s*")
_TAG = re.compile(r"#([\w-]+)(?:\s+|$)")
_CARD_START = re.compile(r"(?:.*back\s+to\s+feed\s*\n)?\s*\S+\s*/\s*10\s*\n", re.IGNORECASE)


def _refused(update: Update, what: str) -> None:
    user, chat = update.effective_user, update.effective_chat
    log.warning(
        "user %s tried admin %s in chat %s; refused",
        user.id if user else None,
        what,
        chat.id if chat else None,
    )


def admin_only(handler: Handler, *, otherwise: Handler) -> Handler:
    """Run ``handler`` for admins; anyone else gets ``otherwise``, the unknown-command
    answer (passed in: it suggests commands from the table, which imports this module)."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: BotContext) -> None:
        if is_bot_admin(update, context):
            await handler(update, context)
            return
        message = update.effective_message
        _refused(update, (message.text or "").split()[0][:40] if message else "command")
        await otherwise(update, context)

    return guarded


# --- /broadcast -------------------------------------------------------------------------


def _html_after(message: Message, skip: int) -> str:
    """The message's text from character ``skip`` on, as Telegram HTML with its formatting."""
    text = message.text or ""
    # Entity offsets count UTF-16 code units.
    cut = len(text[:skip].encode("utf-16-le")) // 2
    kept = []
    for entity in message.entities:
        if entity.type == MessageEntityType.BOT_COMMAND:
            continue
        start, end = max(entity.offset - cut, 0), entity.offset + entity.length - cut
        if end <= start:
            continue
        kept.append(
            MessageEntity(
                type=entity.type,
                offset=start,
                length=end - start,
                url=entity.url,
                user=entity.user,
                language=entity.language,
                custom_emoji_id=entity.custom_emoji_id,
            )
        )
    rest = Message(
        message_id=message.message_id,
        date=message.date,
        chat=message.chat,
        text=text[skip:],
        entities=kept,
    )
    return rest.text_html.strip()


async def _preview(
    update: Update, context: BotContext, text: str | None, source: Message | None
) -> str | None:
    """Show the admin exactly what the audience will get; Telegram's refusal, if any."""
    chat = update.effective_chat
    assert chat is not None
    try:
        if source is not None:
            await context.bot.copy_message(chat.id, chat.id, source.message_id)
        else:
            await context.bot.send_message(chat.id, text or "")
    except BadRequest as exc:
        return exc.message
    return None


async def broadcast(update: Update, context: BotContext) -> None:
    """Preview a broadcast to all chats or one tag's followers, with Send and Cancel."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    services = context.services
    text = message.text or ""
    skip = _COMMAND.match(text)
    position = skip.end() if skip else len(text)
    tag = None
    if found := _TAG.match(text, position):
        tag, position = found[1], found.end()
    source = message.reply_to_message
    body = text[position:].strip()
    if source is None and not body:
        await reply(update, [_(BROADCAST_USAGE)])
        return
    if source is not None and body:
        await reply(
            update,
            [
                _(
                    "When you reply to a message I broadcast that message itself, so send "
                    "just <code>/broadcast</code> (or <code>/broadcast #TAG</code>) as the reply."
                )
            ],
        )
        return
    audience = await services.broadcasts.audience(tag)
    if isinstance(audience, UnknownTag):
        typed = echo(audience.typed)
        if audience.suggestions:
            text = _("There is no tag #{tag}. Did you mean {tags}? /tags lists them all.").format(
                tag=typed, tags=", ".join("#" + s for s in audience.suggestions)
            )
        else:
            text = _("There is no tag #{tag}. /tags lists them all.").format(tag=typed)
        await reply(update, [text])
        return
    if not audience.chats:
        await reply(
            update,
            [
                _("No chat would get it: {audience} number 0.").format(
                    audience=audience_text(audience.tag)
                )
            ],
        )
        return
    html = _html_after(message, position) if source is None else None
    refused = await _preview(update, context, html, source)
    if refused is not None:
        # Telegram's reason is its own English, as the logs have it
        text = _("Telegram would not send that: {reason}. Nothing was saved.")
        await reply(update, [text.format(reason=esc(refused))])
        return
    draft = await services.broadcasts.draft(
        admin_id=user.id,
        audience=audience,
        text=html,
        copy_from=(message.chat_id, source.message_id) if source is not None else None,
    )
    assert draft.id is not None
    status = await reply(
        update,
        [_draft_text(draft.id, audience)],
        keyboards.broadcast_confirm(draft.id, audience.chats),
    )
    if status is not None:
        await services.broadcasts.attach_status(draft.id, status.message_id)


def _draft_text(broadcast_id: int, audience: Audience) -> str:
    return i18n.count(
        "📣 Broadcast #{id}: the message above goes to {audience}, <b>{n} chat</b>. Send it?",
        "📣 Broadcast #{id}: the message above goes to {audience}, <b>{n} chats</b>. Send it?",
        audience.chats, id=broadcast_id, audience=audience_text(audience.tag),
    )  # fmt: skip


async def broadcast_button(update: Update, context: BotContext, parts: list[str]) -> None:
    """Send, Cancel and Stop under a broadcast; only admins' presses count."""
    query = update.callback_query
    assert query is not None
    broadcast_id = keyboards.int_part(parts, 2)
    message = query.message
    user = update.effective_user
    if not is_bot_admin(update, context) or broadcast_id is None or message is None or user is None:
        _refused(update, f"button {query.data!r}")
        await query.answer(stale_button())
        return
    broadcasts = context.services.broadcasts
    action = parts[1] if len(parts) > 1 else ""
    if action == keyboards.BROADCAST_SEND:
        result = await broadcasts.send(
            broadcast_id, admin_id=user.id, message_id=message.message_id
        )
        if result.refused == "unknown":
            await query.answer(stale_button())
        elif result.refused == BroadcastStatus.CANCELLED:
            await query.answer(_("This broadcast was cancelled; nothing was sent."))
        elif result.refused is not None:
            await query.answer(_("Already sent: nothing more goes out."))
        else:
            await query.answer(
                i18n.count("Sending to {n} chat.", "Sending to {n} chats.", result.queued)
            )
            progress = await broadcasts.get(broadcast_id)
            if progress is not None:
                await query.edit_message_text(
                    progress_text(progress),
                    reply_markup=keyboards.broadcast_running([broadcast_id]),
                )
        return
    if action in (keyboards.BROADCAST_DROP, keyboards.BROADCAST_STOP):
        dropped = await broadcasts.cancel(broadcast_id, admin_id=user.id)
        progress = await broadcasts.get(broadcast_id)
        if dropped is None or progress is None:
            await query.answer(_("It has finished already."))
            return
        if progress.counts.total == 0:  # a draft: nothing had been queued
            await query.answer(_("Cancelled."))
            await query.edit_message_text(
                _("Broadcast #{id} cancelled; nothing was sent.").format(id=broadcast_id)
            )
            return
        await query.answer(
            i18n.count(
                "Stopped: {n} message will not be sent.",
                "Stopped: {n} messages will not be sent.",
                dropped,
            )
        )
        if progress.status_message_id is not None:
            await context.bot.edit_message_text(
                progress_text(progress),
                chat_id=progress.admin_id,
                message_id=progress.status_message_id,
            )
        return
    await query.answer(stale_button())


async def broadcasts(update: Update, context: BotContext) -> None:
    """Recent broadcasts with their counts; Stop buttons for those under way."""
    user = update.effective_user
    assert user is not None
    recent = await context.services.broadcasts.recent()
    await context.services.stats.audit(admin_id=user.id, action="broadcasts.list")
    if not recent:
        await reply(update, [_("No broadcasts yet.") + " " + _(BROADCAST_USAGE)])
        return
    zone = await _zone_of(update, context)
    lines = [_("<b>Recent broadcasts</b>")]
    number = i18n.number
    for p in recent:
        c = p.counts
        to = f"#{esc(p.tag)}" if p.tag else _("all")
        parts = [_("{sent}/{total} sent").format(sent=number(c.sent), total=number(p.audience))]
        for n, label in (
            (c.blocked, N_("{n} blocked")),
            (c.left, N_("{n} left")),
            (c.failed, N_("{n} failed")),
            (c.pending, N_("{n} waiting")),
        ):
            if n:
                parts.append(_(label).format(n=number(n)))
        started = local_moment(p.started_at, zone)
        lines.append(f"#{p.id} · {started} · {to} · {status_name(p.status)}: " + ", ".join(parts))
    running = [p.id for p in recent if p.status == BroadcastStatus.SENDING]
    await reply(
        update, ["\n".join(lines)], keyboards.broadcast_running(running) if running else None
    )


# --- /stats -----------------------------------------------------------------------------


async def _zone_of(update: Update, context: BotContext) -> ZoneInfo:
    """The admin's own timezone (their /timezone), else the bot's default."""
    chat = update.effective_chat
    known = await context.services.chats.get(chat.id) if chat else None
    return ZoneInfo(known.timezone) if known else context.services.settings.default_zone


async def stats(update: Update, context: BotContext) -> None:
    """Users, top tags, today's deliveries, the outbox and the feeds, in plain figures."""
    user = update.effective_user
    assert user is not None
    zone = await _zone_of(update, context)
    snapshot = await context.services.stats.snapshot(zone)
    await context.services.stats.audit(admin_id=user.id, action="stats")
    # Line by line into as few messages as fit: every feed has a line (longer in Hindi),
    # and one message over Telegram's limit would be refused whole.
    await reply(update, pack(stats_text(snapshot, zone).split("\n"), sep="\n"))


# --- ingestion from the chat ------------------------------------------------------------


def report_text(what: str, report: IngestReport) -> str:
    """The ingestion report in the admin's language; each rejection's reason stays the
    parser's English (the CLI and the logs give the same words)."""
    lines = [_("{source}: {summary}.").format(source=echo(what, 200), summary=report.told())]
    for rejected in report.rejected[:MAX_REPORT_LINES]:
        lines.append(f"✗ {esc(clip(rejected.source, 60))}: {esc(clip(rejected.reason, 200))}")
    if len(report.rejected) > MAX_REPORT_LINES:
        more = len(report.rejected) - MAX_REPORT_LINES
        lines.append(_("… and {n} more rejected.").format(n=i18n.number(more)))
    return "\n".join(lines)


async def _stored(
    update: Update,
    context: BotContext,
    what: str,
    report: IngestReport,
    status: Message | None = None,
    *,
    shown: str | None = None,
) -> None:
    """Audit the ingestion and report it: as a new message, or into ``status``. The
    audit names ``what``; the report names ``shown`` if given (translated)."""
    user = update.effective_user
    assert user is not None
    await context.services.stats.audit(
        admin_id=user.id,
        action="ingest",
        detail=clip(what, 200),
        counts={
            "added": report.added,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "rejected": len(report.rejected),
        },
    )
    if status is not None:
        try:
            await status.edit_text(report_text(shown or what, report))
            return
        except BadRequest:  # the "Fetching…" message is gone: the report comes anew
            pass
    await reply(update, [report_text(shown or what, report)])


async def ingest(update: Update, context: BotContext) -> None:
    """/ingest URL: fetch briefs (JSON, JSON Feed, RSS, Atom) and store them now."""
    args = args_of(context)
    if len(args) != 1 or not is_url(args[0]):
        await reply(
            update,
            [
                _(
                    "Send <code>/ingest URL</code> (JSON, JSON Feed, RSS or Atom), "
                    "or send me a brief card as text, or a .txt or .json file."
                )
            ],
        )
        return
    # a fetch may take up to FEED_TIMEOUT: say at once that it is under way
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_chat_action(chat.id, ChatAction.TYPING)
    status = await reply(update, [_("Fetching {url}…").format(url=echo(args[0], 200))])
    report = await context.services.ingester.ingest_url(args[0])
    await _stored(update, context, args[0], report, status)


async def document(update: Update, context: BotContext) -> None:
    """A file in a private chat: an admin's .txt/.json of briefs is stored."""
    message = update.effective_message
    if message is None or message.document is None:
        return
    if not is_bot_admin(update, context):
        await basics.plain_text(update, context)
        return
    doc = message.document
    name = doc.file_name or _("the file")
    shown = echo(name, 80)
    if PurePath(name).suffix.lower() not in FOLDER_SUFFIXES:
        text = _("{file}: send briefs as a .txt card or a .json file.")
        await reply(update, [text.format(file=shown)])
        return
    if doc.file_size and doc.file_size > MAX_UPLOAD_BYTES:
        text = _("{file}: too large (bots can fetch files up to 20 MB).")
        await reply(update, [text.format(file=shown)])
        return
    try:
        raw = bytes(await (await doc.get_file()).download_as_bytearray())
    except TelegramError as exc:
        # Telegram's error is its own English, as the logs have it
        text = _("{file}: could not download it ({error}).")
        await reply(update, [text.format(file=shown, error=esc(str(exc)))])
        return
    report = await context.services.ingester.ingest_bytes(raw, source=name)
    await _stored(update, context, name, report)


def looks_like_brief(text: str) -> bool:
    """A pasted card (starting with a score like ``4/10``) or JSON."""
    return looks_like_json(text) or bool(_CARD_START.match(text.lstrip("\ufeff")))


async def private_text(update: Update, context: BotContext) -> None:
    """Text in a private chat: an admin's pasted brief is stored; anything else gets a hint."""
    message = update.effective_message
    text = message.text if message is not None else None
    if text and is_bot_admin(update, context) and looks_like_brief(text):
        report = await context.services.ingester.ingest_bytes(text.encode(), source="your message")
        await _stored(update, context, "Your message", report, shown=_("Your message"))
        return
    await basics.plain_text(update, context)
