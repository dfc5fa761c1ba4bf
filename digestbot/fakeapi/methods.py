"""The Bot API methods the fake answers, as Telegram documents them: realistic results, and
Telegram's errors for the mistakes that matter (unknown chat, blocked bot, bad HTML, text too
long, message not modified...). Any other real method answers ``true``."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
from collections.abc import Callable
from typing import Any

from digestbot.fakeapi.faults import ApiError
from digestbot.fakeapi.markup import html_to_text
from digestbot.fakeapi.models import (
    ChatHandle,
    JSONDict,
    RecordedRequest,
    SimUser,
    StoredMessage,
    commands_key,
    member,
    now,
    utf16,
)
from digestbot.fakeapi.params import int_param, number_param, opt_str, truthy
from digestbot.fakeapi.updates import UpdateFeed

_TEXT_LIMIT = 4096
_CAPTION_LIMIT = 1024
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_BOT_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_INLINE_RESULTS = 50
_INLINE_ID_BYTES = 64
_START_PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,64}")


class BotMethods(UpdateFeed):
    """The Bot API methods on top of the state and the update queue (see :class:`FakeBotAPI`)."""

    def __init__(self, bot: SimUser, *, strict_html: bool) -> None:
        super().__init__(bot)
        self.strict_html = strict_html
        #: ``answerCallbackQuery`` parameters by callback query id.
        self.callback_answers: dict[str, JSONDict] = {}
        #: ``answerInlineQuery`` parameters by inline query id.
        self.inline_answers: dict[str, JSONDict] = {}
        self.webhook_url = ""
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
            "answerInlineQuery": self._answer_inline_query,
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

    async def _answer(self, record: RecordedRequest) -> Any:
        """The ``result`` of one call; :class:`ApiError` for Telegram's error answers."""
        if record.method == "getUpdates":
            return await self._get_updates(record)
        handler = self._handlers.get(record.method)
        if handler is None:
            self.unhandled.append(record.method)
            return True
        return handler(record)

    def _get_me(self, _: RecordedRequest) -> JSONDict:
        return {
            **self.bot.to_dict(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, request: RecordedRequest) -> list[JSONDict]:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        params = request.params
        offset = int_param(params.get("offset"), 0)
        limit = min(max(int_param(params.get("limit"), 100), 1), 100)
        timeout = number_param(params.get("timeout"), 0.0)
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
            raise ApiError(
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
        if truthy(request.params.get("drop_pending_updates")):
            self._updates.clear()
        return True

    def _delete_webhook(self, request: RecordedRequest) -> bool:
        self.webhook_url = ""
        if truthy(request.params.get("drop_pending_updates")):
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
            raise ApiError(400, "Bad Request: message text is empty")
        message = self._new_message(
            chat,
            self.bot.to_dict(),
            from_bot=True,
            text=text,
            source=str(params["text"]),
            parse_mode=opt_str(params.get("parse_mode")),
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
            raise ApiError(400, "Bad Request: message text is empty")
        markup = self._markup(params)
        if str(params["text"]) == message.source and markup == message.reply_markup:
            raise ApiError(400, _NOT_MODIFIED)
        message.text, message.source = text, str(params["text"])
        message.parse_mode = opt_str(params.get("parse_mode"))
        message.reply_markup, message.edit_date = markup, now()
        return message.to_dict()

    def _edit_message_reply_markup(self, request: RecordedRequest) -> JSONDict | bool:
        params = request.params
        if "inline_message_id" in params:
            return True
        message = self._editable(self._target(params), params)
        markup = self._markup(params)
        if markup == message.reply_markup:
            raise ApiError(400, _NOT_MODIFIED)
        message.reply_markup, message.edit_date = markup, now()
        return message.to_dict()

    def _delete_message(self, request: RecordedRequest) -> bool:
        chat = self._target(request.params)
        message = self._history[chat.id].get(int_param(request.params.get("message_id"), 0))
        if message is None or message.deleted:
            raise ApiError(400, "Bad Request: message to delete not found")
        message.deleted = True
        return True

    def _copy_message(self, request: RecordedRequest) -> JSONDict:
        params = request.params
        target = self._target(params, sending=True)
        source_chat = self._target(params, key="from_chat_id")
        source = self._history[source_chat.id].get(int_param(params.get("message_id"), 0))
        if source is None or source.deleted:
            raise ApiError(400, "Bad Request: message to copy not found")
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
                    raise ApiError(400, "Bad Request: there is no document in the request")
                stored = self.add_file(attached.content, attached.filename)
            elif isinstance(ref, str) and ref in self._files:
                stored = self._files[ref]
            else:
                raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
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
            raise ApiError(400, _QUERY_INVALID)
        self.callback_answers[query_id] = dict(request.params)
        return True

    def _answer_inline_query(self, request: RecordedRequest) -> bool:
        """Telegram's checks: a known, unanswered query; at most 50 results with unique ids
        of 1-64 bytes; each text message 1-4096 characters (after HTML parsing)."""
        params = request.params
        query_id = str(params.get("inline_query_id", ""))
        if query_id not in self._inline_queries or query_id in self.inline_answers:
            raise ApiError(400, _QUERY_INVALID)
        results = params.get("results")
        if not isinstance(results, list):
            raise ApiError(400, "Bad Request: can't parse inline query results JSON object")
        if len(results) > _INLINE_RESULTS:
            raise ApiError(400, "Bad Request: RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            if not isinstance(result, dict) or not result.get("type"):
                raise ApiError(400, "Bad Request: can't parse inline query result")
            result_id = str(result.get("id", ""))
            if not 1 <= len(result_id.encode()) <= _INLINE_ID_BYTES:
                raise ApiError(400, "Bad Request: RESULT_ID_INVALID")
            if result_id in seen:
                raise ApiError(400, "Bad Request: RESULT_ID_DUPLICATE")
            seen.add(result_id)
            content = result.get("input_message_content")
            if result["type"] == "article" and (not result.get("title") or content is None):
                raise ApiError(400, "Bad Request: can't parse inline query result")
            if isinstance(content, dict) and "message_text" in content:
                try:
                    text = self._render(
                        content["message_text"], content.get("parse_mode"), caption=False
                    )
                except ApiError as exc:
                    if "too long" in exc.fault.description:
                        raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG") from exc
                    raise
                if not text.strip():
                    raise ApiError(400, "Bad Request: MESSAGE_EMPTY")
        button = params.get("button")
        parameter = button.get("start_parameter") if isinstance(button, dict) else None
        if parameter is not None and not _START_PARAMETER.fullmatch(str(parameter)):
            raise ApiError(400, "Bad Request: START_PARAM_INVALID")
        self.inline_answers[query_id] = dict(params)
        return True

    def _set_my_commands(self, request: RecordedRequest) -> bool:
        commands = request.params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict):
                raise ApiError(400, "Bad Request: can't parse BotCommand JSON object")
            if not _BOT_COMMAND_NAME.fullmatch(str(command.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: command description is empty or too long")
        key = commands_key(request.params)
        self._commands[key] = [
            {"command": str(c["command"]), "description": str(c["description"])} for c in commands
        ]
        return True

    def _get_my_commands(self, request: RecordedRequest) -> list[JSONDict]:
        return list(self._commands.get(commands_key(request.params), []))

    def _delete_my_commands(self, request: RecordedRequest) -> bool:
        self._commands.pop(commands_key(request.params), None)
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
        user_id = int_param(request.params.get("user_id"), 0)
        if user_id == self.bot.id:
            return member(self.bot.to_dict(), chat.bot_status)
        if chat.type == "private" and user_id != chat.id:
            raise ApiError(400, "Bad Request: user not found")
        user = self.user(user_id).to_dict()
        if user_id == chat.owner:
            return member(user, "creator")
        if user_id in chat.admins:
            return member(user, "administrator")
        if chat.type == "channel" and user_id not in chat.members:
            return member(user, "left")
        return member(user, "member")

    def _get_chat_administrators(self, request: RecordedRequest) -> list[JSONDict]:
        chat = self._target(request.params)
        if chat.type == "private":
            raise ApiError(400, "Bad Request: there are no administrators in the private chat")
        members = []
        if chat.owner is not None:
            members.append(member(self.user(chat.owner).to_dict(), "creator"))
        members += [
            member(self.user(admin).to_dict(), "administrator")
            for admin in chat.admins
            if admin != chat.owner
        ]
        if chat.bot_status == "administrator":
            members.append(member(self.bot.to_dict(), "administrator"))
        return members

    def _get_chat_member_count(self, request: RecordedRequest) -> int:
        chat = self._target(request.params)
        if chat.type == "private":
            return 2
        return len({*chat.admins, *([chat.owner] if chat.owner else [])}) + 1

    def _get_file(self, request: RecordedRequest) -> JSONDict:
        stored = self._files.get(str(request.params.get("file_id", "")))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
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

    def _target(
        self, params: JSONDict, key: str = "chat_id", *, sending: bool = False
    ) -> ChatHandle:
        """The chat a method addresses; Telegram's 400/403 when it can't be used."""
        chat = self._find_chat(params.get(key))
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        if sending and chat.bot_status == "kicked":
            if chat.type == "private":
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            raise ApiError(403, f"Forbidden: bot was kicked from the {chat.kind()} chat")
        if sending and chat.bot_status == "left" and chat.type != "private":
            raise ApiError(403, f"Forbidden: bot is not a member of the {chat.kind()} chat")
        return chat

    def _editable(self, chat: ChatHandle, params: JSONDict) -> StoredMessage:
        message = self._history[chat.id].get(int_param(params.get("message_id"), 0))
        if message is None or message.deleted:
            raise ApiError(400, "Bad Request: message to edit not found")
        if not message.from_bot:
            raise ApiError(400, "Bad Request: message can't be edited")
        return message

    def _reply_target(self, chat: ChatHandle, params: JSONDict) -> StoredMessage | None:
        reply = params.get("reply_parameters")
        allow_missing = truthy(params.get("allow_sending_without_reply"))
        if isinstance(reply, dict):
            message_id = int_param(reply.get("message_id"), 0)
            allow_missing = allow_missing or truthy(reply.get("allow_sending_without_reply"))
        elif params.get("reply_to_message_id") is not None:
            message_id = int_param(params.get("reply_to_message_id"), 0)
        else:
            return None
        message = self._history[chat.id].get(message_id)
        if (message is None or message.deleted) and not allow_missing:
            raise ApiError(400, "Bad Request: message to be replied not found")
        return message

    def _render(self, text: Any, parse_mode: Any, *, caption: bool) -> str:
        """The visible text for ``text``, checked as Telegram checks it."""
        source = "" if text is None else str(text)
        html = isinstance(parse_mode, str) and parse_mode.upper() == "HTML"
        visible = html_to_text(source) if html and self.strict_html else source
        if caption and utf16(visible) > _CAPTION_LIMIT:
            raise ApiError(400, "Bad Request: message caption is too long")
        if not caption and utf16(visible) > _TEXT_LIMIT:
            raise ApiError(400, "Bad Request: message is too long")
        return visible

    @staticmethod
    def _markup(params: JSONDict) -> JSONDict | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        rows = markup.get("inline_keyboard")
        if rows is None:
            return markup
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise ApiError(400, 'Bad Request: field "inline_keyboard" must be an Array')
        for button in itertools.chain.from_iterable(rows):
            if not isinstance(button, dict) or not button.get("text"):
                raise ApiError(400, "Bad Request: can't parse inline keyboard button")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup


def _true(_: RecordedRequest) -> bool:
    return True
