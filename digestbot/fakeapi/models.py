"""What the fake Bot API knows: simulated users and chats, their messages and files, and the
requests the bot made; each with the Bot API object it answers as (``to_dict``)."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal

JSONDict = dict[str, Any]
ChatType = Literal["private", "group", "supergroup", "channel"]
BotStatus = Literal["member", "administrator", "kicked", "left"]

#: A whole number, as Telegram reads a chat id or a form field.
INTEGER = re.compile(r"-?[0-9]+")

_ADMIN_RIGHTS: JSONDict = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_pin_messages": True,
}


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart request."""

    field: str
    filename: str | None
    content_type: str | None
    content: bytes


@dataclass
class RecordedRequest:
    """One Bot API call the bot made.

    ``status`` is ``None`` while the request is still being answered (a long poll waiting for
    updates, or a :meth:`Fault.stall`); ``response`` is the JSON body that was sent back.
    """

    method: str
    params: JSONDict
    at: float
    status: int | None = None
    response: JSONDict | None = None
    files: dict[str, UploadedFile] = field(default_factory=dict, repr=False)
    http_method: str = "POST"

    @property
    def chat_id(self) -> int | str | None:
        """The ``chat_id`` parameter, as an int when it is numeric."""
        return chat_ref(self.params.get("chat_id"))

    @property
    def ok(self) -> bool:
        """Whether the request was answered with ``"ok": true``."""
        return self.status == HTTPStatus.OK

    @property
    def result(self) -> Any:
        """The ``result`` of a successful answer (``None`` otherwise)."""
        return self.response.get("result") if self.response else None


@dataclass
class SimUser:
    """A simulated Telegram user."""

    id: int
    first_name: str
    username: str | None = None
    last_name: str | None = None
    language_code: str | None = "en"
    is_bot: bool = False

    def to_dict(self) -> JSONDict:
        """The Bot API ``User`` object."""
        data: JSONDict = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if (value := getattr(self, key)) is not None:
                data[key] = value
        return data


@dataclass
class ChatHandle:
    """A simulated chat. ``bot_status`` is the bot's membership (``kicked`` in a private
    chat means the user blocked the bot)."""

    id: int
    type: ChatType
    title: str | None = None
    username: str | None = None
    user: SimUser | None = None
    admins: list[int] = field(default_factory=list)
    owner: int | None = None
    bot_status: BotStatus = "member"
    #: Channel subscribers who are not admins (``getChatMember`` says ``member``; any other
    #: user of a channel is ``left``, as Telegram answers).
    members: list[int] = field(default_factory=list)

    def to_dict(self) -> JSONDict:
        """The Bot API ``Chat`` object."""
        data: JSONDict = {"id": self.id, "type": self.type}
        if self.type == "private" and self.user is not None:
            data["first_name"] = self.user.first_name
            if self.user.last_name:
                data["last_name"] = self.user.last_name
        if self.title is not None:
            data["title"] = self.title
        if self.username is not None:
            data["username"] = self.username
        return data

    def kind(self) -> str:
        return "supergroup" if self.type == "supergroup" else self.type


@dataclass(frozen=True)
class Button:
    """One inline keyboard button."""

    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class StoredFile:
    """A file the server knows (uploaded by the bot, sent by a user, or added by a test)."""

    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    filename: str | None = None
    mime_type: str | None = None

    def document(self) -> JSONDict:
        """The Bot API ``Document`` object."""
        data: JSONDict = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.content),
        }
        if self.filename:
            data["file_name"] = self.filename
        if self.mime_type:
            data["mime_type"] = self.mime_type
        return data


@dataclass
class StoredMessage:
    """A message in a chat, in its current state (after edits and deletion).

    ``text`` is what the user sees (HTML markup stripped); ``source`` is the text exactly as
    the bot sent it, with its ``parse_mode``.
    """

    chat: ChatHandle = field(repr=False)
    message_id: int
    date: int
    sender: JSONDict = field(repr=False)
    from_bot: bool
    text: str | None = None
    source: str | None = None
    parse_mode: str | None = None
    entities: list[JSONDict] = field(default_factory=list, repr=False)
    caption: str | None = None
    document: JSONDict | None = None
    reply_markup: JSONDict | None = None
    reply_to: StoredMessage | None = field(default=None, repr=False)
    edit_date: int | None = None
    deleted: bool = False

    @property
    def chat_id(self) -> int:
        return self.chat.id

    @property
    def buttons(self) -> list[list[Button]]:
        """The inline keyboard, row by row (empty without one)."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [
            [
                Button(
                    text=str(button.get("text", "")),
                    callback_data=button.get("callback_data"),
                    url=button.get("url"),
                )
                for button in row
            ]
            for row in rows
        ]

    def button(self, text: str) -> Button:
        """The inline button labelled ``text``; :class:`KeyError` lists the labels."""
        for row in self.buttons:
            for button in row:
                if button.text == text:
                    return button
        labels = [button.text for row in self.buttons for button in row]
        raise KeyError(f"message {self.message_id} has no button {text!r}; buttons: {labels}")

    def to_dict(self, *, with_reply: bool = True) -> JSONDict:
        """The Bot API ``Message`` object."""
        data: JSONDict = {
            "message_id": self.message_id,
            "from": self.sender,
            "chat": self.chat.to_dict(),
            "date": self.date,
        }
        if self.chat.type == "channel":  # a channel post: signed by the channel, no sender
            del data["from"]
            data["sender_chat"] = self.chat.to_dict()
        if self.text is not None:
            data["text"] = self.text
        if self.entities:
            data["entities"] = self.entities
        if self.document is not None:
            data["document"] = self.document
        if self.caption is not None:
            data["caption"] = self.caption
        if self.reply_markup is not None and "inline_keyboard" in self.reply_markup:
            data["reply_markup"] = self.reply_markup
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        if with_reply and self.reply_to is not None:
            data["reply_to_message"] = self.reply_to.to_dict(with_reply=False)
        return data


def now() -> int:
    return int(time.time())


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def id_of(chat: ChatHandle | int | str | None) -> int | str | None:
    return chat.id if isinstance(chat, ChatHandle) else chat_ref(chat)


def chat_ref(value: Any) -> int | str | None:
    """A chat id as Telegram reads it: numbers (even as strings) are ints, ``@name`` stays."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value)
    return int(text) if INTEGER.fullmatch(text) else text


def matches(
    request: RecordedRequest, method: str | None, chat_id: ChatHandle | int | str | None
) -> bool:
    if method is not None and request.method.lower() != method.lower():
        return False
    return chat_id is None or request.chat_id == id_of(chat_id)


def scope_key(scope: Any) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


def commands_key(params: JSONDict) -> tuple[str, str]:
    return scope_key(params.get("scope")), str(params.get("language_code") or "")


def member(user: JSONDict, status: str) -> JSONDict:
    """A Bot API ``ChatMember`` object with the fields PTB requires for ``status``."""
    if status == "administrator":
        return {"status": status, "user": user, **_ADMIN_RIGHTS}
    if status == "creator":
        return {"status": status, "user": user, "is_anonymous": False}
    if status == "kicked":
        return {"status": status, "user": user, "until_date": 0}
    return {"status": status, "user": user}
