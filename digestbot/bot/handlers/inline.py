"""Inline mode: ``@bot words`` in any chat lists matching briefs to send there."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from telegram import (
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ParseMode

from digestbot.bot.context import BotContext
from digestbot.bot.handlers.guards import FloodGuard
from digestbot.briefs import render
from digestbot.i18n import _
from digestbot.store.briefs import Item

log = logging.getLogger(__name__)

MAX_RESULTS = 10
CACHE_SECONDS = 300  # Telegram keeps an answer this long for the same query
MAX_QUERY = 100  # characters of the query searched for (Telegram sends up to 256)
SUMMARY_CHARS = 600
# A person types a query a letter at a time and Telegram asks at each pause: a burst of
# 10, then one every 2 seconds, is far above that and far below a script.
INLINE_BURST, INLINE_REFILL = 10, 2.0


def article(item: Item) -> InlineQueryResultArticle:
    """One brief as an article: title, score, summary and its source link."""
    brief = item.brief
    text = render.digest_item(item)
    if brief.summary:
        text += "\n\n" + render.esc(render.first_sentences(brief.summary, SUMMARY_CHARS))
    description = f"{brief.score}/10 · {brief.category}"
    if brief.summary:
        description += " · " + render.clip(brief.summary, 120)
    return InlineQueryResultArticle(
        id=str(item.id),
        title=render.clip(brief.title, 200),
        input_message_content=InputTextMessageContent(text, parse_mode=ParseMode.HTML),
        description=description,
        url=brief.url,
    )


@dataclass(eq=False)  # handlers are registered by identity
class InlineSearch:
    """Answers inline queries, at most ``limit``'s rate per user."""

    limit: FloodGuard = field(
        default_factory=lambda: FloodGuard(burst=INLINE_BURST, refill=INLINE_REFILL)
    )

    async def __call__(self, update: Update, context: BotContext) -> None:
        query = update.inline_query
        if query is None:
            return
        allowed, _warn = self.limit.allow(query.from_user.id)
        if not allowed:
            log.info("user %s: inline flood limit", query.from_user.id)
            await query.answer(
                [],
                cache_time=0,
                is_personal=True,
                button=InlineQueryResultsButton(_("Too many searches: wait a few seconds"),
                                                start_parameter="slow-down"),
            )  # fmt: skip
            return
        words = query.query[:MAX_QUERY].split()
        items = await context.services.digests.find(words, MAX_RESULTS) if words else []
        await query.answer([article(i) for i in items], cache_time=CACHE_SECONDS)
