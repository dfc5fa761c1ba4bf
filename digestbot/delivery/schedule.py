"""When a chat's next digest is due: its local times on its days, in its timezone, in UTC;
and whether a moment falls in its quiet hours.

Days are counted in the chat's own calendar, so a daylight-saving change neither
skips nor doubles a day: a time that does not exist that day (the spring-forward
gap) comes as late as the gap is long, and a time that happens twice (the autumn
fold) counts once, the first time. A chat may have up to three times a day
("08:00,18:00"); each is one digest, and two that the gap moves onto the same moment
(02:30 and 03:30 on a day 02:00-03:00 does not exist) are one digest, holding both.
Quiet hours are wall-clock times too: "22:00-07:00" is quiet from 22:00 to 07:00 local,
whatever the offset that night.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from digestbot.config import parse_hhmm, parse_hhmm_range
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


@cache
def parse_times(digest_time: str) -> tuple[time, ...]:
    """A chat's digest times, "08:00" or "08:00,18:00", earliest first (kept: a day's
    planning reads the same few rules again and again)."""
    return tuple(sorted({parse_hhmm(part) for part in digest_time.split(",")}))


def next_due(
    *, after: datetime, digest_time: str, timezone: str, frequency: str, weekly_day: int = 0
) -> datetime | None:
    """The first digest moment strictly after ``after`` (UTC), or None when the chat gets
    none. ``digest_time`` is one local time or several, comma-separated."""
    if frequency == Frequency.OFF:
        return None
    zone = zone_of(timezone)
    times = parse_times(digest_time)
    day = after.astimezone(zone).date()
    for _ in range(9):  # a weekly digest is at most 7 days away; two spare for DST edges
        if runs_on(day, frequency, weekly_day):
            # the earliest moment, not the first time: a time in the spring-forward gap
            # (02:30 read as 03:30) may come after a later one (03:00) that day
            moments = [m for at in times if (m := local_moment(day, at, zone)) > after]
            if moments:
                return min(moments)
        day += timedelta(days=1)
    return None


def local_day(moment: datetime, timezone: str) -> date:
    """The calendar day ``moment`` falls on for a chat in ``timezone``."""
    return moment.astimezone(zone_of(timezone)).date()


def todays_due(
    *, now: datetime, digest_time: str, timezone: str, frequency: str, weekly_day: int = 0
) -> datetime | None:
    """Today's latest digest moment that has come (the chat's own today), else None: what
    a bot that was down for days still owes the chat today (catch-up; one digest, holding
    everything since the last one, however many of today's times passed)."""
    zone = zone_of(timezone)
    today = now.astimezone(zone).date()
    if frequency == Frequency.OFF or not runs_on(today, frequency, weekly_day):
        return None
    come = [m for at in parse_times(digest_time) if (m := local_moment(today, at, zone)) <= now]
    return max(come, default=None)


@cache
def parse_quiet(quiet_hours: str) -> tuple[time, time]:
    """A chat's quiet hours, "22:00-07:00", as (start, end) (kept, as parse_times)."""
    return parse_hhmm_range(quiet_hours)


def is_quiet(moment: datetime, *, quiet_hours: str, timezone: str) -> bool:
    """Whether ``moment`` falls in the chat's quiet hours, on its wall clock: from the
    start (included) to the end (excluded), across midnight when the end comes first."""
    if not quiet_hours:  # "": none
        return False
    start, end = parse_quiet(quiet_hours)
    wall = moment.astimezone(zone_of(timezone)).time().replace(tzinfo=None)
    if start < end:
        return start <= wall < end
    return wall >= start or wall < end
