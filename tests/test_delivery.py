"""The sender's pacing parts, on an injected clock."""

from __future__ import annotations

import asyncio

from digestbot.briefs.render import plain_text
from digestbot.delivery.pacing import GROUP_PER_MINUTE, WINDOW, ChatPacer, SendBudget
from tests.bot import Clock


async def test_budget_holds_the_rate_and_command_replies_go_first():
    clock = Clock()
    budget = SendBudget(rate=10, monotonic=clock.monotonic, sleep=clock.sleep)
    start = clock.monotonic()
    for _ in range(20):
        await budget.take()
    assert 1.8 <= clock.monotonic() - start <= 2.0  # 20 messages at 10 a second

    for _ in range(10):  # a burst of command replies spends the budget without waiting
        budget.spend()
    before = clock.monotonic()
    await budget.take()  # so the sender is the one that waits
    assert clock.monotonic() - before >= 1.0


async def test_budget_never_lets_more_than_the_rate_into_a_rolling_second():
    clock = Clock()
    budget = SendBudget(rate=10, monotonic=clock.monotonic, sleep=clock.sleep)
    for _ in range(5):
        budget.spend()  # command replies count too
    sent = [clock.monotonic()] * 5
    for _ in range(40):
        await budget.take()
        sent.append(clock.monotonic())
    assert all(later - earlier >= WINDOW for earlier, later in zip(sent, sent[10:], strict=False))
    assert sent[-1] - sent[5] <= 40 / 10 * WINDOW + 0.2  # and no slower than that


async def test_a_message_held_up_on_its_way_counts_from_when_it_can_have_arrived():
    clock = Clock()
    budget = SendBudget(rate=10, monotonic=clock.monotonic, sleep=clock.sleep)
    quick = await budget.take()
    clock.advance(seconds=0.01)
    budget.answered(quick)  # the quickest round trip: 10 ms
    held = await budget.take()
    clock.advance(seconds=0.5)  # its answer took half a second: it arrived late
    budget.answered(held)
    arrived = clock.monotonic() - 0.01
    for _ in range(9):
        await budget.take()
    await budget.take()  # the tenth after it must not reach Telegram within its second
    assert clock.monotonic() >= arrived + WINDOW


async def test_a_429_pauses_everything_for_retry_after():
    clock = Clock()
    budget = SendBudget(rate=100, monotonic=clock.monotonic, sleep=clock.sleep)
    budget.pause(12)
    before = clock.monotonic()
    await budget.take()
    assert clock.monotonic() - before >= 12


def test_pacer_one_a_second_per_user_and_twenty_a_minute_per_group():
    clock = Clock()
    pacer = ChatPacer(clock.monotonic)
    pacer.record(42)
    assert pacer.ready_in(42) == 1.0 and pacer.ready_in(43) == 0.0
    clock.advance(seconds=1)
    assert pacer.ready_in(42) == 0.0

    for _ in range(20):
        assert pacer.ready_in(-100) == 0.0
        pacer.record(-100)
        clock.advance(seconds=1)
    assert 39 <= pacer.ready_in(-100) <= 41
    clock.advance(seconds=41)
    assert pacer.ready_in(-100) == 0.0


def test_plain_text_fallback_shows_what_the_html_showed():
    assert plain_text("<b>4/10</b> R&amp;D &lt;lab&gt;\n<a href='x'>link</a>") == (
        "4/10 R&D <lab>\nlink"
    )


async def test_budget_at_30_a_second_ends_its_waits_on_a_microsecond_clock():
    # 1/30 s is not a whole number of microseconds: the remainder must not become a
    # wait too short for such a clock to move, forever
    clock = Clock()
    budget = SendBudget(rate=30, monotonic=clock.monotonic, sleep=clock.sleep)
    start = clock.monotonic()
    for _ in range(31):
        await asyncio.wait_for(budget.take(), timeout=5)
    assert 0.95 <= clock.monotonic() - start <= 1.1


def test_pacer_forgets_chats_whose_messages_no_longer_hold_anything_up():
    clock = Clock()
    pacer = ChatPacer(clock.monotonic)
    largest = 0
    for n in range(1, 200_001):  # 200k groups, one message each, 1 ms apart
        pacer.record(-n)
        clock.advance(seconds=0.001)
        largest = max(largest, len(pacer))
    # bounded by what pacing needs (a minute of groups), not by every chat ever sent to
    assert largest <= 120_001
    for _ in range(GROUP_PER_MINUTE):  # one group still at its limit
        pacer.record(-7)
    clock.advance(seconds=61 - 0.001 * GROUP_PER_MINUTE)
    for _ in range(GROUP_PER_MINUTE):
        pacer.record(-8)
    assert len(pacer) == 1  # the rest forgotten
    assert pacer.ready_in(-8) > 59 and pacer.ready_in(-7) == 0.0 and pacer.ready_in(-9) == 0.0
