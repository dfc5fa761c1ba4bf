"""Rendering: escaped, valid Telegram HTML, within limits, split between items only."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digestbot.briefs import render
from digestbot.store import Item
from tests.factories import make_brief
from tests.telegram_html import assert_valid, problems

UTC = ZoneInfo("UTC")
NASTY = "<script>alert('x')</script> & <b>bold</b> &amp; 5 < 6 > 4 🎙️ 「日本語」"


def item(n: int = 1, **fields) -> Item:
    return Item(n, make_brief(**fields))


def test_brief_text_is_escaped_everywhere():
    brief = item(
        7,
        title=NASTY,
        category="R&D <lab>",
        summary=NASTY,
        what_happened=NASTY,
        technical_details=NASTY,
        why_it_matters=NASTY,
        what_to_watch=NASTY,
        url="https://example.org/a?b=1&c=<2>",
    )
    outputs = [
        *render.full_brief(brief, zone=UTC),
        *render.digest([brief], heading="Your digest"),
        *render.summary([brief], heading="Summary"),
        *render.watch_list([brief], heading="Watch"),
    ]
    for message in outputs:
        assert_valid(message)
        assert "<script>" not in message
    assert "&lt;script&gt;" in outputs[0]
    assert 'href="https://example.org/a?b=1&amp;c=&lt;2&gt;"' in outputs[0]


def test_full_brief_shows_every_section_in_order_and_the_link():
    brief = item(12, published_at=datetime(2026, 11, 1, 8, 1, tzinfo=UTC))
    (message,) = render.full_brief(brief, zone=ZoneInfo("Asia/Kolkata"))
    b = brief.brief
    assert (
        message.index(b.summary) < message.index("What happened") < message.index("Why it matters")
    )
    assert "Technical details" not in message  # the factory's brief has none
    assert "13:31" in message  # 08:01 UTC shown in Kolkata time
    assert "generative-ai · research" in message


def test_a_ten_brief_digest_is_one_short_message_with_links():
    items = [
        item(n, title=f"Chipmaker number {n} ships a faster and cheaper accelerator")
        for n in range(1, 11)
    ]
    (message,) = render.digest(items, heading="Your digest · 27 Nov", more=4)
    assert_valid(message)
    for n in range(1, 11):
        assert f"/brief_{n}" in message
    assert message.endswith("+4 more: /digest")
    words = len(render.html.unescape(render._MARKUP.sub("", message)).split())
    assert words < 200  # about 45 seconds at a slow phone reading pace


def test_long_digests_split_between_items_never_inside_one():
    long_title = "word " * 90
    items = [item(n, title=long_title.strip() + f" {n}") for n in range(1, 41)]
    messages = render.digest(items, heading="Big")
    assert len(messages) > 1
    for message in messages:
        assert_valid(message)
    joined = "\n\n".join(messages)
    for n in range(1, 41):
        assert joined.count(f"/brief_{n}\n") + joined.endswith(f"/brief_{n}") == 1
        # each item sits whole in one message
        assert any(f" {n}</b>" in m and f"/brief_{n}" in m for m in messages)


def test_a_huge_brief_splits_into_valid_messages_and_loses_no_text():
    section = " ".join(f"w{i}&" for i in range(3000))  # ~20k characters, & everywhere
    brief = item(3, what_happened=section, summary=None, why_it_matters=None, what_to_watch=None)
    messages = render.full_brief(brief, zone=UTC)
    assert len(messages) > 1
    for message in messages:
        assert_valid(message)
    text = " ".join(render.html.unescape(render._MARKUP.sub("", m)) for m in messages)
    assert all(f"w{i}&" in text for i in (0, 1500, 2999))


def test_watch_list_says_each_point_once():
    same = "Watch for the second release."
    items = [
        item(1, what_to_watch=same),
        item(2, what_to_watch=same.upper()),
        item(3, what_to_watch=None),
    ]
    (message,) = render.watch_list(items, heading="What to watch")
    assert message.count("•") == 1


def test_clip_cuts_at_words():
    assert render.clip("one two three four", 12) == "one two…"
    assert render.clip("short", 12) == "short"


@settings(max_examples=150, deadline=None)
@given(
    title=st.text(min_size=1, max_size=600),
    body=st.text(max_size=5000),
    category=st.text(min_size=1, max_size=50),
)
def test_any_text_renders_to_valid_telegram_html(title, body, category):
    brief = item(
        99,
        title=title,
        category=category,
        summary=body or None,
        what_happened=body or None,
        what_to_watch=body or None,
    )
    outputs = [
        *render.full_brief(brief, zone=UTC),
        *render.digest([brief, dataclasses.replace(brief)], heading=title),
        *render.summary([brief], heading=title),
    ]
    if body.strip():
        outputs += render.watch_list([brief], heading="Watch")
    for message in outputs:
        assert not [p for p in problems(message) if p != "empty message"], message[:200]


def _squeeze(text: str) -> str:
    return "".join(text.split())


# Telegram's own entities in a message: its tags, and what it links by itself
_HASHTAG_OR_LINK = re.compile(r"(?:^|(?<=\s))(?:#\w+|/\w+|@\w{4,})|https?://", re.MULTILINE)


@pytest.mark.parametrize(
    "text",
    [
        "😀" * 9000,  # two UTF-16 units each: 18,000 as Telegram counts
        "x" * 5000,  # one word longer than a message
        "समाचार में आज की मुख्य खबरें, विश्लेषण और आगे क्या देखना है। " * 150,
        " ".join(f"#tag{i} news" for i in range(900)),  # far over 100 entities
    ],
    ids=["emoji", "long-word", "hindi", "hashtags"],
)
def test_a_long_brief_fits_every_message_and_shows_all_its_text(text):
    brief = item(4, summary=text, what_happened=None, why_it_matters=None, what_to_watch=None)
    messages = render.full_brief(brief, zone=UTC)
    assert len(messages) > 1
    for message in messages:
        assert_valid(message)
        visible = render.plain_text(message)
        assert render.utf16_len(visible) <= 4096
        tags = len(re.findall(r"<[a-z]", message))
        assert tags + len(_HASHTAG_OR_LINK.findall(visible)) <= 100
    # the whole text, nothing dropped, nothing added (but whitespace where it was cut)
    shown = _squeeze("".join(render.plain_text(m) for m in messages))
    (empty,) = render.full_brief(
        dataclasses.replace(brief, brief=dataclasses.replace(brief.brief, summary=None)), zone=UTC
    )
    assert _squeeze(text) in shown
    assert len(shown) == len(_squeeze(render.plain_text(empty))) + len(_squeeze(text))
