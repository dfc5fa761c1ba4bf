"""Reading: digests, summaries, watch lists, single briefs and search, as ready messages."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from digestbot import store
from digestbot.briefs import render
from digestbot.briefs.parse import slugify
from digestbot.i18n import _
from digestbot.readers.filters import Shaping, load_shaping
from digestbot.readers.shaping import compile_filters, rank
from digestbot.store.db import SessionFactory, autocommit_scope, read_scope, session_scope
from digestbot.store.models import MAX_BRIEF_ID, Chat, utcnow

RECENT = timedelta(days=7)
# How far back a digest window reaches: a chat's first /digest (or its first in months)
# starts at the briefs ingested in the REACH_DAYS before the newest, as the planner's
# scheduled digests do (delivery/planner.py's RECENT), rather than counting a year of
# briefs (0.4-0.6 s on the year store; bench/RESULTS.md, issue 19).
REACH_DAYS = 15
NO_SHAPING = Shaping((), {}, {})
LATEST_FEW = 5
SUMMARY_SIZE = 15
WATCH_SIZE = 8
WATCH_POOL = 50  # top briefs looked at for watch points (not every brief has one)
QUERY_ECHO = 100  # characters of a search query repeated back
# A chat with filters or weights has its window's briefs shaped here rather than paged
# by the database: at most this many are looked at (a window rarely holds more).
SHAPED_POOL = 1000
SEARCH_PAGES = 20  # "More" stops after this many pages of SUMMARY_SIZE results
SEARCH_KEY = "search"  # the chat's last search, kept for its "More" button


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of search results, and what its "More" button needs: the search's id
    (kept with its words under the chat; the button carries only the id) and the next
    page; ``token`` is None when there is nothing more."""

    messages: list[str]
    token: str | None = None
    next_page: int = 0


@dataclass(frozen=True, slots=True)
class DigestPage:
    """What one digest holds: the items, how many more wait, and whether any were new."""

    items: list[store.Item]
    more: int
    new: bool


def shaped(items: list[store.Item], shaping: Shaping | None) -> list[store.Item]:
    """Items without those the chat's filters hide, ranked by score plus its weights."""
    if shaping is None:
        return items
    if shaping.filters:
        matcher = compile_filters(shaping.filters)
        items = [i for i in items if matcher.passes(i)]
    return rank(items, shaping.weights)


async def take_digest(
    *,
    session: AsyncSession,
    chat: Chat,
    tag_ids: list[int],
    shaping: Shaping | None = None,
    newest: int = 0,
    floor: int = 0,
) -> DigestPage:
    """The chat's next digest page, moving its window; see ``Chat.last_brief_id``.

    New briefs since the last digest (none at or below ``floor``), on the tags of
    ``tag_ids``, at or above the chat's minimum score, best first (by score plus the
    chat's weights, less what its filters hide, when it has any), ``digest_size`` at a
    time; "+N more" pages through the rest. ``newest`` is the newest brief's id (the
    window's end when a new one opens).
    """
    size, min_score = chat.digest_size, chat.min_score
    if chat.window_shown:  # a capped digest is still being paged through
        start, end, offset = chat.last_brief_id, chat.window_end_id, chat.window_shown
    else:
        start, end, offset = max(chat.last_brief_id, floor), newest, 0
    if shaping is not None and (shaping.filters or shaping.weights):
        found = await store.find_items(
            session=session,
            tag_ids=tag_ids,
            min_score=min_score,
            after_id=start,
            upto_id=end,
            limit=SHAPED_POOL,
        )
        pool = shaped(found, shaping)
        total, items = len(pool), pool[offset : offset + size]
    else:
        total = await store.count_items(
            session=session, tag_ids=tag_ids, min_score=min_score, after_id=start, upto_id=end
        )
        items = []
        if total > offset:
            items = await store.find_items(
                session=session,
                tag_ids=tag_ids,
                min_score=min_score,
                after_id=start,
                upto_id=end,
                limit=size,
                offset=offset,
            )
    if total <= offset:
        chat.last_brief_id, chat.window_end_id, chat.window_shown = end, end, 0
        return DigestPage([], 0, new=False)
    shown = offset + len(items)
    if shown >= total:
        chat.last_brief_id, chat.window_end_id, chat.window_shown = end, end, 0
    else:
        chat.window_end_id, chat.window_shown = end, shown
    return DigestPage(items, total - shown, new=True)


class DigestService:
    """Everything a chat reads on demand; returns Telegram HTML messages ready to send."""

    def __init__(self, sessions: SessionFactory, clock: Callable[[], datetime] = utcnow) -> None:
        self._sessions = sessions
        self._clock = clock
        self._reach = (0, 0)  # (newest brief id, the floor of a window ending there)

    def _today(self, chat: Chat | None) -> date:
        """The chat's own date, for its headings."""
        zone = ZoneInfo(chat.timezone) if chat else ZoneInfo("UTC")
        return self._clock().astimezone(zone).date()

    def _day(self, chat: Chat | None) -> str:
        """The chat's date as a heading shows it, in the current language."""
        return render.short_day(self._today(chat))

    async def _shaping(self, session: AsyncSession, found: store.Reader | None) -> Shaping:
        """The chat's filters and weights, read only when it has some (most have none)."""
        if found is None or not found.shaped:
            return NO_SHAPING
        return await load_shaping(session=session, chat_id=found.chat.id, now=self._clock())

    async def _floor(self, session: AsyncSession, newest: int) -> int:
        """The id a window ending at ``newest`` starts after at the earliest (REACH_DAYS),
        looked up once for each newest brief."""
        if self._reach[0] != newest:
            floor = await store.first_brief_since(
                session=session, newest_id=newest, days=REACH_DAYS
            )
            self._reach = (newest, floor)
        return self._reach[1]

    async def digest_now(self, chat_id: int, *, known: store.Reader | None = None) -> list[str]:
        """/digest: what is new on the chat's tags; counts as the chat's latest digest.

        ``known``: the chat as read earlier for this update (ChatService.speaking), used
        instead of reading it again when it is this chat's."""
        # its one write is the chat's row (its window and last_digest_at), flushed at the
        # end: no transaction needed around the reads before it (bench/RESULTS.md, issue 19)
        async with autocommit_scope(self._sessions) as session:
            found = await _reader(session, chat_id, known)
            if found is None:
                return [_("Send /start first, then pick tags with /tags.")]
            chat, tag_ids = found.chat, found.tag_ids
            shaping = await self._shaping(session, found)
            pool = chat.digest_size * 4 if shaping.filters else chat.digest_size
            if not tag_ids:
                items = await store.find_items(
                    session=session,
                    min_score=chat.min_score,
                    published_after=self._clock() - RECENT,
                    limit=pool,
                ) or await store.find_items(session=session, limit=pool)
                items = shaped(items, shaping)[: chat.digest_size]
                if not items:
                    return [_("There are no briefs yet. Check back soon.")]
                return render.digest(
                    items,
                    heading=_("Top briefs · {day}").format(day=self._day(chat)),
                    note=_(
                        "You follow no tags yet: pick some with /tags for a digest of your own."
                    ),
                    compact=chat.compact,
                )
            newest = 0 if chat.window_shown else found.newest
            page = await take_digest(
                session=session,
                chat=chat,
                tag_ids=tag_ids,
                shaping=shaping,
                newest=newest,
                floor=await self._floor(session, newest) if newest else 0,
            )
            # set after the reads, so the row is written once, at commit (set before, the
            # next query's autoflush wrote it on its own, and on SQLite took the write
            # lock for the rest of the transaction)
            chat.last_digest_at = self._clock()
            if page.new:
                return render.digest(
                    page.items,
                    heading=render.digest_heading(self._today(chat)),
                    more=page.more,
                    compact=chat.compact,
                )
            latest = await store.find_items(
                session=session,
                tag_ids=tag_ids,
                min_score=chat.min_score,
                order="latest",
                limit=LATEST_FEW * 4 if shaping.filters else LATEST_FEW,
            )
            latest = shaped(latest, Shaping(shaping.filters, {}, {}))[:LATEST_FEW]
            if not latest:
                if chat.min_score:
                    return [
                        _(
                            "Nothing on your tags yet at score {score}+. "
                            "Add tags with /tags, or lower /minscore."
                        ).format(score=chat.min_score)
                    ]
                return [_("Nothing on your tags yet. Add tags with /tags, or lower /minscore.")]
            return render.digest(
                latest,
                heading=_("Latest on your tags · {day}").format(day=self._day(chat)),
                note=_("Nothing new since your last digest; here are the latest briefs."),
                compact=chat.compact,
            )

    @staticmethod
    def _scope(
        found: store.Reader | None, tag: str | None
    ) -> tuple[list[str] | None, list[int] | None]:
        """The tags to read, as slugs (a typed ``tag``) or as ids (the chat's own tags);
        (None, None): every tag."""
        if tag:
            return [slugify(tag)], None
        return None, (found.tag_ids if found is not None and found.tag_ids else None)

    async def summary(
        self, chat_id: int, tag: str | None = None, *, known: store.Reader | None = None
    ) -> list[str]:
        """/summary [TAG]: one line per recent brief, best first (by score plus the
        chat's weights), less what its filters hide. ``known``: as for digest_now."""
        async with read_scope(self._sessions) as session:
            found = await _reader(session, chat_id, known)
            tags, tag_ids = self._scope(found, tag)
            shaping = await self._shaping(session, found)
            pool = SUMMARY_SIZE * 4 if shaping.filters else SUMMARY_SIZE
            items = await store.find_items(
                session=session,
                tags=tags,
                tag_ids=tag_ids,
                published_after=self._clock() - RECENT,
                limit=pool,
            ) or await store.find_items(session=session, tags=tags, tag_ids=tag_ids, limit=pool)
            items = shaped(items, shaping)[:SUMMARY_SIZE]
        chat = found.chat if found is not None else None
        if not items:
            return [_nothing_on(tag)]
        if tag and tags:
            heading = _("Summary: {tag} · {day}").format(tag=tags[0], day=self._day(chat))
        else:
            heading = _("Summary · {day}").format(day=self._day(chat))
        return render.summary(items, heading=heading)

    async def watch(
        self, chat_id: int, tag: str | None = None, *, known: store.Reader | None = None
    ) -> list[str]:
        """/watch [TAG]: what to watch next, from the recent top briefs its filters pass.
        ``known``: as for digest_now."""
        async with read_scope(self._sessions) as session:
            found = await _reader(session, chat_id, known)
            tags, tag_ids = self._scope(found, tag)
            shaping = await self._shaping(session, found)
            only = Shaping(shaping.filters, {}, {})
            recent = await store.find_items(
                session=session,
                tags=tags,
                tag_ids=tag_ids,
                published_after=self._clock() - RECENT,
                limit=WATCH_POOL,
            )
            items = _with_points(shaped(recent, only))
            if not items:
                everything = await store.find_items(
                    session=session, tags=tags, tag_ids=tag_ids, limit=WATCH_POOL
                )
                items = _with_points(shaped(everything, only))
        chat = found.chat if found is not None else None
        if not items:
            return [_nothing_on(tag)]
        if tag and tags:
            heading = _("What to watch: {tag} · {day}").format(tag=tags[0], day=self._day(chat))
        else:
            heading = _("What to watch · {day}").format(day=self._day(chat))
        return render.watch_list(items, heading=heading)

    async def brief(self, brief_id: int, *, timezone: str = "UTC") -> list[str] | None:
        """/brief ID: one brief in full, or None when there is no such brief."""
        item = await self.brief_item(brief_id)
        return None if item is None else await self.render_brief(item, timezone=timezone)

    async def brief_item(self, brief_id: int) -> store.Item | None:
        if not 0 < brief_id <= MAX_BRIEF_ID:  # no such brief; the database would refuse it
            return None
        async with read_scope(self._sessions) as session:
            return await store.get_item(session=session, brief_id=brief_id)

    async def render_brief(self, item: store.Item, *, timezone: str = "UTC") -> list[str]:
        """A brief in full, closed by the links and feeds it came from."""
        async with read_scope(self._sessions) as session:
            sources = await store.sources_of(session=session, brief_id=item.id)
        return render.full_brief(item, zone=ZoneInfo(timezone), sources=sources)

    async def search(self, words: list[str]) -> list[str]:
        """/search WORDS, its first page only (see :meth:`search_paged`)."""
        return (await self.search_paged(words)).messages

    async def search_paged(self, words: list[str], *, chat_id: int | None = None) -> SearchPage:
        """/search WORDS: briefs whose title, summary or tags hold every word (or a word
        starting with it), most relevant first (see store.search); the first page, and
        with ``chat_id`` the search kept for "More" when there are more."""
        words = [w.replace("\x00", "") for w in words]  # PostgreSQL refuses NUL in text
        token = secrets.token_urlsafe(6)  # 8 characters, none of them ":"
        async with session_scope(self._sessions) as session:
            messages, more = await self._search_page(session, words, 0)
            if chat_id is not None:
                # one kept search a chat, even one without more: each search replaces the
                # last, so only the newest "More" works
                value = json.dumps({"token": token, "words": words})
                key = store.chat_key(chat_id, SEARCH_KEY)
                await store.set_value(session=session, key=key, value=value)
        return (
            SearchPage(messages, token, 1) if more and chat_id is not None else SearchPage(messages)
        )

    async def search_more(self, chat_id: int, token: str, page: int) -> SearchPage | None:
        """The next page of the chat's kept search; None when the button is stale (a newer
        search replaced it, /forget deleted it, or the page is out of range)."""
        if not 0 < page < SEARCH_PAGES:
            return None
        async with read_scope(self._sessions) as session:
            kept = await store.get_value(session=session, key=store.chat_key(chat_id, SEARCH_KEY))
            if kept is None:
                return None
            search = json.loads(kept)
            if search.get("token") != token:
                return None
            kept_words = [str(w) for w in search["words"]]
            messages, more = await self._search_page(session, kept_words, page)
        return SearchPage(messages, token if more else None, page + 1)

    async def _search_page(
        self, session: AsyncSession, words: list[str], page: int
    ) -> tuple[list[str], bool]:
        """Page ``page`` of a search's messages, and whether another page follows."""
        # the store's order is fixed, so page N is the tail of the first N+1 pages (and
        # one more result says whether there is a next page)
        start = page * SUMMARY_SIZE
        items = await store.search_items(
            session=session, words=words, limit=start + SUMMARY_SIZE + 1
        )
        query = render.clip(" ".join(words), QUERY_ECHO)
        shown = items[start : start + SUMMARY_SIZE]
        if not shown:
            if page:
                return [_("No more briefs match {query}.").format(query=render.esc(query))], False
            return [
                _("No briefs match {query}. Try fewer or other words.").format(
                    query=render.esc(query)
                )
            ], False
        if page:
            heading = _("Search: {query} ({first}–{last})").format(
                query=query, first=start + 1, last=start + len(shown)
            )
        else:
            heading = _("Search: {query}").format(query=query)
        more = len(items) > start + SUMMARY_SIZE and page + 1 < SEARCH_PAGES
        return render.summary(shown, heading=heading), more

    async def find(self, words: list[str], limit: int) -> list[store.Item]:
        """The briefs /search would list first (inline mode sends them as articles)."""
        words = [w.replace("\x00", "") for w in words]  # PostgreSQL refuses NUL in text
        async with read_scope(self._sessions) as session:
            return await store.search_items(session=session, words=words, limit=limit)


async def _reader(
    session: AsyncSession, chat_id: int, known: store.Reader | None
) -> store.Reader | None:
    """``known`` when it is this chat's (its row then belongs to ``session``, so what a
    use case changes on it is written when the session flushes), else read."""
    if known is None or known.chat.id != chat_id:
        return await store.reader(session=session, chat_id=chat_id)
    session.add(known.chat)
    return known


def _with_points(items: list[store.Item]) -> list[store.Item]:
    """The first WATCH_SIZE briefs that say what to watch next."""
    return [i for i in items if i.brief.what_to_watch][:WATCH_SIZE]


def _nothing_on(tag: str | None) -> str:
    if tag:
        return _("No briefs on {tag} yet. See /tags for what there is.").format(
            tag=render.esc(slugify(tag) or tag)
        )
    return _("No briefs yet. Check back soon.")
