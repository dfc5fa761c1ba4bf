"""Feed formats: what a fetched body holds, parsed into briefs.

:func:`parse_feed` turns a body (fetched by :mod:`digestbot.briefs.fetcher`, or
read from a file) into briefs; it understands, by looking at the content:

* JSON in the brief format (one object, an array, or JSON Lines), via
  :func:`digestbot.briefs.parse.parse_json_text`;
* JSON Feed 1.0 / 1.1, with the brief fields under an optional ``_brief`` object;
* RSS 2.0 (``channel/item``) and Atom 1.0 (``feed/entry``).

Feed items become briefs through :func:`digestbot.briefs.parse.brief_from_mapping`, so
validation lives in one place. An item that is not a valid brief becomes a
:class:`~digestbot.briefs.parse.Rejected` naming ``"<source> item N"`` and never stops
the others; a body that is not a feed at all raises
:class:`~digestbot.errors.BriefParseError`.

Defaults for feed items (which rarely carry the brief-only fields):

* no score -> :data:`~digestbot.briefs.parse.DEFAULT_FEED_SCORE` (5);
* no category -> :data:`DEFAULT_FEED_CATEGORY` (``"News"``); RSS/Atom
  ``category`` elements are *tags*, not the brief's category;
* no tags -> the item is rejected (``"no tags"``), as for any brief.
"""

from __future__ import annotations

import codecs
import email.utils
import html
import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit
from xml.parsers import expat

from digestbot.briefs.parse import (
    DEFAULT_FEED_SCORE,
    MAX_TEXT,
    BriefData,
    Rejected,
    brief_from_mapping,
    looks_like_json,
    parse_json_text,
)
from digestbot.errors import BriefParseError

DEFAULT_FEED_CATEGORY = "News"
"""The category of feed items that do not name one (RSS, Atom, plain JSON Feed)."""
NOT_A_FEED = "not a feed: expected JSON, JSON Feed, RSS or Atom"
_ATOM = "{http://www.w3.org/2005/Atom}"
_DC_DATE = "{http://purl.org/dc/elements/1.1/}date"
_JSON_FEED_VERSIONS = ("https://jsonfeed.org/version/", "http://jsonfeed.org/version/")
_CHARSET = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_HTML_START = re.compile(r"<(?:!doctype\s+html|html[\s>])", re.IGNORECASE)

# --- parsing ------------------------------------------------------------------


def parse_feed(body: bytes, *, content_type: str | None, source: str) -> list[BriefData | Rejected]:
    """Briefs from a feed body; the format is told by the content, not the content type.

    ``content_type`` gives the charset (else a BOM or the XML declaration, else
    UTF-8) and helps word the error for an HTML page. ``source`` names the feed in
    errors and :class:`Rejected` items.

    Mapping of feed items to brief fields:

    * JSON Feed: ``title``, ``summary``, ``tags``, ``date_published`` (else
      ``date_modified``), ``url``, ``id``; every key of the ``_brief`` object
      overrides the item's (``score``, ``category``, the four sections, and
      even ``title`` or ``tags``). ``content_text`` (else the text of
      ``content_html``) becomes ``what_happened`` only when ``_brief`` gives none
      of the four sections and it differs from ``summary``: a feed's body is the
      closest thing it has to "what happened", but a brief-aware feed knows better.
    * RSS: ``title``, ``description`` (HTML, turned into plain text) as
      ``summary``, each ``category`` as a tag, ``pubDate`` (else ``dc:date``),
      ``link``, ``guid``.
    * Atom: ``title``, ``summary`` (else ``content``) as plain text,
      ``category/@term`` as tags, ``published`` (else ``updated``),
      ``link/@href`` (rel ``alternate`` or none), ``id``.

    Text taken from HTML or a feed's body is clipped to the brief's length limit;
    only ``http(s)`` links are kept (relative ones are resolved against ``source``
    when it is a URL).
    """
    text = _decode(body, content_type, source=source)
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped:
        raise BriefParseError("the feed is empty", source=source)
    if looks_like_json(stripped):
        return _parse_json(text, source=source)
    if stripped.startswith("<"):
        return _parse_xml(stripped, content_type=content_type, source=source)
    raise BriefParseError(NOT_A_FEED, source=source)


def _decode(body: bytes, content_type: str | None, *, source: str) -> str:
    charset: str | None = None
    if body.startswith(codecs.BOM_UTF8):
        charset = "utf-8-sig"
    elif body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        charset = "utf-16"
    elif content_type and (m := _CHARSET.search(content_type)):
        charset = m.group(1)
    elif m_xml := _XML_ENCODING.match(body):
        charset = m_xml.group(1).decode("ascii")
    charset = charset or "utf-8"
    try:
        codec = codecs.lookup(charset)
        return body.decode(codec.name)
    except LookupError as exc:
        # Also raised for bytes-to-bytes codecs such as "base64", which are not text encodings.
        raise BriefParseError(f"unknown character set {charset!r}", source=source) from exc
    except UnicodeDecodeError as exc:
        reason = "not UTF-8 text" if codec.name.startswith("utf-8") else f"not {charset} text"
        raise BriefParseError(reason, source=source) from exc


def _item_label(source: str, number: int) -> str:
    return f"{source} item {number}"


def _build(mapping: dict[str, Any], source: str, number: int) -> BriefData | Rejected:
    try:
        return brief_from_mapping(mapping, default_score=DEFAULT_FEED_SCORE)
    except BriefParseError as exc:
        return Rejected(_item_label(source, number), exc.reason)


# --- JSON and JSON Feed ---------------------------------------------------------


def _parse_json(text: str, *, source: str) -> list[BriefData | Rejected]:
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
        out.append(_build(mapping, source, number))
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
            mapping["what_happened"] = _clip(body.strip())
    # A null in _brief means "not given", so it never erases what the item has.
    mapping.update({key: value for key, value in extension.items() if value is not None})
    if mapping.get("published_at") is None:
        raise BriefParseError("no date_published")
    if "url" in extension:
        mapping["url"] = _web_url(mapping["url"], base)
    return mapping


# --- XML: RSS and Atom --------------------------------------------------------------


class _EntityDeclared(Exception):
    pass


class _RootReached(Exception):
    pass


def _reject_entity_declarations(text: str, *, source: str) -> None:
    """Refuse XML whose DOCTYPE declares entities (billion laughs, external entities).

    Only the prolog is scanned: the DOCTYPE must come before the root element.
    Python's expat already limits entity expansion; this makes the rule plain.
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
        return  # the real parse reports malformed XML


def _parse_xml(text: str, *, content_type: str | None, source: str) -> list[BriefData | Rejected]:
    looks_html = bool(_HTML_START.match(text)) or "html" in (content_type or "").lower()
    _reject_entity_declarations(text, source=source)
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        if looks_html:
            raise BriefParseError(f"{NOT_A_FEED} (got an HTML page)", source=source) from exc
        raise BriefParseError(f"not well-formed XML ({exc})", source=source) from exc
    if root.tag == "rss":
        return _parse_rss(root, source=source)
    if root.tag == f"{_ATOM}feed":
        return _parse_atom(root, source=source)
    if looks_html or root.tag.endswith("}html") or root.tag == "html":
        raise BriefParseError(f"{NOT_A_FEED} (got an HTML page)", source=source)
    raise BriefParseError(NOT_A_FEED, source=source)


def _parse_rss(root: ET.Element, *, source: str) -> list[BriefData | Rejected]:
    channel = root.find("channel")
    if channel is None:
        raise BriefParseError("RSS feed has no channel", source=source)
    out: list[BriefData | Rejected] = []
    for number, item in enumerate(channel.findall("item"), start=1):
        try:
            mapping = _rss_item(item, base=source)
        except BriefParseError as exc:
            out.append(Rejected(_item_label(source, number), exc.reason))
            continue
        out.append(_build(mapping, source, number))
    return out


def _rss_item(item: ET.Element, *, base: str) -> dict[str, Any]:
    link = _web_url(_element_text(item.find("link")), base)
    guid_element = item.find("guid")
    guid = _element_text(guid_element)
    if link is None and guid_element is not None and guid_element.get("isPermaLink") != "false":
        link = _web_url(guid, None)  # many guids are bare ids, never to be resolved
    return {
        "title": _one_line(_element_text(item.find("title"))),
        "summary": _clip(_html_to_text(_element_text(item.find("description")) or "")) or None,
        "category": DEFAULT_FEED_CATEGORY,
        "tags": [text for c in item.findall("category") if (text := _element_text(c))],
        "published_at": _rss_date(item),
        "url": link,
        "id": guid,
    }


def _rss_date(item: ET.Element) -> str:
    pub_date = _element_text(item.find("pubDate"))
    if pub_date:
        try:
            parsed = email.utils.parsedate_to_datetime(pub_date)
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC).isoformat()
        except (TypeError, ValueError, IndexError, OverflowError) as exc:
            raise BriefParseError(f"pubDate is not an RFC 822 date: {pub_date!r}") from exc
    dc_date = _element_text(item.find(_DC_DATE))
    if dc_date:
        return dc_date  # ISO 8601, checked by brief_from_mapping
    raise BriefParseError("no publish date (pubDate)")


def _parse_atom(root: ET.Element, *, source: str) -> list[BriefData | Rejected]:
    out: list[BriefData | Rejected] = []
    for number, entry in enumerate(root.findall(f"{_ATOM}entry"), start=1):
        try:
            mapping = _atom_entry(entry, base=source)
        except BriefParseError as exc:
            out.append(Rejected(_item_label(source, number), exc.reason))
            continue
        out.append(_build(mapping, source, number))
    return out


def _atom_entry(entry: ET.Element, *, base: str) -> dict[str, Any]:
    summary = _atom_text(entry.find(f"{_ATOM}summary"))
    if not summary:
        content = entry.find(f"{_ATOM}content")
        # Out-of-line (src=) or non-text content (images, base64) has no text for us.
        if content is not None and content.get("src") is None:
            kind = content.get("type", "text")
            if kind in ("text", "html", "xhtml") or kind.startswith("text/"):
                summary = _atom_text(content)
    date = _element_text(entry.find(f"{_ATOM}published")) or _element_text(
        entry.find(f"{_ATOM}updated")
    )
    if not date:
        raise BriefParseError("no publish date (published or updated)")
    link = None
    for element in entry.findall(f"{_ATOM}link"):
        if element.get("rel", "alternate") == "alternate" and element.get("href"):
            link = _web_url(element.get("href"), base)
            break
    return {
        "title": _one_line(_atom_text(entry.find(f"{_ATOM}title"))),
        "summary": _clip(summary) or None,
        "category": DEFAULT_FEED_CATEGORY,
        "tags": [term for c in entry.findall(f"{_ATOM}category") if (term := c.get("term"))],
        "published_at": date,
        "url": link,
        "id": _element_text(entry.find(f"{_ATOM}id")),
    }


def _atom_text(element: ET.Element | None) -> str | None:
    """Plain text of an Atom text construct (type text, html or xhtml)."""
    if element is None:
        return None
    kind = element.get("type", "text")
    if kind == "html":
        return _html_to_text(_element_text(element) or "")
    if kind == "xhtml":
        # tostring() writes each child's tail too, so the text between children stays.
        children = "".join(ET.tostring(child, encoding="unicode") for child in element)
        return _html_to_text(html.escape(element.text or "") + children)
    return _element_text(element)


def _element_text(element: ET.Element | None) -> str | None:
    if element is None:
        return None
    text = "".join(element.itertext()).strip()
    return text or None


# --- text helpers ---------------------------------------------------------------------


def _one_line(text: str | None) -> str | None:
    return " ".join(text.split()) if text else None


def _clip(text: str | None, limit: int = MAX_TEXT) -> str | None:
    """Text cut to ``limit`` characters at a word boundary, marked with an ellipsis."""
    if text is None or len(text) <= limit:
        return text
    cut = text[: limit - 1]
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
