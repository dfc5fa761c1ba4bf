"""The fake Bot API server, driven by the real python-telegram-bot over real HTTP."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    ChatMemberAdministrator,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    TypeHandler,
)
from telegram.request import HTTPXRequest

from digestbot.fakeapi import DEFAULT_TOKEN, FakeBotAPI, Fault

App = Application[Any, Any, Any, Any, Any, Any]
Context = ContextTypes.DEFAULT_TYPE

MENU = InlineKeyboardMarkup(
    [
        [InlineKeyboardButton("One", callback_data="pick:1")],
        [InlineKeyboardButton("Two", callback_data="pick:2")],
    ]
)


@pytest.fixture(autouse=True)
def _timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """PTB's future behaviour: ``RetryAfter.retry_after`` is a timedelta (no deprecation)."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
async def server() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as api:
        yield api


def make_bot(server: FakeBotAPI, token: str = DEFAULT_TOKEN, **request: Any) -> Bot:
    return Bot(
        token,
        base_url=server.base_url,
        base_file_url=server.base_file_url,
        request=HTTPXRequest(**request) if request else None,
    )


@pytest.fixture
async def bot(server: FakeBotAPI) -> AsyncIterator[Bot]:
    async with make_bot(server) as client:
        yield client


async def start(update: Update, context: Context) -> None:
    assert update.effective_message and update.effective_user
    await update.effective_message.reply_text(f"Hello, {update.effective_user.first_name}!")


async def menu(update: Update, context: Context) -> None:
    assert update.effective_message
    await update.effective_message.reply_text("Pick one", reply_markup=MENU)


async def pick(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query and query.data
    await query.answer("Noted")
    await query.edit_message_text(f"Picked {query.data.removeprefix('pick:')}")


async def remember(update: Update, context: Context) -> None:
    context.bot_data.setdefault("seen", []).append(update.update_id)


def build_app(server: FakeBotAPI) -> App:
    app: App = (
        ApplicationBuilder()
        .token(server.token)
        .base_url(server.base_url)
        .base_file_url(server.base_file_url)
        .build()
    )
    app.add_handler(TypeHandler(Update, remember), group=-1)
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("menu", menu))
    app.add_handler(CallbackQueryHandler(pick, pattern=r"^pick:"))
    return app


@pytest.fixture
async def app(server: FakeBotAPI) -> AsyncIterator[App]:
    application = build_app(server)
    await application.initialize()
    await application.start()
    assert application.updater
    await application.updater.start_polling(poll_interval=0, timeout=1)
    yield application
    if application.updater.running:
        await application.updater.stop()
    await application.stop()
    await application.shutdown()


# ---- the real Application end to end ---------------------------------------------------------


async def test_get_me_through_bot_initialize(server: FakeBotAPI, bot: Bot) -> None:
    assert bot.username == "digestbot_test_bot"
    assert bot.id == 123456789
    assert bot.bot.can_join_groups is True
    [call] = server.calls("getMe")
    assert call.ok and call.http_method == "POST"


async def test_command_handler_replies(server: FakeBotAPI, app: App) -> None:
    chat = server.private_chat(42, first_name="Ada")
    await server.send_message(chat, "/start")

    [reply] = await server.wait_for("sendMessage", chat_id=chat)

    assert reply.params["text"] == "Hello, Ada!"
    assert reply.params["chat_id"] == 42
    assert server.sent_texts(chat) == ["Hello, Ada!"]
    [message] = server.messages(chat)
    assert (message.text, message.message_id) == ("Hello, Ada!", 2)  # the user's /start is 1
    assert [m.text for m in server.messages(chat, include_user=True)] == ["/start", "Hello, Ada!"]
    assert not server.unhandled and not server.errors


async def test_addressed_command_in_a_group(server: FakeBotAPI, app: App) -> None:
    group = server.group_chat(-1001, "Readers", "supergroup", admins=[7])
    await server.send_message(group, "/start@digestbot_test_bot", from_user=server.user(8, "Bob"))
    await server.send_message(group, "/start@some_other_bot", from_user=8)
    await server.send_message(group, "/start", reply_to_message_id=1)  # from the first admin

    await server.wait_for("sendMessage", chat_id=group, count=2)
    assert server.sent_texts(group) == ["Hello, Bob!", "Hello, User7!"]


async def test_confirmed_updates_are_not_redelivered_after_restart(
    server: FakeBotAPI, app: App
) -> None:
    chat = server.private_chat(42)
    first = await server.send_message(chat, "/start")
    await server.wait_for("sendMessage", chat_id=chat)
    assert app.updater
    await app.updater.stop()
    assert server.pending_updates == []  # PTB's final getUpdates confirmed it

    mark = server.mark()
    await app.updater.start_polling(poll_interval=0, timeout=1)
    second = await server.send_message(chat, "/start")
    await server.wait_for("sendMessage", chat_id=chat, since=mark)

    assert app.bot_data["seen"] == [first, second]
    polls = [r for r in server.requests[mark:] if r.method == "getUpdates" and r.ok]
    delivered = [update["update_id"] for poll in polls for update in poll.result]
    assert first not in delivered and second in delivered


async def test_button_press_reaches_callback_handler(server: FakeBotAPI, app: App) -> None:
    chat = server.private_chat(42)
    await server.send_message(chat, "/menu")
    [sent] = await server.wait_for("sendMessage", chat_id=chat)
    menu_message = server.messages(chat)[-1]
    assert menu_message.message_id == sent.result["message_id"]
    assert [[b.text for b in row] for row in menu_message.buttons] == [["One"], ["Two"]]

    button = menu_message.button("Two")
    assert button.callback_data
    await server.press_button(chat, menu_message.message_id, button.callback_data)
    [answer] = await server.wait_for("answerCallbackQuery")
    await server.wait_for("editMessageText", chat_id=chat)

    assert answer.ok and answer.params["text"] == "Noted"
    assert server.callback_answers[answer.params["callback_query_id"]]["text"] == "Noted"
    edited = server.message(chat, menu_message.message_id)
    assert edited.text == "Picked 2"
    assert edited.buttons == []  # editMessageText without reply_markup drops the keyboard
    assert edited.edit_date is not None
    assert server.sent_texts(chat) == ["Pick one", "Picked 2"]
    with pytest.raises(ValueError, match="no button"):
        await server.press_button(chat, menu_message.message_id, "pick:1")


# ---- faults ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error", "check"),
    [
        (
            Fault.retry_after(7),
            RetryAfter,
            lambda e: e.retry_after == dtm.timedelta(seconds=7),
        ),
        (Fault.blocked(), Forbidden, lambda e: "blocked by the user" in e.message),
        (Fault.kicked(), Forbidden, lambda e: "kicked from the group" in e.message),
        (Fault.deactivated(), Forbidden, lambda e: "deactivated" in e.message),
        (Fault.chat_not_found(), BadRequest, lambda e: e.message == "Chat not found"),
        (Fault.migrated(-100777), ChatMigrated, lambda e: e.new_chat_id == -100777),
        (Fault.cant_parse(), BadRequest, lambda e: "parse entities" in e.message),
        (Fault.bad_request("message is too long"), BadRequest, lambda e: "too long" in e.message),
        (Fault.server_error(), NetworkError, lambda e: "Bad Gateway" in e.message),
        (Fault.server_error(500), NetworkError, lambda e: "Internal Server Error" in e.message),
    ],
    ids=[
        "retry_after",
        "blocked",
        "kicked",
        "deactivated",
        "chat_not_found",
        "migrated",
        "cant_parse",
        "bad_request",
        "bad_gateway",
        "internal_error",
    ],
)
async def test_faults_map_to_ptb_exceptions(
    server: FakeBotAPI,
    bot: Bot,
    fault: Fault,
    error: type[TelegramError],
    check: Callable[[Any], bool],
) -> None:
    server.private_chat(42)
    server.fail("sendMessage", fault)

    with pytest.raises(error) as caught:
        await bot.send_message(42, "hi")

    assert type(caught.value) is error
    assert check(caught.value)
    [call] = server.calls("sendMessage")
    assert call.status == fault.status
    assert server.messages(42) == []
    await bot.send_message(42, "hi")  # the fault was used up
    assert server.sent_texts(42) == ["hi"]


async def test_faults_by_chat_are_consumed_in_order(server: FakeBotAPI, bot: Bot) -> None:
    server.private_chat(1)
    server.private_chat(2)
    server.fail("SENDMESSAGE", Fault.retry_after(3), chat_id=2)
    server.fail("sendMessage", Fault.blocked(), chat_id=2, times=2)

    await bot.send_message(1, "unaffected")
    with pytest.raises(RetryAfter):
        await bot.send_message(2, "a")
    for _ in range(2):
        with pytest.raises(Forbidden):
            await bot.send_message(2, "b")
    await bot.send_message(2, "c")

    assert [r.status for r in server.calls("sendMessage", chat_id=2)] == [429, 403, 403, 200]
    assert server.sent_texts(2) == ["c"]


async def test_stall_times_out_the_client(server: FakeBotAPI) -> None:
    server.private_chat(42)
    server.fail("sendMessage", Fault.stall(30))
    async with make_bot(server, read_timeout=0.2) as slow:
        started = time.monotonic()
        with pytest.raises(TimedOut):
            await slow.send_message(42, "hi")
    assert time.monotonic() - started < 2
    [call] = server.calls("sendMessage")
    assert call.status is None  # still stalled; stop() cancels it


async def test_wrong_token_is_invalid_token(server: FakeBotAPI) -> None:
    requests = HTTPXRequest(), HTTPXRequest()
    wrong = Bot(
        "987654321:AAWrongTokenWrongTokenWrong",
        base_url=server.base_url,
        request=requests[0],
        get_updates_request=requests[1],
    )
    try:
        with pytest.raises(InvalidToken):
            await wrong.initialize()
    finally:  # PTB leaves its HTTP clients open when initialize() fails
        for request in requests:
            await request.shutdown()
    [call] = server.calls("getMe")
    assert call.status == 401
    assert call.response == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_stop_is_prompt_with_a_long_poll_in_flight() -> None:
    server = FakeBotAPI()
    await server.start()
    async with make_bot(server) as client:
        poll = asyncio.create_task(client.get_updates(timeout=30))
        await server.wait_for("getUpdates")
        started = time.monotonic()
        await server.stop()
        assert time.monotonic() - started < 1
        with pytest.raises(NetworkError):
            await poll
    await server.stop()  # idempotent


async def test_enforced_flood_limits(server: FakeBotAPI, bot: Bot) -> None:
    now = [100.0]
    limits = server.enforce_limits(per_second=3, per_group_per_minute=2, clock=lambda: now[0])
    for chat_id in (1, 2, 3, 4):
        server.private_chat(chat_id)
    group = server.group_chat(-5, "Group", admins=[9])

    await bot.send_message(1, "a")
    with pytest.raises(RetryAfter) as per_chat:
        await bot.send_message(1, "b")
    assert per_chat.value.retry_after == dtm.timedelta(seconds=1)
    await bot.send_message(2, "a")
    await bot.send_message(3, "a")
    with pytest.raises(RetryAfter):
        await bot.send_message(4, "a")  # 3 per second overall

    now[0] += 1.0
    await bot.send_message(1, "b")
    await bot.send_message(group.id, "g1")
    now[0] += 1.0
    await bot.send_message(group.id, "g2")
    now[0] += 1.0
    with pytest.raises(RetryAfter) as per_group:
        await bot.send_message(group.id, "g3")
    assert per_group.value.retry_after == dtm.timedelta(seconds=58)
    assert limits.rejected == 3
    now[0] += 58
    await bot.send_message(group.id, "g3")
    server.limits = None  # no limits: sends are answered again at once
    await bot.send_message(1, "c")
    await bot.send_message(1, "d")


# ---- getUpdates ------------------------------------------------------------------------------


async def test_get_updates_offset_limit_and_long_poll(server: FakeBotAPI, bot: Bot) -> None:
    chat = server.private_chat(42)
    ids = [await server.send_message(chat, f"m{i}") for i in range(3)]

    assert [u.update_id for u in await bot.get_updates(limit=2)] == ids[:2]
    assert [u.update_id for u in await bot.get_updates(offset=ids[1])] == ids[1:]
    assert [u.update_id for u in await bot.get_updates(offset=-1)] == ids[2:]
    assert await bot.get_updates(offset=ids[2] + 1, timeout=0) == ()

    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(offset=ids[2] + 1, timeout=10))
    await server.wait_for("getUpdates", count=5)
    pushed = await server.send_message(chat, "wake up")
    [update] = await poll
    assert update.update_id == pushed and update.message and update.message.text == "wake up"
    assert time.monotonic() - started < 2

    started = time.monotonic()
    assert (
        await bot.get_updates(offset=pushed + 1, timeout=dtm.timedelta(seconds=0.2)) == ()
    )  # expires
    assert 0.15 < time.monotonic() - started < 2


async def test_second_poller_terminates_the_first(server: FakeBotAPI, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=10))
    await server.wait_for("getUpdates")
    async with make_bot(server) as other_instance:
        second = asyncio.create_task(other_instance.get_updates(timeout=10))
        with pytest.raises(Conflict, match="terminated by other getUpdates"):
            await first
        text = {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"}, "text": "x"}
        pushed = await server.push_update({"message": text})
        [update] = await second
    assert update.update_id == pushed and update.message and update.message.text == "x"


async def test_webhook_blocks_polling(server: FakeBotAPI, bot: Bot) -> None:
    assert await bot.set_webhook("https://example.org/hook")
    info = await bot.get_webhook_info()
    assert info.url == "https://example.org/hook"
    with pytest.raises(Conflict):
        await bot.get_updates()
    chat = server.private_chat(1)
    await server.send_message(chat, "pending")
    assert (await bot.get_webhook_info()).pending_update_count == 1
    assert await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates() == ()


async def test_every_simulated_update_parses_in_ptb(server: FakeBotAPI, bot: Bot) -> None:
    chat = server.private_chat(42, first_name="Ada", username="ada")
    group = server.group_chat(-100, "Team", admins=[42])
    sent = await bot.send_message(42, "Choose", reply_markup=MENU)
    assert sent.reply_markup == MENU and sent.from_user and sent.from_user.is_bot

    await server.send_message(chat, "hello", reply_to_message_id=sent.message_id)
    await server.press_button(chat, sent.message_id, "pick:1")
    await server.send_document(chat, "notes.txt", b"file body", caption="my notes")
    await server.chat_member_update(group, "administrator", from_user=42)
    await server.chat_member_update(chat, "kicked")

    message, query, document, promoted, blocked = await bot.get_updates()
    assert message.message and message.message.reply_to_message
    assert message.message.reply_to_message.text == "Choose"
    assert query.callback_query and query.callback_query.data == "pick:1"
    assert query.callback_query.message and query.callback_query.message.message_id == 1
    assert document.message and document.message.document
    assert document.message.document.file_name == "notes.txt"
    assert document.message.caption == "my notes"
    assert promoted.my_chat_member
    assert promoted.my_chat_member.new_chat_member.status == "administrator"
    assert promoted.my_chat_member.old_chat_member.status == "member"
    assert blocked.my_chat_member and blocked.my_chat_member.new_chat_member.status == "kicked"

    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(42, "still there?")
    admins = await bot.get_chat_administrators(group.id)
    assert [a.user.id for a in admins] == [42, bot.id]


# ---- message state ---------------------------------------------------------------------------


async def test_edit_delete_and_copy_keep_message_state(server: FakeBotAPI, bot: Bot) -> None:
    server.private_chat(1)
    server.private_chat(2)
    first = await bot.send_message(1, "<b>Draft</b>", parse_mode="HTML", reply_markup=MENU)
    assert first.text == "Draft"

    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text(
            "<b>Draft</b>", 1, first.message_id, parse_mode="HTML", reply_markup=MENU
        )
    edited = await bot.edit_message_reply_markup(1, first.message_id)
    assert isinstance(edited, type(first)) and edited.reply_markup is None
    await bot.edit_message_text("Final", 1, first.message_id)

    copy = await bot.copy_message(2, from_chat_id=1, message_id=first.message_id)
    [copied] = server.messages(2)
    assert (copied.message_id, copied.text) == (copy.message_id, "Final")
    with pytest.raises(BadRequest, match="copy not found"):
        await bot.copy_message(2, from_chat_id=1, message_id=99)

    assert await bot.delete_message(1, first.message_id)
    assert server.messages(1) == []
    with pytest.raises(BadRequest, match="to delete not found"):
        await bot.delete_message(1, first.message_id)
    with pytest.raises(BadRequest, match="edit not found"):
        await bot.edit_message_text("again", 1, first.message_id)
    assert server.sent_texts(1) == ["<b>Draft</b>", "Final"]


async def test_telegram_checks_on_sent_messages(server: FakeBotAPI, bot: Bot) -> None:
    server.private_chat(1)
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(404, "hello?")
    with pytest.raises(BadRequest, match=r'(?i)unsupported start tag "br"'):
        await bot.send_message(1, "line<br>line", parse_mode="HTML")
    with pytest.raises(BadRequest, match="end tag"):
        await bot.send_message(1, "<b>bold", parse_mode="HTML")
    with pytest.raises(BadRequest, match="byte offset 2"):
        await bot.send_message(1, "1 < 2", parse_mode="HTML")
    with pytest.raises(BadRequest, match="too long"):
        await bot.send_message(1, "x" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 65)]])
        await bot.send_message(1, "hi", reply_markup=too_long)
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query("12345")

    ok = await bot.send_message(
        1, '<a href="https://x.org/?a=1&amp;b=2">1 &lt; 2</a> &amp; <i>done</i>', parse_mode="HTML"
    )
    assert ok.text == "1 < 2 & done"
    assert (await bot.send_message(1, "x" * 4096)).text == "x" * 4096


# ---- other methods ---------------------------------------------------------------------------


async def test_commands_chats_and_members(server: FakeBotAPI, bot: Bot) -> None:
    group = server.group_chat(-200, "Readers", "supergroup", admins=[7, 8], owner=7)
    server.private_chat(8, first_name="Eve", username="eve")
    commands = [BotCommand("digest", "What's new"), BotCommand("help", "Everything")]
    scope = BotCommandScopeAllPrivateChats()

    assert await bot.set_my_commands(commands, scope=scope)
    assert await bot.get_my_commands(scope=scope) == tuple(commands)
    assert await bot.get_my_commands() == ()
    assert server.commands({"type": "all_private_chats"})[0]["command"] == "digest"
    assert await bot.delete_my_commands(scope=scope)
    assert server.commands({"type": "all_private_chats"}) == []
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Bad-Name", "nope")])

    info = await bot.get_chat(group.id)
    assert (info.title, info.type) == ("Readers", "supergroup")
    assert (await bot.get_chat("@eve")).id == 8
    owner, admin = await bot.get_chat_administrators(group.id)
    assert isinstance(owner, ChatMemberOwner) and owner.user.id == 7
    assert isinstance(admin, ChatMemberAdministrator) and admin.user.id == 8
    assert (await bot.get_chat_member(group.id, 9)).status == "member"
    assert (await bot.get_chat_member(group.id, bot.id)).status == "member"
    assert await bot.send_chat_action(group.id, "typing")
    assert await bot.leave_chat(group.id)
    with pytest.raises(Forbidden, match="not a member of the supergroup"):
        await bot.send_message(group.id, "bye")

    assert await bot.set_my_description("A bot")  # no handler: answered true, noted
    assert server.unhandled == ["setMyDescription"]


async def test_file_upload_and_download(server: FakeBotAPI, bot: Bot) -> None:
    chat = server.private_chat(42)
    await server.send_document(chat, "report.csv", b"a,b\n1,2\n", mime_type="text/csv")
    [update] = await bot.get_updates()
    assert update.message and update.message.document

    telegram_file = await update.message.document.get_file()
    assert telegram_file.file_path and telegram_file.file_path.startswith(server.base_file_url)
    assert await telegram_file.download_as_bytearray() == bytearray(b"a,b\n1,2\n")

    payload = bytes(range(256)) * 4  # binary, with CR/LF inside
    sent = await bot.send_document(
        42, payload, filename="blob.bin", caption="<b>raw</b>", parse_mode="HTML"
    )
    assert sent.document and sent.document.file_name == "blob.bin" and sent.caption == "raw"
    assert await (await bot.get_file(sent.document.file_id)).download_as_bytearray() == payload
    assert len(server.downloads) == 2
    with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
        await bot.get_file("nope")


# ---- raw HTTP --------------------------------------------------------------------------------


async def test_raw_http_routes_and_encodings(server: FakeBotAPI) -> None:
    server.private_chat(42)
    api = f"{server.base_url}{server.token}"
    markup = json.dumps({"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]})

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"chat_id": 42, '
        yield b'"text": "chunked"}'

    async with httpx.AsyncClient() as client:
        me = (await client.get(f"{api}/GETME")).json()
        assert me["ok"] and me["result"]["is_bot"]
        form = await client.post(
            f"{api}/sendmessage", data={"chat_id": "42", "text": "007", "reply_markup": markup}
        )
        assert form.json()["result"]["reply_markup"]["inline_keyboard"][0][0]["text"] == "Go"
        query = await client.get(f"{api}/sendMessage", params={"chat_id": 42, "text": "true"})
        assert query.json()["result"]["text"] == "true"
        body = await client.post(f"{api}/sendMessage", json={"chat_id": 42, "text": "json"})
        assert body.status_code == 200
        streamed = await client.post(
            f"{api}/sendMessage", content=chunks(), headers={"content-type": "application/json"}
        )
        assert streamed.json()["result"]["text"] == "chunked"
        unknown = await client.post(f"{api}/sendTelepathy")
        assert (unknown.status_code, unknown.json()) == (
            404,
            {"ok": False, "error_code": 404, "description": "Not Found"},
        )
        assert (await client.get(f"{server.url}/elsewhere")).status_code == 404
        assert (await client.get(f"{server.base_file_url}{server.token}/nope")).status_code == 404
        assert (
            await client.post(
                f"{api}/sendMessage", content=b"{", headers={"content-type": "application/json"}
            )
        ).status_code == 400

    assert server.connections_opened == 1  # keep-alive
    assert [c.method for c in server.calls()] == [
        "getMe",
        *["sendMessage"] * 4,
        "sendTelepathy",
        "sendMessage",
    ]
    assert server.sent_texts(42) == ["007", "true", "json", "chunked"]
    assert server.calls("sendMessage")[0].params["reply_markup"]["inline_keyboard"][0][0] == {
        "text": "Go",
        "callback_data": "go",
    }


async def test_wait_for_explains_a_timeout(server: FakeBotAPI, bot: Bot) -> None:
    with pytest.raises(AssertionError, match=r"1 x sendMessage.*matched 0.*getMe x1"):
        await server.wait_for("sendMessage", timeout=0.05)
    assert await server.wait_for(lambda r: r.ok, timeout=0.05)


# ---- channels and inline mode ---------------------------------------------------------------


async def test_channels_post_as_themselves_and_answer_get_chat_member(
    server: FakeBotAPI, bot: Bot
) -> None:
    channel = server.group_chat(-1007, "News", type="channel", admins=[8], owner=7)
    channel.members.append(9)
    await server.chat_member_update(channel, "administrator", "left", from_user=8)
    (added,) = await bot.get_updates()
    assert added.my_chat_member and added.my_chat_member.chat.type == "channel"
    assert added.my_chat_member.from_user.id == 8

    post = await bot.send_message(channel.id, "<b>Hello</b>", parse_mode="HTML")

    assert post.sender_chat is not None and post.sender_chat.id == channel.id
    assert post.from_user is None
    statuses = [(await bot.get_chat_member(channel.id, u)).status for u in (7, 8, 9, 10)]
    assert statuses == ["creator", "administrator", "member", "left"]
    assert (await bot.get_me()).supports_inline_queries


async def test_answer_inline_query_is_checked_as_telegram_does(
    server: FakeBotAPI, bot: Bot
) -> None:
    def article(result_id: str, text: str = "hi") -> InlineQueryResultArticle:
        return InlineQueryResultArticle(result_id, "Title", InputTextMessageContent(text))

    _, first = await server.inline_query(42, "chips")
    (update,) = await bot.get_updates()
    assert update.inline_query and update.inline_query.query == "chips"
    assert update.inline_query.id == first

    with pytest.raises(BadRequest, match=r"(?i)results_too_much"):
        await bot.answer_inline_query(first, [article(str(i)) for i in range(51)])
    with pytest.raises(BadRequest, match=r"(?i)result_id_duplicate"):
        await bot.answer_inline_query(first, [article("a"), article("a")])
    with pytest.raises(BadRequest, match=r"(?i)result_id_invalid"):
        await bot.answer_inline_query(first, [article("x" * 65)])
    with pytest.raises(BadRequest, match=r"(?i)message_too_long"):
        await bot.answer_inline_query(first, [article("a", "x" * 4097)])
    assert await bot.answer_inline_query(first, [article("a")], cache_time=60)
    assert server.inline_answers[first]["cache_time"] == 60
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):  # one answer per query
        await bot.answer_inline_query(first, [])
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_inline_query("12345", [])
