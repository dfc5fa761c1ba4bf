"""``digestbot console``: chat with the real bot in a terminal, no token and no network.

It starts the fake Bot API server (:mod:`digestbot.fakeapi`) on 127.0.0.1, runs the
real python-telegram-bot Application against it, and plays a Telegram user: what you
type is sent as your message; the bot's replies are printed as they would read, with
their buttons numbered, and typing a number presses one.
"""

from __future__ import annotations

import asyncio
import html
import re
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import WordCompleter
from prompt_toolkit.formatted_text import ANSI
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.patch_stdout import patch_stdout

from digestbot.bot.app import build_application
from digestbot.config import Settings
from digestbot.fakeapi import FakeBotAPI, RecordedRequest, StoredMessage

USER_ID = 1000
REPLY_TIMEOUT = 15.0  # seconds to wait for the bot's first answer
SETTLE = 0.3  # seconds of quiet after which the bot is taken to be done answering
BOT_OUTPUT = {"sendMessage", "editMessageText", "editMessageReplyMarkup", "answerCallbackQuery"}
INTRO = (
    "digestbot console: you are chatting with the real bot through a local fake Telegram.\n"
    "Type commands as a user would (/start, /tags, /digest, /help); a number presses a\n"
    "button of the last message; Up and Down recall what you typed, Tab completes a\n"
    "command. Ctrl-D or /quit leaves.\n"
)


class Style:
    """Terminal styling, or none when the output is not a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.enabled else text


def to_terminal(source: str, style: Style) -> str:
    """Telegram HTML as terminal text: bold and italics kept, links shown, entities decoded."""

    def link(match: re.Match[str]) -> str:
        return f"{match.group(2)} ({html.unescape(match.group(1))})"

    text = re.sub(r'<a href="([^"]*)">(.*?)</a>', link, source, flags=re.S)
    text = re.sub(r"<b>(.*?)</b>", lambda m: style.wrap("1", m.group(1)), text, flags=re.S)
    text = re.sub(r"<i>(.*?)</i>", lambda m: style.wrap("3", m.group(1)), text, flags=re.S)
    text = re.sub(r"<[^>]+>", "", text)
    return html.unescape(text)


class Console:
    """One user's conversation with the bot, printed to ``out``."""

    def __init__(self, server: FakeBotAPI, out: TextIO, style: Style) -> None:
        self.server = server
        self.out = out
        self.style = style
        self.chat = server.private_chat(USER_ID, first_name="You", username="you")
        self.buttons: list[tuple[int, str, str]] = []  # (message id, label, callback data)

    def show(self, message: StoredMessage, *, edited: bool) -> None:
        body = to_terminal(message.source or message.text or "", self.style)
        marker = self.style.wrap("2", "(edited) ") if edited else ""
        self.out.write(f"\n{self.style.wrap('36', 'bot')} › {marker}{body}\n")
        rows = [[b for b in row if b.callback_data] for row in message.buttons]
        if any(rows):
            self.buttons = []
            for row in rows:
                labels = []
                for button in row:
                    self.buttons.append(
                        (message.message_id, button.text, button.callback_data or "")
                    )
                    labels.append(f"[{len(self.buttons)}] {button.text}")
                self.out.write("      " + "   ".join(labels) + "\n")
        self.out.flush()

    def on_request(self, request: RecordedRequest) -> None:
        if request.chat_id != USER_ID or not request.ok:
            return
        if request.method in {"sendMessage", "editMessageText", "editMessageReplyMarkup"}:
            result = request.result
            if isinstance(result, dict) and "message_id" in result:
                message = self.server.message(self.chat, int(result["message_id"]))
                self.show(message, edited=request.method != "sendMessage")

    def on_answer(self, request: RecordedRequest) -> None:
        text = request.params.get("text")
        if request.method == "answerCallbackQuery" and text:
            self.out.write(f"      {self.style.wrap('2', f'({text})')}\n")
            self.out.flush()

    async def say(self, line: str) -> None:
        """Send what the user typed (or press a numbered button) and wait for the answer."""
        mark = self.server.mark()
        if line.isdigit() and self.buttons:
            index = int(line) - 1
            if not 0 <= index < len(self.buttons):
                self.out.write(f"(no button {line[:12]}; there are {len(self.buttons)})\n")
                return
            message_id, _label, data = self.buttons[index]
            await self.server.press_button(self.chat, message_id, data, strict=False)
        else:
            await self.server.send_message(self.chat, line)
        await self.server.wait_for(
            lambda r: r.method in BOT_OUTPUT, since=mark, timeout=REPLY_TIMEOUT
        )
        await self._settle()

    async def _settle(self) -> None:
        # The bot may send several messages for one command; wait until it goes quiet.
        while True:
            seen = self.server.mark()
            await asyncio.sleep(SETTLE)
            if self.server.mark() == seen:
                return


def _read_piped_lines(loop: asyncio.AbstractEventLoop) -> asyncio.Queue[str | None]:
    """Lines piped on standard input, read in a thread; None at the end.

    A daemon thread, not the loop's executor: asyncio.run waits for its executor's
    threads, and one blocked reading a terminal kept the process alive after /quit.
    """
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def reader() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line.rstrip("\n"))
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=reader, name="console-stdin", daemon=True).start()
    return queue


def _command_words(server: FakeBotAPI) -> list[str]:
    """The commands the bot put in this user's menu (as a Telegram app would offer them)."""
    scopes: list[dict[str, object] | None] = [
        {"chat_id": USER_ID, "type": "chat"},
        {"type": "all_private_chats"},
        None,
    ]
    for scope in scopes:
        names = [f"/{c['command']}" for c in server.commands(scope)]
        if names:
            return [*names, "/start", "/quit"]
    return ["/start", "/help", "/quit"]


class _Terminal:
    """Interactive input: prompt_toolkit's line editing, history (Up / Down) and
    completion of /commands; bot messages arriving while it waits print above the prompt."""

    def __init__(self, words: list[str], style: Style) -> None:
        self.session: PromptSession[str] = PromptSession(
            history=InMemoryHistory(),
            completer=WordCompleter(words, WORD=True),
            complete_while_typing=True,
        )
        self.prompt = ANSI(style.wrap("32", "you") + " › ")

    async def read(self) -> str | None:
        """The next line, or None on Ctrl-D (Ctrl-C raises KeyboardInterrupt)."""
        try:
            return await self.session.prompt_async(self.prompt)
        except EOFError:
            return None


async def run_console(settings: Settings, *, out: TextIO | None = None) -> int:
    """Start the fake server and the real bot, then relay the user's lines until the end.

    Returns the exit status: 0 after /quit or end of input, 130 after Ctrl-C.
    """
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    style = Style((out or sys.stdout).isatty())
    if not interactive:
        return await _converse(settings, out or sys.stdout, style, interactive=False)
    # patch_stdout(raw=True) keeps our colours and moves every write above the prompt,
    # then redraws it: a digest or broadcast status arriving later no longer lands on it.
    with patch_stdout(raw=True):
        return await _converse(settings, out or sys.stdout, style, interactive=True)


async def _converse(settings: Settings, out: TextIO, style: Style, *, interactive: bool) -> int:
    async with FakeBotAPI() as server:
        console_settings = settings.model_copy(
            update={
                "telegram_api_base_url": server.base_url,
                "admin_ids": sorted({*settings.admin_ids, USER_ID}),
            }
        )
        app = build_application(console_settings, token=server.token, rate_limit=False)
        console = Console(server, out, style)
        unsubscribe = server.add_listener(console.on_request)
        unsubscribe_answers = server.add_listener(console.on_answer)
        await app.initialize()
        status = 0
        try:
            if app.post_init:
                await app.post_init(app)
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0, timeout=1)
            out.write(INTRO)
            out.flush()
            read_line: Callable[[], Awaitable[str | None]]
            if interactive:
                read_line = _Terminal(_command_words(server), style).read
            else:
                read_line = _read_piped_lines(asyncio.get_running_loop()).get
            while True:
                line = await read_line()
                if line is None or line.strip() in {"/quit", "/exit"}:
                    break
                if not line.strip():
                    continue
                if not interactive:
                    out.write(f"{style.wrap('32', 'you')} › {line}\n")
                try:
                    await console.say(line.strip())
                except AssertionError:
                    out.write("(the bot did not answer)\n")
        except KeyboardInterrupt:
            status = 130  # what a shell reports for a program ended by Ctrl-C
        finally:
            unsubscribe()
            unsubscribe_answers()
            out.write("bye\n")
            out.flush()
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
            await app.shutdown()
            if app.post_shutdown:
                await app.post_shutdown(app)
        return status
