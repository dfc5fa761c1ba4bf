"""Outbox payloads: what a row asks the sender to send, as typed values.

A payload is JSON in ``Outbox.payload``. The planner writes digests, naming their
briefs (``{"v":1,"digest":[ids],"day":"2026-11-27","more":3}``, and for a chat not in
the default language, in /style compact, or the last message of a private chat's digest
(which has the feedback row) ``"lang":"hi"``, ``"compact":1``, ``"fb":1``); a
broadcast's rows name it (``{"v":1,"broadcast":7}``), its message stored once; an alert
names its brief (``{"v":1,"alert":41}``, ``"lang"`` as for digests). The optional
fields are written only when set, so rows written before them read with their
defaults (the default language, full items, no buttons). Older rows may hold a
message itself (``{"text": html}`` or ``{"copy": {"from_chat_id", "message_id"}}``).
Rows written before payloads carried a version have no ``v``: they are version 1.

Encoding and decoding run once per row for a million rows a day (bench/plan.py,
bench/send.py): plain ``json`` and slotted dataclasses, no validation library.
A payload that cannot be read raises :class:`PayloadError` naming what is wrong, so
its row fails alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from digestbot import i18n
from digestbot.errors import DigestbotError
from digestbot.store.models import Broadcast

VERSION = 1  # the newest this code writes and reads
_COMPACT = (",", ":")


class PayloadError(DigestbotError):
    """An outbox payload this version of digestbot cannot read."""


@dataclass(frozen=True, slots=True)
class TextMessage:
    """A message of Telegram HTML."""

    text: str

    def encode(self) -> str:
        return json.dumps({"v": VERSION, "text": self.text}, separators=_COMPACT)


@dataclass(frozen=True, slots=True)
class CopyMessage:
    """A copy of a message already in a chat (an admin's broadcast of a photo, say)."""

    from_chat_id: int
    message_id: int

    def encode(self) -> str:
        copy = {"from_chat_id": self.from_chat_id, "message_id": self.message_id}
        return json.dumps({"v": VERSION, "copy": copy}, separators=_COMPACT)


Message = TextMessage | CopyMessage


@dataclass(frozen=True, slots=True)
class DigestPayload:
    """One message of a scheduled digest, as the planner split it; rendered when sent."""

    brief_ids: tuple[int, ...]
    day: date | None = None  # the first message has the heading, on this local day
    more: int = 0  # the last one says "+N more"
    language: str | None = None  # the chat's, when not the default language
    compact: bool = False  # /style compact: items without their gist line
    feedback: bool = False  # the digest's feedback row under it (a private chat's last)

    def encode(self) -> str:
        # Written out rather than through json.dumps (the same text, tests/test_payload.py):
        # the planner encodes one per distinct digest, half a million a year-store day,
        # and the dict and the encoder's walk over it cost most of that
        text = f'{{"v":{VERSION},"digest":[{",".join(map(str, self.brief_ids))}]'
        if self.day is not None:
            text += f',"day":"{self.day.isoformat()}"'
        if self.more:
            text += f',"more":{int(self.more)}'
        if self.language is not None:
            text += f',"lang":{json.dumps(self.language)}'
        if self.compact:
            text += ',"compact":1'
        if self.feedback:
            text += ',"fb":1'
        return text + "}"


@dataclass(frozen=True, slots=True)
class BroadcastPayload:
    """One chat's copy of a broadcast, whose message is read from the broadcast."""

    broadcast_id: int

    def encode(self) -> str:
        return json.dumps({"v": VERSION, "broadcast": self.broadcast_id}, separators=_COMPACT)


@dataclass(frozen=True, slots=True)
class AlertPayload:
    """An instant alert: one brief, rendered when sent (see delivery/alerts.py)."""

    brief_id: int
    language: str | None = None  # the chat's, when not the default language

    def encode(self) -> str:
        data: dict[str, object] = {"v": VERSION, "alert": self.brief_id}
        if self.language is not None:
            data["lang"] = self.language
        return json.dumps(data, separators=_COMPACT)


Payload = DigestPayload | BroadcastPayload | AlertPayload | TextMessage | CopyMessage


def payload_language(code: str | None) -> str | None:
    """The language a payload names for a chat's stored language code: the one it will
    be spoken to in, or None for the default (written as nothing)."""
    language = i18n.resolve(code)
    return None if language == i18n.default_language() else language


def message_of(broadcast: Broadcast) -> Message:
    """What each chat of a broadcast gets."""
    if broadcast.from_chat_id is not None and broadcast.from_message_id is not None:
        return CopyMessage(broadcast.from_chat_id, broadcast.from_message_id)
    return TextMessage(broadcast.text or "")


def _int(value: object, what: str) -> int:
    # bool is an int to Python but never an id or a count here
    if type(value) is not int:
        raise PayloadError(f"{what} is not a whole number: {_clip(value)}")
    return value


def _clip(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def decode(raw: str) -> Payload:
    """The payload a row holds; :class:`PayloadError` when it cannot be read."""
    try:
        data = json.loads(raw)
    except (ValueError, TypeError) as exc:
        raise PayloadError(f"not JSON: {_clip(raw)}") from exc
    if not isinstance(data, dict):
        raise PayloadError(f"not a JSON object: {_clip(raw)}")
    version = data.get("v", 1)
    if version != VERSION:
        raise PayloadError(f"unknown payload version {_clip(version)}")
    if "digest" in data:
        return _digest(data)
    if "broadcast" in data:
        return BroadcastPayload(_int(data["broadcast"], "broadcast id"))
    if "alert" in data:
        return AlertPayload(_int(data["alert"], "brief id"), _language(data))
    if "text" in data:
        if not isinstance(data["text"], str):
            raise PayloadError(f"text is not a string: {_clip(data['text'])}")
        return TextMessage(data["text"])
    if "copy" in data and isinstance(data["copy"], dict):
        copy = data["copy"]
        return CopyMessage(
            _int(copy.get("from_chat_id"), "from_chat_id"),
            _int(copy.get("message_id"), "message_id"),
        )
    raise PayloadError(f"unknown payload kind: {_clip(sorted(data))}")


def _digest(data: dict[str, object]) -> DigestPayload:
    ids = data["digest"]
    if not isinstance(ids, list):
        raise PayloadError(f"digest is not a list of brief ids: {_clip(ids)}")
    day = data.get("day")
    parsed: date | None = None
    if day is not None:
        try:
            parsed = date.fromisoformat(day) if isinstance(day, str) else None
        except ValueError:
            parsed = None
        if parsed is None:
            raise PayloadError(f"day is not a date: {_clip(day)}")
    more = _int(data.get("more", 0), "more")
    return DigestPayload(
        tuple(_int(i, "brief id") for i in ids),
        parsed,
        max(more, 0),
        _language(data),
        _flag(data, "compact"),
        _flag(data, "fb"),
    )


def _language(data: dict[str, object]) -> str | None:
    """The optional language code (absent: the default language)."""
    code = data.get("lang")
    if code is not None and not (isinstance(code, str) and 0 < len(code) <= 16):
        raise PayloadError(f"lang is not a language code: {_clip(code)}")
    return code


def _flag(data: dict[str, object], name: str) -> bool:
    """An optional 0/1 flag (absent: off)."""
    value = data.get(name, 0)
    if value not in (0, 1) or type(value) not in (int, bool):
        raise PayloadError(f"{name} is not 0 or 1: {_clip(value)}")
    return bool(value)
