"""Guards: bot admins, group admins (who may change a group's settings), flood limits,
and the one error handler."""

from __future__ import annotations

import logging
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType, MessageEntityType
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import ApplicationHandlerStop

from digestbot.bot.context import BotContext
from digestbot.i18n import N_, _

log = logging.getLogger(__name__)

ADMIN_STATUSES = {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR}


def is_bot_admin(update: Update, context: BotContext) -> bool:
    """A bot admin (``ADMIN_IDS``), in their private chat with the bot; not a group's admin."""
    user, chat = update.effective_user, update.effective_chat
    return (
        user is not None
        and chat is not None
        and chat.type == ChatType.PRIVATE
        and user.id in context.services.settings.admin_ids
    )


APOLOGY = N_("Sorry, something went wrong on my side. Please try again in a moment.")
ADMIN_NOTICE_EVERY = 60.0  # seconds: one error notice per admin per minute at most


async def may_configure(update: Update, context: BotContext) -> bool:
    """True in private chats, and in groups for the group's admins (or the group itself)."""
    chat, message, user = update.effective_chat, update.effective_message, update.effective_user
    if chat is None or chat.type == ChatType.PRIVATE:
        return True
    if message is not None and message.sender_chat is not None:
        return message.sender_chat.id == chat.id  # an anonymous admin posts as the group
    if user is None:
        return False
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError as exc:
        log.warning("chat %s: cannot check admin status (%s)", chat.id, exc)
        return False
    return member.status in ADMIN_STATUSES


async def require_group_admin(update: Update, context: BotContext) -> bool:
    """Like :func:`may_configure` (a group's own admins), replying to others why nothing
    happened."""
    if await may_configure(update, context):
        return True
    if update.effective_message is not None:
        await update.effective_message.reply_text(
            _("Only this group's admins can change what I send here."), do_quote=False
        )
    return False


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float  # when ``tokens`` was last brought up to date: the user's last update
    flooding: bool = False  # dropped since the bucket was last full: one notice per flood


@dataclass(eq=False)  # handlers are registered by identity
class FloodGuard:
    """Per-user token bucket: ``burst`` updates at once, then one per ``refill`` seconds.

    Sized for people: a tap a second on the tag picker and a command every two seconds,
    for minutes, never runs dry; a script at ten a second does within seconds. Dropped
    updates drain the bucket too, so a script that keeps going stays throttled (rather
    than getting one answer per refill), and is answered again once it stops or slows to
    a human pace.
    """

    burst: int = 20
    refill: float = 0.5
    clock: Callable[[], float] = time.monotonic
    # Ordered by last use, so the idle users are at the front and go first.
    _buckets: OrderedDict[int, _Bucket] = field(default_factory=OrderedDict)

    @property
    def full_after(self) -> float:
        """Seconds of quiet that refill an empty bucket: an older bucket is a fresh one."""
        return self.burst * self.refill

    def allow(self, user_id: int) -> tuple[bool, bool]:
        """(allowed, warn): warn is True once per flood, for a single "slow down" reply."""
        now = self.clock()
        self._forget_idle(now)
        bucket = self._buckets.pop(user_id, None) or _Bucket(float(self.burst), now)
        self._buckets[user_id] = bucket  # to the back: used just now
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) / self.refill)
        bucket.at = now
        if bucket.tokens >= self.burst:
            bucket.flooding = False  # quiet long enough: whatever comes next is a new flood
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return True, False
        bucket.tokens = 0.0  # a dropped update costs too: see the class docstring
        warn, bucket.flooding = not bucket.flooding, True
        return False, warn

    def _forget_idle(self, now: float) -> None:
        """Drop the buckets untouched for ``full_after``: they are full, so nothing is lost,
        and memory holds only the users of the last few seconds (O(1) per update, amortised).
        """
        while self._buckets:
            user_id, oldest = next(iter(self._buckets.items()))
            if now - oldest.at < self.full_after:
                return
            del self._buckets[user_id]

    async def __call__(self, update: Update, context: BotContext) -> None:
        """A group -1 handler: stops the update here when its sender floods."""
        user, message = update.effective_user, update.effective_message
        # Edited messages count too, in case a handler ever answers them.
        if user is None or (message is None and update.callback_query is None):
            return
        if update.callback_query is None and not _answered(update):
            return  # group talk the bot sees as an admin: nothing to answer, nothing to limit
        # Anonymous admins all arrive as one "GroupAnonymousBot" user: key on their chat.
        sender = message.sender_chat if message is not None else None
        allowed, warn = self.allow(sender.id if sender is not None else user.id)
        if allowed:
            return
        log.info("user %s: flood limit, update %s dropped", user.id, update.update_id)
        if update.callback_query is not None:
            await update.callback_query.answer(_("Too fast, wait a few seconds."))
        elif warn and message is not None:
            await message.reply_text(
                _("You're sending commands too fast. Wait a few seconds, then try again."),
                do_quote=False,
            )
        raise ApplicationHandlerStop


def _answered(update: Update) -> bool:
    """Whether the bot answers this message: anything in private, only commands in groups."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None or chat.type == ChatType.PRIVATE:
        return True
    first = message.entities[0] if message.entities else None
    return first is not None and first.type == MessageEntityType.BOT_COMMAND and not first.offset


@dataclass(eq=False)  # handlers are registered by identity
class ErrorReporter:
    """The one error handler: apologise to the user, log the traceback, tell admins."""

    clock: Callable[[], float] = time.monotonic
    _last_notice: dict[int, float] = field(default_factory=dict)

    async def __call__(self, update: object, context: BotContext) -> None:
        error = context.error
        chat_id = (
            update.effective_chat.id
            if isinstance(update, Update) and update.effective_chat
            else None
        )
        if isinstance(error, Forbidden):
            # Blocked by the user or removed from the group while answering: not a bug, and
            # there is no one to apologise to (my_chat_member marks the chat inactive).
            log.warning("chat %s: cannot send there any more (%s)", chat_id, error)
            return
        log.error("chat %s: unhandled error", chat_id, exc_info=error)
        if isinstance(update, Update):
            await self._apologise(update, context)
        await self._notify_admins(context, chat_id, error)

    async def _apologise(self, update: Update, context: BotContext) -> None:
        try:
            if update.callback_query is not None:
                try:
                    await update.callback_query.answer(_(APOLOGY), show_alert=False)
                    return
                except BadRequest:  # the press was answered before the failure
                    pass
            if update.effective_chat is not None:
                await context.bot.send_message(update.effective_chat.id, _(APOLOGY))
        except TelegramError as exc:
            log.warning("could not send the apology: %s", exc)

    async def _notify_admins(
        self, context: BotContext, chat_id: int | None, error: BaseException | None
    ) -> None:
        services = context.bot_data.services
        if services is None or error is None:
            return
        where = "".join(traceback.format_exception_only(type(error), error)).strip()
        text = f"⚠️ Error while handling an update from chat {chat_id}: {where[:300]}"
        now = self.clock()
        for admin in services.settings.admin_ids:
            if now - self._last_notice.get(admin, -ADMIN_NOTICE_EVERY) < ADMIN_NOTICE_EVERY:
                continue
            self._last_notice[admin] = now
            try:
                await context.bot.send_message(admin, text, parse_mode=None)
            except TelegramError as exc:
                log.warning("could not notify admin %s: %s", admin, exc)
