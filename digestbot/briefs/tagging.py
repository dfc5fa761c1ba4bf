"""Tags for feed entries that name none: the known tags their text mentions.

Most real feeds carry no categories. Rather than drop such an entry (or file it
under nothing), :meth:`TagIndex.tag` gives it every known tag whose name, or one of
its aliases, its title or summary mentions as a whole word, in any script; failing
that, the tag :data:`UNTAGGED`. Feed parsing marks such briefs with :data:`NEEDS_TAGS`
in ``BriefData.extra`` when it has no index, and the ingester, which knows the
store's tags, calls :func:`retag` before storing.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from digestbot.briefs.parse import MAX_TAGS
from digestbot.store.models import BriefData

UNTAGGED = "untagged"
"""The tag of a feed entry that names no tag and mentions no known one."""
NEEDS_TAGS = "needs_tags"
"""The ``BriefData.extra`` key marking a brief whose tags are still to be found."""

# slugify spells these out (c++ -> c-plus-plus); text names them the short way.
_SPELLED = (("-plus-plus", "++"), ("-plus", "+"), ("-sharp", "#"))


def names_of(slug: str) -> set[str]:
    """How text may write a tag: ``generative-ai`` as "generative ai", ``c-sharp`` as "c#"."""
    names = {slug, slug.replace("-", " ")}
    for spelled, short in _SPELLED:
        if slug.endswith(spelled):
            names.add(slug.removesuffix(spelled).replace("-", " ") + short)
    if slug.startswith("dot-"):
        names.add("." + slug.removeprefix("dot-").replace("-", " "))
    return {name for name in names if name.strip()}


def _is_word_char(char: str) -> bool:
    # Letters, marks and digits: a Devanagari vowel sign or virama (a mark, not \w to
    # Python's re) continues a word as much as a Latin letter does.
    return char == "_" or unicodedata.category(char)[0] in "LMN"


def _first_mention(text: str, name: str) -> int:
    """Where ``name`` first occurs in ``text`` (both casefolded) as a whole word, else -1."""
    start = text.find(name)
    while start != -1:
        end = start + len(name)
        before_ok = start == 0 or not (_is_word_char(text[start - 1]) and _is_word_char(name[0]))
        # "C#" and "C++" are words of their own, not "C" followed by punctuation.
        after_ok = end == len(text) or not (
            (_is_word_char(text[end]) or text[end] in "+#") and _is_word_char(name[-1])
        )
        if before_ok and after_ok:
            return start
        start = text.find(name, start + 1)
    return -1


class TagIndex:
    """The known tags and the names text may call them by."""

    def __init__(self, slugs: Iterable[str], aliases: Mapping[str, Iterable[str]] | None = None):
        self._names: list[tuple[str, tuple[str, ...]]] = []
        aliases = aliases or {}
        for slug in dict.fromkeys(slugs):
            if slug == UNTAGGED:
                continue
            names = names_of(slug) | {alias.strip() for alias in aliases.get(slug, ())}
            folded = sorted({unicodedata.normalize("NFC", n).casefold() for n in names if n})
            self._names.append((slug, tuple(folded)))

    def find(self, text: str) -> list[str]:
        """The known tags ``text`` mentions, in the order it first mentions them."""
        folded = unicodedata.normalize("NFC", text).casefold()
        found: list[tuple[int, str]] = []
        for slug, names in self._names:
            positions = [p for name in names if (p := _first_mention(folded, name)) >= 0]
            if positions:
                found.append((min(positions), slug))
        return [slug for _, slug in sorted(found)]

    def tag(self, brief: BriefData) -> BriefData:
        """``brief`` with the tags its title or summary mentions, else :data:`UNTAGGED`."""
        found = self.find(f"{brief.title}\n{brief.summary or ''}")
        return replace(brief, tags=tuple(found[:MAX_TAGS]) if found else (UNTAGGED,), extra={})


def retag(items: Sequence[BriefData], index: TagIndex) -> list[BriefData]:
    """Tag the briefs marked :data:`NEEDS_TAGS`; the others are returned as they are."""
    return [index.tag(item) if item.extra.get(NEEDS_TAGS) else item for item in items]
