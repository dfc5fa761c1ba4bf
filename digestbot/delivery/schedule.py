"""When a chat's next digest is due: its local time on its days, in its timezone, in UTC.

Days are counted in the chat's own calendar, so a daylight-saving change neither
skips nor doubles a day: a time that does not exist that day (the spring-forward
gap) comes as late as the gap is long, and a time that happens twice (the autumn
fold) counts once, the first time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from digestbot.config import parse_hhmm
from digestbot.store.models import Frequency


@cache
def zone_of(name: str) -> ZoneInfo:
    """The zone called ``name``, kept: ``ZoneInfo`` itself keeps only the 8 last used
    alive, and planning a day of chats in a few dozen zones would read their files from
    disk again and again."""
    return ZoneInfo(name)


def runs_on(day: date, frequency: str, weekly_day: int) -> bool:
    """Whether a chat with this frequency gets a digest on this local day."""
    if frequency == Frequency.DAILY:
        return True
    if frequency == Frequency.WEEKDAYS:
        return day.weekday() < 5
    if frequency == Frequency.WEEKLY:
        return day.weekday() == weekly_day
    return False


def local_moment(day: date, at: time, zone: ZoneInfo) -> datetime:
    """``at`` on ``day`` in ``zone``, as UTC.

    ``fold=0`` is PEP 495's reading: a repeated wall time is its first occurrence, and a
    wall time in the spring-forward gap is read with the offset from before the jump,
    which lands it after the gap (02:30 that day becomes 03:30).
    """
    return datetime.combine(day, at).replace(tzinfo=zone, fold=0).astimezone(UTC)


def next_due(
    *, after: datetime, digest_time: str, timezone: str, frequency: str, weekly_day: int = 0
) -> datetime | None:
    """The first digest moment strictly after ``after`` (UTC), or None when the chat gets none."""
    if frequency == Frequency.OFF:
        return None
    zone = zone_of(timezone)
    at = parse_hhmm(digest_time)
    day = after.astimezone(zone).date()
    for _ in range(9):  # a weekly digest is at most 7 days away; two spare for DST edges
        if runs_on(day, frequency, weekly_day):
            moment = local_moment(day, at, zone)
            if moment > after:
                return moment
        day += timedelta(days=1)
    return None


def local_day(moment: datetime, timezone: str) -> date:
    """The calendar day ``moment`` falls on for a chat in ``timezone``."""
    return moment.astimezone(zone_of(timezone)).date()


def todays_due(
    *, now: datetime, digest_time: str, timezone: str, frequency: str, weekly_day: int = 0
) -> datetime | None:
    """Today's digest moment (the chat's own today) when it has one and it has come, else
    None: what a bot that was down for days still owes the chat today (catch-up)."""
    zone = zone_of(timezone)
    today = now.astimezone(zone).date()
    if frequency == Frequency.OFF or not runs_on(today, frequency, weekly_day):
        return None
    moment = local_moment(today, parse_hhmm(digest_time), zone)
    return moment if moment <= now else None
