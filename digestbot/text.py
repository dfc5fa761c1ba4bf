"""Counts in words for the command line: "1 chat", "2 chats", "1,204 messages".

The ``digestbot`` command speaks English to the operator's terminal, so it counts here.
Everything Telegram readers and admins see counts through :func:`digestbot.i18n.count`,
whose plural forms follow each language's rules.
"""

from __future__ import annotations


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``count`` and the noun in the form that goes with it (``nouns`` when adding "s"
    is not the plural); thousands are grouped."""
    return f"{count:,} {noun if count == 1 else (nouns or noun + 's')}"
