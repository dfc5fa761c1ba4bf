"""Engine, sessions and schema migrations (Alembic), for SQLite and PostgreSQL alike."""

from __future__ import annotations

import time
import weakref
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib.resources import files
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from digestbot.config import async_database_url
from digestbot.errors import SchemaOutdatedError, StoreError

SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_CHECKPOINT_PAGES = 10_000
# A PostgreSQL connection idle in the pool longer than this is checked before use (one
# round trip): one that has not been idle was just working. Checking every checkout
# (pool_pre_ping) cost three round trips per session, the bot a third of its rate on
# the year store (bench/RESULTS.md, issue 19).
IDLE_PING_SECONDS = 1.0
# PostgreSQL connections kept in the pool, and no more opened beside them. SQLAlchemy's
# default (5 kept, 10 more opened for a burst and closed when given back) opened a new
# connection for every second update under 64 concurrent updates: a server process
# forked, a few round trips, and an empty statement cache (each statement parsed
# again), which cost the command path more than its queries (bench/RESULTS.md, issue
# 19). 15 is the most the default ever held open at once; a session past it waits.
PG_POOL_SIZE = 15

SessionFactory = async_sessionmaker[AsyncSession]


def create_engine(
    database_url: str, *, idle_ping_seconds: float = IDLE_PING_SECONDS, **kwargs: Any
) -> AsyncEngine:
    """An async engine for ``sqlite:///...`` or ``postgresql://...`` (or their async forms).

    On PostgreSQL a pooled connection idle for ``idle_ping_seconds`` or more is pinged
    before use and replaced if the server dropped it (a restart, a failover)."""
    url = async_database_url(database_url)
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs
        )
        sa.event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", PG_POOL_SIZE)
        kwargs.setdefault("max_overflow", 0)
        # the connection given back last is taken first: under light load the same few
        # stay busy (warm caches, no ping) and the rest idle, pinged when next used
        kwargs.setdefault("pool_use_lifo", True)
    engine = create_async_engine(url, **kwargs)
    sa.event.listen(engine.sync_engine, "checkin", _note_checkin)
    sa.event.listen(engine.sync_engine, "checkout", _ping_if_idle(idle_ping_seconds))
    return engine


_CHECKED_IN = "digestbot_checked_in"


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info[_CHECKED_IN] = time.monotonic()


def _ping_if_idle(seconds: float) -> Callable[[Any, Any, Any], None]:
    def ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in = record.info.get(_CHECKED_IN)
        if checked_in is None or time.monotonic() - checked_in < seconds:
            return  # new, or busy a moment ago
        try:
            dbapi_connection.ping()
        except Exception as exc:
            # the pool then invalidates it and checks out another (a fresh one)
            raise DisconnectionError(f"dropped while idle in the pool: {exc}") from exc

    return ping


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run while the sender writes; the busy timeout makes a second
    # writer wait instead of failing with "database is locked".
    # SQLite's own lower() knows only ASCII; searches must fold "Über" like PostgreSQL does.
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Checkpoint (copy the WAL back into the file, and fsync) every ~40 MB, not 4 MB: a
    # planning tick of a million chats' day writes a few MB, and each checkpoint's fsync
    # would otherwise land in nearly every tick.
    cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_CHECKPOINT_PAGES}")
    cursor.close()


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def server_side(session: AsyncSession) -> bool:
    """Whether the database does its work in a process of its own (PostgreSQL), so our
    Python can go on while a statement runs; SQLite runs in a thread of ours, sharing
    the interpreter's lock."""
    return session.get_bind().dialect.name == "postgresql"


def session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def session_scope(factory: SessionFactory) -> AsyncIterator[AsyncSession]:
    """A session that commits when the block ends and rolls back on error."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


# Each engine's twin on the same pool whose connections run in autocommit (PostgreSQL).
_AUTOCOMMIT: weakref.WeakKeyDictionary[AsyncEngine, AsyncEngine] = weakref.WeakKeyDictionary()


def _autocommit_bind(factory: SessionFactory) -> AsyncEngine | None:
    """The autocommit twin of ``factory``'s engine on PostgreSQL; None on SQLite (whose
    driver begins a transaction only before a write, so reads cost no BEGIN there) or
    for a factory bound to no engine."""
    engine = factory.kw.get("bind")
    if not isinstance(engine, AsyncEngine) or engine.dialect.name != "postgresql":
        return None
    twin = _AUTOCOMMIT.get(engine)
    if twin is None:
        # shares the pool: the level is set on the connection at checkout and reset at
        # checkin, by the driver adapter alone (no round trip)
        twin = _AUTOCOMMIT[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return twin


@asynccontextmanager
async def read_scope(factory: SessionFactory) -> AsyncIterator[AsyncSession]:
    """A session for reads only: nothing is committed.

    On PostgreSQL its statements run outside a transaction (autocommit), so the session
    costs no BEGIN and no ROLLBACK round trip beside its statements: a transaction
    around reads at READ COMMITTED (each statement its own snapshot anyway) bought
    nothing, and cost the command path two of its ~5 round trips per session
    (bench/RESULTS.md, issue 19). On SQLite it is a plain session."""
    bind = _autocommit_bind(factory)
    async with factory() if bind is None else factory(bind=bind) as session:
        yield session


@asynccontextmanager
async def autocommit_scope(factory: SessionFactory) -> AsyncIterator[AsyncSession]:
    """A session for a use case that reads and then writes **one** statement at most:
    on PostgreSQL every statement commits on its own (no BEGIN, no COMMIT round trip);
    what the session changed is flushed when the block ends, as by ``session_scope``.

    With two writes a failure between them would keep the first, so a use case writing
    more than one statement (or reading what it must lock) takes ``session_scope``.
    On SQLite it *is* ``session_scope`` (the driver begins only before the write)."""
    bind = _autocommit_bind(factory)
    if bind is None:
        async with session_scope(factory) as session:
            yield session
        return
    async with factory(bind=bind) as session:
        yield session
        await session.flush()


def alembic_config() -> Config:
    """Alembic's config, pointing at the migrations shipped inside the package."""
    cfg = Config()
    cfg.set_main_option("script_location", str(files("digestbot.store") / "migrations"))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The schema revision the database is at (None for an empty database)."""

    def read(connection: sa.Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    try:
        async with engine.connect() as conn:
            return await conn.run_sync(read)
    except (SQLAlchemyError, OSError) as exc:
        raise StoreError(f"cannot open the database: {_reason(exc)}") from exc


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply pending migrations up to ``revision`` on this engine's database."""

    def run(connection: sa.Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)

    try:
        async with engine.begin() as conn:
            await conn.run_sync(run)
    except (SQLAlchemyError, OSError) as exc:
        raise StoreError(f"cannot migrate the database: {_reason(exc)}") from exc


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    def run(connection: sa.Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def ensure_schema(engine: AsyncEngine, *, auto_upgrade: bool) -> bool:
    """Bring the schema to head (``auto_upgrade``) or refuse an old one.

    Returns True when migrations were applied. SQLite upgrades itself: it is one
    file one process owns. PostgreSQL may be shared by replicas, so an operator
    runs ``digestbot db upgrade`` once instead.
    """
    current, head = await current_revision(engine), head_revision()
    if current == head:
        return False
    if not auto_upgrade:
        raise SchemaOutdatedError(
            f"the database schema is at {current or 'empty'}, this digestbot needs {head}; "
            "run `digestbot db upgrade` first"
        )
    await upgrade(engine)
    return True


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return str(orig).splitlines()[0] if str(orig) else type(orig).__name__
