"""A scheduled digest's messages as the sender sends them: the parts the planner split
(see planner.py), rendered in the chat's language and style, and the feedback row under
a private chat's last part.

Imports render, the payload types and the feedback row; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from telegram import InlineKeyboardMarkup

from digestbot import i18n
from digestbot.briefs import render
from digestbot.delivery.feedback import digest_feedback
from digestbot.delivery.payload import DigestPayload
from digestbot.store import Item


class PartRenderer:
    """The texts of one batch's digest parts, from the briefs the batch read.

    Chats share briefs and often whole digests: each brief is measured once per style
    (full or compact) and each distinct part (the same payload) rendered once. A part's
    language and style are in its payload, so the same briefs in Hindi are another part.
    """

    def __init__(self, items: Mapping[int, Item]) -> None:
        self._items = items
        self._blocks: dict[tuple[int, bool], render.Block] = {}
        self._texts: dict[str, list[str]] = {}

    def texts(self, raw: str, part: DigestPayload) -> list[str]:
        """The messages of the part ``raw`` encodes (``part``, decoded); none when every
        brief it named is gone (never a bare heading)."""
        texts = self._texts.get(raw)
        if texts is None:
            texts = self._texts[raw] = self._render(part)
        return texts

    def _render(self, part: DigestPayload) -> list[str]:
        found = [(i, part.compact) for i in part.brief_ids if i in self._items]
        if part.brief_ids and not found:
            return []
        for key in found:
            if key not in self._blocks:
                item = render.digest_item(self._items[key[0]], compact=key[1])
                self._blocks[key] = render.measure(item)
        with i18n.use(part.language):
            blocks = [self._blocks[key] for key in found]
            return render.digest_part_measured(blocks, day=part.day, more=part.more)


def feedback_row(part: DigestPayload) -> InlineKeyboardMarkup | None:
    """The row under the part: the one /digest shows, in the chat's language, under the
    last part of a private chat's digest (issue #16: none in groups and channels)."""
    if not part.feedback:
        return None
    with i18n.use(part.language):
        return digest_feedback()
