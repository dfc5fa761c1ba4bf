"""Counts in words: "1 chat", "2 chats", "1,204 messages".

A stopgap until the texts move to gettext, whose plural forms handle every language;
until then every place in bot/ and delivery/ where a count meets a noun comes through
here, so that move has one helper to replace.
"""

from __future__ import annotations


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``count`` and the noun in the form that goes with it (``nouns`` when adding "s"
    is not the plural); thousands are grouped."""
    return f"{count:,} {noun if count == 1 else (nouns or noun + 's')}"
