"""Ingestion: files, folders and URLs in, briefs stored, and a report of what happened.

One bad input (an unreadable file, a broken card, a failing URL, one bad JSON item)
becomes a line in the report and never stops the others.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from importlib.resources import files
from pathlib import Path

import httpx

from digestbot import i18n, store
from digestbot.briefs import fetcher
from digestbot.briefs.feeds import DEFAULT_FEED_CATEGORY
from digestbot.briefs.parse import DEFAULT_FEED_SCORE, MAX_TAGS, BriefData, Rejected, parse_document
from digestbot.briefs.tagging import NEEDS_TAGS, UNTAGGED, TagIndex
from digestbot.errors import InputError
from digestbot.i18n import _
from digestbot.store.db import SessionFactory, session_scope

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 20 * 1024 * 1024
# In folders only these are read; a file named on its own is read whatever its name.
FOLDER_SUFFIXES = frozenset({".txt", ".card", ".json", ".jsonl", ".ndjson"})


@dataclass
class IngestReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    merged: int = 0  # feed entries telling a stored brief's story: it gained a source

    @property
    def stored(self) -> int:
        return self.added + self.updated + self.unchanged + self.merged

    def summary(self) -> str:
        text = (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.rejected)} rejected"
        )
        # only when it happened: what ingesting files says stays as it was
        return text + (f", {self.merged} merged into stored briefs" if self.merged else "")

    def told(self) -> str:
        """:meth:`summary` for an admin in Telegram, in the current language (the CLI
        and the logs keep :meth:`summary`'s English)."""
        n = i18n.number
        text = _("{added} added, {updated} updated, {unchanged} unchanged, {rejected} rejected")
        text = text.format(
            added=n(self.added),
            updated=n(self.updated),
            unchanged=n(self.unchanged),
            rejected=n(len(self.rejected)),
        )
        if not self.merged:  # only when it happened, as in summary()
            return text
        more = _("{merged} merged into stored briefs").format(merged=n(self.merged))
        return f"{text}, {more}"

    def merge(self, other: IngestReport) -> None:
        self.added += other.added
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.merged += other.merged
        self.rejected.extend(other.rejected)


@dataclass(frozen=True, slots=True)
class FeedDefaults:
    """What a feed's entries get when they say nothing: its tags (for entries naming
    none, before the known tags they mention), its category and score (in place of the
    generic "News" and 5)."""

    feed_id: int
    tags: tuple[str, ...] = ()
    category: str | None = None
    score: int | None = None

    def apply(self, brief: BriefData, index: TagIndex | None) -> BriefData:
        category, score, tags, extra = brief.category, brief.score, brief.tags, brief.extra
        if self.category and category == DEFAULT_FEED_CATEGORY:
            category = self.category
        if self.score is not None and score == DEFAULT_FEED_SCORE:
            score = self.score
        if extra.get(NEEDS_TAGS):
            found = index.find(f"{brief.title}\n{brief.summary or ''}") if index else []
            tags = tuple(dict.fromkeys([*self.tags, *found]))[:MAX_TAGS] or (UNTAGGED,)
            extra = {}
        return replace(brief, category=category, score=score, tags=tags, extra=extra)


def is_url(target: str) -> bool:
    return target.startswith(("http://", "https://"))


def _walk(path: Path) -> Iterator[Path]:
    for child in sorted(path.iterdir()):
        if child.name.startswith("."):
            continue
        if child.is_dir():
            yield from _walk(child)
        elif child.suffix.lower() in FOLDER_SUFFIXES:
            yield child


def read_file(path: Path) -> list[BriefData | Rejected]:
    """Briefs from one file (a card, JSON or JSON Lines), each problem as a Rejected."""
    name = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return [Rejected(name, f"file too large ({size // 1024 // 1024} MB, at most 20 MB)")]
        raw = path.read_bytes()
    except FileNotFoundError:
        return [Rejected(name, "no such file or folder")]
    except OSError as exc:
        return [Rejected(name, f"cannot read it ({exc.strerror or exc})")]
    return parse_bytes(raw, source=name)


def parse_bytes(raw: bytes, *, source: str) -> list[BriefData | Rejected]:
    """Briefs from an uploaded or read file's bytes."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [Rejected(source, "not UTF-8 text")]
    try:
        return parse_document(text, source=source)
    except InputError as exc:
        return [Rejected(exc.source or source, exc.reason)]


def collect_paths(targets: Iterable[str]) -> Iterator[tuple[str, list[BriefData | Rejected]]]:
    """Each local file named or found in a folder, with what it parsed into."""
    for target in targets:
        path = Path(target)
        if path.is_dir():
            found = False
            for child in _walk(path):
                found = True
                yield str(child), read_file(child)
            if not found:
                yield target, [Rejected(target, "folder holds no .txt, .json or .jsonl files")]
        else:
            yield target, read_file(path)


class Ingester:
    """Stores briefs from files, folders and URLs; owns nothing but borrows a session factory."""

    def __init__(
        self,
        sessions: SessionFactory,
        http: httpx.AsyncClient | None = None,
        *,
        deadline: float = fetcher.DEFAULT_DEADLINE,
    ) -> None:
        # Without ``http`` a URL gets a client of fetcher's defaults: public addresses only.
        self._sessions = sessions
        self._http = http
        self._deadline = deadline

    async def store(
        self, items: Iterable[BriefData | Rejected], *, feed: FeedDefaults | None = None
    ) -> IngestReport:
        """Store the parsed items in one transaction; rejections go straight to the report.

        Items of a ``feed`` get its defaults, and become sources of the briefs telling
        the same story rather than twins of them (see ``store.upsert_briefs``).
        """
        report = IngestReport()
        good: list[BriefData] = []
        for item in items:
            if isinstance(item, Rejected):
                report.rejected.append(item)
            else:
                good.append(item)
        if good:
            async with session_scope(self._sessions) as session:
                index = None
                if any(item.extra.get(NEEDS_TAGS) for item in good):
                    # Feed entries without categories take the known tags they mention.
                    known = [t.slug for t in await store.tag_counts(session=session)]
                    index = TagIndex(known)
                defaults = feed or FeedDefaults(feed_id=0)
                good = [defaults.apply(item, index) for item in good]
                outcomes = await store.upsert_briefs(
                    session=session, briefs=good, feed_id=feed.feed_id if feed else None
                )
            report.added += outcomes.count(store.Outcome.ADDED)
            report.updated += outcomes.count(store.Outcome.UPDATED)
            report.unchanged += outcomes.count(store.Outcome.UNCHANGED)
            report.merged += outcomes.count(store.Outcome.MERGED)
        return report

    async def ingest_bytes(self, raw: bytes, *, source: str) -> IngestReport:
        """Store the briefs of an uploaded file or a pasted message (a card or JSON)."""
        return await self.store(parse_bytes(raw, source=source))

    async def ingest_url(self, url: str) -> IngestReport:
        """Fetch one URL (JSON, JSON Feed, RSS or Atom) and store what it holds."""
        if self._http is None:
            async with fetcher.make_client() as client:
                return await self._ingest_url(url, client)
        return await self._ingest_url(url, self._http)

    async def _ingest_url(self, url: str, client: httpx.AsyncClient) -> IngestReport:
        try:
            result = await fetcher.fetch(url, client=client, deadline=self._deadline)
        except InputError as exc:
            return IngestReport(rejected=[Rejected(url, exc.reason)])
        return await self.store(result.items)

    async def ingest(self, targets: Iterable[str]) -> IngestReport:
        """Ingest every file, folder and URL named; stores the good, reports the rest."""
        report = IngestReport()
        batch: list[BriefData | Rejected] = []
        for target in targets:
            if is_url(target):
                report.merge(await self.ingest_url(target))
                continue
            for _name, items in collect_paths([target]):
                batch.extend(items)
                if len(batch) >= 1000:
                    report.merge(await self.store(batch))
                    batch = []
        report.merge(await self.store(batch))
        return report


def seeds_dir() -> Path:
    """The sample briefs: inside the installed package, or ``seeds/`` in a checkout."""
    packaged = Path(str(files("digestbot") / "_seeds"))
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "seeds"


async def seed_if_empty(sessions: SessionFactory) -> IngestReport | None:
    """Load the sample briefs into an empty store so a newcomer sees content at once."""
    async with sessions() as session:
        if await store.count_briefs(session=session):
            return None
    folder = seeds_dir()
    if not folder.is_dir():
        log.warning("no seed briefs found at %s", folder)
        return None
    report = await Ingester(sessions).ingest([str(folder)])
    log.info("loaded sample briefs from %s: %s", folder, report.summary())
    return report
