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
* **Bot methods**: the common ones answer with realistic JSON (see :mod:`.methods`); any other
  real Bot API method answers ``{"ok": true, "result": true}`` and is listed in
  :attr:`FakeBotAPI.unhandled`. A name that is not a Bot API method is a 404, like Telegram.
* **State**: simulated users and chats (:meth:`FakeBotAPI.private_chat`,
  :meth:`FakeBotAPI.group_chat`); every message in a chat (:meth:`FakeBotAPI.messages`),
  kept current through edits and deletions; uploaded files; the command menu; the webhook.
  Telegram's checks that catch real bugs are enforced: unknown chat, bot blocked or kicked
  (after :meth:`FakeBotAPI.chat_member_update`), empty or too long text, invalid HTML
  (``parse_mode="HTML"``), ``callback_data`` over 64 bytes, "message is not modified",
  unknown callback query ids.
* **Channels and inline mode**: channel posts come signed by the channel (``sender_chat``);
  ``getChatMember`` answers creator / administrator / member / left (a channel's
  non-subscriber); :meth:`FakeBotAPI.inline_query` sends an ``inline_query`` update and
  ``answerInlineQuery`` is checked as on Telegram (at most 50 results, unique ids of 1-64
  bytes, message texts of 1-4096 characters, one answer per query), kept in
  :attr:`FakeBotAPI.inline_answers`.
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

The modules, lowest first: :mod:`.models` (the records and simulated entities), :mod:`.http`
(the HTTP/1.1 server), :mod:`.faults` (injected faults and flood limits), :mod:`.params` and
:mod:`.markup` (reading parameters and HTML as Telegram does), :mod:`.state` (chats, messages,
recorded requests), :mod:`.updates` (the update queue and what users do), :mod:`.methods`
(the Bot API methods) and :mod:`.server` (:class:`FakeBotAPI`, which puts them together).
"""

from digestbot.fakeapi.faults import Fault, RateLimits
from digestbot.fakeapi.models import (
    BotStatus,
    Button,
    ChatHandle,
    ChatType,
    RecordedRequest,
    SimUser,
    StoredFile,
    StoredMessage,
    UploadedFile,
)
from digestbot.fakeapi.server import DEFAULT_TOKEN, FakeBotAPI

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
