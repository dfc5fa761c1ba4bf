"""Telegram's HTML parse mode: the text a user sees, and the errors Telegram gives for markup
it can't parse (the fake enforces them so that bad HTML fails in tests, not in production)."""

from __future__ import annotations

import re

from digestbot.fakeapi.faults import ApiError

_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
        "a", "tg-emoji", "code", "pre", "blockquote",
    }
)  # fmt: skip
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)(\s[^<>]*)?>")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def html_to_text(source: str) -> str:
    """Strip Telegram HTML to the visible text, failing like Telegram on bad markup."""

    def fail(reason: str, at: int) -> ApiError:
        offset = len(source[:at].encode())
        return ApiError(400, f"Bad Request: can't parse entities: {reason} at byte offset {offset}")

    out: list[str] = []
    stack: list[tuple[str, int]] = []
    pos = 0
    while (start := source.find("<", pos)) != -1:
        out.append(source[pos:start])
        tag = _TAG.match(source, start)
        if tag is None:
            raise fail("Unexpected character after '<' or unclosed tag", start)
        closing, name = tag[1] == "/", tag[2].lower()
        if name not in _TAGS:
            raise fail(f'Unsupported {"end" if closing else "start"} tag "{name}"', start)
        if not closing:
            stack.append((name, start))
        elif not stack or stack[-1][0] != name:
            expected = f'"</{stack[-1][0]}>"' if stack else "no end tag"
            raise fail(f'Unmatched end tag, expected {expected}, found "</{name}>"', start)
        else:
            stack.pop()
        pos = tag.end()
    out.append(source[pos:])
    if stack:
        name, start = stack[-1]
        raise fail(f'Can\'t find end tag corresponding to start tag "{name}"', start)
    return _ENTITY.sub(_unescape, "".join(out))


def _unescape(match: re.Match[str]) -> str:
    entity = match[1]
    if entity.startswith("#x"):
        return chr(int(entity[2:], 16))
    if entity.startswith("#"):
        return chr(int(entity[1:]))
    return _NAMED[entity]
