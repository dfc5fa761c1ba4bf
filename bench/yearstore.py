"""A year-sized store for the benchmarks, built once and reused: 1M chats, ~2M
subscriptions, 110,000 briefs (300 a day for a year) and 3M outbox rows of history.

The briefs read like the real ones: titles and summaries drawn from a vocabulary of
companies, products, verbs and topics (about 1 in 20 in Hindi, in Devanagari), 2-4 of 40
tags each (Zipf-like popularity, as in ``bench/plan.py``), scores 1-10. The chats are
``bench/plan.py``'s (mixed zones, digest times and minimum scores) following 1-3 tags.
The outbox holds a year of sent digests (some failed, a few cancelled). Everything is
drawn from ``--seed``, so a store of given parameters is always the same.

Built with bulk SQL on the migrated schema (``bench/scenario.py``'s ``_bulk_insert``:
``executemany`` of plain tuples on SQLite, ``COPY`` on PostgreSQL), so the full size takes
minutes, then kept:

* SQLite: a file under the cache directory (``--cache-dir``, ``$DIGESTBOT_BENCH_CACHE``,
  else ``~/.cache/digestbot-bench``), named for its parameters and schema revision;
* PostgreSQL: a database ``digestbot_year_c<chats>_b<briefs>_o<outbox>_s<seed>_<revision>_v<build>``
  on the server of ``--pg-url`` (``$DIGESTBOT_TEST_POSTGRES_URL``, default the test server).

Each holds a marker row (``kv`` key ``bench_yearstore``) with its parameters, the schema
revision and this builder's version: a store whose marker differs (a new migration, a
changed builder) is rebuilt, and so is any with ``--rebuild``. A build goes into a
scratch file or database renamed into place only when complete, so an interrupted build
is never reused.

Run from the repository root (prints the store's URL, then JSON)::

    .venv/bin/python bench/yearstore.py --db both
    .venv/bin/python bench/yearstore.py --db sqlite --chats 1000 --briefs 500 --outbox 2000

Other scripts import it: ``url = yearstore.year_store("sqlite", Size(...))``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from bench.scenario import (  # noqa: E402
    ADMIN_URL,
    CHAT_COLUMNS,
    SUB_COLUMNS,
    TAGS,
    ChatMaker,
    TagPicker,
    _bulk_insert,
)
from digestbot import store  # noqa: E402
from digestbot.store import db  # noqa: E402
from digestbot.store.planning import SQLITE_PLACE_ALL  # noqa: E402

BUILD_VERSION = 3  # bump when the generated data changes: cached stores are rebuilt
MARKER = "bench_yearstore"
YEAR_START = datetime(2025, 12, 1, tzinfo=UTC)  # a year of briefs up to 30 Nov 2026
CHUNK = 50_000
HINDI_SHARE = 0.05

# 40 tag slugs, most popular first (TagPicker draws indexes into bench.scenario.TAGS)
SLUGS = (
    "llm", "generative-ai", "chips", "open-source", "policy", "security", "robotics",
    "funding", "research", "cloud", "energy", "climate", "space", "biotech", "startups",
    "regulation", "privacy", "agents", "datacenters", "hardware", "semiconductors",
    "quantum", "speech", "vision", "education", "health", "finance", "automotive", "telecom",
    "gaming", "developer-tools", "benchmarks", "licensing", "supply-chain", "elections",
    "batteries", "satellites", "india", "europe", "hindi",
)  # fmt: skip
assert len(SLUGS) == len(TAGS)

COMPANIES = (
    "Northwind", "Halden", "Veltria", "Quillzip", "Brightmoor", "Saltmarsh", "Verdant",
    "Aster", "Lanternfish", "Mistlake", "Terngrid", "Corvid", "Ferrule", "Ocelot",
    "Nordmark", "Gannet", "Rill", "Sable", "Wrenfield", "Harborline", "Perch", "Kiln",
    "Orbweaver", "Kestrel", "Marlin", "Osprey", "Tamarind", "Juniper", "Cobalt", "Meridian",
)  # fmt: skip
VERBS = (
    "releases", "opens", "launches", "ships", "cuts", "raises", "acquires", "bans", "delays",
    "doubles", "tests", "patches", "recalls", "licenses", "trains", "unveils", "expands",
    "halts", "benchmarks", "publishes",
)  # fmt: skip
ADJECTIVES = (
    "open", "faster", "smaller", "quantized", "on-device", "sovereign", "low-power",
    "multilingual", "agentic", "secure", "cheaper", "permissive", "long-context", "new",
    "experimental", "AI", "edge", "hybrid", "private", "national",
)  # fmt: skip
NOUNS = (
    "model", "weights", "chip", "accelerator", "benchmark", "dataset", "agent", "robot",
    "satellite", "battery", "license", "container", "compiler", "inference", "datacenter",
    "enzyme", "rover", "browser", "speech", "vision", "transformer", "kernel", "GPU",
    "memory", "fab", "export", "rules", "funding", "lawsuit", "patent", "startup", "cloud",
    "API", "runtime", "sandbox", "exploit", "backdoor", "sensor", "drone", "grid",
    "telescope", "assistant", "checkpoint", "cluster", "network", "standard", "platform",
)  # fmt: skip
SENTENCES = (
    "{c} said the {a} {n} is available to customers from {m}.",
    "The {n} runs on a single {n2} and needs half the memory of its predecessor.",
    "Analysts expect {c} rivals to answer with a {a} {n2} of their own.",
    "Regulators asked {c} how the {n} handles personal data.",
    "Independent tests put the {n} ahead on most benchmarks, behind on cost.",
    "{c} will open the {n2} to outside developers under a permissive license.",
    "The {a} {n} ships with an evaluation harness and training recipes.",
    "Critics say the {n2} was rushed and the {n} is not ready.",
)
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
CATEGORIES = ("Research", "Products & Tools", "Industry", "Policy", "Open source", "Security")
HINDI = (
    "भारत", "मॉडल", "हिन्दी", "भाषा", "कंपनी", "सरकार", "चिप", "नीति", "डेटा", "शोध",
    "रोबोट", "अंतरिक्ष", "ऊर्जा", "निवेश", "सुरक्षा", "जारी", "नया", "खुला", "तकनीक",
    "समाचार", "उपग्रह", "बैटरी", "स्टार्टअप", "नियम", "बाज़ार",
)  # fmt: skip
BRIEF_COLUMNS = (
    "id", "source_id", "title", "score", "category", "published_at", "summary", "url",
    "content_hash", "ingested_at", "updated_at", "tag_text",
)  # fmt: skip
LINK_COLUMNS = ("brief_id", "tag_id", "position")
OUTBOX_COLUMNS = (
    "id", "key", "chat_id", "kind", "part", "payload", "status", "attempts",
    "next_attempt_at", "last_error", "created_at", "sent_at", "lateness_ms",
)  # fmt: skip
BLOCKED = "Forbidden: bot was blocked by the user"


@dataclass(frozen=True)
class Size:
    chats: int = 1_000_000
    briefs: int = 110_000
    outbox: int = 3_000_000
    seed: int = 7

    @property
    def label(self) -> str:
        return f"c{self.chats}_b{self.briefs}_o{self.outbox}_s{self.seed}"


def marker(size: Size) -> str:
    return f"{size.label}|rev={db.head_revision()}|v={BUILD_VERSION}"


# --- the data ---------------------------------------------------------------------------


class BriefMaker:
    """Titles, summaries and tags that read like the feed's, from the vocabulary."""

    def __init__(self, rng: random.Random, picker: TagPicker) -> None:
        self.rng = rng
        self.picker = picker

    def text(self) -> tuple[str, str]:
        rng = self.rng
        if rng.random() < HINDI_SHARE:
            words = rng.sample(HINDI, 7)
            return " ".join(words[:5]), f"{' '.join(words)}। {' '.join(rng.sample(HINDI, 6))}।"
        c, n = rng.choice(COMPANIES), rng.choice(NOUNS)
        title = f"{c} {rng.choice(VERBS)} {rng.choice(ADJECTIVES)} {n} {rng.choice(NOUNS)}"
        fill = {
            "c": c,
            "n": n,
            "n2": rng.choice(NOUNS),
            "a": rng.choice(ADJECTIVES),
            "m": rng.choice(MONTHS),
        }
        summary = " ".join(s.format(**fill) for s in rng.sample(SENTENCES, 2))
        return title, summary

    def brief(
        self, n: int, total: int, tag_ids: Sequence[int]
    ) -> tuple[tuple[Any, ...], list[int]]:
        """Brief ``n`` (1-based) of ``total``, spread evenly over the year, and its tags."""
        rng = self.rng
        title, summary = self.text()
        at = YEAR_START + timedelta(days=365) * ((n - 1) / max(total, 1))
        tags = self.picker.pick(rng.randint(2, 4))
        row = (
            n,
            f"year-{n}",
            title,
            rng.randint(1, 10),
            rng.choice(CATEGORIES),
            at,
            summary,
            f"https://example.org/briefs/{n}",
            hashlib.sha256(f"{n}:{title}".encode()).hexdigest(),
            at,
            at,
            " ".join(SLUGS[i] for i in tags),
        )
        return row, [tag_ids[i] for i in tags]


class YearChatMaker(ChatMaker):
    """bench/plan.py's chats, following 1-3 tags (two on average: 2M for a million)."""

    def chat(self, chat_id: int) -> tuple[dict[str, Any], list[int]]:
        values, tags = super().chat(chat_id)  # 1-8 tags, uniformly many
        return values, tags[: self.rng.choice((1, 2, 2, 3, 3))]


def outbox_row(n: int, size: Size, rng: random.Random) -> tuple[Any, ...]:
    """Row ``n`` of a year of sent digests, oldest first."""
    day = YEAR_START + timedelta(days=365) * (n / max(size.outbox, 1))
    chat = rng.randint(1, max(size.chats, 1))
    draw = rng.random()
    status = "sent" if draw < 0.97 else "failed" if draw < 0.99 else "cancelled"
    briefs = sorted(rng.sample(range(1, max(size.briefs, 10) + 1), 3))
    late = rng.randint(1, 90)  # seconds after its due moment Telegram took it
    return (
        n + 1,
        f"digest:{chat}:{day:%Y-%m-%d}:{n}",
        chat,
        "digest",
        0,
        json.dumps({"digest": briefs}),
        status,
        1,
        day,
        BLOCKED if status == "failed" else None,
        day,
        day + timedelta(seconds=late) if status == "sent" else None,
        late * 1000 if status == "sent" else None,
    )


async def fill(url: str, size: Size, *, progress: bool = True) -> None:
    """Migrate an empty database and fill it with the year."""
    engine = db.create_engine(url)

    def say(message: str) -> None:
        if progress:
            print(f"[{engine.dialect.name} {size.label}] {message}", file=sys.stderr, flush=True)

    try:
        await db.upgrade(engine)
        rng = random.Random(size.seed)
        picker = TagPicker(rng, 1.0)
        async with db.session_scope(db.session_factory(engine)) as session:
            by_slug = await store.ensure_tags(session=session, slugs=SLUGS)
        tag_ids = [by_slug[slug] for slug in SLUGS]
        makers = BriefMaker(rng, picker)
        async with engine.begin() as conn:
            say(f"{size.briefs:,} briefs...")
            for first in range(1, size.briefs + 1, CHUNK):
                rows, links = [], []
                for n in range(first, min(first + CHUNK, size.briefs + 1)):
                    row, tags = makers.brief(n, size.briefs, tag_ids)
                    rows.append(row)
                    links.extend((n, tag_id, i) for i, tag_id in enumerate(tags))
                await _bulk_insert(conn, "briefs", BRIEF_COLUMNS, rows)
                await _bulk_insert(conn, "brief_tags", LINK_COLUMNS, links)
            say(f"{size.chats:,} chats...")
            chats = YearChatMaker(rng, picker)
            for first in range(1, size.chats + 1, CHUNK):
                chat_rows: list[tuple[Any, ...]] = []
                sub_rows: list[tuple[Any, ...]] = []
                for chat_id in range(first, min(first + CHUNK, size.chats + 1)):
                    values, tags = chats.chat(chat_id)
                    values["tag_ids"] = ",".join(str(t) for t in sorted(tag_ids[i] for i in tags))
                    chat_rows.append(tuple(values[name] for name in CHAT_COLUMNS))
                    sub_rows.extend((chat_id, tag_ids[i], values["created_at"]) for i in tags)
                await _bulk_insert(conn, "chats", CHAT_COLUMNS, chat_rows)
                await _bulk_insert(conn, "subscriptions", SUB_COLUMNS, sub_rows)
            if conn.dialect.name == "sqlite":  # rows where the bot keeps them (store.place_chats)
                await conn.exec_driver_sql(SQLITE_PLACE_ALL)
            say(f"{size.outbox:,} outbox rows...")
            for first in range(0, size.outbox, CHUNK):
                out = [
                    outbox_row(n, size, rng) for n in range(first, min(first + CHUNK, size.outbox))
                ]
                await _bulk_insert(conn, "outbox", OUTBOX_COLUMNS, out)
            if engine.dialect.name == "postgresql":  # ids were given: move the sequences on
                for table in ("briefs", "outbox"):
                    await conn.execute(
                        sa.text(
                            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                            f" (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)"
                        )
                    )
            await conn.execute(
                sa.text("INSERT INTO kv (key, value) VALUES (:key, :value)"),
                {"key": MARKER, "value": marker(size)},
            )
        say("statistics...")
        async with engine.connect() as conn:
            # what a production server's autovacuum (or SQLite's optimize) would have done
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            if engine.dialect.name == "postgresql":
                await conn.execute(sa.text("VACUUM ANALYZE"))
            else:
                await conn.execute(sa.text("ANALYZE"))
                await conn.execute(
                    sa.text("INSERT INTO briefs_fts(briefs_fts) VALUES ('optimize')")
                )
                await conn.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
    finally:
        await engine.dispose()


# --- where it is kept -------------------------------------------------------------------


def cache_dir(given: str | None = None) -> Path:
    folder = Path(
        given
        or os.environ.get("DIGESTBOT_BENCH_CACHE")
        or Path.home() / ".cache" / "digestbot-bench"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def _sqlite_marker(path: Path) -> str | None:
    engine = db.create_engine(f"sqlite:///{path}")
    try:
        async with engine.connect() as conn:
            found = await conn.execute(
                sa.text("SELECT value FROM kv WHERE key = :k"), {"k": MARKER}
            )
            return found.scalar_one_or_none()
    except sa.exc.SQLAlchemyError:
        return None
    finally:
        await engine.dispose()


def sqlite_store(size: Size, *, folder: Path, rebuild: bool) -> tuple[str, bool]:
    """The cached SQLite file's URL, building it first when needed; (url, built)."""
    path = folder / f"yearstore_{size.label}_{db.head_revision()}_v{BUILD_VERSION}.db"
    if not rebuild and path.exists() and asyncio.run(_sqlite_marker(path)) == marker(size):
        return f"sqlite:///{path}", False
    scratch = path.with_suffix(".building")
    for p in (path, scratch):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{p}{suffix}").unlink(missing_ok=True)
    asyncio.run(fill(f"sqlite:///{scratch}", size))
    for suffix in ("-wal", "-shm"):  # checkpointed and closed: nothing left in them
        Path(f"{scratch}{suffix}").unlink(missing_ok=True)
    scratch.rename(path)
    return f"sqlite:///{path}", True


def _url(admin_url: str, name: str) -> str:
    return f"{admin_url.rpartition('/')[0]}/{name}"


async def _postgres_marker(admin_url: str, name: str) -> str | None:
    try:
        conn = await asyncpg.connect(_url(admin_url, name))
    except asyncpg.InvalidCatalogNameError:
        return None
    try:
        value: str | None = await conn.fetchval("SELECT value FROM kv WHERE key = $1", MARKER)
        return value
    except asyncpg.PostgresError:
        return None
    finally:
        await conn.close()


def postgres_name(size: Size) -> str:
    # named for the schema revision and build too, as the SQLite file is: a branch with a
    # new migration then builds its own rather than replacing the one main's runs use
    return f"digestbot_year_{size.label}_{db.head_revision()}_v{BUILD_VERSION}"


async def postgres_store(size: Size, *, admin_url: str, rebuild: bool) -> tuple[str, bool]:
    """The cached PostgreSQL database's URL, building it first when needed; (url, built)."""
    name = postgres_name(size)
    if not rebuild and await _postgres_marker(admin_url, name) == marker(size):
        return _url(admin_url, name), False
    scratch = f"{name}_building"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{scratch}"')
        await fill(_url(admin_url, scratch), size)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'ALTER DATABASE "{scratch}" RENAME TO "{name}"')
    finally:
        await admin.close()
    return _url(admin_url, name), True


def forget(kind: str, url: str, *, pg_url: str = ADMIN_URL) -> None:
    """Delete a cached store (the smoke tests' tiny ones)."""
    if kind == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{url.removeprefix('sqlite:///')}{suffix}").unlink(missing_ok=True)
        return

    async def drop() -> None:
        admin = await asyncpg.connect(pg_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}" WITH (FORCE)')
        finally:
            await admin.close()

    asyncio.run(drop())


def year_store(
    kind: str,
    size: Size,
    *,
    rebuild: bool = False,
    cache: str | None = None,
    pg_url: str = ADMIN_URL,
) -> tuple[str, bool, float]:
    """A year store of ``kind`` (``sqlite`` or ``postgres``): (url, built now, seconds)."""
    started = time.perf_counter()
    if kind == "sqlite":
        url, built = sqlite_store(size, folder=cache_dir(cache), rebuild=rebuild)
    else:
        url, built = asyncio.run(postgres_store(size, admin_url=pg_url, rebuild=rebuild))
    return url, built, time.perf_counter() - started


async def counts(url: str) -> dict[str, int]:
    engine = db.create_engine(url)
    try:
        async with engine.connect() as conn:
            return {
                table: (await conn.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar_one()
                for table in ("chats", "subscriptions", "briefs", "outbox")
            }
    finally:
        await engine.dispose()


def add_size_options(parser: argparse.ArgumentParser) -> None:
    """The options every script on the year store takes."""
    default = Size()
    parser.add_argument("--chats", type=int, default=default.chats)
    parser.add_argument("--briefs", type=int, default=default.briefs)
    parser.add_argument("--outbox", type=int, default=default.outbox)
    parser.add_argument("--seed", type=int, default=default.seed)
    parser.add_argument("--rebuild", action="store_true", help="build it even if cached")
    parser.add_argument("--cache-dir", help="where SQLite stores are kept")
    parser.add_argument("--pg-url", default=ADMIN_URL, help="PostgreSQL server to use")


def size_of(args: argparse.Namespace) -> Size:
    if min(args.chats, args.briefs, args.outbox) < 0:
        raise SystemExit("sizes must not be negative")
    return Size(args.chats, args.briefs, args.outbox, args.seed)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Build (or find cached) the year-sized benchmark store; print its URL "
        "and, last, JSON with its row counts."
    )
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    add_size_options(parser)
    args = parser.parse_args(argv)
    size = size_of(args)
    for kind in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
        url, built, seconds = year_store(
            kind, size, rebuild=args.rebuild, cache=args.cache_dir, pg_url=args.pg_url
        )
        print(url)
        found = asyncio.run(counts(url))
        print(json.dumps({"db": kind, "built": built, "seconds": round(seconds, 1), **found}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
