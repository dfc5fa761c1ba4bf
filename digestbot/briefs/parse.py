"""Briefs: the parsed form, and parsers for text cards and JSON / JSON Lines.

Every parser here either returns :class:`BriefData` or raises
:class:`~digestbot.errors.BriefParseError` with a reason a person can act on.
Feeds (JSON Feed, RSS, Atom) live in :mod:`digestbot.briefs.feeds`, which reuses
:func:`brief_from_mapping` for brief-shaped JSON.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from digestbot.errors import BriefParseError
from digestbot.store.models import SECTIONS, BriefData

__all__ = ["SECTIONS", "BriefData", "Rejected", "parse_card", "parse_json_text"]


MAX_TITLE = 500
MAX_TEXT = 20_000
MAX_TAGS = 30
MAX_TAG_LEN = 64
MAX_ID = 512
DEFAULT_FEED_SCORE = 5

_SLUG_OK = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SLUG_JUNK = re.compile(r"[^a-z0-9]+")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the only line ends of cards and JSON Lines


# Tags whose punctuation is their meaning, spelled out so that C, C++ and C# stay three
# tags and slugs stay [a-z0-9-] (Telegram deep links and #hashtags allow nothing else).
_SPELL_OUT = (
    (re.compile(r"\+\+"), " plus plus "),
    (re.compile(r"\+"), " plus "),
    (re.compile(r"(?<=[a-z0-9])#"), " sharp "),
    (re.compile(r"(?:^|(?<=\s))\.(?=[a-z])"), "dot "),
)


def slugify(tag: str) -> str:
    """``#Generative AI`` -> ``generative-ai``, ``C++`` -> ``c-plus-plus``, ``C#`` ->
    ``c-sharp``, ``.NET`` -> ``dot-net``, ``Réseaux`` -> ``reseaux``; empty string when
    nothing is left."""
    # Accents go (Réseaux -> reseaux) rather than splitting the word at each accented letter.
    decomposed = unicodedata.normalize("NFKD", tag.strip().lstrip("#").lower())
    text = "".join(char for char in decomposed if not unicodedata.combining(char))
    for pattern, spelled in _SPELL_OUT:
        text = pattern.sub(spelled, text)
    return _SLUG_JUNK.sub("-", text).strip("-")[:MAX_TAG_LEN].strip("-")


def check_text(value: str, what: str) -> str:
    """``value`` unless it holds what no store can keep: a lone surrogate.

    JSON's ``"\\ud800"`` and some codecs produce them; they fail the UTF-8 encoding
    of the whole database write, so they are refused here, item by item.
    """
    for index, char in enumerate(value):
        if "\ud800" <= char <= "\udfff":
            raise BriefParseError(
                f"{what} is not valid text (a lone surrogate U+{ord(char):04X} at character "
                f"{index + 1})"
            )
    return value


def is_slug(text: str) -> bool:
    """True for a tag already in slug form (lowercase a-z, 0-9 and single dashes)."""
    return len(text) <= MAX_TAG_LEN and _SLUG_OK.match(text) is not None


def normalize_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Slugify, drop empties and repeats, keep order; at least one tag or an error."""
    seen: dict[str, None] = {}
    for raw in tags:
        slug = slugify(check_text(raw, "a tag"))
        if slug:
            seen.setdefault(slug, None)
    if not seen:
        raise BriefParseError("no tags")
    if len(seen) > MAX_TAGS:
        raise BriefParseError(f"too many tags ({len(seen)}, at most {MAX_TAGS})")
    return tuple(seen)


def check_score(value: object) -> int:
    """An importance score 0..10, from an int or a string like ``4`` or ``4/10``."""
    if isinstance(value, bool):
        raise BriefParseError(f"score must be a whole number 0..10, not {value!r}")
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d{1,3})\s*(?:/\s*10\s*)?", value)
        if not m:
            raise BriefParseError(f"score must be a whole number 0..10, not {value!r}")
        value = int(m.group(1))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or not 0 <= value <= 10:
        raise BriefParseError(f"score must be a whole number 0..10, not {value!r}")
    return value


def parse_timestamp(value: object) -> datetime:
    """An ISO 8601 timestamp as aware UTC; one without an offset is taken as UTC."""
    if not isinstance(value, str) or not value.strip():
        raise BriefParseError("published_at is missing")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise BriefParseError(f"published_at is not an ISO 8601 time: {value!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00
        raise BriefParseError(f"published_at is out of range: {value!r}") from None


def _text(
    obj: Mapping[str, Any], key: str, *, required: bool = False, limit: int = MAX_TEXT
) -> str | None:
    value = obj.get(key)
    if isinstance(value, str):
        value = value.replace("\x00", "")  # NUL is no text, and PostgreSQL refuses it
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise BriefParseError(f"{key} is missing")
        return None
    if not isinstance(value, str):
        raise BriefParseError(f"{key} must be text, not {type(value).__name__}")
    value = check_text(value, key).strip()
    if len(value) > limit:
        raise BriefParseError(f"{key} is too long ({len(value)} characters, at most {limit})")
    return value


def _url(obj: Mapping[str, Any]) -> str | None:
    url = _text(obj, "url", limit=2048)
    # Rendered as a link in Telegram: only web links, never javascript: or tg: ones.
    if url is not None and not url.lower().startswith(("http://", "https://")):
        raise BriefParseError("url must start with http:// or https://")
    return url


def brief_from_mapping(obj: object, *, default_score: int | None = None) -> BriefData:
    """A brief from one JSON object shaped as in the format README."""
    if not isinstance(obj, Mapping):
        raise BriefParseError(f"expected a JSON object, got {type(obj).__name__}")
    title = _text(obj, "title", required=True, limit=MAX_TITLE)
    assert title is not None
    if "\n" in title:
        title = " ".join(title.split())
    raw_score = obj.get("score")
    if raw_score is None:
        if default_score is None:
            raise BriefParseError("score is missing")
        score = default_score
    else:
        score = check_score(raw_score)
    category = _text(obj, "category", required=True, limit=200)
    assert category is not None
    tags_value = obj.get("tags")
    if tags_value is None:
        raise BriefParseError("no tags")
    if isinstance(tags_value, str):
        tags_value = [tags_value]
    if not isinstance(tags_value, list) or not all(isinstance(t, str) for t in tags_value):
        raise BriefParseError("tags must be a list of strings")
    source_id = obj.get("id")
    if source_id is not None and not isinstance(source_id, str | int):
        raise BriefParseError("id must be text")
    if isinstance(source_id, str):
        check_text(source_id, "id")
    if source_id is not None and len(str(source_id)) > MAX_ID:
        raise BriefParseError(f"id is too long (at most {MAX_ID} characters)")
    return BriefData(
        title=title,
        score=score,
        category=category,
        published_at=parse_timestamp(obj.get("published_at")),
        tags=normalize_tags(tags_value),
        summary=_text(obj, "summary"),
        what_happened=_text(obj, "what_happened"),
        technical_details=_text(obj, "technical_details"),
        why_it_matters=_text(obj, "why_it_matters"),
        what_to_watch=_text(obj, "what_to_watch"),
        url=_url(obj),
        id=None if source_id is None else str(source_id).replace("\x00", "").strip() or None,
    )


@dataclass(frozen=True, slots=True)
class Rejected:
    """One input item that is not a brief, and why."""

    source: str
    reason: str


def parse_json_text(
    text: str, *, source: str = "<json>", default_score: int | None = None
) -> list[BriefData | Rejected]:
    """Briefs from one JSON object, a JSON array of them, or JSON Lines.

    One bad item is reported as :class:`Rejected` (naming ``source`` and the item)
    and never stops the others; text that is not JSON at all raises.
    """
    text = text.removeprefix("\ufeff")
    stripped = text.strip()
    if not stripped:
        raise BriefParseError("empty file", source=source)
    try:
        document: Any = _json_loads(stripped)
    except json.JSONDecodeError:
        return _parse_json_lines(
            text, source=source, default_score=default_score
        )  # unstripped: line numbers stay true
    items = document if isinstance(document, list) else [document]
    label = "item" if isinstance(document, list) else None
    out: list[BriefData | Rejected] = []
    for index, item in enumerate(items, start=1):
        where = f"{source} {label} {index}" if label else source
        try:
            out.append(brief_from_mapping(item, default_score=default_score))
        except BriefParseError as exc:
            out.append(Rejected(where, exc.reason))
    return out


def _json_loads(text: str) -> Any:
    """json.loads whose every failure is a JSONDecodeError (also deep nesting, huge numbers)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, 0) from None
    except ValueError:  # an integer beyond sys.get_int_max_str_digits()
        raise json.JSONDecodeError("number too long", text, 0) from None


def _parse_json_lines(
    text: str, *, source: str, default_score: int | None = None
) -> list[BriefData | Rejected]:
    out: list[BriefData | Rejected] = []
    lines = _LINE_BREAK.split(text)  # not splitlines(): U+2028 and kin may sit inside strings
    parsed_any = False
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            obj = _json_loads(line)
        except json.JSONDecodeError as exc:
            out.append(Rejected(where, f"not valid JSON ({exc.msg} at column {exc.colno})"))
            continue
        parsed_any = True
        try:
            out.append(brief_from_mapping(obj, default_score=default_score))
        except BriefParseError as exc:
            out.append(Rejected(where, exc.reason))
    if not parsed_any:
        raise BriefParseError("not valid JSON or JSON Lines", source=source)
    return out


# --- text cards ---------------------------------------------------------------------------------

_MAX_CATEGORY = 200  # the same cap brief_from_mapping puts on a JSON category
_BACK_TO_FEED = re.compile(r"(?:[\u2190<\u2039\u00ab]\s*)?back\s+to\s+feed", re.IGNORECASE)
_SCORE_LINE = re.compile(r"(?P<value>\S+?)\s*/\s*10")
_SCORE_VALUE = re.compile(r"[+-]?[0-9]+")
_PUBLISHED = re.compile(
    r"(?P<day>[0-9]{1,2})(?:st|nd|rd|th)?\s+(?P<month>[a-z]+)\.?(?:\s*,\s*|\s+)(?P<year>[0-9]{4})"
    r"(?:\s*,\s*|\s+)(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2}))?"
    r"(?:\s*(?:UTC|GMT|Z))?",
    re.IGNORECASE,
)
_PUBLISHED_EXAMPLE = "1 May 2026, 02:01 UTC"
_MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
_TAG_LINE = re.compile(rf"#?[A-Za-z0-9][A-Za-z0-9_-]{{0,{MAX_TAG_LEN - 1}}}")
# A sentence end: . ? ! ) ] straight quotes, closing curly quotes and », the ellipsis,
# and the CJK full stop and full-width ! and ?.
_SENTENCE_END = r"""[.?!)\]"'\u201d\u2019\u00bb\u2026\u3002\uff01\uff1f]"""
_HEADING = re.compile(
    rf"(?:^|(?<={_SENTENCE_END}))(?:"
    + "|".join(
        rf"(?P<{name}>" + r"[^\S\n]+".join(map(re.escape, heading.split())) + ")"
        for name, heading in SECTIONS
    )
    + r")[^\S\n]*:?[^\S\n]*$",
    re.IGNORECASE | re.MULTILINE,
)
"""A section heading: at a line start or glued right after a sentence end, and ending its line."""
_SECTION_ORDER = {name: index for index, (name, _) in enumerate(SECTIONS)}
_SECTION_HEADING = dict(SECTIONS)


def _quoted(line: str, limit: int = 40) -> str:
    """A line for an error message: quoted, and cut short when long."""
    return repr(line if len(line) <= limit else line[: limit - 1] + "…")


def _card_lines(text: str) -> list[str]:
    """The card's non-blank lines, stripped, without a BOM or a leading "Back to feed"."""
    lines = [s for line in _LINE_BREAK.split(text.removeprefix("\ufeff")) if (s := line.strip())]
    if lines and _BACK_TO_FEED.fullmatch(lines[0]):
        del lines[0]
    return lines


def _card_score(line: str) -> int:
    """The score from a line like ``4/10``."""
    m = _SCORE_LINE.fullmatch(line)
    if m is None:
        raise BriefParseError("no score line (expected something like 4/10)")
    value = m["value"]
    if not _SCORE_VALUE.fullmatch(value):
        raise BriefParseError(f"score {_quoted(value)} is not a whole number 0..10")
    score = int(value) if len(value) <= 4 else None  # (a thousand digits would be slow to int())
    if score is None or not 0 <= score <= 10:
        raise BriefParseError(f"score {value[:12]} is out of range 0..10")
    return score


def _card_published(line: str | None) -> datetime:
    """The publish time (aware UTC) from a line like ``1 May 2026, 02:01 UTC``."""
    m = _PUBLISHED.fullmatch(line or "")
    if m is None:
        got = "" if line is None else f", got {_quoted(line)}"
        raise BriefParseError(f"no publish time (expected like {_PUBLISHED_EXAMPLE!r}{got})")
    name = m["month"].lower()
    months = [n for n, full in enumerate(_MONTHS, start=1) if full.startswith(name)]
    if len(name) < 3 or len(months) != 1:
        raise BriefParseError(f"unknown month {m['month']!r} in publish time {_quoted(m[0])}")
    try:
        return datetime(
            int(m["year"]), months[0], int(m["day"]),
            int(m["hour"]), int(m["minute"]), int(m["second"] or 0),
            tzinfo=UTC,
        )  # fmt: skip
    except ValueError:
        raise BriefParseError(f"publish time {_quoted(m[0])} is not a real date and time") from None


def _split_tags(lines: list[str]) -> tuple[list[str], list[str]]:
    """(text lines, tag lines): tags are the trailing one-word slug lines, never the first line."""
    cut = len(lines)
    while cut > 1 and _TAG_LINE.fullmatch(lines[cut - 1]):
        cut -= 1
    return lines[:cut], lines[cut:]


def _find_headings(text: str) -> list[re.Match[str]]:
    """Section headings in their fixed order; one that comes out of order stays text."""
    found: list[re.Match[str]] = []
    last = -1
    for m in _HEADING.finditer(text):
        order = _SECTION_ORDER[m.lastgroup or ""]
        if order > last:
            found.append(m)
            last = order
    return found


def _block(text: str, what: str) -> str | None:
    """Stripped text, None when empty; a BriefParseError when over MAX_TEXT."""
    text = text.strip()
    if len(text) > MAX_TEXT:
        raise BriefParseError(f"{what} is too long ({len(text)} characters, at most {MAX_TEXT})")
    return text or None


def parse_card(text: str) -> BriefData:
    r"""A brief from a text card (scraped page text), with all its quirks.

    The card is read line by line after dropping a leading BOM, splitting on ``\n``,
    ``\r\n`` or ``\r``, stripping every line and dropping blank ones::

        [Back to feed]            optional, any case
        4/10                      score 0..10 (spaces around the slash are fine)
        Products & Tools          category
        1 May 2026, 02:01 UTC     publish time, always UTC: full or 3+ letter month,
                                  commas, seconds and "UTC"/"GMT" optional
        <title>
        <summary>                 optional; every line up to the first heading
        What happened             the SECTIONS headings, in their fixed order, each optional
        <paragraphs>              joined with "\n"
        ...
        generative-ai             tags: the trailing one-word lines (``#`` and capitals
        #User-Adoption            allowed, normalised by normalize_tags); at least one

    Quirks:

    * A heading is often glued to the end of the paragraph before it
      (``...other regions.Technical details``). A heading therefore counts where it
      starts a line or directly follows a sentence end (``. ? ! ) ]``, a closing quote,
      ``…`` or a CJK full stop) -- and only when it also ends its line (an optional colon
      aside), so prose that merely mentions "what happened" is never split. Headings
      match in any case (scrapers may upper-case them).
    * Order is fixed: after heading k only the headings after k count; an earlier one
      that turns up later is kept as text. A heading glued to the title cuts the title.
    * A heading with nothing under it leaves its section absent (None). No text between
      the title and the first heading means no summary; no headings at all makes all the
      text after the title the summary.
    * A last paragraph that is a single slug-like word is taken as a tag.
    * Text is kept verbatim (any script, emoji, ``<``, ``>``, ``&``); over-long fields are
      rejected, never truncated.

    Raises :class:`BriefParseError` naming what is wrong, and nothing else.
    """
    lines = _card_lines(check_text(text, "the card").replace("\x00", ""))  # PostgreSQL refuses NUL
    if not lines:
        raise BriefParseError("empty card (no text)")
    score = _card_score(lines[0])
    category = lines[1] if len(lines) > 1 else None
    if category is None or _PUBLISHED.fullmatch(category):
        raise BriefParseError("no category (expected a line like 'Research' after the score)")
    if len(category) > _MAX_CATEGORY:
        raise BriefParseError(
            f"category is too long ({len(category)} characters, at most {_MAX_CATEGORY})"
        )
    published_at = _card_published(lines[2] if len(lines) > 2 else None)

    text_lines, tag_lines = _split_tags(lines[3:])
    body = "\n".join(text_lines)
    headings = _find_headings(body)
    lede_end = headings[0].start() if headings else len(body)
    title, _, summary = body[:lede_end].partition("\n")
    title = title.strip()
    if not title:
        raise BriefParseError("no title (expected a line after the publish time)")
    if len(title) > MAX_TITLE:
        raise BriefParseError(f"title is too long ({len(title)} characters, at most {MAX_TITLE})")
    if not tag_lines:
        raise BriefParseError("no tags (expected one slug a line at the end, like 'ai-policy')")

    sections: dict[str, str | None] = {}
    bounds = [m.start() for m in headings] + [len(body)]  # a section runs to the next heading
    for heading, end in zip(headings, bounds[1:], strict=True):
        name = heading.lastgroup or ""
        sections[name] = _block(body[heading.end() : end], f"section {_SECTION_HEADING[name]!r}")
    return BriefData(
        title=title,
        score=score,
        category=category,
        published_at=published_at,
        tags=normalize_tags(tag_lines),
        summary=_block(summary, "summary"),
        what_happened=sections.get("what_happened"),
        technical_details=sections.get("technical_details"),
        why_it_matters=sections.get("why_it_matters"),
        what_to_watch=sections.get("what_to_watch"),
    )


def looks_like_json(text: str) -> bool:
    """True when text starts like a JSON document (object or array)."""
    return text.lstrip("\ufeff \t\r\n")[:1] in ("{", "[")


def parse_document(text: str, *, source: str) -> list[BriefData | Rejected]:
    """Briefs from a whole file's text: JSON / JSON Lines when it looks like JSON, else a card."""
    if looks_like_json(text):
        return parse_json_text(text, source=source)
    try:
        return [parse_card(text)]
    except BriefParseError as exc:
        return [Rejected(source, exc.reason)]
