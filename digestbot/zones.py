"""Timezone names people type, mapped to IANA zones, with suggestions for near misses."""

from __future__ import annotations

import difflib
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

# Abbreviations are ambiguous (IST is India, Israel and Ireland); these are the
# readings most people mean, offered as suggestions, never applied silently.
ABBREVIATIONS: dict[str, str] = {
    "UTC": "UTC",
    "GMT": "Europe/London",
    "BST": "Europe/London",
    "WET": "Europe/Lisbon",
    "CET": "Europe/Berlin",
    "CEST": "Europe/Berlin",
    "EET": "Europe/Athens",
    "MSK": "Europe/Moscow",
    "IST": "Asia/Kolkata",
    "PKT": "Asia/Karachi",
    "ICT": "Asia/Bangkok",
    "WIB": "Asia/Jakarta",
    "SGT": "Asia/Singapore",
    "HKT": "Asia/Hong_Kong",
    "CST": "America/Chicago",
    "JST": "Asia/Tokyo",
    "KST": "Asia/Seoul",
    "AEST": "Australia/Sydney",
    "AEDT": "Australia/Sydney",
    "NZST": "Pacific/Auckland",
    "EST": "America/New_York",
    "EDT": "America/New_York",
    "CDT": "America/Chicago",
    "MST": "America/Denver",
    "MDT": "America/Denver",
    "PST": "America/Los_Angeles",
    "PDT": "America/Los_Angeles",
    "BRT": "America/Sao_Paulo",
    "SAST": "Africa/Johannesburg",
    "WAT": "Africa/Lagos",
    "EAT": "Africa/Nairobi",
}


@cache
def _zones() -> tuple[dict[str, str], dict[str, list[str]]]:
    """(lowercased full name -> name, lowercased city -> names)."""
    full: dict[str, str] = {}
    cities: dict[str, list[str]] = {}
    for name in available_timezones():
        odd = name.startswith(("Etc/", "SystemV/", "posix/", "right/")) or "/" not in name
        if odd and name != "UTC":
            continue
        full[name.lower()] = name
        city = name.rsplit("/", 1)[-1].lower()
        cities.setdefault(city, []).append(name)
        cities.setdefault(city.replace("_", " "), []).append(name)
    return full, cities


def resolve(text: str) -> str | None:
    """The IANA name for exactly what was typed (any case), or None."""
    typed = text.strip()
    if not typed:
        return None
    full, _ = _zones()
    name = full.get(typed.lower())
    if name is None:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def suggest(text: str, limit: int = 3) -> list[str]:
    """Zones the user probably meant: ``kolkata`` -> Asia/Kolkata, ``IST`` -> Asia/Kolkata."""
    typed = text.strip()
    full, cities = _zones()
    out: list[str] = []
    abbreviation = ABBREVIATIONS.get(typed.upper())
    if abbreviation:
        out.append(abbreviation)
    key = typed.lower().replace(" ", "_")
    out += cities.get(key, []) + cities.get(typed.lower(), [])
    for match in difflib.get_close_matches(key, list(cities), n=limit, cutoff=0.75):
        out += cities[match]
    for match in difflib.get_close_matches(key, list(full), n=limit, cutoff=0.75):
        out.append(full[match])
    return list(dict.fromkeys(out))[:limit]
