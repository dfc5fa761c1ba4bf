"""Status texts admins read: a broadcast's progress message and the /stats figures.

Kept apart from the handlers because the scheduled progress job (``jobs.py``) edits
the same messages the handlers first send, and jobs rank below handlers. Every text is
made in the current language (``i18n``): the handlers' update sets it, the job wraps
each admin's texts in ``i18n.use``.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from digestbot import i18n
from digestbot.bot.stats import Snapshot
from digestbot.briefs.render import clip, esc
from digestbot.delivery.broadcasts import Progress
from digestbot.i18n import N_, _
from digestbot.store.models import BroadcastStatus

# A broadcast's state as /broadcasts lists it (the stored value is English, for logs).
STATUS_NAMES: dict[str, str] = {
    BroadcastStatus.DRAFT: N_("draft"),
    BroadcastStatus.SENDING: N_("sending"),
    BroadcastStatus.DONE: N_("done"),
    BroadcastStatus.CANCELLED: N_("cancelled"),
}


def audience_text(tag: str | None) -> str:
    """Who a broadcast goes to, as a noun phrase the sentences around it can hold
    ("followers of #llm"); escaped. The audit log keeps the English of
    ``broadcasts.describe_audience``."""
    if tag:
        return _("followers of #{tag}").format(tag=esc(tag))
    return _("all active chats")


def status_name(status: str) -> str:
    name = STATUS_NAMES.get(status)
    return _(name) if name is not None else esc(status)


def local_moment(moment: datetime, zone: ZoneInfo) -> str:
    """ "08 Oct 20:00" in the admin's zone, the month as their language writes it."""
    local = moment.astimezone(zone)
    return f"{i18n.day(local.date(), format='dd MMM')} {local:%H:%M}"


def duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 90:
        return _("{n} s").format(n=i18n.number(seconds))
    if seconds < 90 * 60:
        return _("{n} min").format(n=i18n.number(round(seconds / 60)))
    return _("{n} h").format(n=f"{seconds / 3600:.1f}")


def _time_left(seconds: float) -> str:
    # rounded, a few messages still to go read "About 0 s left", as if it were over
    if seconds < 60:
        return _("Less than a minute left.")
    return _("About {duration} left.").format(duration=duration(seconds))


def _losses(p: Progress) -> str:
    c = p.counts
    losses = [
        _("{n} blocked the bot").format(n=i18n.number(c.blocked)) if c.blocked else "",
        i18n.count("{n} left or was deleted", "{n} left or were deleted", c.left) if c.left else "",
        _("{n} failed").format(n=i18n.number(c.failed)) if c.failed else "",
    ]
    return " · ".join(x for x in losses if x)


def progress_text(p: Progress) -> str:
    """The admin's status message for a broadcast under way or finished."""
    c = p.counts
    to = audience_text(p.tag)
    lost = _losses(p)
    sent, total = i18n.number(c.sent), i18n.number(p.audience)
    if p.status == BroadcastStatus.DONE:
        head = i18n.count(
            "✅ Broadcast #{id} to {audience} is done: <b>{sent} of {n} chat got it</b>.",
            "✅ Broadcast #{id} to {audience} is done: <b>{sent} of {n} chats got it</b>.",
            p.audience, id=p.id, audience=to, sent=sent,
        )  # fmt: skip
        took = _("Took {duration}.").format(duration=duration(p.elapsed_seconds))
        return head + (f"\n{lost}." if lost else "") + f"\n{took}"
    if p.status == BroadcastStatus.CANCELLED:
        head = i18n.count(
            "⏹ Broadcast #{id} to {audience} was stopped: <b>{sent} of {n} chat got it</b>,"
            " {cancelled} not sent.",
            "⏹ Broadcast #{id} to {audience} was stopped: <b>{sent} of {n} chats got it</b>,"
            " {cancelled} not sent.",
            p.audience, id=p.id, audience=to, sent=sent, cancelled=i18n.number(c.cancelled),
        )  # fmt: skip
        return head + (f"\n{lost}." if lost else "")
    lines = [
        _("📤 Broadcast #{id} to {audience}: sending…").format(id=p.id, audience=to),
        _("{sent} of {total} sent").format(sent=sent, total=total) + (f" · {lost}" if lost else ""),
    ]
    if p.eta_seconds is not None:
        lines.append(_time_left(p.eta_seconds))
    return "\n".join(lines)


def done_text(p: Progress) -> str:
    """The short message that tells the admin, with a sound, that a broadcast is over."""
    return i18n.count(
        "Broadcast #{id} is done: {sent} of {n} chat got it.",
        "Broadcast #{id} is done: {sent} of {n} chats got it.",
        p.audience, id=p.id, sent=i18n.number(p.counts.sent),
    )  # fmt: skip


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return _("never")
    return _("{duration} ago").format(duration=duration(max(0.0, (now - moment).total_seconds())))


def stats_text(s: Snapshot, zone: ZoneInfo) -> str:
    c = s.chats
    n = i18n.number
    lines = [
        _("<b>Stats</b> · {moment} ({zone})").format(
            moment=local_moment(s.now, zone), zone=esc(zone.key)
        ),
        "",
        _(
            "<b>Users</b>: {active} active ({paused} paused) · {inactive} inactive · "
            "{new} new this week"
        ).format(active=n(c.active), paused=n(c.paused), inactive=n(c.inactive), new=n(c.new)),
        "",
        _("<b>Top tags</b> (chats following)"),
    ]
    lines += [f"{i}. {esc(slug)}: {n(count)}" for i, (slug, count) in enumerate(s.top_tags, 1)]
    if not s.top_tags:
        lines.append(_("none followed yet"))
    failed = sum(count for _reason, count in s.digests_failed_today)
    lines += [
        "",
        _("<b>Digests today</b>: {sent} sent · {failed} failed").format(
            sent=n(s.digests_sent_today), failed=n(failed)
        ),
    ]
    # the reasons are Telegram's own words, as the logs have them: not translated
    lines += [f"  {n(count)} × {esc(reason)}" for reason, count in s.digests_failed_today[:5]]
    if (late := s.lateness_today) is not None:
        lines.append(
            _("  late after their time: {p50} median · {p95} p95 · {worst} worst").format(
                p50=duration(late.p50), p95=duration(late.p95), worst=duration(late.worst)
            )
        )
    lines.append(
        _("<b>Broadcast messages today</b>: {sent}").format(sent=n(s.broadcasts_sent_today))
    )
    if s.oldest_pending:
        outbox = _("<b>Outbox</b>: {waiting} waiting, oldest queued {ago}").format(
            waiting=n(s.outbox_depth), ago=_ago(s.oldest_pending, s.now)
        )
    else:
        outbox = _("<b>Outbox</b>: {waiting} waiting").format(waiting=n(s.outbox_depth))
    lines += ["", outbox]
    lines += ["", _("<b>Feeds</b>")]
    for feed in s.feeds:
        name = esc(clip(feed.url.split("://", 1)[-1], 60))
        if feed.last_error and (
            feed.last_success_at is None
            or (feed.last_error_at is not None and feed.last_error_at > feed.last_success_at)
        ):
            # the error is the fetcher's technical wording, as the logs have it
            lines.append(
                _("⚠️ {feed}: failing ({error}), last ok {ago}").format(
                    feed=name,
                    error=esc(clip(feed.last_error, 80)),
                    ago=_ago(feed.last_success_at, s.now),
                )
            )
        else:
            lines.append(
                _("✓ {feed}: ok {ago}").format(feed=name, ago=_ago(feed.last_success_at, s.now))
            )
    if not s.feeds:
        lines.append(_("none (FEED_URLS is empty)"))
    return "\n".join(lines)
