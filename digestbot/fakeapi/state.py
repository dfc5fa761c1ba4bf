"""The fake's state: simulated users and chats, every message in them, known files, the command
menu, and every request the bot made (with waiting for requests, on a condition)."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any, Literal

from digestbot.fakeapi.models import (
    ChatHandle,
    JSONDict,
    RecordedRequest,
    SimUser,
    StoredFile,
    StoredMessage,
    chat_ref,
    id_of,
    matches,
    now,
    scope_key,
)


class ChatState:
    """Users, chats, messages, files and recorded requests; the base of :class:`FakeBotAPI`,
    whose public methods here build and read the simulated world."""

    def __init__(self, bot: SimUser) -> None:
        #: The bot itself (its ``getMe`` identity).
        self.bot = bot
        #: Every request, in arrival order.
        self.requests: list[RecordedRequest] = []
        #: Real Bot API methods the server has no handler for (answered ``true``), in order.
        self.unhandled: list[str] = []
        # Notified on every request and update; wait_for and long polls wait on it.
        self._changed = asyncio.Condition()
        self._listeners: list[Callable[[RecordedRequest], None]] = []
        self._users: dict[int, SimUser] = {}
        self._chats: dict[int, ChatHandle] = {}
        self._history: dict[int, dict[int, StoredMessage]] = {}
        self._next_message_id: dict[int, int] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_numbers = itertools.count(1)
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}

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
            for request in self.calls(chat_id=id_of(chat))
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
        return list(self._commands.get((scope_key(scope), language_code), []))

    # ---- observing ---------------------------------------------------------------------------

    def calls(
        self, method: str | None = None, chat_id: ChatHandle | int | str | None = None
    ) -> list[RecordedRequest]:
        """Recorded requests, optionally only of ``method`` (any casing) and ``chat_id``."""
        return [r for r in self.requests if matches(r, method, chat_id)]

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
                return matches(request, method, chat_id)

        else:
            custom = what

            def predicate(request: RecordedRequest) -> bool:
                return matches(request, None, chat_id) and custom(request)

        def found() -> list[RecordedRequest]:
            return [r for r in self.requests[since:] if predicate(r)]

        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: len(found()) >= count)
        except TimeoutError:
            wanted = what if isinstance(what, str) else getattr(what, "__name__", "predicate")
            where = f" in chat {id_of(chat_id)}" if chat_id is not None else ""
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

    def _chat_handle(self, chat: ChatHandle | int) -> ChatHandle:
        return chat if isinstance(chat, ChatHandle) else self.chat(chat)

    def _find_chat(self, ref: Any) -> ChatHandle | None:
        ref = chat_ref(ref)
        if isinstance(ref, int):
            return self._chats.get(ref)
        if isinstance(ref, str) and ref.startswith("@"):
            for chat in self._chats.values():
                if chat.username and chat.username.lower() == ref[1:].lower():
                    return chat
        return None

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
            date=now(),
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
