"""How a reader's filters and tag weights shape a digest: pure functions, no I/O.

Matching is whole-word and case- and accent-insensitive in any script. Text and terms
are normalised alike (:func:`normalise`): casefold, NFKD, the Latin-style accents
(the generic combining diacritics) dropped but a script's own marks kept, since
Devanagari vowel signs and viramas are combining marks that change the word; then
split into words (runs of letters, marks and digits). A term matches when its words
appear in a row among the text's words.

The planner shapes a million chats a day: a filter set compiles once
(:func:`compile_filters`, cached), and an item's words are worked out once per item.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from urllib.parse import urlsplit

from digestbot.store import FilterKey, Item
from digestbot.store.models import FilterKind

MAX_FILTERS = 30
MAX_TERM = 64
# Feedback moves a tag's weight one step, within +/- WEIGHT_BOUND, and a weight halves
# every HALF_LIFE without more: last month's taste fades rather than ruling for ever.
STEP = 1.0
WEIGHT_BOUND = 3.0
HALF_LIFE = timedelta(days=14)
FADED = 0.05
# An item's boost is the sum of its tags' weights, bounded the same way, so a brief
# with many liked tags cannot leap past every better-scored one.
ITEM_BOUND = WEIGHT_BOUND

# The generic combining diacritics (accents on Latin, Greek, Cyrillic letters); marks
# of scripts such as Devanagari live in their own blocks and are kept.
_ACCENTS = ((0x0300, 0x036F), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF), (0x20D0, 0x20FF),
            (0xFE20, 0xFE2F))  # fmt: skip


def _accent(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _ACCENTS)


def _word_char(char: str) -> bool:
    return unicodedata.category(char)[0] in "LMN"


@lru_cache(maxsize=65536)
def normalise(text: str) -> str:
    """Text as matching sees it: its words, normalised, joined by single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    words: list[str] = []
    current: list[str] = []
    for char in decomposed:
        if _accent(char):
            continue
        if _word_char(char):
            current.append(char)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return " ".join(words)


def words_of(item: Item) -> str:
    """What word filters look in: the title, summary and tags, normalised, padded with
    spaces so a term matches whole words only (``" term "`` inside it)."""
    b = item.brief
    return f" {normalise(' '.join((b.title, b.summary or '', *b.tags)))} "


def source_of(url: str | None) -> str | None:
    """A brief's source: its link's host, without ``www.``."""
    if not url:
        return None
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.removeprefix("www.") if host else None


def _on_host(host: str | None, source: str) -> bool:
    return host is not None and (host == source or host.endswith(f".{source}"))


def hits(key: FilterKey, item: Item, words: str) -> bool:
    """Whether one filter's term is found in an item (``words``: its :func:`words_of`):
    for MUTE and ONLY a word or phrase, for TAG a tag, for SOURCE its link's host."""
    kind, term = key
    if kind == FilterKind.TAG:
        return term in item.brief.tags
    if kind == FilterKind.SOURCE:
        return _on_host(source_of(item.brief.url), term)
    return bool(term) and f" {term} " in words


@dataclass(frozen=True, slots=True)
class Matcher:
    """A chat's filters, compiled: whether an item passes them."""

    mutes: tuple[str, ...]  # " word " needles
    only: tuple[str, ...]
    tags: frozenset[str]
    sources: frozenset[str]

    def passes(self, item: Item, words: str | None = None) -> bool:
        if self.tags and not self.tags.isdisjoint(item.brief.tags):
            return False
        if self.sources:
            host = source_of(item.brief.url)
            if any(_on_host(host, s) for s in self.sources):
                return False
        if self.mutes or self.only:
            text = words if words is not None else words_of(item)
            if any(m in text for m in self.mutes):
                return False
            if self.only and not any(o in text for o in self.only):
                return False
        return True


@lru_cache(maxsize=4096)
def compile_filters(filters: tuple[FilterKey, ...]) -> Matcher:
    """A filter set's matcher; chats with the same filters share it."""
    by_kind: dict[str, list[str]] = {k: [] for k in FilterKind}
    for kind, term in filters:
        by_kind.setdefault(kind, []).append(term)
    return Matcher(
        mutes=tuple(f" {t} " for t in by_kind[FilterKind.MUTE] if t),
        only=tuple(f" {t} " for t in by_kind[FilterKind.ONLY] if t),
        tags=frozenset(by_kind[FilterKind.TAG]),
        sources=frozenset(by_kind[FilterKind.SOURCE]),
    )


def passes(filters: Sequence[FilterKey], item: Item) -> bool:
    """Whether ``item`` passes these filters (a chat's, from ``store.filters_of``)."""
    return not filters or compile_filters(tuple(sorted(filters))).passes(item)


# --- weights ------------------------------------------------------------------------------


def decayed(value: float, updated_at: datetime, now: datetime) -> float:
    """A weight as it stands ``now``, having halved every HALF_LIFE since it was set;
    zero once it has faded below FADED (it would otherwise tip equal scores for ever)."""
    age = max((now - updated_at).total_seconds(), 0.0)
    value *= float(0.5 ** (age / HALF_LIFE.total_seconds()))
    return value if abs(value) >= FADED else 0.0


def moved(value: float, delta: float) -> float:
    return max(-WEIGHT_BOUND, min(WEIGHT_BOUND, value + delta))


def boost(tags: Iterable[str], weights: Mapping[str, float]) -> float:
    """What a reader's weights add to a brief's score: bounded, never a filter."""
    total = sum(weights.get(tag, 0.0) for tag in tags)
    return max(-ITEM_BOUND, min(ITEM_BOUND, total))


def rank(items: Sequence[Item], weights: Mapping[str, float]) -> list[Item]:
    """Items ordered by score plus the reader's weights; ties keep their given order
    (best first), so without weights nothing moves."""
    if not weights:
        return list(items)
    order = sorted(
        range(len(items)),
        key=lambda i: (-(items[i].brief.score + boost(items[i].brief.tags, weights)), i),
    )
    return [items[i] for i in order]
