"""A fake Telegram Bot API server on 127.0.0.1, for tests and the terminal console.

The real python-telegram-bot ``Application`` talks to it over real HTTP, exactly as it talks to
``api.telegram.org``; nothing in PTB is mocked::

    async with FakeBotAPI() as server:
        chat = server.private_chat(42, first_name="Ada")
        app = (
            ApplicationBuilder()
            .token(server.token)
            .base_url(server.base_url)            # f"{server.url}/bot"
            .base_file_url(server.base_file_url)  # f"{server.url}/file/bot"
            .build()
        )
        ...  # add handlers, app.initialize(), app.start(), app.updater.start_polling(...)
        await server.send_message(chat, "/start")
        [reply] = await server.wait_for("sendMessage", chat_id=chat.id)
        assert reply.params["text"].startswith("Welcome")

What it does:

* **HTTP**: a small HTTP/1.1 server on :func:`asyncio.start_server` (keep-alive, Content-Length
  and chunked bodies). Routes are ``/bot<TOKEN>/<method>`` (method names case-insensitive, as
  on Telegram) and ``/file/bot<TOKEN>/<file_path>`` for downloads. Parameters are read from
  the query string and from JSON, url-encoded or multipart bodies; PTB sends form fields
  whose complex values (``reply_markup``, ``commands``...) are JSON strings, and those are
  decoded.
* **Bot methods**: the common ones answer with realistic JSON (see ``_handlers``); any other
  real Bot API method answers ``{"ok": true, "result": true}`` and is listed in
  :attr:`FakeBotAPI.unhandled`. A name that is not a Bot API method is a 404, like Telegram.
* **State**: simulated users and chats (:meth:`FakeBotAPI.private_chat`,
  :meth:`FakeBotAPI.group_chat`); every message in a chat (:meth:`FakeBotAPI.messages`),
  kept current through edits and deletions; uploaded files; the command menu; the webhook.
  Telegram's checks that catch real bugs are enforced: unknown chat, bot blocked or kicked
  (after :meth:`FakeBotAPI.chat_member_update`), empty or too long text, invalid HTML
  (``parse_mode="HTML"``), ``callback_data`` over 64 bytes, "message is not modified",
  unknown callback query ids.
* **Updates**: :meth:`FakeBotAPI.send_message`, :meth:`FakeBotAPI.press_button`,
  :meth:`FakeBotAPI.send_document`, :meth:`FakeBotAPI.chat_member_update` and
  :meth:`FakeBotAPI.push_update` queue updates for ``getUpdates`` (offset confirmation,
  ``limit``, long polling with ``timeout``, 409 for a concurrent poller or an active webhook).
* **Recording**: every request is a :class:`RecordedRequest` in :attr:`FakeBotAPI.requests`;
  :meth:`FakeBotAPI.wait_for` waits (on a condition, no sleeping) until matching requests
  arrive.
* **Faults**: :meth:`FakeBotAPI.fail` queues :class:`Fault` answers (429 retry-after, 403
  blocked/kicked, 400 chat not found/migrated, 5xx, stalls...) per method and optionally per
  chat; :meth:`FakeBotAPI.enforce_limits` answers 429 when sends exceed Telegram's flood
  limits, on an injectable clock.

Everything runs on the caller's event loop; the server is not thread-safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.message import Message as _MimeHeaders
from http import HTTPStatus
from typing import Any, Literal, Self
from urllib.parse import parse_qsl, unquote, urlsplit

from telegram import Bot as _PTBBot

__all__ = [
    "DEFAULT_TOKEN",
    "BotStatus",
    "Button",
    "ChatHandle",
    "ChatType",
    "FakeBotAPI",
    "Fault",
    "RateLimits",
    "RecordedRequest",
    "SimUser",
    "StoredFile",
    "StoredMessage",
    "UploadedFile",
]

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]
ChatType = Literal["private", "group", "supergroup", "channel"]
BotStatus = Literal["member", "administrator", "kicked", "left"]

#: A token in @BotFather's shape (``digits:letters``, passes the settings validator).
DEFAULT_TOKEN = "123456789:AAHfakeTokenForDigestbotTests_0123456789"

_MAX_BODY = 64 * 1024 * 1024
_MAX_HEADERS = 100
_TEXT_LIMIT = 4096
_CAPTION_LIMIT = 1024
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
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
#: Form fields that are always plain strings, never decoded as numbers, booleans or JSON.
_STRING_PARAMS = frozenset(
    {
        "text", "caption", "parse_mode", "callback_query_id", "inline_query_id",
        "inline_message_id", "url", "secret_token", "ip_address", "language_code",
        "description", "short_description", "name", "title", "action", "file_id", "question",
        "emoji", "business_connection_id", "message_effect_id", "custom_title", "payload",
        "provider_token", "currency", "start_parameter", "first_name", "last_name",
        "phone_number", "address", "vcard", "explanation", "error_message", "game_short_name",
        "invite_link", "sticker_set_name", "switch_pm_text", "switch_pm_parameter",
        "next_offset", "custom_emoji_id", "icon_custom_emoji_id", "format", "tag",
    }
)  # fmt: skip
#: Methods that count against Telegram's flood limits in :meth:`FakeBotAPI.enforce_limits`.
_LIMITED_METHODS = frozenset(
    {
        "sendMessage", "copyMessage", "copyMessages", "forwardMessage", "forwardMessages",
        "sendDocument", "sendPhoto", "sendVideo", "sendAudio", "sendAnimation", "sendVoice",
        "sendVideoNote", "sendSticker", "sendMediaGroup", "sendPoll", "sendLocation",
        "sendVenue", "sendContact", "sendDice",
    }
)  # fmt: skip
_HTML_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
        "a", "tg-emoji", "code", "pre", "blockquote",
    }
)  # fmt: skip
_HTML_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)(\s[^<>]*)?>")
_HTML_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?")
_BOT_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_INT = re.compile(r"-?[0-9]+")
_FLOAT = re.compile(r"-?[0-9]+\.[0-9]+")


def _api_method_names() -> dict[str, str]:
    """Map lower-cased Bot API method names to their canonical casing.

    PTB gives every Bot API method a camelCase alias on :class:`telegram.Bot`
    (``sendMessage`` for ``send_message``), which is exactly the list of names Telegram serves.
    """
    names: dict[str, str] = {}
    for name in dir(_PTBBot):
        if name.startswith("_") or name == name.lower() or not name[0].islower():
            continue
        if callable(getattr(_PTBBot, name)):
            names[name.lower()] = name
    return names


_API_METHODS = _api_method_names()


# --------------------------------------------------------------------------------------------
# Records and simulated entities
# --------------------------------------------------------------------------------------------


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
        return _chat_ref(self.params.get("chat_id"))

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

    def _kind(self) -> str:
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


# --------------------------------------------------------------------------------------------
# Faults and flood limits
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """An error answer to inject with :meth:`FakeBotAPI.fail`.

    ``delay`` seconds are waited before answering; a fault with ``status == 200`` (see
    :meth:`stall`) then answers normally.
    """

    status: int
    description: str = ""
    parameters: JSONDict | None = None
    delay: float = 0.0

    @classmethod
    def retry_after(cls, seconds: int) -> Fault:
        return cls(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})

    @classmethod
    def blocked(cls) -> Fault:
        return cls(403, "Forbidden: bot was blocked by the user")

    @classmethod
    def kicked(cls) -> Fault:
        return cls(403, "Forbidden: bot was kicked from the group chat")

    @classmethod
    def deactivated(cls) -> Fault:
        return cls(403, "Forbidden: user is deactivated")

    @classmethod
    def chat_not_found(cls) -> Fault:
        return cls(400, "Bad Request: chat not found")

    @classmethod
    def migrated(cls, new_chat_id: int) -> Fault:
        return cls(
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            {"migrate_to_chat_id": new_chat_id},
        )

    @classmethod
    def cant_parse(cls) -> Fault:
        return cls(
            400,
            'Bad Request: can\'t parse entities: Unsupported start tag "br" at byte offset 0',
        )

    @classmethod
    def server_error(cls, status: int = 502) -> Fault:
        return cls(status, _phrase(status))

    @classmethod
    def stall(cls, seconds: float) -> Fault:
        return cls(200, delay=seconds)

    @classmethod
    def bad_request(cls, description: str) -> Fault:
        if not description.startswith("Bad Request"):
            description = f"Bad Request: {description}"
        return cls(400, description)

    def payload(self) -> JSONDict:
        """The JSON error body Telegram sends."""
        body: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


@dataclass
class _FaultRule:
    method: str  # lower-cased
    chat_id: int | str | None
    fault: Fault
    remaining: int


@dataclass
class RateLimits:
    """Telegram's flood limits, in sliding windows on ``clock`` (monotonic seconds).

    ``per_second`` messages in total, ``per_chat_per_second`` to one chat, and
    ``per_group_per_minute`` to one group, supergroup or channel. A send over a limit is
    answered 429 with ``retry_after`` (whole seconds until the window has room) and does not
    count; :attr:`rejected` counts those answers.
    """

    per_second: int = 30
    per_chat_per_second: int = 1
    per_group_per_minute: int = 20
    clock: Callable[[], float] = time.monotonic
    methods: frozenset[str] = _LIMITED_METHODS
    rejected: int = 0
    _all: deque[float] = field(default_factory=deque, repr=False)
    _chats: dict[int, deque[float]] = field(default_factory=dict, repr=False)
    _groups: dict[int, deque[float]] = field(default_factory=dict, repr=False)

    def check(self, chat_id: int, *, group: bool) -> int | None:
        """Count one send to ``chat_id``; return ``retry_after`` seconds if it is over a limit."""
        now = self.clock()
        windows = [
            (self._all, self.per_second, 1.0),
            (self._chats.setdefault(chat_id, deque()), self.per_chat_per_second, 1.0),
        ]
        if group:
            windows.append(
                (self._groups.setdefault(chat_id, deque()), self.per_group_per_minute, 60.0)
            )
        wait = 0.0
        for stamps, limit, window in windows:
            while stamps and stamps[0] <= now - window:
                stamps.popleft()
            if len(stamps) >= limit:
                wait = max(wait, stamps[len(stamps) - limit] + window - now)
        if wait > 0:
            self.rejected += 1
            return max(1, math.ceil(wait))
        for stamps, _, _ in windows:
            stamps.append(now)
        return None


class _ApiError(Exception):
    """Raised by handlers to answer with a Telegram error."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None):
        super().__init__(description)
        self.fault = Fault(status, description, parameters)


@dataclass
class _HttpRequest:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    keep_alive: bool


@dataclass
class _HttpResponse:
    status: int
    body: bytes
    content_type: str = "application/json"


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class FakeBotAPI:
    """A fake Bot API server; see the module docstring.

    Args:
        token: the only token accepted (others get 401 Unauthorized).
        host, port: where to listen; port 0 picks a free port (see :attr:`url`).
        bot_username, bot_name: the bot's ``getMe`` identity.
        strict_html: validate ``parse_mode="HTML"`` texts like Telegram does.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_username: str = "digestbot_test_bot",
        bot_name: str = "Digest Bot",
        strict_html: bool = True,
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        self.strict_html = strict_html
        prefix = token.split(":", 1)[0]
        self.bot = SimUser(
            id=int(prefix) if prefix.isdigit() else 123456789,
            first_name=bot_name,
            username=bot_username,
            language_code=None,
            is_bot=True,
        )
        #: Every request, in arrival order.
        self.requests: list[RecordedRequest] = []
        #: Real Bot API methods the server has no handler for (answered ``true``), in order.
        self.unhandled: list[str] = []
        #: Exceptions raised by the server's own handlers (answered 500); should stay empty.
        self.errors: list[BaseException] = []
        #: File paths served by the ``/file`` route.
        self.downloads: list[str] = []
        #: ``answerCallbackQuery`` parameters by callback query id.
        self.callback_answers: dict[str, JSONDict] = {}
        #: The flood limits in force, if :meth:`enforce_limits` was called.
        self.limits: RateLimits | None = None
        #: How many TCP connections were accepted (keep-alive reuses them).
        self.connections_opened = 0
        self.webhook_url = ""

        self._server: asyncio.Server | None = None
        self._closing = False
        self._connections: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Condition()
        self._listeners: list[Callable[[RecordedRequest], None]] = []
        self._updates: list[JSONDict] = []
        self._update_ids = itertools.count(1)
        self._poll_generation = 0
        self._users: dict[int, SimUser] = {}
        self._chats: dict[int, ChatHandle] = {}
        self._history: dict[int, dict[int, StoredMessage]] = {}
        self._next_message_id: dict[int, int] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_numbers = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._callback_queries: set[str] = set()
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._faults: list[_FaultRule] = []
        self._handlers: dict[str, Callable[[RecordedRequest], Any]] = {
            "getMe": self._get_me,
            "logOut": _true,
            "close": _true,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "copyMessage": self._copy_message,
            "sendDocument": self._send_document,
            "sendChatAction": self._send_chat_action,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatAdministrators": self._get_chat_administrators,
            "getChatMemberCount": self._get_chat_member_count,
            "getFile": self._get_file,
            "leaveChat": self._leave_chat,
        }

    # ---- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (only once started)."""
        if self._server is None:
            raise RuntimeError("FakeBotAPI is not running; call start() first")
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url(...)``."""
        return f"{self.url}/file/bot"

    async def start(self) -> None:
        """Start listening."""
        if self._server is not None:
            raise RuntimeError("FakeBotAPI is already running")
        self._closing = False
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.debug("fake Bot API listening on %s", self.url)

    async def stop(self) -> None:
        """Stop listening and drop every connection, including pending long polls and stalls."""
        if self._server is None:
            return
        self._closing = True
        server, self._server = self._server, None
        server.close()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ---- users and chats ---------------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str | None = None,
        *,
        username: str | None = None,
        last_name: str | None = None,
        language_code: str | None = None,
    ) -> SimUser:
        """The simulated user ``user_id``, created on first use (as ``User<id>``, language
        ``en``); details given for an existing user update it."""
        user = self._users.get(user_id)
        if user is None:
            user = SimUser(id=user_id, first_name=first_name or f"User{user_id}")
            self._users[user_id] = user
        elif first_name is not None:
            user.first_name = first_name
        if username is not None:
            user.username = username
        if last_name is not None:
            user.last_name = last_name
        if language_code is not None:
            user.language_code = language_code
        return user

    def private_chat(
        self,
        user_id: int,
        first_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> ChatHandle:
        """The private chat with user ``user_id`` (chat id == user id).

        A new user is named ``Ada`` unless ``first_name`` says otherwise; calling again returns
        the same chat (updating the user with any details given).
        """
        user = self.user(
            user_id,
            first_name if first_name is not None or user_id in self._users else "Ada",
            username=username,
            language_code=language_code,
        )
        existing = self._chats.get(user_id)
        if existing is not None:
            existing.username = user.username
            return existing
        return self._add_chat(
            ChatHandle(id=user_id, type="private", username=user.username, user=user)
        )

    def group_chat(
        self,
        chat_id: int,
        title: str,
        type: Literal["group", "supergroup", "channel"] = "group",
        admins: Iterable[int] = (),
        *,
        owner: int | None = None,
        username: str | None = None,
    ) -> ChatHandle:
        """A group, supergroup or channel; ``admins`` answer ``getChatAdministrators``."""
        existing = self._chats.get(chat_id)
        if existing is not None:
            return existing
        admin_ids = list(admins)
        for user_id in [*admin_ids, *([owner] if owner is not None else [])]:
            self.user(user_id)
        return self._add_chat(
            ChatHandle(
                id=chat_id,
                type=type,
                title=title,
                username=username,
                admins=admin_ids,
                owner=owner,
            )
        )

    def chat(self, chat_id: int) -> ChatHandle:
        """A known chat; :class:`KeyError` if the test never created it."""
        return self._chats[chat_id]

    def _add_chat(self, chat: ChatHandle) -> ChatHandle:
        self._chats[chat.id] = chat
        self._history[chat.id] = {}
        self._next_message_id[chat.id] = 1
        return chat

    # ---- messages and files ------------------------------------------------------------------

    def messages(
        self, chat: ChatHandle | int, *, include_user: bool = False
    ) -> list[StoredMessage]:
        """The bot's messages in ``chat`` (and the users', if asked), current state, in order;
        deleted ones are left out."""
        history = self._history.get(chat.id if isinstance(chat, ChatHandle) else chat, {})
        return [
            message
            for message in history.values()
            if not message.deleted and (include_user or message.from_bot)
        ]

    def message(self, chat: ChatHandle | int, message_id: int) -> StoredMessage:
        """One message (even deleted); :class:`KeyError` if there is none."""
        return self._history[self._chat_handle(chat).id][message_id]

    def sent_texts(self, chat: ChatHandle | int) -> list[str]:
        """Texts of successful ``sendMessage`` / ``editMessageText`` calls to ``chat``, in
        order, exactly as the bot sent them."""
        return [
            str(request.params.get("text", ""))
            for request in self.calls(chat_id=_id_of(chat))
            if request.ok and request.method in ("sendMessage", "editMessageText")
        ]

    def add_file(
        self, content: bytes, filename: str | None = None, mime_type: str | None = None
    ) -> StoredFile:
        """Make a file known, as if someone had uploaded it (for ``getFile``)."""
        number = next(self._file_numbers)
        suffix = filename.rsplit(".", 1)[-1] if filename and "." in filename else "bin"
        stored = StoredFile(
            file_id=f"BQACAgIAAxkBAAI{number:06d}fake",
            file_unique_id=f"AgAD{number:06d}",
            file_path=f"documents/file_{number}.{suffix}",
            content=content,
            filename=filename,
            mime_type=mime_type,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def commands(self, scope: JSONDict | None = None, language_code: str = "") -> list[JSONDict]:
        """The command menu the bot set for ``scope`` (default scope) and language."""
        return list(self._commands.get((_scope_key(scope), language_code), []))

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates queued and not yet confirmed by a ``getUpdates`` offset."""
        return list(self._updates)

    # ---- feeding updates ---------------------------------------------------------------------

    async def push_update(self, update: JSONDict) -> int:
        """Queue a raw update (``update_id`` is assigned if missing); returns its id."""
        update = dict(update)
        if "update_id" in update:
            update_id = int(update["update_id"])
            self._update_ids = itertools.count(max(update_id + 1, next(self._update_ids)))
        else:
            update_id = next(self._update_ids)
            update["update_id"] = update_id
        query = update.get("callback_query")
        if isinstance(query, dict) and "id" in query:
            self._callback_queries.add(str(query["id"]))
        self._updates.append(update)
        await self._notify()
        return update_id

    async def send_message(
        self,
        chat: ChatHandle | int,
        text: str,
        from_user: SimUser | int | None = None,
        *,
        reply_to_message_id: int | None = None,
        entities: Iterable[JSONDict] = (),
    ) -> int:
        """A user writes ``text`` in ``chat``; commands get a ``bot_command`` entity, and
        ``entities`` (bold, links, ...: Bot API MessageEntity dicts) come with it.
        Returns the update id."""
        handle = self._chat_handle(chat)
        sender = self._sender(handle, from_user)
        formatting = list(entities)
        entities = []
        if match := _COMMAND.match(text):
            entities.append({"type": "bot_command", "offset": 0, "length": _utf16(match[0])})
        entities += formatting
        reply_to = (
            self.message(handle, reply_to_message_id) if reply_to_message_id is not None else None
        )
        message = self._new_message(
            handle, sender.to_dict(), from_bot=False, text=text, entities=entities,
            reply_to=reply_to,
        )  # fmt: skip
        return await self.push_update({"message": message.to_dict()})

    async def press_button(
        self,
        chat: ChatHandle | int,
        message_id: int,
        callback_data: str,
        from_user: SimUser | int | None = None,
        *,
        strict: bool = True,
    ) -> int:
        """A user presses the inline button with ``callback_data`` under the bot's message.

        With ``strict`` the button must exist on the message's current keyboard (pass
        ``strict=False`` to simulate a stale keyboard). Returns the update id.
        """
        handle = self._chat_handle(chat)
        message = self.message(handle, message_id)
        if strict:
            datas = [b.callback_data for row in message.buttons for b in row]
            if message.deleted or callback_data not in datas:
                raise ValueError(
                    f"message {message_id} in chat {handle.id} has no button with "
                    f"callback_data {callback_data!r} (deleted={message.deleted}); "
                    f"it has {datas}"
                )
        query_id = str(next(self._callback_ids) * 1_000_003 + 4_000_000_000_000_000_000)
        query: JSONDict = {
            "id": query_id,
            "from": self._sender(handle, from_user).to_dict(),
            "chat_instance": str(abs(handle.id) ^ 0x5DEECE66D),
            "data": callback_data,
            "message": message.to_dict(),
        }
        return await self.push_update({"callback_query": query})

    async def send_document(
        self,
        chat: ChatHandle | int,
        filename: str,
        content: bytes,
        caption: str | None = None,
        *,
        from_user: SimUser | int | None = None,
        mime_type: str | None = None,
    ) -> int:
        """A user sends a file; it is then available through ``getFile``. Returns the update
        id."""
        handle = self._chat_handle(chat)
        stored = self.add_file(content, filename, mime_type)
        message = self._new_message(
            handle,
            self._sender(handle, from_user).to_dict(),
            from_bot=False,
            document=stored.document(),
            caption=caption,
        )
        return await self.push_update({"message": message.to_dict()})

    async def chat_member_update(
        self,
        chat: ChatHandle | int,
        new_status: BotStatus,
        old_status: BotStatus | None = None,
        *,
        from_user: SimUser | int | None = None,
    ) -> int:
        """The bot's membership in ``chat`` changes (``my_chat_member``): added, promoted,
        kicked, or blocked by the user in a private chat. Sending to a chat where the bot is
        ``kicked`` or ``left`` then fails with 403, like Telegram. Returns the update id."""
        handle = self._chat_handle(chat)
        old = old_status or handle.bot_status
        handle.bot_status = new_status
        bot = self.bot.to_dict()
        update: JSONDict = {
            "chat": handle.to_dict(),
            "from": self._sender(handle, from_user).to_dict(),
            "date": _now(),
            "old_chat_member": _member(bot, old),
            "new_chat_member": _member(bot, new_status),
        }
        return await self.push_update({"my_chat_member": update})

    # ---- fault injection ---------------------------------------------------------------------

    def fail(
        self,
        method: str,
        error: Fault,
        *,
        chat_id: ChatHandle | int | str | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (for ``chat_id`` only, if given) with
        ``error``. Faults for the same calls are used in the order they were added."""
        ref = _chat_ref(chat_id.id if isinstance(chat_id, ChatHandle) else chat_id)
        self._faults.append(_FaultRule(method.lower(), ref, error, times))

    def clear_faults(self) -> None:
        """Forget faults that were not used yet."""
        self._faults.clear()

    def enforce_limits(
        self,
        per_second: int = 30,
        per_chat_per_second: int = 1,
        per_group_per_minute: int = 20,
        *,
        clock: Callable[[], float] = time.monotonic,
        methods: Iterable[str] | None = None,
    ) -> RateLimits:
        """Answer 429 to sends over Telegram's flood limits (see :class:`RateLimits`)."""
        self.limits = RateLimits(
            per_second=per_second,
            per_chat_per_second=per_chat_per_second,
            per_group_per_minute=per_group_per_minute,
            clock=clock,
            methods=frozenset(methods) if methods is not None else _LIMITED_METHODS,
        )
        return self.limits

    def disable_limits(self) -> None:
        self.limits = None

    # ---- observing ---------------------------------------------------------------------------

    def calls(
        self, method: str | None = None, chat_id: ChatHandle | int | str | None = None
    ) -> list[RecordedRequest]:
        """Recorded requests, optionally only of ``method`` (any casing) and ``chat_id``."""
        return [r for r in self.requests if _matches(r, method, chat_id)]

    def mark(self) -> int:
        """A position in :attr:`requests`, for ``wait_for(..., since=mark)``."""
        return len(self.requests)

    def add_listener(self, callback: Callable[[RecordedRequest], None]) -> Callable[[], None]:
        """Call ``callback`` with each request once it is answered; returns an unsubscriber."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback)

    async def wait_for(
        self,
        what: str | Callable[[RecordedRequest], bool] | None = None,
        *,
        chat_id: ChatHandle | int | str | None = None,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109  # one number reads better in tests
        since: int = 0,
    ) -> list[RecordedRequest]:
        """Wait until at least ``count`` requests match and return all matching ones.

        ``what`` is a method name (any casing) or a predicate; ``since`` skips earlier requests
        (see :meth:`mark`). Requests count from their arrival, so a pending long poll or stall
        matches too. On timeout, raises :class:`AssertionError` listing what was seen.
        """
        if isinstance(what, str) or what is None:
            method = what

            def predicate(request: RecordedRequest) -> bool:
                return _matches(request, method, chat_id)

        else:
            custom = what

            def predicate(request: RecordedRequest) -> bool:
                return _matches(request, None, chat_id) and custom(request)

        def found() -> list[RecordedRequest]:
            return [r for r in self.requests[since:] if predicate(r)]

        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: len(found()) >= count)
        except TimeoutError:
            wanted = what if isinstance(what, str) else getattr(what, "__name__", "predicate")
            where = f" in chat {_id_of(chat_id)}" if chat_id is not None else ""
            raise AssertionError(
                f"timed out after {timeout}s waiting for {count} x {wanted}{where}; "
                f"matched {len(found())}. Seen: {self._summary(since)}"
            ) from None
        return found()

    def _summary(self, since: int = 0) -> str:
        counts = Counter(
            f"{r.method}" + (f"[chat {r.chat_id}]" if r.chat_id is not None else "")
            + (f"->{r.status}" if r.status != HTTPStatus.OK else "")
            for r in self.requests[since:]
        )  # fmt: skip
        seen = ", ".join(f"{name} x{n}" for name, n in counts.items()) or "no requests"
        if self.unhandled:
            seen += f"; unhandled methods: {sorted(set(self.unhandled))}"
        return seen

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # ---- HTTP --------------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One connection: answer requests until the client closes or asks to."""
        task = asyncio.current_task()
        if self._closing or task is None:
            writer.close()
            return
        self._connections.add(task)
        self.connections_opened += 1
        try:
            while True:
                try:
                    request = await _read_request(reader)
                except (ValueError, asyncio.LimitOverrunError):
                    writer.write(_encode(_json_response(Fault(400, "Bad Request")), False))
                    await writer.drain()
                    return
                if request is None:
                    return
                try:
                    response = await self._route(request)
                except Exception as exc:  # malformed input this module did not foresee
                    log.exception("fake Bot API failed on %s", request.target)
                    self.errors.append(exc)
                    response = _json_response(Fault(500, f"Internal Server Error: {exc!r}"))
                writer.write(_encode(response, request.keep_alive))
                await writer.drain()
                if not request.keep_alive:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:
            # Only stop() cancels connections; ending quietly keeps asyncio's stream callback
            # from logging the cancellation as an error.
            return
        finally:
            self._connections.discard(task)
            writer.close()

    async def _route(self, request: _HttpRequest) -> _HttpResponse:
        parts = urlsplit(request.target)
        path = unquote(parts.path)
        if path.startswith("/file/bot"):
            token, _, file_path = path.removeprefix("/file/bot").partition("/")
            if token != self.token:
                return _json_response(Fault(401, "Unauthorized"))
            stored = self._files_by_path.get(file_path)
            if stored is None:
                return _json_response(Fault(404, "Not Found"))
            self.downloads.append(file_path)
            return _HttpResponse(
                200, stored.content, stored.mime_type or "application/octet-stream"
            )
        if not path.startswith("/bot"):
            return _json_response(Fault(404, "Not Found"))
        token, _, name = path.removeprefix("/bot").partition("/")
        method = _API_METHODS.get(name.lower(), name)
        record = RecordedRequest(method, {}, time.monotonic(), http_method=request.method)
        if token != self.token:
            return await self._finish(record, Fault(401, "Unauthorized").payload(), 401)
        if name.lower() not in _API_METHODS:
            return await self._finish(record, Fault(404, "Not Found").payload(), 404)
        try:
            record.params, record.files = _parse_params(parts.query, request)
        except _ApiError as error:
            return await self._finish(record, error.fault.payload(), error.fault.status)
        return await self._call(record)

    async def _call(self, record: RecordedRequest) -> _HttpResponse:
        """Answer one Bot API call: injected fault, flood limit, or the method's handler."""
        self.requests.append(record)
        await self._notify()
        fault = self._take_fault(record)
        if fault is not None and fault.delay > 0:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.status != HTTPStatus.OK:
            return await self._finish(record, fault.payload(), fault.status, append=False)
        result: Any
        try:
            self._check_limits(record)
            if record.method == "getUpdates":
                result = await self._get_updates(record)
            else:
                handler = self._handlers.get(record.method)
                if handler is None:
                    self.unhandled.append(record.method)
                    result = True
                else:
                    result = handler(record)
        except _ApiError as error:
            return await self._finish(
                record, error.fault.payload(), error.fault.status, append=False
            )
        except Exception as exc:  # a bug in this module: answer 500, keep the evidence
            log.exception("fake Bot API failed on %s", record.method)
            self.errors.append(exc)
            body = Fault(500, f"Internal Server Error: {exc!r}").payload()
            return await self._finish(record, body, 500, append=False)
        return await self._finish(record, {"ok": True, "result": result}, 200, append=False)

    async def _finish(
        self, record: RecordedRequest, body: JSONDict, status: int, *, append: bool = True
    ) -> _HttpResponse:
        record.status, record.response = status, body
        if append:
            self.requests.append(record)
        log.debug("%s %s -> %s", record.method, record.params, status)
        for listener in list(self._listeners):
            listener(record)
        await self._notify()
        return _HttpResponse(status, json.dumps(body).encode())

    def _take_fault(self, record: RecordedRequest) -> Fault | None:
        chat = record.chat_id
        for rule in self._faults:
            if rule.method == record.method.lower() and rule.chat_id in (None, chat):
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._faults.remove(rule)
                return rule.fault
        return None

    def _check_limits(self, record: RecordedRequest) -> None:
        limits = self.limits
        if limits is None or record.method not in limits.methods:
            return
        chat = self._find_chat(record.params.get("chat_id"))
        if chat is None:
            return  # the handler answers "chat not found"
        retry_after = limits.check(chat.id, group=chat.type != "private")
        if retry_after is not None:
            fault = Fault.retry_after(retry_after)
            raise _ApiError(fault.status, fault.description, fault.parameters)

    # ---- Bot API methods ---------------------------------------------------------------------

    def _get_me(self, _: RecordedRequest) -> JSONDict:
        return {
            **self.bot.to_dict(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, request: RecordedRequest) -> list[JSONDict]:
        if self.webhook_url:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        params = request.params
        offset = _int(params.get("offset"), 0)
        limit = min(max(_int(params.get("limit"), 100), 1), 100)
        timeout = _number(params.get("timeout"), 0.0)
        self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        await self._notify()  # an older poll still waiting gets a 409, as on Telegram
        if timeout > 0 and not self._updates:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout), self._changed:
                    await self._changed.wait_for(
                        lambda: bool(self._updates) or self._poll_generation != generation
                    )
        if self._poll_generation != generation:
            raise _ApiError(
                409,
                "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            )
        return [dict(update) for update in self._updates[:limit]]

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    def _set_webhook(self, request: RecordedRequest) -> bool:
        self.webhook_url = str(request.params.get("url") or "")
        if _truthy(request.params.get("drop_pending_updates")):
            self._updates.clear()
        return True

    def _delete_webhook(self, request: RecordedRequest) -> bool:
        self.webhook_url = ""
        if _truthy(request.params.get("drop_pending_updates")):
            self._updates.clear()
        return True

    def _get_webhook_info(self, _: RecordedRequest) -> JSONDict:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    def _send_message(self, request: RecordedRequest) -> JSONDict:
        params = request.params
        chat = self._target(params, sending=True)
        text = self._render(params.get("text"), params.get("parse_mode"), caption=False)
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        message = self._new_message(
            chat,
            self.bot.to_dict(),
            from_bot=True,
            text=text,
            source=str(params["text"]),
            parse_mode=_opt_str(params.get("parse_mode")),
            reply_markup=self._markup(params),
            reply_to=self._reply_target(chat, params),
        )
        return message.to_dict()

    def _edit_message_text(self, request: RecordedRequest) -> JSONDict | bool:
        params = request.params
        if "inline_message_id" in params:
            return True
        chat = self._target(params)
        message = self._editable(chat, params)
        text = self._render(params.get("text"), params.get("parse_mode"), caption=False)
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        markup = self._markup(params)
        if str(params["text"]) == message.source and markup == message.reply_markup:
            raise _ApiError(400, _NOT_MODIFIED)
        message.text, message.source = text, str(params["text"])
        message.parse_mode = _opt_str(params.get("parse_mode"))
        message.reply_markup, message.edit_date = markup, _now()
        return message.to_dict()

    def _edit_message_reply_markup(self, request: RecordedRequest) -> JSONDict | bool:
        params = request.params
        if "inline_message_id" in params:
            return True
        message = self._editable(self._target(params), params)
        markup = self._markup(params)
        if markup == message.reply_markup:
            raise _ApiError(400, _NOT_MODIFIED)
        message.reply_markup, message.edit_date = markup, _now()
        return message.to_dict()

    def _delete_message(self, request: RecordedRequest) -> bool:
        chat = self._target(request.params)
        message = self._history[chat.id].get(_int(request.params.get("message_id"), 0))
        if message is None or message.deleted:
            raise _ApiError(400, "Bad Request: message to delete not found")
        message.deleted = True
        return True

    def _copy_message(self, request: RecordedRequest) -> JSONDict:
        params = request.params
        target = self._target(params, sending=True)
        source_chat = self._target(params, key="from_chat_id")
        source = self._history[source_chat.id].get(_int(params.get("message_id"), 0))
        if source is None or source.deleted:
            raise _ApiError(400, "Bad Request: message to copy not found")
        caption = source.caption
        if "caption" in params:
            caption = self._render(params["caption"], params.get("parse_mode"), caption=True)
        copy = self._new_message(
            target,
            self.bot.to_dict(),
            from_bot=True,
            text=source.text,
            source=source.source if source.source is not None else source.text,
            parse_mode=source.parse_mode,
            document=source.document,
            caption=caption,
            reply_markup=self._markup(params),
            reply_to=self._reply_target(target, params),
        )
        return {"message_id": copy.message_id}

    def _send_document(self, request: RecordedRequest) -> JSONDict:
        params = request.params
        chat = self._target(params, sending=True)
        upload = request.files.get("document")
        if upload is not None:
            stored = self.add_file(upload.content, upload.filename, upload.content_type)
        else:
            ref = params.get("document")
            if isinstance(ref, str) and ref.startswith("attach://"):
                attached = request.files.get(ref.removeprefix("attach://"))
                if attached is None:
                    raise _ApiError(400, "Bad Request: there is no document in the request")
                stored = self.add_file(attached.content, attached.filename)
            elif isinstance(ref, str) and ref in self._files:
                stored = self._files[ref]
            else:
                raise _ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        caption = None
        if params.get("caption") is not None:
            caption = self._render(params["caption"], params.get("parse_mode"), caption=True)
        message = self._new_message(
            chat,
            self.bot.to_dict(),
            from_bot=True,
            document=stored.document(),
            caption=caption,
            reply_markup=self._markup(params),
            reply_to=self._reply_target(chat, params),
        )
        return message.to_dict()

    def _send_chat_action(self, request: RecordedRequest) -> bool:
        self._target(request.params, sending=True)
        return True

    def _answer_callback_query(self, request: RecordedRequest) -> bool:
        query_id = str(request.params.get("callback_query_id", ""))
        # Telegram takes one answer per query; a second is "query is too old".
        if query_id not in self._callback_queries or query_id in self.callback_answers:
            raise _ApiError(400, _QUERY_INVALID)
        self.callback_answers[query_id] = dict(request.params)
        return True

    def _set_my_commands(self, request: RecordedRequest) -> bool:
        commands = request.params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _ApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict):
                raise _ApiError(400, "Bad Request: can't parse BotCommand JSON object")
            if not _BOT_COMMAND_NAME.fullmatch(str(command.get("command", ""))):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _ApiError(400, "Bad Request: command description is empty or too long")
        key = _commands_key(request.params)
        self._commands[key] = [
            {"command": str(c["command"]), "description": str(c["description"])} for c in commands
        ]
        return True

    def _get_my_commands(self, request: RecordedRequest) -> list[JSONDict]:
        return list(self._commands.get(_commands_key(request.params), []))

    def _delete_my_commands(self, request: RecordedRequest) -> bool:
        self._commands.pop(_commands_key(request.params), None)
        return True

    def _get_chat(self, request: RecordedRequest) -> JSONDict:
        chat = self._target(request.params)
        return {
            **chat.to_dict(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _get_chat_member(self, request: RecordedRequest) -> JSONDict:
        chat = self._target(request.params)
        user_id = _int(request.params.get("user_id"), 0)
        if user_id == self.bot.id:
            return _member(self.bot.to_dict(), chat.bot_status)
        if chat.type == "private" and user_id != chat.id:
            raise _ApiError(400, "Bad Request: user not found")
        user = self.user(user_id).to_dict()
        if user_id == chat.owner:
            return _member(user, "creator")
        return _member(user, "administrator" if user_id in chat.admins else "member")

    def _get_chat_administrators(self, request: RecordedRequest) -> list[JSONDict]:
        chat = self._target(request.params)
        if chat.type == "private":
            raise _ApiError(400, "Bad Request: there are no administrators in the private chat")
        members = []
        if chat.owner is not None:
            members.append(_member(self.user(chat.owner).to_dict(), "creator"))
        members += [
            _member(self.user(admin).to_dict(), "administrator")
            for admin in chat.admins
            if admin != chat.owner
        ]
        if chat.bot_status == "administrator":
            members.append(_member(self.bot.to_dict(), "administrator"))
        return members

    def _get_chat_member_count(self, request: RecordedRequest) -> int:
        chat = self._target(request.params)
        if chat.type == "private":
            return 2
        return len({*chat.admins, *([chat.owner] if chat.owner else [])}) + 1

    def _get_file(self, request: RecordedRequest) -> JSONDict:
        stored = self._files.get(str(request.params.get("file_id", "")))
        if stored is None:
            raise _ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    def _leave_chat(self, request: RecordedRequest) -> bool:
        chat = self._target(request.params)
        if chat.type != "private":
            chat.bot_status = "left"
        return True

    # ---- helpers for methods -----------------------------------------------------------------

    def _chat_handle(self, chat: ChatHandle | int) -> ChatHandle:
        return chat if isinstance(chat, ChatHandle) else self.chat(chat)

    def _find_chat(self, ref: Any) -> ChatHandle | None:
        ref = _chat_ref(ref)
        if isinstance(ref, int):
            return self._chats.get(ref)
        if isinstance(ref, str) and ref.startswith("@"):
            for chat in self._chats.values():
                if chat.username and chat.username.lower() == ref[1:].lower():
                    return chat
        return None

    def _target(
        self, params: JSONDict, key: str = "chat_id", *, sending: bool = False
    ) -> ChatHandle:
        """The chat a method addresses; Telegram's 400/403 when it can't be used."""
        chat = self._find_chat(params.get(key))
        if chat is None:
            raise _ApiError(400, "Bad Request: chat not found")
        if sending and chat.bot_status == "kicked":
            if chat.type == "private":
                raise _ApiError(403, "Forbidden: bot was blocked by the user")
            raise _ApiError(403, f"Forbidden: bot was kicked from the {chat._kind()} chat")
        if sending and chat.bot_status == "left" and chat.type != "private":
            raise _ApiError(403, f"Forbidden: bot is not a member of the {chat._kind()} chat")
        return chat

    def _sender(self, chat: ChatHandle, from_user: SimUser | int | None) -> SimUser:
        if isinstance(from_user, SimUser):
            self._users.setdefault(from_user.id, from_user)
            return from_user
        if isinstance(from_user, int):
            return self.user(from_user)
        if chat.user is not None:
            return chat.user
        default = chat.owner if chat.owner is not None else next(iter(chat.admins), None)
        if default is None:
            raise ValueError(f"chat {chat.id} has no owner or admins: pass from_user")
        return self.user(default)

    def _new_message(
        self,
        chat: ChatHandle,
        sender: JSONDict,
        *,
        from_bot: bool,
        text: str | None = None,
        source: str | None = None,
        parse_mode: str | None = None,
        entities: list[JSONDict] | None = None,
        caption: str | None = None,
        document: JSONDict | None = None,
        reply_markup: JSONDict | None = None,
        reply_to: StoredMessage | None = None,
    ) -> StoredMessage:
        message_id = self._next_message_id[chat.id]
        self._next_message_id[chat.id] = message_id + 1
        message = StoredMessage(
            chat=chat,
            message_id=message_id,
            date=_now(),
            sender=sender,
            from_bot=from_bot,
            text=text,
            source=source if source is not None else text,
            parse_mode=parse_mode,
            entities=entities or [],
            caption=caption,
            document=document,
            reply_markup=reply_markup,
            reply_to=reply_to,
        )
        self._history[chat.id][message_id] = message
        return message

    def _editable(self, chat: ChatHandle, params: JSONDict) -> StoredMessage:
        message = self._history[chat.id].get(_int(params.get("message_id"), 0))
        if message is None or message.deleted:
            raise _ApiError(400, "Bad Request: message to edit not found")
        if not message.from_bot:
            raise _ApiError(400, "Bad Request: message can't be edited")
        return message

    def _reply_target(self, chat: ChatHandle, params: JSONDict) -> StoredMessage | None:
        reply = params.get("reply_parameters")
        allow_missing = _truthy(params.get("allow_sending_without_reply"))
        if isinstance(reply, dict):
            message_id = _int(reply.get("message_id"), 0)
            allow_missing = allow_missing or _truthy(reply.get("allow_sending_without_reply"))
        elif params.get("reply_to_message_id") is not None:
            message_id = _int(params.get("reply_to_message_id"), 0)
        else:
            return None
        message = self._history[chat.id].get(message_id)
        if (message is None or message.deleted) and not allow_missing:
            raise _ApiError(400, "Bad Request: message to be replied not found")
        return message

    def _render(self, text: Any, parse_mode: Any, *, caption: bool) -> str:
        """The visible text for ``text``, checked as Telegram checks it."""
        source = "" if text is None else str(text)
        html = isinstance(parse_mode, str) and parse_mode.upper() == "HTML"
        visible = _html_to_text(source) if html and self.strict_html else source
        if caption and _utf16(visible) > _CAPTION_LIMIT:
            raise _ApiError(400, "Bad Request: message caption is too long")
        if not caption and _utf16(visible) > _TEXT_LIMIT:
            raise _ApiError(400, "Bad Request: message is too long")
        return visible

    @staticmethod
    def _markup(params: JSONDict) -> JSONDict | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        rows = markup.get("inline_keyboard")
        if rows is None:
            return markup
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _ApiError(400, 'Bad Request: field "inline_keyboard" must be an Array')
        for button in itertools.chain.from_iterable(rows):
            if not isinstance(button, dict) or not button.get("text"):
                raise _ApiError(400, "Bad Request: can't parse inline keyboard button")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup


# --------------------------------------------------------------------------------------------
# Module helpers
# --------------------------------------------------------------------------------------------


def _true(_: RecordedRequest) -> bool:
    return True


def _now() -> int:
    return int(time.time())


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _id_of(chat: ChatHandle | int | str | None) -> int | str | None:
    return chat.id if isinstance(chat, ChatHandle) else _chat_ref(chat)


def _chat_ref(value: Any) -> int | str | None:
    """A chat id as Telegram reads it: numbers (even as strings) are ints, ``@name`` stays."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value)
    return int(text) if _INT.fullmatch(text) else text


def _matches(
    request: RecordedRequest, method: str | None, chat_id: ChatHandle | int | str | None
) -> bool:
    if method is not None and request.method.lower() != method.lower():
        return False
    return chat_id is None or request.chat_id == _id_of(chat_id)


def _int(value: Any, default: int) -> int:
    if value is None or isinstance(value, bool):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _ApiError(400, f"Bad Request: invalid integer {value!r}") from None


def _number(value: Any, default: float) -> float:
    if value is None or isinstance(value, bool):
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _ApiError(400, f"Bad Request: invalid number {value!r}") from None


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _scope_key(scope: Any) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


def _commands_key(params: JSONDict) -> tuple[str, str]:
    return _scope_key(params.get("scope")), str(params.get("language_code") or "")


def _member(user: JSONDict, status: str) -> JSONDict:
    """A Bot API ``ChatMember`` object with the fields PTB requires for ``status``."""
    if status == "administrator":
        return {"status": status, "user": user, **_ADMIN_RIGHTS}
    if status == "creator":
        return {"status": status, "user": user, "is_anonymous": False}
    if status == "kicked":
        return {"status": status, "user": user, "until_date": 0}
    return {"status": status, "user": user}


def _html_to_text(source: str) -> str:
    """Strip Telegram HTML to the visible text, failing like Telegram on bad markup."""

    def fail(reason: str, at: int) -> _ApiError:
        offset = len(source[:at].encode())
        return _ApiError(
            400, f"Bad Request: can't parse entities: {reason} at byte offset {offset}"
        )

    out: list[str] = []
    stack: list[tuple[str, int]] = []
    pos = 0
    while (start := source.find("<", pos)) != -1:
        out.append(source[pos:start])
        tag = _HTML_TAG.match(source, start)
        if tag is None:
            raise fail("Unexpected character after '<' or unclosed tag", start)
        closing, name = tag[1] == "/", tag[2].lower()
        if name not in _HTML_TAGS:
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
    return _HTML_ENTITY.sub(_unescape, "".join(out))


def _unescape(match: re.Match[str]) -> str:
    entity = match[1]
    if entity.startswith("#x"):
        return chr(int(entity[2:], 16))
    if entity.startswith("#"):
        return chr(int(entity[1:]))
    return _HTML_NAMED[entity]


# ---- request parsing -------------------------------------------------------------------------


async def _read_request(reader: asyncio.StreamReader) -> _HttpRequest | None:
    """Read one HTTP/1.1 request; ``None`` at a clean end of the connection."""
    line = await reader.readline()
    if not line.strip():
        return None
    method, target, version = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    headers: dict[str, str] = {}
    for _ in range(_MAX_HEADERS):
        header = await reader.readline()
        if header in (b"\r\n", b"\n"):
            break
        if not header:
            return None
        name, _, value = header.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    else:
        raise ValueError("too many headers")
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    else:
        length = int(headers.get("content-length") or 0)
        if not 0 <= length <= _MAX_BODY:
            raise ValueError("bad Content-Length")
        body = await reader.readexactly(length)
    connection = headers.get("connection", "").lower()
    if version.upper() == "HTTP/1.0":
        keep_alive = connection == "keep-alive"
    else:
        keep_alive = connection != "close"
    return _HttpRequest(method.upper(), target, headers, body, keep_alive)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        size = int((await reader.readline()).split(b";")[0].strip(), 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(chunks)
        total += size
        if total > _MAX_BODY:
            raise ValueError("body too large")
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)


def _parse_params(query: str, request: _HttpRequest) -> tuple[JSONDict, dict[str, UploadedFile]]:
    """Parameters from the query string and the body, decoded as Telegram reads them."""
    params: JSONDict = {k: _decode_form(k, v) for k, v in parse_qsl(query, keep_blank_values=True)}
    files: dict[str, UploadedFile] = {}
    if not request.body:
        return params, files
    content_type = _MimeHeaders()
    content_type["content-type"] = request.headers.get("content-type", "")
    kind = content_type.get_content_type()
    if kind == "application/json":
        try:
            data = json.loads(request.body)
        except ValueError:
            raise _ApiError(400, "Bad Request: can't parse JSON request body") from None
        if not isinstance(data, dict):
            raise _ApiError(400, "Bad Request: JSON request body must be an object")
        params.update({k: _decode_json_text(k, v) for k, v in data.items()})
    elif kind == "application/x-www-form-urlencoded":
        form = parse_qsl(request.body.decode(), keep_blank_values=True)
        params.update({k: _decode_form(k, v) for k, v in form})
    elif kind == "multipart/form-data":
        boundary = content_type.get_param("boundary")
        if not isinstance(boundary, str):
            raise _ApiError(400, "Bad Request: multipart body without boundary")
        fields, files = _parse_multipart(request.body, boundary)
        params.update({k: _decode_form(k, v) for k, v in fields.items()})
    return params, files


def _parse_multipart(body: bytes, boundary: str) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    for part in body.split(b"--" + boundary.encode())[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        headers = _MimeHeaders()
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            if value:
                headers[name.strip()] = value.strip()
        field_name = headers.get_param("name", header="content-disposition")
        if not isinstance(field_name, str):
            continue
        filename = headers.get_filename()
        if filename is None:
            fields[field_name] = content.decode()
        else:
            content_type = headers.get("content-type")
            files[field_name] = UploadedFile(field_name, filename, content_type, content)
    return fields, files


def _decode_json_text(name: str, value: Any) -> Any:
    """JSON-serialized objects and arrays inside a string parameter, decoded."""
    if isinstance(value, str) and name not in _STRING_PARAMS and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _decode_form(name: str, value: str) -> Any:
    """A form or query-string value: numbers, booleans and JSON as Telegram reads them."""
    if name in _STRING_PARAMS:
        return value
    if _INT.fullmatch(value):
        return int(value)
    if _FLOAT.fullmatch(value):
        return float(value)
    if value in ("true", "false"):
        return value == "true"
    return _decode_json_text(name, value)


# ---- responses -------------------------------------------------------------------------------


def _json_response(fault: Fault) -> _HttpResponse:
    return _HttpResponse(fault.status, json.dumps(fault.payload()).encode())


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _encode(response: _HttpResponse, keep_alive: bool) -> bytes:
    head = (
        f"HTTP/1.1 {response.status} {_phrase(response.status)}\r\n"
        f"Server: digestbot-fakeapi\r\n"
        f"Content-Type: {response.content_type}\r\n"
        f"Content-Length: {len(response.body)}\r\n"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n"
        "\r\n"
    )
    return head.encode("latin-1") + response.body
