"""Where ``bench/plan.py`` keeps its stores: a template built once per size, and fresh
copies of it for each measurement (planning changes the store: it queues the outbox and
moves every schedule). SQLite: files in a temporary directory, copied as files;
PostgreSQL: fresh databases ``digestbot_bench_<random>...`` on the test server, copied
with ``CREATE DATABASE ... TEMPLATE`` and dropped at the end."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg


class SqliteStores:
    """Stores as files in a temporary directory."""

    name = "sqlite"

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="digestbot_bench_")

    def new(self, label: str) -> str:
        return f"sqlite:///{Path(self._dir.name) / label}.db"

    def copy(self, template: str, label: str) -> str:
        url = self.new(label)
        source, target = _sqlite_path(template), _sqlite_path(url)
        for suffix in ("", "-wal"):
            if Path(f"{source}{suffix}").exists():
                shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
        return url

    def drop(self, url: str) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{_sqlite_path(url)}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        self._dir.cleanup()


def _sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite:///")


class PostgresStores:
    """Stores as fresh databases ``digestbot_bench_<random>...`` on the test server."""

    name = "postgres"

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.prefix = f"digestbot_bench_{uuid.uuid4().hex[:10]}"
        self.created: list[str] = []

    def _url(self, name: str) -> str:
        return f"{self.admin_url.rpartition('/')[0]}/{name}"

    def _admin(self, sql: str) -> None:
        async def run() -> None:
            conn = await asyncpg.connect(self.admin_url)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        asyncio.run(run())

    def new(self, label: str, template: str | None = None) -> str:
        name = f"{self.prefix}_{label}"
        clause = f' TEMPLATE "{template.rpartition("/")[2]}"' if template else ""
        self._admin(f'CREATE DATABASE "{name}"{clause}')
        self.created.append(name)
        return self._url(name)

    def copy(self, template: str, label: str) -> str:
        return self.new(label, template)

    def drop(self, url: str) -> None:
        name = url.rpartition("/")[2]
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.created:
            self.created.remove(name)

    def close(self) -> None:
        for name in list(self.created):
            self.drop(self._url(name))


@contextlib.contextmanager
def open_stores(kind: str, pg_url: str) -> Iterator[SqliteStores | PostgresStores]:
    stores: SqliteStores | PostgresStores = (
        SqliteStores() if kind == "sqlite" else PostgresStores(pg_url)
    )
    try:
        yield stores
    finally:
        stores.close()
