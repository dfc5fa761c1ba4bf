"""The schedule rules alone (delivery/schedule.py): several times a day, catch-up and quiet
hours, across both daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from digestbot.delivery.schedule import is_quiet, next_due, todays_due


def walk(start: datetime, end: datetime, times: str, zone: str) -> list[datetime]:
    """Every digest moment from ``start`` to ``end``, as the planner moves through them."""
    found, at = [], start
    while (at := next_due(after=at, digest_time=times, timezone=zone, frequency="daily")) < end:
        found.append(at)
    return found


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_spring_forward_keeps_every_time_in_the_order_they_come():
    # New York, 8 March 2026: 02:00 EST jumps to 03:00 EDT; 02:30 is read as 03:30
    moments = walk(utc(2026, 3, 8, 5), utc(2026, 3, 9, 5), "02:30,03:00,20:00", "America/New_York")
    assert moments == [utc(2026, 3, 8, 7), utc(2026, 3, 8, 7, 30), utc(2026, 3, 9, 0)]


def test_fall_back_counts_a_repeated_time_once_the_first_time():
    # New York, 1 November 2026: 02:00 EDT falls back to 01:00 EST; 01:30 happens twice
    moments = walk(utc(2026, 11, 1, 4), utc(2026, 11, 2, 5), "01:30,02:00", "America/New_York")
    assert moments == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 7)]


def test_two_times_the_gap_moves_onto_one_moment_make_one_digest():
    # Berlin, 29 March 2026: 02:30 does not exist and is read as 03:30
    moments = walk(utc(2026, 3, 28, 23), utc(2026, 3, 29, 22), "02:30,03:30", "Europe/Berlin")
    assert moments == [utc(2026, 3, 29, 1, 30)]


def test_catch_up_owes_the_latest_time_that_has_come_today():
    rule = {"digest_time": "08:00,13:00,18:00", "timezone": "Asia/Kolkata", "frequency": "daily"}
    assert todays_due(now=utc(2026, 11, 27, 2), **rule) is None  # 07:30 IST
    assert todays_due(now=utc(2026, 11, 27, 9), **rule) == utc(2026, 11, 27, 7, 30)  # 14:30
    assert todays_due(now=utc(2026, 11, 27, 18), **rule) == utc(2026, 11, 27, 12, 30)


@pytest.mark.parametrize(
    ("moment", "quiet"),
    [
        (utc(2026, 11, 27, 20, 59), False),  # 21:59 CET
        (utc(2026, 11, 27, 21, 0), True),  # 22:00: the start is quiet
        (utc(2026, 11, 28, 3, 0), True),  # 04:00
        (utc(2026, 11, 28, 5, 59), True),  # 06:59
        (utc(2026, 11, 28, 6, 0), False),  # 07:00: the end is not
        (utc(2026, 10, 25, 0, 30), True),  # 02:30 CEST, the night the clocks go back
        (utc(2026, 10, 25, 5, 30), True),  # 06:30 CET: an hour longer that night
        (utc(2026, 10, 25, 6, 0), False),  # 07:00 CET
    ],
)
def test_quiet_hours_across_midnight_on_the_wall_clock(moment, quiet):
    assert is_quiet(moment, quiet_hours="22:00-07:00", timezone="Europe/Berlin") is quiet


def test_quiet_hours_within_a_day_and_none():
    at_noon = utc(2026, 11, 27, 12)
    assert is_quiet(at_noon, quiet_hours="09:00-17:00", timezone="UTC")
    assert not is_quiet(at_noon, quiet_hours="13:00-17:00", timezone="UTC")
    assert not is_quiet(at_noon, quiet_hours="", timezone="UTC")
