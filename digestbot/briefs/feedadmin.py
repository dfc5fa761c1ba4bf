"""Managing feeds: add, remove, pause, resume and list them, for the chat and the CLI.

Every mistake (a bad URL, an unknown number, a bad score, a URL already there) is a
:class:`FeedAdminError` whose reason is one short sentence, user input clipped in it,
so the chat and the command line can both show it as it is. Reasons and listings are
made in the current language (``i18n``): the chat's in the bot, the source language in
the CLI, which never sets one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from urllib.parse import urlsplit

from sqlmodel.ext.asyncio.session import AsyncSession

from digestbot import i18n, store
from digestbot.briefs.feeds import DEFAULT_FEED_CATEGORY
from digestbot.briefs.parse import DEFAULT_FEED_SCORE, MAX_TAG_LEN, MAX_TAGS, slugify
from digestbot.errors import InputError
from digestbot.i18n import _
from digestbot.store.db import SessionFactory, session_scope
from digestbot.store.models import MAX_INT32, Feed, utcnow

MAX_URL = 2048  # the feeds.url column
MAX_CATEGORY = 200  # the briefs.category column
ADD_USAGE = "/feed add URL #tag… [category NAME] [score N]"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class FeedAdminError(InputError):
    """A feed command that cannot be done as given; ``reason`` says why, briefly."""


def shown(text: str, limit: int = 60) -> str:
    """User input quoted in a reason: one line, cut short when long."""
    text = " ".join(_CONTROL.sub(" ", text).split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """A feed to add: its URL and what its entries get when they say nothing."""

    url: str
    tags: tuple[str, ...] = ()
    category: str | None = None
    score: int | None = None


@dataclass(frozen=True, slots=True)
class FeedView:
    """One feed as ``/feeds`` and ``digestbot feed list`` show it."""

    feed: Feed
    briefs: int
    untagged: int

    def lines(self, zone: tzinfo) -> list[str]:
        """Plain text, one fact a line: the chat escapes it, the CLI prints it."""
        f = self.feed
        url = _clip(f.url, 120)
        head = _("{id}. {url} (paused)") if f.paused else "{id}. {url}"
        # the category is the feed's own words, like a brief's: not translated
        defaults = [
            " ".join(f"#{t}" for t in f.tag_list) or _("no default tags"),
            _("category {name}").format(name=f.category or DEFAULT_FEED_CATEGORY),
            _("score {score}").format(score=f.score if f.score is not None else DEFAULT_FEED_SCORE),
        ]
        success = _when(f.last_success_at, zone) if f.last_success_at else _("never")
        lines = [
            head.format(id=f.id, url=url),
            "   " + " · ".join(defaults),
            "   "
            + i18n.count(
                "last success {when} · {n} brief, {untagged} untagged",
                "last success {when} · {n} briefs, {untagged} untagged",
                self.briefs,
                when=success,
                untagged=i18n.number(self.untagged),
            ),
        ]
        if f.last_error:
            # the error is the fetcher's technical wording, as the logs have it
            error = _clip(f.last_error, 200)
            if f.last_error_at:
                when = _when(f.last_error_at, zone)
                lines.append("   " + _("last error {when}: {error}").format(when=when, error=error))
            else:
                lines.append("   " + _("last error: {error}").format(error=error))
        return lines


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _when(moment: datetime, zone: tzinfo) -> str:
    local = moment.astimezone(zone)
    return f"{i18n.day(local.date(), format='d MMM')} {local:%H:%M}"


def check_url(url: str) -> str:
    """``url`` if it can be a feed: http(s), a host, short enough for the table."""
    if len(url) > MAX_URL:
        raise FeedAdminError(
            _("{url} is longer than {max} characters").format(url=shown(url), max=MAX_URL)
        )
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:  # a bad port or IPv6 literal
        raise FeedAdminError(_("{url} is not a valid URL").format(url=shown(url))) from exc
    if parts.scheme not in ("http", "https") or _CONTROL.search(url) or " " in url:
        raise FeedAdminError(
            _("{url} is not an http(s) URL, like https://example.com/feed").format(url=shown(url))
        )
    if not host:
        raise FeedAdminError(
            _("{url} has no host, like https://example.com/feed").format(url=shown(url))
        )
    return url


def check_score(text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,2}", text) or int(text) > 10:
        raise FeedAdminError(
            _("the score must be a whole number 0 to 10, not {typed}").format(typed=shown(text, 20))
        )
    return int(text)


def check_tags(typed: Sequence[str]) -> tuple[str, ...]:
    tags: list[str] = []
    for raw in typed:
        slug = slugify(raw)
        if not slug or len(raw) > MAX_TAG_LEN + 16:
            raise FeedAdminError(
                _("{typed} is not a tag (letters, digits, dashes)").format(typed=shown(raw, 40))
            )
        tags.append(slug)
    tags = list(dict.fromkeys(tags))
    if len(tags) > MAX_TAGS:
        raise FeedAdminError(
            _("at most {max} tags, not {count}").format(max=MAX_TAGS, count=len(tags))
        )
    return tuple(tags)


def check_category(name: str) -> str:
    name = " ".join(_CONTROL.sub(" ", name).split())
    if not name:
        raise FeedAdminError(_("category needs a name: category NAME"))
    if len(name) > MAX_CATEGORY:
        raise FeedAdminError(_("the category is at most {max} characters").format(max=MAX_CATEGORY))
    return name


def parse_add(args: Sequence[str]) -> FeedSpec:
    """``URL #tag… [category NAME] [score N]`` as typed in the chat."""
    if not args:
        raise FeedAdminError(_("which feed? {usage}").format(usage=ADD_USAGE))
    url, rest = check_url(args[0]), list(args[1:])
    tags: list[str] = []
    category: list[str] | None = None
    score: int | None = None
    i = 0
    while i < len(rest):
        word = rest[i]
        if word.lower() == "score":
            if i + 1 >= len(rest):
                raise FeedAdminError(_("score needs a number 0 to 10: score N"))
            score, i = check_score(rest[i + 1]), i + 2
            continue
        if word.lower() == "category":
            category, i = [], i + 1
            while i < len(rest) and rest[i].lower() != "score" and not rest[i].startswith("#"):
                category.append(rest[i])
                i += 1
            continue
        if word.startswith("#"):
            tags.append(word)
            i += 1
            continue
        raise FeedAdminError(
            _(
                "I don't understand {typed}: tags start with #, then category NAME and score N"
            ).format(typed=shown(word, 40))
        )
    return FeedSpec(
        url,
        check_tags(tags),
        check_category(" ".join(category)) if category is not None else None,
        score,
    )


def parse_id(typed: str) -> int:
    if not re.fullmatch(r"[0-9]{1,10}", typed.lstrip("#")) or int(typed.lstrip("#")) > MAX_INT32:
        raise FeedAdminError(
            _("{typed} is not a feed number; /feeds lists them").format(typed=shown(typed, 20))
        )
    return int(typed.lstrip("#"))


class FeedAdmin:
    """Feeds as rows: what admins do to them from the chat and the command line."""

    def __init__(self, sessions: SessionFactory, clock: Callable[[], datetime] = utcnow) -> None:
        self._sessions = sessions
        self._clock = clock

    async def list(self) -> list[FeedView]:
        async with self._sessions() as session:
            feeds = await store.all_feeds(session=session)
            figures = await store.feed_figures(session=session)
        views = []
        for feed in feeds:
            counted = figures.get(feed.id or 0, store.FeedFigures())
            views.append(FeedView(feed, counted.briefs, counted.untagged))
        return views

    async def add(self, spec: FeedSpec) -> Feed:
        """Add a feed, due at once; a URL already there is refused, naming its number."""
        async with session_scope(self._sessions) as session:
            known = await store.feed_by_url(session=session, url=spec.url)
            if known is not None:
                raise FeedAdminError(
                    _("{url} is already feed {id}").format(url=shown(spec.url), id=known.id)
                )
            added = await store.add_feed(
                session=session,
                feed=Feed(
                    url=spec.url,
                    tags=",".join(spec.tags),
                    category=spec.category,
                    score=spec.score,
                ),
            )
            if added is None:  # added by someone else since the look above
                raise FeedAdminError(_("{url} is already a feed").format(url=shown(spec.url)))
            return added

    async def remove(self, feed_id: int) -> Feed:
        """Delete a feed; the briefs it brought stay."""
        async with session_scope(self._sessions) as session:
            feed = await self._get(session, feed_id)
            await store.remove_feed(session=session, feed_id=feed_id)
            return feed

    async def set_paused(self, feed_id: int, *, paused: bool) -> Feed:
        async with session_scope(self._sessions) as session:
            feed = await self._get(session, feed_id)
            feed.paused = paused
            if not paused:
                feed.next_poll_at = None  # resumed: polled on the next round
            await session.flush()
            return feed

    @staticmethod
    async def _get(session: AsyncSession, feed_id: int) -> Feed:
        feed = await store.get_feed(session=session, feed_id=feed_id)
        if feed is None:
            raise FeedAdminError(_("there is no feed {id}; /feeds lists them").format(id=feed_id))
        return feed
