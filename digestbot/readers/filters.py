"""Readers shaping their digest: /mute, /only, /unmute, /filters, mutes from a brief,
and feedback that moves per-chat tag weights. Answers are ready Telegram HTML.

:meth:`FilterService.passes` is the one question other paths (alerts) ask: does this
brief pass this chat's filters.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from digestbot import store
from digestbot.briefs.render import clip, esc
from digestbot.i18n import _, count
from digestbot.readers.shaping import (
    MAX_FILTERS,
    MAX_TERM,
    STEP,
    decayed,
    moved,
    normalise,
    passes,
    source_of,
)
from digestbot.store.db import SessionFactory, session_scope
from digestbot.store.models import Chat, ChatFilter, FilterKind, utcnow

MAX_STORED = 256  # ChatFilter.term's length

ECHO = 40  # characters of a typed term quoted back
LABEL = 30  # characters of a filter on its button
_WORD_KINDS = (FilterKind.MUTE, FilterKind.ONLY)
_ALL_KINDS = tuple(FilterKind)


@dataclass(frozen=True, slots=True)
class Shaping:
    """A chat's filters and its tag weights as they stand now (decayed)."""

    filters: tuple[store.FilterKey, ...]
    weights: dict[str, float]
    counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class Muted:
    """A mute made from a brief: its filter id (for Undo) and what it hides."""

    filter_id: int
    label: str


def terms_of(text: str) -> list[str]:
    """The words and "quoted phrases" of a command's text."""
    try:
        return [t for t in shlex.split(text) if t.strip()]
    except ValueError:  # an unbalanced quote: take the words as they are
        return [t.strip("\"'") for t in text.split() if t.strip("\"'")]


def label_of(row: ChatFilter) -> str:
    """A filter as the reader sees it, in the current language: "mute “crypto”"."""
    text = clip(row.text, LABEL)
    kind = FilterKind(row.kind)
    if kind == FilterKind.MUTE:
        return _("mute “{term}”").format(term=text)
    if kind == FilterKind.ONLY:
        return _("only “{term}”").format(term=text)
    if kind == FilterKind.TAG:
        return _("mute #{tag}").format(tag=text)
    if kind == FilterKind.SOURCE:
        return _("mute {source}").format(source=text)
    return text


async def load_shaping(*, session: AsyncSession, chat_id: int, now: datetime) -> Shaping:
    filters = (await store.filters_of(session=session, chat_ids=[chat_id])).get(chat_id, ())
    rows = (await store.weights_of(session=session, chat_ids=[chat_id])).get(chat_id, [])
    weights = {w.tag: decayed(w.value, w.updated_at, now) for w in rows}
    return Shaping(filters, {t: v for t, v in weights.items() if v}, {w.tag: w.count for w in rows})


class FilterService:
    def __init__(self, sessions: SessionFactory, clock: Callable[[], datetime] = utcnow) -> None:
        self._sessions = sessions
        self._clock = clock

    async def shaping(self, chat_id: int) -> Shaping:
        async with self._sessions() as session:
            return await load_shaping(session=session, chat_id=chat_id, now=self._clock())

    async def passes(self, chat_id: int, item: store.Item) -> bool:
        """Does this brief pass this chat's filters? (Alerts ask this before sending.)"""
        return passes((await self.shaping(chat_id)).filters, item)

    async def count(self, chat_id: int) -> int:
        async with self._sessions() as session:
            return len(await store.list_filters(session=session, chat_id=chat_id))

    async def add_words(self, chat_id: int, kind: FilterKind, text: str) -> str:
        """/mute or /only: add each word or quoted phrase; say what happened to each."""
        terms = terms_of(text)
        added: list[str] = []
        problems: list[str] = []
        async with session_scope(self._sessions) as session:
            await store.get_or_create_chat(session=session, chat_id=chat_id)
            have = len(await store.list_filters(session=session, chat_id=chat_id))
            for typed in terms:
                term = normalise(typed)
                # NFKD can make one character many (a ligature): the stored form is
                # bounded too, or the database would refuse it
                if len(typed) > MAX_TERM or len(term) > MAX_STORED:
                    problems.append(
                        _("“{term}” is over {limit} characters.").format(
                            term=esc(clip(typed, ECHO)), limit=MAX_TERM
                        )
                    )
                elif not term:
                    problems.append(
                        _("“{term}” has no words to match.").format(term=esc(clip(typed, ECHO)))
                    )
                elif have >= MAX_FILTERS:
                    problems.append(
                        _(
                            "You have {limit} filters, the most I keep: "
                            "remove some with /filters first."
                        ).format(limit=MAX_FILTERS)
                    )
                    break
                elif await store.add_filter(
                    session=session, chat_id=chat_id, kind=kind, term=term, text=typed
                ):
                    added.append(typed)
                    have += 1
                else:
                    problems.append(
                        _("“{term}” is already on.").format(term=esc(clip(typed, ECHO)))
                    )
        lines = []
        if added:
            quoted = ", ".join(f"“{esc(clip(t, ECHO))}”" for t in added)
            done = (
                _("Hiding briefs that mention {terms}.")
                if kind == FilterKind.MUTE
                else _("Showing only briefs that mention {terms} (or another /only word).")
            )
            lines.append(done.format(terms=quoted))
        lines += problems
        return "\n".join([*lines, _("/filters lists them.")])

    async def unmute(self, chat_id: int, text: str) -> str:
        terms = [normalise(t) for t in terms_of(text)]
        async with session_scope(self._sessions) as session:
            gone = await store.remove_filter_terms(
                session=session, chat_id=chat_id, terms=[t for t in terms if t], kinds=_ALL_KINDS
            )
        if not gone:
            return _("No filter on “{term}”. /filters lists yours.").format(
                term=esc(clip(text, ECHO))
            )
        return count(
            "Removed {n} filter. /filters lists the rest.",
            "Removed {n} filters. /filters lists the rest.",
            gone,
        )

    async def listing(self, chat_id: int) -> tuple[str, list[tuple[int, str]]]:
        """/filters: the text and a (filter id, label) per filter, for its Remove button."""
        async with self._sessions() as session:
            rows = await store.list_filters(session=session, chat_id=chat_id)
        if not rows:
            return (
                _(
                    "No filters. /mute WORD hides briefs that mention it; /only WORD keeps "
                    "only those that do."
                ),
                [],
            )
        lines = [f"• {esc(label_of(r))}" for r in rows]
        head = _("<b>Your filters</b> ({n}/{limit}); tap one to remove it.").format(
            n=len(rows), limit=MAX_FILTERS
        )
        return head + "\n" + "\n".join(lines), [(r.id or 0, label_of(r)) for r in rows]

    async def remove(self, chat_id: int, filter_id: int) -> str | None:
        """Remove a filter by id; its label, or None when it is gone already."""
        async with session_scope(self._sessions) as session:
            row = await store.remove_filter(session=session, chat_id=chat_id, filter_id=filter_id)
        return None if row is None else label_of(row)

    async def mute_from_brief(self, chat_id: int, brief_id: int, kind: FilterKind) -> Muted | str:
        """Mute a brief's first tag or its source; a reason when it cannot."""
        async with session_scope(self._sessions) as session:
            item = await store.get_item(session=session, brief_id=brief_id)
            if item is None:
                return _("That brief is gone.")
            if kind == FilterKind.TAG:
                target = item.brief.tags[0] if item.brief.tags else None
            else:
                target = source_of(item.brief.url)
            if target is None:
                if kind == FilterKind.SOURCE:
                    return _("That brief names no source.")
                return _("That brief has no tags.")
            rows = await store.list_filters(session=session, chat_id=chat_id)
            for row in rows:
                if row.kind == kind and row.term == target:
                    return Muted(row.id or 0, label_of(row))
            if len(rows) >= MAX_FILTERS:
                return _("You have {limit} filters: remove some with /filters first.").format(
                    limit=MAX_FILTERS
                )
            await store.get_or_create_chat(session=session, chat_id=chat_id)
            row_added = await store.add_filter(
                session=session, chat_id=chat_id, kind=kind, term=target, text=target
            )
            assert row_added is not None and row_added.id is not None
            return Muted(row_added.id, label_of(row_added))

    async def feedback(self, chat_id: int, brief_ids: Sequence[int], delta: float) -> list[str]:
        """Move the chat's weight on each of these briefs' tags one step; the tags moved."""
        now = self._clock()
        async with session_scope(self._sessions) as session:
            if await session.get(Chat, chat_id) is None:
                return []
            items = await store.items_by_ids(session=session, brief_ids=brief_ids)
            tags = sorted({t for i in items.values() for t in i.brief.tags})
            if not tags:
                return []
            rows = {
                w.tag: w
                for w in (await store.weights_of(session=session, chat_ids=[chat_id])).get(
                    chat_id, []
                )
            }
            values: dict[str, tuple[float, int]] = {}
            for tag in tags:
                row = rows.get(tag)
                value = decayed(row.value, row.updated_at, now) if row else 0.0
                values[tag] = (moved(value, delta * STEP), (row.count if row else 0) + 1)
            await store.save_weights(session=session, chat_id=chat_id, values=values, now=now)
        return tags

    async def why(self, chat_id: int, item: store.Item) -> str | None:
        """Why this brief is in the chat's digests: "follows #chips, score 8, you liked
        #chips often"; None when the chat follows none of its tags."""
        async with self._sessions() as session:
            followed = set(await store.chat_tags(session=session, chat_id=chat_id))
            shaping = await load_shaping(session=session, chat_id=chat_id, now=self._clock())
        mine = [t for t in item.brief.tags if t in followed]
        if not mine:
            return None
        # a list of whole reasons, each its own text: a translator words each one
        parts = [
            _("follows #{tag}").format(tag=mine[0]),
            _("score {score}").format(score=item.brief.score),
        ]
        for tag in item.brief.tags:
            weight = shaping.weights.get(tag, 0.0)
            often = shaping.counts.get(tag, 0) >= 3
            if weight >= 0.5:
                liked = _("you liked #{tag} often") if often else _("you liked #{tag}")
                parts.append(liked.format(tag=tag))
            elif weight <= -0.5:
                disliked = (
                    _("you found #{tag} not useful often")
                    if often
                    else _("you found #{tag} not useful")
                )
                parts.append(disliked.format(tag=tag))
        return _("Why you get this: {reasons}").format(reasons=esc(", ".join(parts)))
