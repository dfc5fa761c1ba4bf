"""Feed formats: what a fetched body holds, parsed into briefs.

:func:`parse_feed` turns a body (fetched by :mod:`digestbot.briefs.fetcher`, or
read from a file) into briefs; it understands, by looking at the content:

* JSON in the brief format (one object, an array, or JSON Lines), via
  :func:`digestbot.briefs.parse.parse_json_text`;
* JSON Feed 1.0 / 1.1, with the brief fields under an optional ``_brief`` object;
* every XML feed format feedparser reads: RSS 0.9x, 1.0 (RDF) and 2.0, Atom 0.3 and 1.0.

Feed items become briefs through :func:`digestbot.briefs.parse.brief_from_mapping`, so
validation lives in one place. An item that is not a valid brief becomes a
:class:`~digestbot.briefs.parse.Rejected` naming ``"<source> item N"`` and never stops
the others; a body that is not a feed at all raises
:class:`~digestbot.errors.BriefParseError`.

Defaults for feed items (which rarely carry the brief-only fields):

* no score -> :data:`~digestbot.briefs.parse.DEFAULT_FEED_SCORE` (5);
* no category -> :data:`DEFAULT_FEED_CATEGORY` (``"News"``); RSS/Atom
  ``category`` elements are *tags*, not the brief's category;
* no publish date -> the updated date, else the fetch time (``now``);
* no tags -> the known tags its title or summary names, else ``untagged``
  (:mod:`digestbot.briefs.tagging`); never rejected for that.
"""

from __future__ import annotations

import calendar
import codecs
import io
import json
import re
import xml.sax
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit
from xml.parsers import expat

import feedparser

from digestbot.briefs.parse import (
    DEFAULT_FEED_SCORE,
    MAX_TEXT,
    BriefData,
    Rejected,
    brief_from_mapping,
    looks_like_json,
    parse_json_text,
    slugify,
)
from digestbot.briefs.tagging import NEEDS_TAGS, UNTAGGED, TagIndex
from digestbot.errors import BriefParseError

DEFAULT_FEED_CATEGORY = "News"
"""The category of feed items that do not name one (RSS, Atom, plain JSON Feed)."""
NOT_A_FEED = "not a feed: expected JSON, JSON Feed, RSS or Atom"
_JSON_FEED_VERSIONS = ("https://jsonfeed.org/version/", "http://jsonfeed.org/version/")
_CHARSET = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_HTML_START = re.compile(r"<(?:!doctype\s+html|html[\s>])", re.IGNORECASE)
# Python codecs that are not character sets although they turn bytes into str: they
# raise bare UnicodeErrors (punycode, undefined), make lone surrogates (the escape
# codecs) or are banned from the web for smuggling markup (UTF-7).
_NOT_CHARSETS = frozenset(
    {"punycode", "idna", "undefined", "unicode-escape", "raw-unicode-escape", "utf-7", "mbcs"}
)

# --- parsing ------------------------------------------------------------------


def parse_feed(
    body: bytes,
    *,
    content_type: str | None,
    source: str,
    now: datetime | None = None,
    known_tags: TagIndex | None = None,
) -> list[BriefData | Rejected]:
    """Briefs from a feed body; the format is told by the content, not the content type.

    ``content_type`` gives the charset (else a BOM or the XML declaration, else
    UTF-8) and helps word the error for an HTML page. ``source`` names the feed in
    errors and :class:`Rejected` items. ``now`` (the fetch time, default the clock)
    dates XML entries that carry no date. ``known_tags`` tags the entries that name
    none; without it they get ``untagged`` and are marked for the ingester to tag
    (:func:`digestbot.briefs.tagging.retag`), which knows the store's tags.

    Mapping of feed items to brief fields:

    * JSON Feed: ``title``, ``summary``, ``tags``, ``date_published`` (else
      ``date_modified``), ``url``, ``id``; every key of the ``_brief`` object
      overrides the item's (``score``, ``category``, the four sections, and
      even ``title`` or ``tags``). ``content_text`` (else the text of
      ``content_html``) becomes ``what_happened`` only when ``_brief`` gives none
      of the four sections and it differs from ``summary``: a feed's body is the
      closest thing it has to "what happened", but a brief-aware feed knows better.
    * RSS and Atom (via feedparser): the title as plain text; as ``summary`` the
      plain text of ``content:encoded`` or Atom ``content``, else ``description`` or
      ``summary``, cut at a sentence under the length limit; each category as a tag;
      the published date, else the updated one (``dc:date`` too), else ``now``; the
      link (relative ones resolved against the feed); the guid or id.

    Only ``http(s)`` links are kept (relative ones are resolved against ``source``
    when it is a URL).
    """
    now = now or datetime.now(UTC)
    charset = _declared_charset(body, content_type, source=source)
    try:
        text = body.decode(charset)
    except UnicodeDecodeError as exc:
        # XML says its own encoding and feedparser falls back on others; JSON and the rest
        # must be what they claim.
        text = body.decode(charset, errors="replace")
        if not text.lstrip("\ufeff \t\r\n").startswith("<"):
            reason = "not UTF-8 text" if charset.startswith("utf-8") else f"not {charset} text"
            raise BriefParseError(reason, source=source) from exc
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped:
        raise BriefParseError("the feed is empty", source=source)
    if looks_like_json(stripped):
        return _parse_json(text, source=source, known_tags=known_tags)
    if stripped.startswith("<"):
        return _parse_xml(
            body,
            stripped,
            content_type=content_type,
            source=source,
            now=now,
            known_tags=known_tags,
        )
    raise BriefParseError(NOT_A_FEED, source=source)


def _declared_charset(body: bytes, content_type: str | None, *, source: str) -> str:
    """The Python codec name the body says it is in, checked to be a text encoding.

    Every charset the body names (header and XML declaration) is checked, since
    feedparser may pick either.
    """
    named: list[str] = []
    if content_type and (m := _CHARSET.search(content_type)):
        named.append(m.group(1))
    if m_xml := _XML_ENCODING.match(body):
        named.append(m_xml.group(1).decode("ascii"))
    codecs_named = [_text_codec(name, source=source) for name in named]
    if body.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return codecs_named[0] if codecs_named else "utf-8"


def _text_codec(charset: str, *, source: str) -> str:
    try:
        info = codecs.lookup(charset)
    except LookupError as exc:
        raise BriefParseError(f"unknown character set {_echo(charset)}", source=source) from exc
    # Bytes-to-bytes codecs such as base64 are not text encodings either.
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
        raise BriefParseError(f"unknown character set {_echo(charset)}", source=source)
    return info.name


def _echo(text: str, limit: int = 40) -> str:
    """User input for an error message: quoted, and cut short when long."""
    return repr(text if len(text) <= limit else text[: limit - 1] + "\u2026")


def _item_label(source: str, number: int) -> str:
    return f"{source} item {number}"


def _has_tags(tags: object) -> bool:
    """False only for no tags at all (absent, empty, or nothing left once slugified)."""
    if tags is None:
        return False
    if isinstance(tags, str):
        tags = [tags]
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        return True  # a wrong type is brief_from_mapping's to reject, with its reason
    return any(slugify(t) for t in tags)


def _build(
    mapping: dict[str, Any], source: str, number: int, known_tags: TagIndex | None
) -> BriefData | Rejected:
    untagged = not _has_tags(mapping.get("tags"))
    if untagged:
        mapping["tags"] = [UNTAGGED]
    try:
        brief = brief_from_mapping(mapping, default_score=DEFAULT_FEED_SCORE)
    except BriefParseError as exc:
        return Rejected(_item_label(source, number), exc.reason)
    if not untagged:
        return brief
    if known_tags is None:
        return replace(brief, extra={NEEDS_TAGS: True})
    return known_tags.tag(brief)


# --- JSON and JSON Feed ---------------------------------------------------------


def _parse_json(
    text: str, *, source: str, known_tags: TagIndex | None
) -> list[BriefData | Rejected]:
    try:
        document: Any = json.loads(text)
    except (ValueError, RecursionError):
        # Not one JSON document (maybe JSON Lines), too deep or a number too long:
        # parse_json_text sorts these out and words the error.
        document = None
    if not _is_json_feed(document):
        return parse_json_text(text, source=source, default_score=DEFAULT_FEED_SCORE)
    items = document.get("items")
    if not isinstance(items, list):
        raise BriefParseError("JSON Feed has no items list", source=source)
    out: list[BriefData | Rejected] = []
    for number, item in enumerate(items, start=1):
        try:
            mapping = _json_feed_item(item, base=source)
        except BriefParseError as exc:
            out.append(Rejected(_item_label(source, number), exc.reason))
            continue
        out.append(_build(mapping, source, number, known_tags))
    return out


def _is_json_feed(document: object) -> bool:
    if not isinstance(document, dict):
        return False
    version = document.get("version")
    return isinstance(version, str) and version.startswith(_JSON_FEED_VERSIONS)


_SECTION_FIELDS = ("what_happened", "technical_details", "why_it_matters", "what_to_watch")


def _json_feed_item(item: object, *, base: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise BriefParseError(f"expected a JSON object, got {type(item).__name__}")
    extension = item.get("_brief")
    if extension is None:
        extension = {}
    elif not isinstance(extension, dict):
        raise BriefParseError(f"_brief must be a JSON object, not {type(extension).__name__}")
    summary = item.get("summary")
    mapping: dict[str, Any] = {
        "title": item.get("title"),
        "summary": summary,
        "category": DEFAULT_FEED_CATEGORY,
        "tags": item.get("tags"),
        "published_at": item.get("date_published") or item.get("date_modified"),
        "url": _web_url(item.get("url"), base),
        "id": item.get("id"),
    }
    if not any(extension.get(name) for name in _SECTION_FIELDS):
        body = item.get("content_text")
        if not isinstance(body, str) or not body.strip():
            html_body = item.get("content_html")
            body = _html_to_text(html_body) if isinstance(html_body, str) else None
        if body and body.strip() != (summary.strip() if isinstance(summary, str) else None):
            mapping["what_happened"] = clip_at_sentence(body.strip())
    # A null in _brief means "not given", so it never erases what the item has.
    mapping.update({key: value for key, value in extension.items() if value is not None})
    if mapping.get("published_at") is None:
        raise BriefParseError("no date_published")
    if "url" in extension:
        mapping["url"] = _web_url(mapping["url"], base)
    return mapping


# --- XML: RSS 0.9x / 1.0 / 2.0 and Atom 0.3 / 1.0, read by feedparser ---------------------


class _EntityDeclared(Exception):
    pass


class _RootReached(Exception):
    pass


def _reject_entity_declarations(text: str, *, source: str) -> None:
    """Refuse XML whose DOCTYPE declares entities (billion laughs, external entities).

    feedparser's SAX parser neither fetches external entities nor expands many, but its
    lenient fallback parser reads DOCTYPE entities itself; refusing them up front keeps
    the rule plain and independent of either. Only the prolog is scanned: the DOCTYPE
    must come before the root element.
    """

    def on_entity(*_args: object) -> None:
        raise _EntityDeclared

    def on_start(*_args: object) -> None:
        raise _RootReached

    scanner = expat.ParserCreate()
    scanner.EntityDeclHandler = on_entity
    scanner.StartElementHandler = on_start
    try:
        scanner.Parse(text, True)
    except _EntityDeclared:
        raise BriefParseError(
            "XML with entity declarations (<!ENTITY>) is not accepted", source=source
        ) from None
    except (_RootReached, expat.ExpatError):
        return  # feedparser reports malformed XML


def _parse_xml(
    body: bytes,
    text: str,
    *,
    content_type: str | None,
    source: str,
    now: datetime,
    known_tags: TagIndex | None,
) -> list[BriefData | Rejected]:
    looks_html = bool(_HTML_START.match(text)) or "html" in (content_type or "").lower()
    _reject_entity_declarations(text, source=source)
    headers = {"content-type": content_type or "application/xml"}
    if urlsplit(source).scheme in ("http", "https"):
        headers["content-location"] = source  # the base relative links resolve against
    # A file object, never bytes or a str: feedparser opens a bytes or str argument as a
    # local file name, or fetches it when it looks like a URL.
    stream = io.BytesIO(_CHAR_REF.sub(_repair_char_ref, body))
    try:
        parsed = feedparser.parse(stream, response_headers=headers)
    except (UnicodeError, ValueError, OverflowError) as exc:  # what its lenient parser lets out
        raise BriefParseError(f"unreadable feed ({type(exc).__name__})", source=source) from exc
    error = parsed.get("bozo_exception")
    if not parsed.entries:
        if isinstance(error, xml.sax.SAXParseException) and not looks_html:
            # (No line number: feedparser has rewritten the XML declaration by now.)
            raise BriefParseError(f"not well-formed XML ({error.getMessage()})", source=source)
        if not parsed.get("version"):
            reason = f"{NOT_A_FEED} (got an HTML page)" if looks_html else NOT_A_FEED
            raise BriefParseError(reason, source=source)
    out: list[BriefData | Rejected] = []
    for number, entry in enumerate(parsed.entries, start=1):
        try:
            mapping = _entry_mapping(entry, now=now)
        except BriefParseError as exc:
            out.append(Rejected(_item_label(source, number), exc.reason))
            continue
        out.append(_build(mapping, source, number, known_tags))
    return out


# Numeric character references, in any ASCII-compatible encoding (nearly every feed).
_CHAR_REF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")


def _repair_char_ref(match: re.Match[bytes]) -> bytes:
    """A reference to no XML character (a lone surrogate, NUL, beyond U+10FFFF) as U+FFFD.

    feedparser's lenient parser turns ``&#xD800;`` into a str it cannot encode and fails
    the whole feed; as a browser does, the one bad character becomes a replacement
    character and its entry, and every other, survives.
    """
    hex_digits, decimal = match.groups()
    code = int(hex_digits, 16) if hex_digits else int(decimal)
    if code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD:
        return match.group(0)
    return match.group(0) if 0x10000 <= code <= 0x10FFFF else b"&#xFFFD;"


_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})


def _detail_text(detail: Mapping[str, object] | None) -> str | None:
    """Plain text of a feedparser text construct (plain, HTML or XHTML)."""
    if not detail:
        return None
    value = detail.get("value")
    if not isinstance(value, str):
        return None
    kind = detail.get("type")
    if kind in _HTML_TYPES:
        return _html_to_text(value)
    if isinstance(kind, str) and not kind.startswith("text/"):
        return None  # base64 images and other non-text content
    return value.strip()


def _entry_mapping(entry: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    # The fullest text first: content:encoded or Atom content, then description or summary.
    summary = None
    for detail in [*(entry.get("content") or []), entry.get("summary_detail")]:
        summary = _detail_text(detail)
        if summary:
            break
    title = _detail_text(entry.get("title_detail"))
    # dict.get: FeedParserDict.get maps published to updated itself, with a warning.
    stamp = dict.get(entry, "published_parsed") or dict.get(entry, "updated_parsed")
    published = datetime.fromtimestamp(calendar.timegm(stamp), UTC) if stamp else now
    link = _web_url(entry.get("link"), None)  # feedparser resolved it against the feed
    if link is None:
        for candidate in entry.get("links") or []:
            if candidate.get("rel", "alternate") == "alternate":
                link = _web_url(candidate.get("href"), None)
                if link:
                    break
    tags = [
        term
        for tag in entry.get("tags") or []
        if isinstance(term := tag.get("term") or tag.get("label"), str) and term.strip()
    ]
    return {
        "title": _one_line(title),
        "summary": clip_at_sentence(summary) or None,
        "category": DEFAULT_FEED_CATEGORY,
        "tags": tags,
        "published_at": published.isoformat(),
        "url": link,
        "id": entry.get("id") or None,
    }


# --- text helpers ---------------------------------------------------------------------


def _one_line(text: str | None) -> str | None:
    return " ".join(text.split()) if text else None


# A sentence end: . ! ? (or the ellipsis, or the CJK / Devanagari stops), maybe closed by a
# quote or bracket, then a space.
_SENTENCE_END = re.compile(
    r"""[.!?\u2026\u3002\uff01\uff1f\u0964]["')\]\u201d\u2019\u00bb]*(?=\s)"""
)


def clip_at_sentence(text: str | None, limit: int = MAX_TEXT) -> str | None:
    """Text cut to at most ``limit`` characters at the last whole sentence that fits.

    Without a sentence end in the second half of the allowance, the cut falls at a word
    boundary instead and is marked with an ellipsis.
    """
    if text is None or len(text) <= limit:
        return text
    cut = text[: limit - 1]
    ends = [m.end() for m in _SENTENCE_END.finditer(cut, limit // 2)]
    if ends:
        return cut[: ends[-1]]
    space = cut.rfind(" ", max(0, limit - 200))
    return (cut[:space] if space > 0 else cut).rstrip() + "\u2026"


def _web_url(value: object, base: str | None) -> str | None:
    """An absolute http(s) URL, or None: a ``javascript:`` link must not reach a card."""
    if not isinstance(value, str) or not value.strip():
        return None
    url = value.strip()
    if base is not None and urlsplit(base).scheme in ("http", "https"):
        url = urljoin(base, url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.netloc else None


_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption",
        "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
        "nav", "ol", "p", "pre", "section", "table", "tr", "ul",
    }
)  # fmt: skip
_SKIP_TAGS = frozenset({"script", "style", "template", "head"})
_LINE_BREAK = "\x00"
_PARAGRAPH_BREAK = "\x01"


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML fragment, marking line and paragraph breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        tag = tag.rpartition(":")[2]  # XHTML from Atom serialises as ns0:p
        if tag in _SKIP_TAGS:
            self._skipping += 1
        else:
            self._break(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._break(tag.rpartition(":")[2])

    def handle_endtag(self, tag: str) -> None:
        tag = tag.rpartition(":")[2]
        if tag in _SKIP_TAGS:
            self._skipping = max(0, self._skipping - 1)
        else:
            self._break(tag)

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data.replace(_LINE_BREAK, " ").replace(_PARAGRAPH_BREAK, " "))

    def _break(self, tag: str) -> None:
        if tag == "br":
            self.parts.append(_LINE_BREAK)
        elif tag in _BLOCK_TAGS:
            self.parts.append(_PARAGRAPH_BREAK)


def _html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, paragraphs kept.

    Paragraphs are separated by a blank line, ``<br>`` by a line break; other
    whitespace collapses to single spaces.
    """
    extractor = _TextExtractor()
    extractor.feed(markup)
    extractor.close()
    paragraphs = []
    for paragraph in "".join(extractor.parts).split(_PARAGRAPH_BREAK):
        lines = [" ".join(line.split()) for line in paragraph.split(_LINE_BREAK)]
        text = "\n".join(line for line in lines if line)
        if text:
            paragraphs.append(text)
    return "\n\n".join(paragraphs)
