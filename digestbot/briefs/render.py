"""Briefs, digests, summaries and watch lists as Telegram HTML messages.

Rules every message here follows, so Telegram never rejects one:
- every piece of brief text goes through :func:`esc` (briefs hold ``<``, ``>``, ``&``);
- only tags Telegram's HTML accepts are emitted (``b``, ``i``, ``a``, ``code``);
- a message is at most 4096 characters (counted in UTF-16 units, as Telegram does)
  and at most 100 entities; :func:`pack` splits between items, never inside one.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from urllib.parse import urlsplit

from digestbot import i18n
from digestbot.briefs.parse import SECTIONS, BriefData
from digestbot.i18n import N_, _
from digestbot.store import Item, Source

MAX_CHARS = 4096
MAX_ENTITIES = 100
# A piece of a long brief section: with its heading (a few dozen units, one entity) and
# the separator it still fits a message, so packing never has to cut it.
PIECE_UNITS = 3000
PIECE_ENTITIES = MAX_ENTITIES - 10
ITEM_SEP = "\n\n"
_OPENING_TAG = re.compile(r"<(?:b|i|a|code|u|s|pre|blockquote|span|tg-spoiler)\b")
# What Telegram turns into entities by itself: commands, links, hashtags, mentions.
_AUTO_ENTITY = re.compile(
    r"(?:^|(?<=[\s(]))(?:/[A-Za-z0-9_]+|#\w+|@\w{4,})|https?://|\bwww\.", re.MULTILINE
)
_MARKUP = re.compile(r"<[^>]+>")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def esc(text: str) -> str:
    """Brief text made safe for Telegram HTML."""
    return html.escape(text, quote=False)


def esc_attr(text: str) -> str:
    return html.escape(text, quote=True)


def utf16_len(text: str) -> int:
    """Length as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


def plain_text(html_text: str) -> str:
    """Telegram HTML as the plain text it shows (also the resend after a parse error)."""
    return html.unescape(_MARKUP.sub("", html_text))


def entity_count(html_text: str) -> int:
    """An upper bound on the entities Telegram makes of this HTML (tags, commands, links)."""
    visible = plain_text(html_text)
    return len(_OPENING_TAG.findall(html_text)) + len(_AUTO_ENTITY.findall(visible))


def visible_len(html_text: str) -> int:
    """The length Telegram checks: the text after parsing, in UTF-16 units."""
    return utf16_len(plain_text(html_text))


def fits(html_text: str) -> bool:
    return visible_len(html_text) <= MAX_CHARS and entity_count(html_text) <= MAX_ENTITIES


def clip(text: str, limit: int) -> str:
    """Plain text cut at a word boundary to at most ``limit`` characters, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + "…"


def first_sentences(text: str, limit: int) -> str:
    """Whole leading sentences that fit in ``limit`` characters (at least a clipped first one)."""
    out = ""
    for sentence in _SENTENCE.split(" ".join(text.split())):
        candidate = f"{out} {sentence}".strip()
        if len(candidate) > limit:
            break
        out = candidate
    return out or clip(text, limit)


def _cut_units(word: str, limit: int) -> list[str]:
    """A word in chunks of at most ``limit`` UTF-16 units, never inside a code point."""
    chunks: list[str] = []
    start = units = 0
    for i, char in enumerate(word):
        size = 2 if ord(char) > 0xFFFF else 1  # outside the BMP: a surrogate pair
        if units + size > limit:
            chunks.append(word[start:i])
            start, units = i, 0
        units += size
    chunks.append(word[start:])
    return chunks


def _split_plain(text: str, limit: int = PIECE_UNITS, entities: int = PIECE_ENTITIES) -> list[str]:
    """Plain text in pieces of at most ``limit`` UTF-16 units (as Telegram counts) and
    ``entities`` entities Telegram would make of it (hashtags, links...), cut between
    words, inside one only when a word is longer than a piece. Nothing is lost but the
    whitespace at the cuts."""
    pieces: list[str] = []
    current: list[str] = []
    length = count = 0

    def flush() -> None:
        nonlocal length, count
        piece = "".join(current).strip()
        if piece:
            pieces.append(piece)
        current.clear()
        length = count = 0

    for token in re.split(r"(\s+)", text):
        if not token:
            continue
        units = utf16_len(token)
        found = 0 if token.isspace() else len(_AUTO_ENTITY.findall(token))
        if units > limit:  # a single "word" longer than a piece
            flush()
            *whole, token = _cut_units(token, limit)
            pieces.extend(whole)
            units, found = utf16_len(token), len(_AUTO_ENTITY.findall(token))
        elif length + units > limit or count + found > entities:
            flush()
        current.append(token)
        length += units
        count += found
    flush()
    return pieces


@dataclass(frozen=True, slots=True)
class Block:
    """A piece of HTML with its measure, so packing many digests measures each item once."""

    html: str
    length: int  # visible length in UTF-16 units
    entities: int


def measure(html_text: str) -> Block:
    return Block(html_text, visible_len(html_text), entity_count(html_text))


def pack(
    blocks: Iterable[str], *, header: str = "", footer: str = "", sep: str = ITEM_SEP
) -> list[str]:
    """Blocks of HTML joined (by ``sep``) into as few messages as fit Telegram's limits.

    The header opens the first message and the footer closes the last; a message
    never breaks inside a block.
    """
    return pack_measured(map(measure, blocks), header=header, footer=footer, sep=sep)


def pack_measured(
    blocks: Iterable[Block], *, header: str = "", footer: str = "", sep: str = ITEM_SEP
) -> list[str]:
    """:func:`pack` for blocks measured beforehand; lengths add up as the blocks join."""
    head = [measure(header)] if header else []
    foot = [measure(footer)] if footer else []
    groups = pack_groups([*head, *blocks, *foot], sep=sep)
    return [sep.join(b.html for b in group) for group in groups]


def pack_groups(blocks: Iterable[Block], *, sep: str = ITEM_SEP) -> list[list[Block]]:
    """Measured blocks in the messages they make, in order: a message takes blocks while
    they fit Telegram's limits (a block too big for any message is cut down to fit)."""
    gap = len(sep)
    blocks = list(blocks)
    # most digests fit one message: checked in two sums, not block by block (the
    # planner packs half a million distinct digests on a busy day)
    if (
        sum(b.length for b in blocks) + gap * (len(blocks) - 1) <= MAX_CHARS
        and sum(b.entities for b in blocks) <= MAX_ENTITIES
    ):
        return [blocks] if blocks else []
    groups: list[list[Block]] = []
    group: list[Block] = []
    length = entities = 0
    for block in blocks:
        if group and (
            length + gap + block.length > MAX_CHARS or entities + block.entities > MAX_ENTITIES
        ):
            groups.append(group)
            group = []
            length = entities = 0
        if not fits_measured(block):
            block = measure(_truncate_block(block.html))
        length += block.length + (gap if group else 0)
        entities += block.entities
        group.append(block)
    if group:
        groups.append(group)
    return groups


def fits_measured(block: Block) -> bool:
    return block.length <= MAX_CHARS and block.entities <= MAX_ENTITIES


def _truncate_block(block: str) -> str:
    # A last resort, for a block that is one item of a digest (the planner counts the
    # items in each message, so it may not become two): briefs' long text is split
    # beforehand (see _split_plain) and never gets here. Markup is stripped rather
    # than ever cut inside a tag.
    first = _split_plain(plain_text(block), MAX_CHARS - 1, MAX_ENTITIES)
    return esc(first[0] + "…") if first else ""


# --- pieces -----------------------------------------------------------------------------


def score_badge(score: int) -> str:
    return f"<b>{score}/10</b>"


def brief_link(item_id: int) -> str:
    return f"/brief_{item_id}"


def when(moment: datetime, zone: tzinfo) -> str:
    """A moment on the reader's clock, its date as their language writes it."""
    local = moment.astimezone(zone)
    return f"{i18n.day(local.date(), format='d MMM y')}, {local:%H:%M}"


def short_day(day: date) -> str:
    """A day in a heading: "27 Nov", "27 नव॰"."""
    return i18n.day(day, format="d MMM")


def tag_line(tags: Sequence[str]) -> str:
    return "<i>" + esc(" · ".join(tags)) + "</i>" if tags else ""


def title_html(brief: BriefData) -> str:
    title = esc(brief.title)
    if brief.url:
        return f'<a href="{esc_attr(brief.url)}"><b>{title}</b></a>'
    return f"<b>{title}</b>"


GIST = 80  # one line on a phone


def gist(brief: BriefData) -> str | None:
    """The first sentence of *Why it matters*, clipped to one line on a phone."""
    if not brief.why_it_matters:
        return None
    first = _SENTENCE.split(" ".join(brief.why_it_matters.split()), maxsplit=1)[0]
    return clip(first, GIST) or None


def digest_item(item: Item, *, compact: bool = False) -> str:
    """One brief in a digest: score and category, title, its gist line (unless
    ``compact``), tags and the link to read it."""
    b = item.brief
    meta = f"{score_badge(b.score)} · {esc(b.category)}"
    line = None if compact else gist(b)
    under = f"\n<i>{esc(line)}</i>" if line else ""
    return f"{meta}\n{title_html(b)}{under}\n{tag_line(b.tags)}  {brief_link(item.id)}"


def summary_line(item: Item) -> str:
    """One line: score, title, link."""
    return (
        f"{score_badge(item.brief.score)} {esc(clip(item.brief.title, 140))} {brief_link(item.id)}"
    )


def watch_point(item: Item) -> str | None:
    """The brief's "what to watch next" as one bullet, or None when it has none."""
    if not item.brief.what_to_watch:
        return None
    point = first_sentences(item.brief.what_to_watch, 280)
    return f"• {esc(point)}\n   <i>{esc(clip(item.brief.title, 80))}</i> {brief_link(item.id)}"


# --- whole messages ---------------------------------------------------------------------


def digest(
    items: Sequence[Item],
    *,
    heading: str,
    more: int = 0,
    note: str | None = None,
    compact: bool = False,
) -> list[str]:
    """A digest: heading, the items best first, and "+N more" when capped."""
    header = f"<b>{esc(heading)}</b>"
    if note:
        header += f"\n{esc(note)}"
    blocks = (digest_item(i, compact=compact) for i in items)
    return pack(blocks, header=header, footer=more_footer(more))


def digest_heading(day: date) -> str:
    """The heading of a digest, on the chat's own date, in the current language."""
    # TRANSLATORS: {day} is a short date in your language ("27 Nov").
    return _("Your digest · {day}").format(day=short_day(day))


def digest_header(day: date) -> str:
    return f"<b>{esc(digest_heading(day))}</b>"


def more_footer(more: int) -> str:
    return i18n.count("+{n} more: /digest", "+{n} more: /digest", more) if more > 0 else ""


def digest_part(
    items: Sequence[Item], *, day: date | None, more: int, compact: bool = False
) -> list[str]:
    """One message of a scheduled digest as the planner split it (see planner.py): the
    heading when it is the first, "+N more" when it is the last, in the current language.
    One message, unless a brief grew since planning."""
    blocks = [measure(digest_item(i, compact=compact)) for i in items]
    return digest_part_measured(blocks, day=day, more=more)


def digest_part_measured(blocks: Sequence[Block], *, day: date | None, more: int) -> list[str]:
    """:func:`digest_part` from items measured beforehand (a batch measures each once)."""
    header = digest_header(day) if day is not None else ""
    return pack_measured(blocks, header=header, footer=more_footer(more))


def summary(items: Sequence[Item], *, heading: str) -> list[str]:
    """The thirty-second read: one line per brief."""
    # one line a block, joined by single newlines: grouping a dozen lines a block put the
    # packer's blank-line separator after every 12th line. The blank line under the
    # heading is the heading's own.
    header = f"<b>{esc(heading)}</b>\n"
    return pack([summary_line(i) for i in items], header=header, sep="\n")


def watch_list(items: Sequence[Item], *, heading: str) -> list[str]:
    """What to watch next: one bullet per brief, identical points said once."""
    seen: set[str] = set()
    points: list[str] = []
    for item in items:
        key = " ".join((item.brief.what_to_watch or "").lower().split())
        point = watch_point(item)
        if point is None or key in seen:
            continue
        seen.add(key)
        points.append(point)
    return pack(points, header=f"<b>{esc(heading)}</b>")


# The sections' headings as a reader sees them (the card headings in SECTIONS are the
# format briefs are written in, and stay English).
SECTION_HEADINGS: dict[str, str] = {
    "what_happened": N_("What happened"),
    "technical_details": N_("Technical details"),
    "why_it_matters": N_("Why it matters"),
    "what_to_watch": N_("What to watch next"),
}

MAX_SOURCES_SHOWN = 10  # each is a link entity; a message may hold 100


def _host(url: str) -> str:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        host = None
    return clip(host.removeprefix("www.") if host else url, 60)


def sources_line(sources: Sequence[Source]) -> str:
    """ "Sources: example.com via feeds.example.org · other.net": each link once, named by
    its host (the link itself in the attribute), with the feeds that carried it."""
    links: dict[str | None, list[str]] = {}
    for source in sources:
        via = links.setdefault(source.url, [])
        if source.feed_url and _host(source.feed_url) not in via:
            via.append(_host(source.feed_url))
    parts: list[str] = []
    for url, via in links.items():
        if url is None and not via:
            continue
        shown = f'<a href="{esc_attr(url)}">{esc(_host(url))}</a>' if url else _("no link")
        if via:
            # TRANSLATORS: {link} is a linked site name, {feeds} the feeds that carried it.
            shown = _("{link} via {feeds}").format(link=shown, feeds=esc(", ".join(via[:3])))
        parts.append(shown)
    if not parts:
        return ""
    more = len(parts) - MAX_SOURCES_SHOWN
    shown_parts = " · ".join(parts[:MAX_SOURCES_SHOWN])
    if more > 0:
        shown_parts += " · " + i18n.count("+{n} more", "+{n} more", more)
    return i18n.count("Source: {links}", "Sources: {links}", len(parts), links=shown_parts)


def full_brief(item: Item, *, zone: tzinfo, sources: Sequence[Source] = ()) -> list[str]:
    """One brief in full: every section, split into several messages only if it must be.

    ``sources`` (the links and feeds it came from) close it; without them, its own link.
    """
    b = item.brief
    head = (
        f"{score_badge(b.score)} · {esc(b.category)} · {esc(when(b.published_at, zone))}\n"
        f"{title_html(b)}"
    )
    blocks: list[str] = []
    if b.summary:
        blocks += [esc(p) for p in _split_plain(b.summary)]
    for name, _card_heading in SECTIONS:
        parts = _split_plain(getattr(b, name) or "")
        if not parts:
            continue
        blocks.append(f"<b>{esc(_(SECTION_HEADINGS[name]))}</b>\n{esc(parts[0])}")
        blocks += [esc(p) for p in parts[1:]]
    origin = sources_line(sources or ([Source(b.url, None)] if b.url else []))
    footer = "\n".join(part for part in (tag_line(b.tags), origin) if part)
    return pack(blocks, header=head, footer=footer)


def alert(item: Item) -> str:
    """An instant alert: one brief as a digest shows it, under a heading that says why it
    came now (see delivery/alerts.py), in the current language."""
    return _("<b>🔔 Alert</b>") + f"\n{digest_item(item)}"
