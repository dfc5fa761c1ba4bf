"""Status texts admins read: a broadcast's progress message and the /stats figures.

Kept apart from the handlers because the scheduled progress job (``jobs.py``) edits
the same messages the handlers first send, and jobs rank below handlers.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from digestbot.bot.stats import Snapshot
from digestbot.briefs.render import clip, esc
from digestbot.delivery.broadcasts import Progress, describe_audience
from digestbot.store.models import BroadcastStatus
from digestbot.text import plural


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def _time_left(seconds: float) -> str:
    # rounded, a few messages still to go read "About 0 s left", as if it were over
    if seconds < 60:
        return "Less than a minute left."
    return f"About {_duration(seconds)} left."


def progress_text(p: Progress) -> str:
    """The admin's status message for a broadcast under way or finished."""
    c = p.counts
    to = esc(describe_audience(p.tag))
    losses = [
        f"{c.blocked:,} blocked the bot" if c.blocked else "",
        f"{c.left:,} left or {'was' if c.left == 1 else 'were'} deleted" if c.left else "",
        f"{c.failed:,} failed" if c.failed else "",
    ]
    lost = " · ".join(x for x in losses if x)
    if p.status == BroadcastStatus.DONE:
        got = f"<b>{c.sent:,} of {plural(p.audience, 'chat')} got it</b>"
        head = f"✅ Broadcast #{p.id} to {to} is done: {got}."
        return head + (f"\n{lost}." if lost else "") + f"\nTook {_duration(p.elapsed_seconds)}."
    if p.status == BroadcastStatus.CANCELLED:
        return (
            f"⏹ Broadcast #{p.id} to {to} was stopped: <b>{c.sent:,} of "
            f"{plural(p.audience, 'chat')} got it</b>, {c.cancelled:,} not sent."
            + (f"\n{lost}." if lost else "")
        )
    lines = [
        f"📤 Broadcast #{p.id} to {to}: sending…",
        f"{c.sent:,} of {p.audience:,} sent" + (f" · {lost}" if lost else ""),
    ]
    if p.eta_seconds is not None:
        lines.append(_time_left(p.eta_seconds))
    return "\n".join(lines)


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    return f"{_duration(max(0.0, (now - moment).total_seconds()))} ago"


def stats_text(s: Snapshot, zone: ZoneInfo) -> str:
    c = s.chats
    lines = [
        f"<b>Stats</b> · {s.now.astimezone(zone):%d %b %H:%M} ({esc(zone.key)})",
        "",
        f"<b>Users</b>: {c.active:,} active ({c.paused:,} paused) · {c.inactive:,} "
        f"inactive · {c.new:,} new this week",
        "",
        "<b>Top tags</b> (chats following)",
    ]
    lines += [f"{n}. {esc(slug)}: {count:,}" for n, (slug, count) in enumerate(s.top_tags, 1)]
    if not s.top_tags:
        lines.append("none followed yet")
    failed = sum(n for _, n in s.digests_failed_today)
    lines += ["", f"<b>Digests today</b>: {s.digests_sent_today:,} sent · {failed:,} failed"]
    lines += [f"  {n:,} × {esc(reason)}" for reason, n in s.digests_failed_today[:5]]
    if (late := s.lateness_today) is not None:
        lines.append(
            f"  late after their time: {_duration(late.p50)} median · "
            f"{_duration(late.p95)} p95 · {_duration(late.worst)} worst"
        )
    lines.append(f"<b>Broadcast messages today</b>: {s.broadcasts_sent_today:,}")
    oldest = f", oldest queued {_ago(s.oldest_pending, s.now)}" if s.oldest_pending else ""
    lines += ["", f"<b>Outbox</b>: {s.outbox_depth:,} waiting{oldest}"]
    lines += ["", "<b>Feeds</b>"]
    for feed in s.feeds:
        name = esc(clip(feed.url.split("://", 1)[-1], 60))
        if feed.last_error and (
            feed.last_success_at is None
            or (feed.last_error_at is not None and feed.last_error_at > feed.last_success_at)
        ):
            lines.append(
                f"⚠️ {name}: failing ({esc(clip(feed.last_error, 80))}), "
                f"last ok {_ago(feed.last_success_at, s.now)}"
            )
        else:
            lines.append(f"✓ {name}: ok {_ago(feed.last_success_at, s.now)}")
    if not s.feeds:
        lines.append("none (FEED_URLS is empty)")
    return "\n".join(lines)
