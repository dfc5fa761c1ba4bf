"""Admin commands through the real bot: who may use them, /stats, /ingest, briefs sent
as text or files, the audit log, and /help."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from digestbot import store
from digestbot.bot.handlers.common import stale_button
from digestbot.fakeapi import Fault
from digestbot.store import db
from digestbot.store.models import (
    Broadcast,
    BroadcastStatus,
    Feed,
    Outbox,
    OutboxKind,
    OutboxStatus,
)
from tests.bot import SENDS, running_bot
from tests.factories import audit_entries, make_brief, make_card
from tests.httpserver import LocalHTTPServer, Reply, closed_port

ADMIN = 1001
SECOND_ADMIN = 1002
STRANGER = 2001
READER = 3001
GROUP_ID = -1001234567890
BOT_NAME = "digestbot_test_bot"
HINT = "I answer commands: try /digest, or /help for the list."
UNKNOWN = "/nosuchcommand"
UNKNOWN_ANSWER = f"I don't know {UNKNOWN}. /help lists what I can do."
ADMIN_COMMANDS = ["/broadcast hi", "/broadcasts", "/stats", "/ingest {url}"]


@pytest.fixture
def web():
    with LocalHTTPServer() as running:
        yield running


@pytest.fixture
async def bot(database_url):
    # /ingest fetches from the test server on 127.0.0.1, a private address.
    async with running_bot(
        database_url, admin_ids=[ADMIN, SECOND_ADMIN], feed_allow_private="true"
    ) as running:
        yield running


# ---- helpers --------------------------------------------------------------------------


def rest(bot) -> None:
    """Let the per-user flood guard refill without moving wall time."""
    bot.clock.ticks += 60


async def texts(bot, chat, text, from_user=None) -> list[str]:
    rest(bot)
    return await bot.texts(chat, text, from_user)


async def ingested(bot, chat, url) -> str:
    """/ingest URL's report: "Fetching…" at once, edited into the report when done."""
    rest(bot)
    fetching, done = await bot.say(chat, f"/ingest {url}")
    assert fetching.method == "sendMessage" and fetching.params["text"] == f"Fetching {url}…"
    assert done.method == "editMessageText"
    return str(done.params["text"])


async def answers(bot, chat, text, from_user=None, *, name=None) -> list[tuple[str, dict]]:
    """The bot's answers, whole (method and every parameter), with the command ``name``
    in their texts written as ``/nosuchcommand``: two answers that differ only by the
    command's name compare equal."""
    rest(bot)
    found = []
    for request in await bot.say(chat, text, from_user):
        params = dict(request.params)
        if name is not None and "text" in params:
            # an unknown command offers the user's commands spelled like it (/stats:
            # /start?); never an admin one, and /nosuchcommand is like none
            hint = re.search(r" Did you mean ([^?]*)\?", str(params["text"]))
            if hint is not None:
                assert not {"/broadcast", "/stats", "/ingest", "/feed"} & set(
                    hint.group(1).replace(" or ", " ").split()
                ), hint.group(0)
                params["text"] = str(params["text"]).replace(hint.group(0), "")
            params["text"] = str(params["text"]).replace(name, UNKNOWN)
        found.append((request.method, params))
    return found


async def send_file(bot, chat, name, content, from_user=None) -> list[str]:
    """A user sends a file; returns the texts of the bot's answers."""
    rest(bot)
    mark = bot.server.mark()
    await bot.handled(await bot.server.send_document(chat, name, content, from_user=from_user))
    return [str(r.params.get("text", "")) for r in bot.sent_since(mark)]


async def all_rows(bot, model) -> list:
    async with bot.services.sessions() as session:
        return list(await session.exec(select(model)))


async def audit_log(bot) -> list:
    """The audit entries, oldest first."""
    async with bot.services.sessions() as session:
        return await audit_entries(session)


async def brief_titles(bot) -> list[str]:
    async with bot.services.sessions() as session:
        items = await store.find_items(session=session, limit=1000, order="latest")
    return sorted(i.brief.title for i in items)


async def add_rows(bot, *rows) -> None:
    async with db.session_scope(bot.services.sessions) as session:
        session.add_all(rows)


def json_body(*items) -> bytes:
    return json.dumps([i.to_dict() if hasattr(i, "to_dict") else i for i in items]).encode()


def briefs_reply(*items) -> Reply:
    return Reply(body=json_body(*items), headers=[("Content-Type", "application/json")])


def addressed(command: str) -> str:
    """``/stats hi`` as ``/stats@bot hi``."""
    name, _, args = command.partition(" ")
    return f"{name}@{BOT_NAME}" + (f" {args}" if args else "")


def refusals(caplog, user_id: int, name: str) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.levelno == logging.WARNING
        and r.name.startswith("digestbot")
        and str(user_id) in r.getMessage()
        and name in r.getMessage()
    ]


# ---- permissions ----------------------------------------------------------------------


@pytest.mark.parametrize("command", ADMIN_COMMANDS)
async def test_a_non_admin_gets_the_unknown_command_answer_and_the_attempt_is_logged(
    bot, web, caplog, command
):
    url = web.serve("/briefs.json", briefs_reply(make_brief(title="Not for strangers")))
    await texts(bot, bot.server.private_chat(READER), "/start")  # someone a broadcast would reach
    chat = bot.server.private_chat(STRANGER)
    name = command.split()[0]
    unknown = await answers(bot, chat, UNKNOWN)
    reader_texts = bot.server.sent_texts(READER)
    caplog.clear()

    with caplog.at_level(logging.WARNING):
        answer = await answers(bot, chat, command.format(url=url), name=name)

    assert [p["text"] for _, p in unknown] == [
        f"I don't know {UNKNOWN}. /help lists what I can do."
    ]
    assert answer == unknown, f"{name} from a non-admin does not look like an unknown command"
    assert refusals(caplog, STRANGER, name), f"no warning logged for {name} from {STRANGER}"
    assert await all_rows(bot, Broadcast) == []
    assert await audit_log(bot) == []
    assert web.requests == [], "a non-admin's /ingest fetched the URL"
    assert await brief_titles(bot) == []
    assert await bot.deliver() == 0
    assert bot.server.sent_texts(READER) == reader_texts  # nothing went out to anyone


@pytest.mark.parametrize("command", ADMIN_COMMANDS)
async def test_an_admin_in_a_group_gets_the_unknown_command_answer_too(bot, web, caplog, command):
    url = web.serve("/briefs.json", briefs_reply(make_brief(title="Not in groups")))
    group = bot.server.group_chat(GROUP_ID, "Newsroom", type="supergroup", admins=[ADMIN])
    await texts(bot, group, f"/start@{BOT_NAME}", ADMIN)  # the group is an audience
    name = command.split()[0]
    unknown = await answers(bot, group, f"{UNKNOWN}@{BOT_NAME}", ADMIN)
    caplog.clear()

    with caplog.at_level(logging.WARNING):
        answer = await answers(bot, group, addressed(command.format(url=url)), ADMIN, name=name)

    assert [p["text"] for _, p in unknown] == [
        f"I don't know {UNKNOWN}. /help lists what I can do."
    ]
    assert answer == unknown, f"{name} from an admin in a group does not look unknown"
    assert refusals(caplog, ADMIN, name), f"no warning logged for {name} in a group"
    assert await all_rows(bot, Broadcast) == []
    assert await audit_log(bot) == []
    assert web.requests == []
    assert await brief_titles(bot) == []


@pytest.mark.parametrize("action", ["go", "no", "stop"])
async def test_a_forged_broadcast_button_from_a_non_admin_is_stale_and_sends_nothing(
    bot, caplog, action
):
    await texts(bot, bot.server.private_chat(READER), "/start")
    admin = bot.server.private_chat(ADMIN)
    await texts(bot, admin, "/broadcast Hello everyone")
    (draft,) = await all_rows(bot, Broadcast)
    stranger = bot.server.private_chat(STRANGER)
    await texts(bot, stranger, "/start")
    under = bot.server.messages(stranger)[-1].message_id
    reader_texts = bot.server.sent_texts(READER)
    caplog.clear()

    with caplog.at_level(logging.WARNING):
        requests = await bot.press(stranger, under, f"bc:{action}:{draft.id}", STRANGER)

    answers = [r.params.get("text") for r in requests if r.method == "answerCallbackQuery"]
    assert answers == [stale_button()]
    assert [r for r in requests if r.method in SENDS] == []
    assert refusals(caplog, STRANGER, "button")
    assert await bot.deliver() == 0
    assert await bot.outbox() == []
    assert bot.server.sent_texts(READER) == reader_texts
    (still,) = await all_rows(bot, Broadcast)
    assert still.status == BroadcastStatus.DRAFT
    assert [e.action for e in await audit_log(bot)] == ["broadcast.draft"]


async def test_a_non_admins_card_or_file_is_not_ingested(bot):
    stranger = bot.server.private_chat(STRANGER)
    card = make_card(make_brief(title="A stranger's card"))
    many = json_body(make_brief(title="Stranger one"), make_brief(title="Stranger two"))

    assert await texts(bot, stranger, card) == [HINT]
    assert await send_file(bot, stranger, "brief.txt", card.encode()) == [HINT]
    assert await send_file(bot, stranger, "briefs.json", many) == [HINT]

    assert await brief_titles(bot) == []
    assert await audit_log(bot) == []


# ---- /stats ---------------------------------------------------------------------------

NOW = datetime(2026, 10, 9, 3, 0, tzinfo=UTC)  # 8 Oct 20:00 in Los Angeles (PDT, UTC-7)


def ago(**delta) -> datetime:
    return NOW - timedelta(**delta)


def outbox_row(n, kind=OutboxKind.DIGEST, status=OutboxStatus.SENT, at=NOW, error=None):
    return Outbox(
        key=f"test:{n}",
        chat_id=READER,
        kind=kind,
        payload="{}",
        status=status,
        attempts=1,
        next_attempt_at=at,
        last_error=error,
        created_at=at,
        sent_at=at if status == OutboxStatus.SENT else None,
    )


async def set_up_stats(bot) -> None:
    """Chats, tags, today's deliveries and feeds, as the figures below expect."""
    await bot.add_briefs([make_brief(tags=("llm", "chips", "robots"))])
    # a chat from more than a week ago, following two tags
    old = bot.server.private_chat(11)
    await texts(bot, old, "/start")
    await texts(bot, old, "/subscribe llm chips")
    bot.clock.set(NOW - timedelta(minutes=5))
    # this week: one following llm, one paused following all three, one that blocked the bot
    follower = bot.server.private_chat(12)
    await texts(bot, follower, "/start")
    await texts(bot, follower, "/subscribe llm")
    paused = bot.server.private_chat(13)
    await texts(bot, paused, "/start")
    await texts(bot, paused, "/subscribe llm chips robots")
    await texts(bot, paused, "/stop")
    gone = bot.server.private_chat(14)
    await texts(bot, gone, "/start")
    await texts(bot, gone, "/subscribe robots")  # not counted once it blocked the bot
    await bot.update(await bot.server.chat_member_update(gone, "kicked", "member"))
    assert not (await bot.services.chats.get(14)).active
    bot.clock.set(NOW)
    await add_rows(
        bot,
        # Los Angeles' 8 October started at 07:00 UTC
        outbox_row(1, at=datetime(2026, 10, 8, 6, 0, tzinfo=UTC)),  # the day before
        outbox_row(2, at=datetime(2026, 10, 8, 23, 0, tzinfo=UTC)),  # today in LA only
        outbox_row(3, at=datetime(2026, 10, 9, 2, 0, tzinfo=UTC)),  # today anywhere
        outbox_row(
            4,
            status=OutboxStatus.FAILED,
            at=datetime(2026, 10, 8, 10, 0, tzinfo=UTC),
            error="Forbidden: bot was blocked by the user",
        ),
        outbox_row(
            5,
            status=OutboxStatus.FAILED,
            at=datetime(2026, 10, 9, 1, 0, tzinfo=UTC),
            error="Forbidden: bot was blocked by the user (after 3 attempts)",
        ),
        outbox_row(
            6,
            status=OutboxStatus.FAILED,
            at=datetime(2026, 10, 8, 20, 0, tzinfo=UTC),
            error="Bad Request: chat not found",
        ),
        outbox_row(
            7,
            status=OutboxStatus.FAILED,
            at=datetime(2026, 10, 8, 5, 0, tzinfo=UTC),
            error="Bad Request: message is too long",
        ),
        outbox_row(8, kind=OutboxKind.BROADCAST, at=datetime(2026, 10, 9, 0, 30, tzinfo=UTC)),
        outbox_row(9, status=OutboxStatus.PENDING, at=ago(hours=2)),
        Feed(
            url="https://news.example.org/feed?a=1&b=<2>",
            last_success_at=ago(hours=3),
            last_error="not a feed: <html> & friends",
            last_error_at=ago(hours=1),
            failures=2,
        ),
        Feed(url="https://ok.example.org/rss", last_success_at=ago(minutes=10)),
    )


async def test_stats_shows_chats_tags_deliveries_outbox_and_feeds_in_the_admins_day(bot):
    await set_up_stats(bot)
    admin = bot.server.private_chat(ADMIN)
    (changed,) = await texts(bot, admin, "/timezone America/Los_Angeles")
    assert "America/Los_Angeles" in changed

    (text,) = await texts(bot, admin, "/stats")  # checked as valid HTML by bot.say

    lines = text.splitlines()
    assert lines[0] == "<b>Stats</b> · 08 Oct 20:00 (America/Los_Angeles)"
    # 11, 12, 13 (paused) and the admin reach the bot; 14 blocked it; only 11 is older
    assert "<b>Users</b>: 4 active (1 paused) · 1 inactive · 4 new this week" in lines
    top = lines.index("<b>Top tags</b> (chats following)")
    assert lines[top + 1 : top + 4] == ["1. llm: 3", "2. chips: 2", "3. robots: 1"]
    digests = lines.index("<b>Digests today</b>: 2 sent · 3 failed")
    assert lines[digests + 1 : digests + 3] == [
        "  2 × Forbidden: bot was blocked by the user",
        "  1 × Bad Request: chat not found",
    ]
    assert "<b>Broadcast messages today</b>: 1" in lines
    assert "<b>Outbox</b>: 1 waiting, oldest queued 2.0 h ago" in lines
    feeds = lines[lines.index("<b>Feeds</b>") + 1 :]
    assert sorted(feeds) == [
        "⚠️ news.example.org/feed?a=1&amp;b=&lt;2&gt;: failing "
        "(not a feed: &lt;html&gt; &amp; friends), last ok 3.0 h ago",
        "✓ ok.example.org/rss: ok 10 min ago",
    ]


async def test_stats_today_is_the_asking_admins_own_day(bot):
    await set_up_stats(bot)
    los_angeles, utc = bot.server.private_chat(ADMIN), bot.server.private_chat(SECOND_ADMIN)
    await texts(bot, los_angeles, "/timezone America/Los_Angeles")
    await texts(bot, utc, "/timezone UTC")

    (west,) = await texts(bot, los_angeles, "/stats")
    (east,) = await texts(bot, utc, "/stats")

    # 23:00 UTC on 8 October is today in Los Angeles and yesterday in UTC; 06:00 UTC on
    # 8 October is yesterday in both
    assert "<b>Digests today</b>: 2 sent · 3 failed" in west.splitlines()
    assert "<b>Digests today</b>: 1 sent · 1 failed" in east.splitlines()
    assert "  1 × Forbidden: bot was blocked by the user" in east.splitlines()
    assert "Bad Request: chat not found" not in east
    assert "09 Oct 03:00 (UTC)" in east.splitlines()[0]


async def test_stats_counts_what_the_sender_really_sent_failed_and_broadcast(bot):
    """Deliveries through the real sender and the fake server's faults, then /stats."""
    bot.clock.set(NOW)
    readers = [bot.server.private_chat(n) for n in (21, 22, 23)]
    for chat in readers:
        await texts(bot, chat, "/start")
    await add_rows(
        bot,
        *(
            Outbox(key=f"digest:{chat.id}", chat_id=chat.id, kind=OutboxKind.DIGEST,
                   payload=json.dumps({"text": "<b>Your digest</b>"}), next_attempt_at=NOW,
                   created_at=NOW)
            for chat in readers
        ),
    )  # fmt: skip
    bot.server.fail("sendMessage", Fault.blocked(), chat_id=22)
    bot.server.fail("sendMessage", Fault.bad_request("message is too long"), chat_id=23)
    assert await bot.deliver() == 3
    admin = bot.server.private_chat(ADMIN)
    await texts(bot, admin, "/broadcast Hello readers")
    draft = bot.server.messages(admin)[-1]
    (send,) = [b for row in draft.buttons for b in row if b.callback_data.startswith("bc:go:")]
    await bot.press(admin, draft.message_id, send.callback_data, ADMIN)
    assert await bot.deliver() == 2  # 22 blocked the bot: 21 and 23 get it

    (text,) = await texts(bot, admin, "/stats")

    lines = text.splitlines()
    assert "<b>Users</b>: 2 active (0 paused) · 1 inactive · 3 new this week" in lines
    digests = lines.index("<b>Digests today</b>: 1 sent · 2 failed")
    reasons = sorted(lines[digests + 1 : digests + 3])
    assert reasons[0].startswith("  1 × bad request:") and "too long" in reasons[0].lower()
    assert reasons[1].startswith("  1 × forbidden:") and "blocked" in reasons[1]
    assert "<b>Broadcast messages today</b>: 2" in lines
    assert "<b>Outbox</b>: 0 waiting" in lines
    assert "none (FEED_URLS is empty)" in lines

    # /broadcasts, once the sender's progress check has marked it done, in the admin's time
    await texts(bot, admin, "/timezone America/Los_Angeles")
    await bot.services.broadcasts.progress()
    (listing,) = await texts(bot, admin, "/broadcasts")
    assert listing.splitlines() == [
        "<b>Recent broadcasts</b>",
        "#1 · 08 Oct 20:00 · all · done: 2/2 sent",
    ]


async def test_stats_shows_how_late_todays_digests_went_out(bot):
    """The sender records each digest's lateness (its due moment, when the planner queued
    it, to Telegram's acceptance, on the injected clock); /stats shows the admin's day."""
    bot.clock.set(NOW)
    late = [timedelta(minutes=m) for m in range(1, 20)] + [timedelta(hours=5)]
    readers = [bot.server.private_chat(100 + n) for n in range(len(late))]
    async with db.session_scope(bot.services.sessions) as session:
        for chat in readers:
            await store.get_or_create_chat(session=session, chat_id=chat.id)
    await add_rows(
        bot,
        *(
            Outbox(key=f"digest:{chat.id}", chat_id=chat.id, kind=OutboxKind.DIGEST,
                   payload=json.dumps({"text": "<b>Your digest</b>"}), next_attempt_at=NOW - by,
                   created_at=NOW - by)
            for chat, by in zip(readers, late, strict=True)
        ),
        # yesterday in the admin's day (Los Angeles), however late: not today's figure
        Outbox(key="digest:yesterday", chat_id=READER, kind=OutboxKind.DIGEST, payload="{}",
               status=OutboxStatus.SENT, created_at=ago(hours=30), sent_at=ago(hours=22),
               lateness_ms=8 * 3600 * 1000),
    )  # fmt: skip
    assert await bot.deliver() == len(late)
    async with bot.services.sessions() as session:
        recorded = (
            await session.exec(
                select(Outbox.chat_id, Outbox.lateness_ms, Outbox.sent_at).where(
                    Outbox.key != "digest:yesterday"
                )
            )
        ).all()
    due = {chat.id: NOW - by for chat, by in zip(readers, late, strict=True)}
    for chat_id, ms, sent in recorded:
        # each digest's own moment (the send budget's pacing moves the clock a little)
        assert ms == round((sent - due[chat_id]).total_seconds() * 1000)
        assert NOW <= sent < NOW + timedelta(seconds=5)

    admin = bot.server.private_chat(ADMIN)
    await texts(bot, admin, "/timezone America/Los_Angeles")
    (text,) = await texts(bot, admin, "/stats")

    lines = text.splitlines()
    digests = lines.index("<b>Digests today</b>: 20 sent · 0 failed")
    # nearest rank of 20: the 10th and 19th latest
    assert lines[digests + 1] == "  late after their time: 10 min median · 19 min p95 · 5.0 h worst"


async def test_stats_shows_no_lateness_before_any_digest_went_out(bot):
    bot.clock.set(NOW)
    admin = bot.server.private_chat(ADMIN)
    (text,) = await texts(bot, admin, "/stats")
    assert "<b>Digests today</b>: 0 sent · 0 failed" in text.splitlines()
    assert "late after" not in text


# ---- /ingest URL ----------------------------------------------------------------------


async def test_ingest_a_url_stores_the_good_briefs_and_reports_the_bad(bot, web):
    good = [make_brief(title="First good brief"), make_brief(title="Second good brief")]
    overrated = {**make_brief(title="Overrated").to_dict(), "score": 11}
    url = web.serve("/briefs.json", briefs_reply(*good, overrated))
    admin = bot.server.private_chat(ADMIN)

    first = await ingested(bot, admin, url)
    again = await ingested(bot, admin, url)

    assert first.splitlines() == [
        f"{url}: 2 added, 0 updated, 0 unchanged, 1 rejected.",
        f"✗ {url} item 3: score must be a whole number 0..10, not 11",
    ]
    assert again.splitlines()[0] == f"{url}: 0 added, 0 updated, 2 unchanged, 1 rejected."
    assert await brief_titles(bot) == ["First good brief", "Second good brief"]


async def test_ingest_a_url_with_a_lone_surrogate_stores_the_rest(bot, web):
    good = make_brief(title="Stored beside it")
    broken = {**make_brief(title="x").to_dict(), "summary": "\ud800"}
    url = web.serve("/briefs.json", briefs_reply(broken, good))
    admin = bot.server.private_chat(ADMIN)

    reply = await ingested(bot, admin, url)

    assert reply.splitlines() == [
        f"{url}: 1 added, 0 updated, 0 unchanged, 1 rejected.",
        f"✗ {url} item 1: summary is not valid text (a lone surrogate U+D800 at character 1)",
    ]
    assert await brief_titles(bot) == ["Stored beside it"]


async def test_ingest_shows_it_is_working_until_the_report_replaces_it(bot, web):
    url = web.serve("/briefs.json", briefs_reply(make_brief(title="Slow to come")))
    admin = bot.server.private_chat(ADMIN)
    mark = bot.server.mark()

    report = await ingested(bot, admin, url)

    calls = [r for r in bot.server.requests[mark:] if r.method != "getUpdates"]
    assert [r.method for r in calls] == ["sendChatAction", "sendMessage", "editMessageText"]
    assert calls[0].params["action"] == "typing"
    assert calls[2].params["message_id"] == bot.server.messages(admin)[-1].message_id
    assert [m.text for m in bot.server.messages(admin)] == [report]  # one message: the report


async def test_ingest_an_unreachable_url_gives_the_reason(bot):
    url = f"http://127.0.0.1:{closed_port()}/feed.json"

    answer = await ingested(bot, bot.server.private_chat(ADMIN), url)

    assert answer.splitlines() == [
        f"{url}: 0 added, 0 updated, 0 unchanged, 1 rejected.",
        f"✗ {url}: connection refused",
    ]
    assert "Traceback" not in answer


@pytest.mark.parametrize("command", ["/ingest", "/ingest not-a-url", "/ingest http://a http://b"])
async def test_ingest_without_one_url_gives_the_usage(bot, command):
    (answer,) = await texts(bot, bot.server.private_chat(ADMIN), command)
    assert answer.startswith("Send <code>/ingest URL</code>")
    assert await audit_log(bot) == []


# ---- briefs pasted or sent as files -----------------------------------------------------


async def test_an_admin_pasting_a_card_stores_it(bot):
    card = make_card(make_brief(title="Pasted brief"))

    answer = await texts(bot, bot.server.private_chat(ADMIN), card)

    assert answer == ["Your message: 1 added, 0 updated, 0 unchanged, 0 rejected."]
    assert await brief_titles(bot) == ["Pasted brief"]


async def test_a_broken_card_gets_the_parsers_reason(bot):
    card = make_card(make_brief(title="Too good", score=5)).replace("5/10", "11/10", 1)

    (answer,) = await texts(bot, bot.server.private_chat(ADMIN), card)

    assert answer.splitlines() == [
        "Your message: 0 added, 0 updated, 0 unchanged, 1 rejected.",
        "✗ your message: score 11 is out of range 0..10",
    ]
    assert await brief_titles(bot) == []


async def test_plain_text_from_an_admin_gets_the_usual_hint(bot):
    assert await texts(bot, bot.server.private_chat(ADMIN), "hello") == [HINT]
    assert await audit_log(bot) == []


async def test_an_admin_sending_a_txt_card_or_a_json_file_stores_the_briefs(bot):
    admin = bot.server.private_chat(ADMIN)
    card = make_card(make_brief(title="From a text file")).encode()
    many = json_body(*(make_brief(title=f"From JSON {n}") for n in range(3)))

    assert await send_file(bot, admin, "card.txt", card) == [
        "card.txt: 1 added, 0 updated, 0 unchanged, 0 rejected."
    ]
    assert await send_file(bot, admin, "briefs.json", many) == [
        "briefs.json: 3 added, 0 updated, 0 unchanged, 0 rejected."
    ]
    assert await brief_titles(bot) == [
        "From JSON 0",
        "From JSON 1",
        "From JSON 2",
        "From a text file",
    ]


async def test_a_pdf_is_refused_by_its_name(bot):
    answer = await send_file(bot, bot.server.private_chat(ADMIN), "Q3 report.pdf", b"%PDF-1.7")

    assert answer == ["Q3 report.pdf: send briefs as a .txt card or a .json file."]
    assert bot.server.downloads == []  # not even fetched
    assert await brief_titles(bot) == []


async def test_a_file_that_is_not_utf8_gets_its_name_and_the_reason(bot):
    answer = await send_file(bot, bot.server.private_chat(ADMIN), "latin1.txt", b"5/10\n\xe9t\xe9")

    assert answer == [
        "latin1.txt: 0 added, 0 updated, 0 unchanged, 1 rejected.\n✗ latin1.txt: not UTF-8 text"
    ]
    assert await brief_titles(bot) == []


# ---- audit ----------------------------------------------------------------------------


async def test_each_admin_action_leaves_one_audit_entry(bot, web):
    url = web.serve(
        "/briefs.json",
        briefs_reply(make_brief(title="Audited one"), make_brief(title="Audited two"), {}),
    )
    admin = bot.server.private_chat(ADMIN)

    await texts(bot, admin, "/stats")
    await texts(bot, admin, f"/ingest {url}")
    await texts(bot, admin, make_card(make_brief(title="Audited card")))
    await texts(bot, admin, "/broadcasts")

    entries = await audit_log(bot)
    assert [(e.admin_id, e.action) for e in entries] == [
        (ADMIN, "stats"),
        (ADMIN, "ingest"),
        (ADMIN, "ingest"),
        (ADMIN, "broadcasts.list"),
    ]
    _, from_url, pasted, _ = entries
    assert json.loads(from_url.counts) == {"added": 2, "updated": 0, "unchanged": 0, "rejected": 1}
    assert from_url.detail == url
    assert json.loads(pasted.counts) == {"added": 1, "updated": 0, "unchanged": 0, "rejected": 0}
    assert all(e.created_at == bot.clock.now for e in entries)


# ---- /help ----------------------------------------------------------------------------


async def test_help_lists_the_admin_commands_to_admins_only(bot):
    (for_admin,) = await texts(bot, bot.server.private_chat(ADMIN), "/help")
    (for_reader,) = await texts(bot, bot.server.private_chat(READER), "/help")

    admin_lines = for_admin.splitlines()
    assert any(line.startswith("/broadcast ") for line in admin_lines)
    assert any(line.startswith("/stats ") for line in admin_lines)
    assert "/broadcast" not in for_reader
    assert "/stats" not in for_reader
    assert for_admin.startswith(for_reader)  # the same list, with the admin part after


async def test_admin_commands_are_neither_in_the_group_help_nor_in_the_menu(bot):
    group = bot.server.group_chat(GROUP_ID, "Newsroom", type="supergroup", admins=[ADMIN])

    (in_group,) = await texts(bot, group, f"/help@{BOT_NAME}", ADMIN)

    assert "/broadcast" not in in_group and "/stats" not in in_group
    menu = [c["command"] for c in bot.server.commands()]
    assert not {"broadcast", "broadcasts", "stats", "ingest"} & set(menu)


async def test_an_admin_who_has_opened_the_bot_gets_the_admin_commands_in_their_menu(
    database_url,
):
    async with running_bot(
        database_url,
        admin_ids=[ADMIN, SECOND_ADMIN],
        before_start=lambda server: server.private_chat(ADMIN),  # the second never came
    ) as bot:
        mine = [c["command"] for c in bot.server.commands({"type": "chat", "chat_id": ADMIN})]
        everyone = [c["command"] for c in bot.server.commands({"type": "all_private_chats"})]

    assert {"broadcast", "broadcasts", "stats", "ingest", "digest"} <= set(mine)
    assert not {"broadcast", "stats"} & set(everyone)
