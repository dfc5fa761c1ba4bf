"""A checker for what Telegram's HTML parse mode accepts, for asserting on bot output."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from digestbot.briefs.render import MAX_CHARS, entity_count, utf16_len

ALLOWED = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "tg-spoiler",
    "blockquote",
    "span",
}
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED:
            self.problems.append(f"tag <{tag}> is not allowed")
        if tag == "a" and not any(k == "href" and v for k, v in attrs):
            self.problems.append("<a> without href")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"unbalanced </{tag}>")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in {"lt", "gt", "amp", "quot"}:
            self.problems.append(f"unsupported entity &{name};")
        self.text.append(html.unescape(f"&{name};"))

    def handle_charref(self, name: str) -> None:
        self.text.append(html.unescape(f"&#{name};"))


def problems(message: str) -> list[str]:
    """Why Telegram would reject this HTML message; empty when it would take it."""
    checker = _Checker()
    # A bare < or & that is not markup or an entity is what Telegram rejects most often.
    stripped = re.sub(r"</?[a-z][a-z-]*(?:\s[^<>]*)?>", "", message)
    if "<" in stripped or ">" in stripped:
        checker.problems.append("unescaped < or >")
    if "&" in _ENTITY.sub("", stripped):
        checker.problems.append("unescaped &")
    checker.feed(message)
    checker.close()
    if checker.stack:
        checker.problems.append(f"unclosed {checker.stack}")
    text = "".join(checker.text)
    if utf16_len(text) > MAX_CHARS:
        checker.problems.append(f"{utf16_len(text)} characters, over {MAX_CHARS}")
    if not text.strip():
        checker.problems.append("empty message")
    if entity_count(message) > 100:
        checker.problems.append("over 100 entities")
    return checker.problems


def assert_valid(message: str) -> None:
    found = problems(message)
    assert not found, f"{found} in {message[:300]!r}"
