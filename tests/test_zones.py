"""Timezones as people type them: exact IANA names resolve, near misses get suggestions."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from digestbot import zones


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Asia/Kolkata", "Asia/Kolkata"),
        ("asia/kolkata", "Asia/Kolkata"),
        ("  EUROPE/LONDON  ", "Europe/London"),
        ("America/New_York", "America/New_York"),
        ("america/argentina/buenos_aires", "America/Argentina/Buenos_Aires"),
        ("UTC", "UTC"),
        ("utc", "UTC"),
    ],
)
def test_exact_names_resolve_in_any_case(typed, zone):
    assert zones.resolve(typed) == zone
    ZoneInfo(zones.resolve(typed) or "")  # a name the scheduler can actually use


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "kolkata",  # a city, not a zone name: suggested, never applied silently
        "IST",  # ambiguous abbreviation (India, Israel, Ireland)
        "EST",  # a legacy fixed-offset zone, not what people mean
        "New York",
        "Mars/Olympus_Mons",
        "Europe/Londn",
        "../../etc/passwd",
    ],
)
def test_anything_but_an_exact_name_does_not_resolve(typed):
    assert zones.resolve(typed) is None


@pytest.mark.parametrize(
    ("typed", "first"),
    [
        ("kolkata", "Asia/Kolkata"),
        ("Kolkata", "Asia/Kolkata"),
        ("IST", "Asia/Kolkata"),
        ("ist", "Asia/Kolkata"),
        ("new york", "America/New_York"),
        ("New_York", "America/New_York"),
        ("london", "Europe/London"),
        ("Europe/Londn", "Europe/London"),
        ("PST", "America/Los_Angeles"),
        ("tokyo", "Asia/Tokyo"),
        ("sao paulo", "America/Sao_Paulo"),
    ],
)
def test_near_misses_suggest_the_zone_people_mean_first(typed, first):
    suggestions = zones.suggest(typed)
    assert suggestions[0] == first
    assert len(suggestions) <= 3
    assert len(set(suggestions)) == len(suggestions)
    for name in suggestions:
        assert zones.resolve(name) == name  # every suggestion works when typed back


@pytest.mark.parametrize("typed", ["", "xyzzy-nowhere", "12345"])
def test_nonsense_gets_no_suggestions(typed):
    assert zones.suggest(typed) == []


def test_suggestions_respect_the_limit():
    assert len(zones.suggest("america/new", limit=1)) <= 1
