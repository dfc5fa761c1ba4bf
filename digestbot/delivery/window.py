"""A planning run's briefs as bit masks: which of them a chat's digest takes, and the
messages that digest makes.

The window holds the briefs of the last ``planner.RECENT`` days in rank order (best
score first, then the newest), and each tag becomes a bit mask over them, so a chat's
digest is a few integer operations on masks; what many chats share (their picks, their
digests' messages, the filters' masks) is worked out once and kept with the window.
See planner.py for how windows are kept from tick to tick.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from digestbot import i18n, store
from digestbot.briefs import render
from digestbot.delivery.payload import DigestPayload
from digestbot.readers.shaping import ITEM_BOUND, hits, words_of
from digestbot.store.models import FilterKind

# Planned digests kept at most (a few hundred bytes each): enough for a busy day's
# repeats, bounded however many distinct digests there are.
PLANNED = 50_000

# How a chat's digest is made besides its briefs: its language (None: the default),
# /style compact, and the feedback row (private chats). Part of the assembly key.
Style = tuple[str | None, bool, bool]
# Which digest: (positions of its briefs, how many more, local day, style).
DigestKey = tuple[tuple[int, ...], int, date, Style]


@dataclass
class Window:
    """The briefs one planning run may use, in rank order, with a bit mask per tag."""

    items: list[store.Item]
    floor: int  # briefs with ids above this are recent enough
    end: int  # and up to this one
    tag_ids: dict[str, int]  # the items' tags' ids, by slug
    blocks: list[render.Block] = field(init=False)
    scores: list[int] = field(init=False)
    tag_masks: dict[int, int] = field(init=False)  # by tag id
    # Digests planned from these briefs, by (positions, how many more, local day,
    # style): the payload of each message. Kept across ticks with the window: chats due at
    # different minutes often get the same.
    planned: dict[DigestKey, list[str]] = field(default_factory=dict)
    # What select() gave chats with no filters, weights or alerts, by (tag ids, minimum
    # score, start, size): chats following the same tags from the same start (a day's
    # most common case) share it, within a tick and, like ``planned``, across ticks
    picked: dict[tuple[tuple[int, ...], int, int, int], tuple[tuple[int, ...], int]] = field(
        default_factory=dict
    )
    _after: dict[int, int] = field(default_factory=dict)
    _score: dict[int, int] = field(default_factory=dict)
    _headers: dict[tuple[date, str | None], render.Block] = field(default_factory=dict)
    _footers: dict[tuple[int, str | None], render.Block] = field(default_factory=dict)
    _compact: list[render.Block] | None = None  # the items measured as /style compact
    _positions: dict[int, int] = field(default_factory=dict)  # by brief id, when needed
    # Readers' filters: the items' words (worked out on first use), the mask of the
    # items each distinct filter (kind, term) finds, and of those each distinct filter
    # set lets through: a chat's filters cost a few integer operations.
    _words: list[str] | None = None
    _hits: dict[store.FilterKey, int] = field(default_factory=dict)
    _passing: dict[tuple[store.FilterKey, ...], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.blocks = [render.measure(render.digest_item(i)) for i in self.items]
        self.scores = [i.brief.score for i in self.items]
        self.tag_masks = defaultdict(int)
        for position, item in enumerate(self.items):
            for tag in item.brief.tags:
                if tag in self.tag_ids:
                    self.tag_masks[self.tag_ids[tag]] |= 1 << position

    def _mask(self, cache: dict[int, int], key: int, keep: Callable[[store.Item], bool]) -> int:
        if key not in cache:
            cache[key] = sum(1 << p for p, item in enumerate(self.items) if keep(item))
        return cache[key]

    def without(self, brief_ids: Sequence[int]) -> int:
        """The mask of these briefs (a chat's alerts, left out of its digest)."""
        if not brief_ids:
            return 0
        if not self._positions:
            self._positions = {item.id: p for p, item in enumerate(self.items)}
        return sum(1 << p for i in set(brief_ids) if (p := self._positions.get(i)) is not None)

    def _found(self, key: store.FilterKey) -> int:
        """The mask of the items one filter's term is found in."""
        mask = self._hits.get(key)
        if mask is None:
            if self._words is None:
                self._words = [words_of(item) for item in self.items]
            words = self._words
            mask = sum(1 << p for p, item in enumerate(self.items) if hits(key, item, words[p]))
            if len(self._hits) >= PLANNED:  # bounded, however many distinct terms
                self._hits.clear()
            self._hits[key] = mask
        return mask

    def passing(self, filters: tuple[store.FilterKey, ...]) -> int:
        """The mask of the items a chat's filters let through (see shaping.Matcher)."""
        mask = self._passing.get(filters)
        if mask is None:
            hidden = only = 0
            has_only = False
            for key in filters:
                if key[0] == FilterKind.ONLY:
                    has_only = True
                    only |= self._found(key)
                else:
                    hidden |= self._found(key)
            mask = (only if has_only else (1 << len(self.items)) - 1) & ~hidden
            if len(self._passing) >= PLANNED:
                self._passing.clear()
            self._passing[filters] = mask
        return mask

    def select(
        self,
        tag_ids: Sequence[int],
        min_score: int,
        after_id: int,
        size: int,
        *,
        keep: int = -1,
        weights: dict[str, float] | None = None,
    ) -> tuple[tuple[int, ...], int]:
        """(positions of the digest's items, best first; how many matched in all).

        ``keep`` is the mask of what the chat's filters pass, less what went out as its
        alerts; with ``weights`` the items
        are ordered by score plus the chat's weights (only reordered, never hidden)."""
        mask = 0
        masks = self.tag_masks
        for tag in tag_ids:
            mask |= masks.get(tag, 0)
        mask &= keep
        if not mask:
            return (), 0
        mask &= self._mask(self._after, after_id, lambda i: i.id > after_id)
        mask &= self._mask(self._score, min_score, lambda i: i.brief.score >= min_score)
        total = mask.bit_count()
        if weights:
            return self._weighted(mask, size, weights), total
        return tuple(_positions(mask, size, total)), total

    def _weighted(self, mask: int, size: int, weights: dict[str, float]) -> tuple[int, ...]:
        """The ``size`` best of ``mask`` by score plus weights (as ``shaping.rank``: the
        sum of the item's tags' weights, bounded), ties in rank order.

        An item's boost depends only on which weighted tags it has, so the mask splits
        into a few groups (one per such set, split tag by tag over the tag masks) whose
        items share a boost: within a group, rank order (the window's, best score first)
        is the weighted order too. The digest is then a merge of the groups' heads, ``size``
        steps, rather than a sum per item and a sort of every item a chat may get."""
        masks, tag_ids = self.tag_masks, self.tag_ids
        # (items, the sum of their weights, whether any weighted tag is theirs); the sums
        # add in the weights' order, as shaping.boost does, so they come out the same
        groups: list[tuple[int, float, bool]] = [(mask, 0.0, False)] if mask else []
        for tag, weight in weights.items():
            tag_id = tag_ids.get(tag)
            found = masks.get(tag_id, 0) & mask if tag_id is not None else 0
            if not found:
                continue
            split: list[tuple[int, float, bool]] = []
            for items, extra, moved in groups:
                if inside := items & found:
                    split.append((inside, extra + weight, True))
                if outside := items ^ inside:
                    split.append((outside, extra, moved))
            groups = split
        scores = self.scores
        heads: list[tuple[float, int, int, float | None]] = []  # (key, position, rest, lift)
        for items, extra, moved in groups:
            lift = max(-ITEM_BOUND, min(ITEM_BOUND, extra)) if moved else None
            heads.append((*_head(items, scores, lift), lift))
        heapq.heapify(heads)
        chosen: list[int] = []
        while heads and len(chosen) < size:
            _, position, rest, lift = heads[0]
            chosen.append(position)
            if rest:
                heapq.heapreplace(heads, (*_head(rest, scores, lift), lift))
            else:
                heapq.heappop(heads)
        return tuple(chosen)

    def payloads(self, chosen: tuple[int, ...], more: int, day: date, style: Style) -> list[str]:
        """The messages of one digest, split as Telegram's limits need: each names its
        briefs, and the sender renders them (see ``delivery``), so a row is ~60 bytes
        rather than the ~2 KB of its text (a million of them a day). The heading and
        "+N more" are measured in the chat's language (Hindi's are longer), the items
        as its style shows them."""
        language, compact, feedback = style
        header = self._headers.get((day, language))
        if header is None:
            with i18n.use(language):
                header = self._headers[day, language] = render.measure(render.digest_header(day))
        # measured once per count and language: a translated count (Babel formats the
        # number) in every distinct digest cost more than the rest of its assembly
        footer = self._footers.get((more, language)) if more else None
        if more and footer is None:
            with i18n.use(language):
                footer = self._footers[more, language] = render.measure(render.more_footer(more))
        if compact and self._compact is None:
            self._compact = [
                render.measure(render.digest_item(i, compact=True)) for i in self.items
            ]
        items = self._compact if compact and self._compact is not None else self.blocks
        blocks = [header, *(items[p] for p in chosen)]
        if footer is not None:
            blocks.append(footer)
        groups = render.pack_groups(blocks)
        ids = [self.items[p].id for p in chosen]
        out: list[str] = []
        start = 0
        for number, group in enumerate(groups):
            last = number == len(groups) - 1
            count = len(group) - (number == 0) - (last and footer is not None)
            part = DigestPayload(
                tuple(ids[start : start + count]),
                day if number == 0 else None,
                more if last else 0,
                language,
                compact,
                feedback and last,
            )
            out.append(part.encode())
            start += count
        return out


def _head(items: int, scores: list[int], lift: float | None) -> tuple[float, int, int]:
    """A group's best item and the rest: (its sort key, the one shaping.rank sorts by:
    minus its score plus ``lift``; its position; the group's other items)."""
    low = items & -items
    position = low.bit_length() - 1
    key = -scores[position] if lift is None else -(scores[position] + lift)
    return key, position, items ^ low


def _positions(mask: int, limit: int, total: int) -> list[int]:
    """The lowest ``limit`` set bits of ``mask`` (which has ``total``), lowest first.

    Taking them off the whole mask cost three operations on a 5,000-bit int per item,
    the most of a year-store day's assembly (bench/RESULTS.md, issue 19). They are taken
    off a low part of it instead, one likely to hold enough of them as the bits lie
    evenly (twice the span they would need), or the whole mask when it holds too few."""
    length = mask.bit_length()
    if total > limit and length > 64:
        span = max(64, 1 << ((2 * limit * length // total).bit_length()))
        if span < length:
            part = mask & ((1 << span) - 1)
            if part.bit_count() >= limit:
                mask = part
    out: list[int] = []
    while mask and len(out) < limit:
        bit = mask & -mask
        out.append(bit.bit_length() - 1)
        mask ^= bit
    return out
