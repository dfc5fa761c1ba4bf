"""The ``digestbot`` command line.

Built on click: it is what most Python command lines people already use are made
with, gives ``--help`` for every command and subcommand (``db upgrade``), exits 2
on usage errors by convention, and ships no dependencies beyond itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import tempfile
from argparse import Namespace
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, NoReturn, TextIO, TypeVar

import click
from alembic import command as alembic_command
from alembic.operations.ops import MigrationScript
from alembic.runtime.migration import MigrationContext
from alembic.script import Script
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.error import InvalidToken, NetworkError, TelegramError

from digestbot import catalogs, store
from digestbot.briefs import feedadmin, fetcher
from digestbot.briefs.ingest import Ingester, IngestReport, seed_if_empty, seeds_dir
from digestbot.briefs.parse import Rejected
from digestbot.briefs.poller import FeedPoller
from digestbot.config import Settings, env_file_warnings, load_settings
from digestbot.errors import ConfigError, StoreError
from digestbot.logs import RedactingFilter, install_excepthook, setup_logging
from digestbot.store import db
from digestbot.text import plural

T = TypeVar("T")

EXIT_REJECTED = 1
EXIT_USAGE = 2  # also a configuration error: systemd's unit does not restart on it


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"digestbot: {message}", err=True)
    sys.exit(code)


class _NoBootstrapTraceback(logging.Filter):
    """PTB logs its failed start (no network, a rejected token) with a long traceback,
    then raises; ``run`` turns the error into one line, so the record would only repeat it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Network Retry Loop (Bootstrap")


def redact(text: str, settings: Settings) -> str:
    token = settings.telegram_bot_token
    return RedactingFilter([token.get_secret_value()] if token else []).redact(text)


def _settings(ctx: click.Context) -> Settings:
    """Settings from the environment and the env file, built once per run."""
    obj: dict[str, Any] = ctx.ensure_object(dict)
    if "settings" not in obj:
        env_file: Path = obj.get("env_file", Path(".env"))
        try:
            settings = load_settings(env_file)
        except ConfigError as exc:
            _fail(str(exc))
        for warning in env_file_warnings(env_file):
            click.echo(f"digestbot: warning: {warning}", err=True)
        token = settings.telegram_bot_token
        redactor = setup_logging(
            settings.log_level, secrets=[token.get_secret_value()] if token else []
        )
        install_excepthook(redactor)
        obj["settings"] = settings
    settings_: Settings = obj["settings"]
    return settings_


def _run(coro: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run one async step, turning store problems into one line and exit 1."""
    try:
        return asyncio.run(coro())
    except StoreError as exc:
        _fail(str(exc), 1)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        _fail(f"database error: {reason}", 1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Read settings from this file as well as the environment.  [default: .env, if present]",
)
@click.version_option(package_name="digestbot")
@click.pass_context
def cli(ctx: click.Context, env_file: Path | None) -> None:
    """digestbot: short digests of news briefs, in Telegram, on the tags you follow."""
    # Only the default may be absent: a file named on purpose and missing is a mistake.
    if env_file is not None and not env_file.is_file():
        _fail(f"--env-file {str(env_file)[:200]}: no such file")
    ctx.ensure_object(dict)["env_file"] = env_file or Path(".env")


async def _prepare_store(settings: Settings, *, samples: bool) -> IngestReport | None:
    """Migrate SQLite (or check PostgreSQL's schema); with ``samples``, load the sample
    briefs into an empty store."""
    engine = db.create_engine(settings.database_url)
    try:
        await db.ensure_schema(engine, auto_upgrade=settings.is_sqlite)
        return await seed_if_empty(db.session_factory(engine)) if samples else None
    finally:
        await engine.dispose()


@cli.command()
@click.option(
    "--samples",
    is_flag=True,
    help="Load the sample briefs (seeds/) into an empty store first: for trying it out, "
    "not in front of real subscribers.",
)
@click.pass_context
def run(ctx: click.Context, samples: bool) -> None:
    """Run the bot against Telegram: long polling, or webhook mode with WEBHOOK_URL set.

    Needs TELEGRAM_BOT_TOKEN.
    """
    from digestbot.bot.app import build_application, serve_health_while_polling

    settings = _settings(ctx)
    try:
        settings.token()
    except ConfigError as exc:
        _fail(str(exc))
    _run(lambda: _prepare_store(settings, samples=samples))
    app = build_application(settings, freeze_heap=True)
    logging.getLogger("telegram.ext").addFilter(_NoBootstrapTraceback())
    try:
        if settings.webhook_url:
            _run(lambda: _serve_webhook(app, settings))
        else:
            serve_health_while_polling(app, settings)
            app.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
    except InvalidToken:
        # A configuration error, not an outage: exit 2 so systemd stops restarting it.
        _fail("Telegram rejected TELEGRAM_BOT_TOKEN; check it with @BotFather", EXIT_USAGE)
    except NetworkError as exc:  # no network, DNS, a firewall: worth retrying, so exit 1
        reason = redact(str(exc), settings)
        _fail(f"cannot reach Telegram ({reason}); check the network or TELEGRAM_API_BASE_URL", 1)
    except TelegramError as exc:  # e.g. Telegram unreachable at start; the token is redacted
        _fail(f"Telegram: {redact(str(exc), settings)}", 1)


async def _serve_webhook(app: Any, settings: Settings) -> None:
    """Webhook mode until SIGTERM or SIGINT (what `docker stop` and systemd send)."""
    from digestbot.bot.app import serve_webhook

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await serve_webhook(app, settings, stop)


@cli.command()
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("digestbot-console.db"),
    show_default=True,
    help="The console's own SQLite file (never DATABASE_URL, which `run` uses).",
)
@click.pass_context
def console(ctx: click.Context, db_path: Path) -> None:
    """Chat with the bot in this terminal: a local fake Telegram, no token, no network.

    Loads the sample briefs (seeds/) into an empty store.
    """
    from digestbot.console import run_console

    # Its own file: users, subscriptions and sample briefs made here must not leak
    # into the store `digestbot run` serves real subscribers from.
    settings = _settings(ctx).model_copy(update={"database_url": f"sqlite:///{db_path}"})
    if "log_level" not in settings.model_fields_set:  # keep the conversation readable
        setup_logging("WARNING")
    loaded = _run(lambda: _prepare_store(settings, samples=True))
    samples = f", {plural(loaded.added, 'sample brief')} loaded" if loaded else ""
    click.echo(f"store: {db_path}{samples} (--db PATH for another)")
    try:
        status = asyncio.run(run_console(settings))
    except KeyboardInterrupt:  # Ctrl-C while the bot was answering (it already said bye)
        status = 130
    except StoreError as exc:
        _fail(str(exc), 1)
    # Everything is closed and flushed; skip the interpreter's teardown of PTB, SQLAlchemy
    # and pydantic's modules, which alone takes most of a second after /quit.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


@cli.command()
@click.argument("targets", nargs=-1, metavar="PATH_OR_URL...")
@click.option("--samples", is_flag=True, help="Also store the sample briefs (seeds/).")
@click.pass_context
def ingest(ctx: click.Context, targets: tuple[str, ...], samples: bool) -> None:
    """Store briefs from card files, JSON / JSON Lines files, folders (recursively) and URLs;
    - reads one card or JSON / JSON Lines document from standard input.

    Prints one line per rejected input and a summary; exits 1 when anything was
    rejected (the good inputs are still stored).
    """
    if not targets and not samples:
        raise click.UsageError("Missing argument 'PATH_OR_URL...' (or --samples).")
    settings = _settings(ctx)
    paths = [t for t in targets if t != "-"] + ([str(seeds_dir())] if samples else [])
    stdin = sys.stdin.buffer.read() if "-" in targets else None

    async def go() -> IngestReport:
        engine = db.create_engine(settings.database_url)
        try:
            await db.ensure_schema(engine, auto_upgrade=settings.is_sqlite)
            async with fetcher.make_client(allow_private=settings.feed_allow_private) as http:
                ingester = Ingester(
                    db.session_factory(engine), http, deadline=settings.feed_timeout
                )
                report = await ingester.ingest(paths)
                if stdin is not None:
                    report.merge(await ingester.ingest_bytes(stdin, source="<stdin>"))
                return report
        finally:
            await engine.dispose()

    _report(_run(go))


def _report(report: IngestReport) -> NoReturn:
    """What ``ingest`` and ``feed poll`` print; exit 1 when anything was rejected."""
    for rejected in report.rejected:
        click.echo(f"rejected {rejected.source}: {rejected.reason}", err=True)
    click.echo(report.summary())
    sys.exit(EXIT_REJECTED if report.rejected else 0)


@cli.command()
@click.argument("file", type=click.File("w", encoding="utf-8", lazy=True))
@click.pass_context
def export(ctx: click.Context, file: TextIO) -> None:
    """Write every brief as JSON Lines to FILE (or - for standard output); ingest reads it back."""
    settings = _settings(ctx)

    async def go() -> int:
        engine = db.create_engine(settings.database_url)
        count = 0
        try:
            await db.ensure_schema(engine, auto_upgrade=settings.is_sqlite)
            async with db.session_factory(engine)() as session:
                async for brief in store.iter_briefs(session=session):
                    file.write(json.dumps(brief.to_dict(), ensure_ascii=False) + "\n")
                    count += 1
        finally:
            await engine.dispose()
        return count

    count = _run(go)
    file.flush()
    click.echo(f"exported {plural(count, 'brief')}", err=True)


@cli.group(name="catalogs")
def catalogs_group() -> None:
    """Translation catalogs: merge the code's texts into them, compile them (README)."""


@catalogs_group.command(name="update")
def catalogs_update() -> None:
    """Add new texts to every language's .po (translated ones are kept)."""
    for line in catalogs.update():
        click.echo(line)


@catalogs_group.command(name="compile")
def catalogs_compile() -> None:
    """Compile every .po to the .mo the bot loads."""
    for line in catalogs.compile_all():
        click.echo(line)


@cli.group(name="feed")
def feed_group() -> None:
    """Feeds polled for briefs: add, list, remove, poll now (admins use /feeds in the chat)."""


def _with_feeds(
    settings: Settings, step: Callable[[feedadmin.FeedAdmin], Coroutine[Any, Any, T]]
) -> T:
    """Run ``step`` on the feeds; a mistake in what was asked is one line and exit 2."""

    async def go() -> T:
        engine = db.create_engine(settings.database_url)
        try:
            await db.ensure_schema(engine, auto_upgrade=settings.is_sqlite)
            return await step(feedadmin.FeedAdmin(db.session_factory(engine)))
        finally:
            await engine.dispose()

    try:
        return _run(go)
    except feedadmin.FeedAdminError as exc:
        _fail(exc.reason)


@feed_group.command(name="add")
@click.argument("url")
@click.option("--tag", "tags", multiple=True, help="A default tag (repeat for more).")
@click.option("--category", help="The category of entries that name none (else News).")
@click.option("--score", help="The score 0-10 of entries that give none (else 5).")
@click.pass_context
def feed_add(
    ctx: click.Context, url: str, tags: tuple[str, ...], category: str | None, score: str | None
) -> None:
    """Add a feed; entries naming no tag get the --tag ones (and the known tags they name)."""
    settings = _settings(ctx)
    try:
        spec = feedadmin.FeedSpec(
            feedadmin.check_url(url),
            feedadmin.check_tags(tags),
            feedadmin.check_category(category) if category is not None else None,
            feedadmin.check_score(score) if score is not None else None,
        )
    except feedadmin.FeedAdminError as exc:
        _fail(exc.reason)
    added = _with_feeds(settings, lambda admin: admin.add(spec))
    click.echo(f"added feed {added.id}: {added.url}")


@feed_group.command(name="list")
@click.pass_context
def feed_list(ctx: click.Context) -> None:
    """Every feed: its number, defaults, state, and the briefs it stored."""
    settings = _settings(ctx)
    views = _with_feeds(settings, lambda admin: admin.list())
    if not views:
        click.echo("no feeds yet: digestbot feed add URL --tag TAG")
    for view in views:
        click.echo("\n".join(view.lines(settings.default_zone)))


@feed_group.command(name="remove")
@click.argument("feed_id", metavar="ID")
@click.pass_context
def feed_remove(ctx: click.Context, feed_id: str) -> None:
    """Remove feed ID (see feed list); the briefs it brought stay."""
    settings = _settings(ctx)
    try:
        number = feedadmin.parse_id(feed_id)
    except feedadmin.FeedAdminError as exc:
        _fail(exc.reason)
    removed = _with_feeds(settings, lambda admin: admin.remove(number))
    click.echo(f"removed feed {removed.id}: {removed.url}")


@feed_group.command(name="poll")
@click.pass_context
def feed_poll(ctx: click.Context) -> None:
    """Poll every due feed now; prints what ingest prints, with the same exit codes."""
    settings = _settings(ctx)

    async def go() -> IngestReport:
        engine = db.create_engine(settings.database_url)
        try:
            await db.ensure_schema(engine, auto_upgrade=settings.is_sqlite)
            async with fetcher.make_client(allow_private=settings.feed_allow_private) as http:
                poller = FeedPoller(
                    db.session_factory(engine),
                    http,
                    settings.feed_urls,
                    deadline=settings.feed_timeout,
                )
                results = await poller.poll()
        finally:
            await engine.dispose()
        report = IngestReport()
        for result in results:
            if result.report is not None:
                report.merge(result.report)
            if result.error is not None:
                report.rejected.append(Rejected(result.url, result.error))
        return report

    _report(_run(go))


@cli.group(name="db")
def db_group() -> None:
    """Database schema commands."""


@db_group.command()
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Apply pending schema migrations (needed once per release on PostgreSQL)."""
    settings = _settings(ctx)

    async def go() -> tuple[str | None, str | None]:
        engine = db.create_engine(settings.database_url)
        try:
            before = await db.current_revision(engine)
            await db.upgrade(engine)
            return before, await db.current_revision(engine)
        finally:
            await engine.dispose()

    before, after = _run(go)
    if before == after:
        click.echo(f"schema already up to date ({after})")
    else:
        click.echo(f"schema upgraded from {before or 'empty'} to {after}")


@db_group.command()
@click.pass_context
def current(ctx: click.Context) -> None:
    """Show the database's schema revision and the one this version needs."""
    settings = _settings(ctx)

    async def go() -> str | None:
        engine = db.create_engine(settings.database_url)
        try:
            return await db.current_revision(engine)
        finally:
            await engine.dispose()

    now, head = _run(go), db.head_revision()
    state = "up to date" if now == head else "run `digestbot db upgrade`"
    click.echo(f"database at {now or 'empty'}, this version needs {head}: {state}")


@db_group.command()
@click.option("-m", "--message", required=True, help="What the migration does (its docstring).")
def revision(message: str) -> None:
    """Write the next migration with Alembic's autogenerate, for a developer to review.

    Compares the models with a scratch SQLite database upgraded to the newest migration
    and writes the difference into digestbot/store/migrations/versions/.
    """
    path, empty = _run(lambda: _autogenerate(message))
    note = " (empty: the models and the migrations agree)" if empty else "; review it"
    click.echo(f"wrote {path}{note}")


async def _autogenerate(message: str) -> tuple[str, bool]:
    """Autogenerate a revision against a throwaway database at head; (its path, empty?)."""
    head = db.head_revision()
    # Revisions are numbered 0001, 0002, ...: keep that rather than Alembic's random ids.
    rev_id = f"{int(head) + 1:04d}" if head and head.isdigit() else None
    empty: list[bool] = []

    def note(_context: MigrationContext, _rev: object, directives: list[MigrationScript]) -> None:
        empty.extend(d.upgrade_ops is None or d.upgrade_ops.is_empty() for d in directives)

    def write(connection: Connection) -> str:
        cfg = db.alembic_config()
        cfg.attributes["connection"] = connection
        cfg.cmd_opts = Namespace(quiet=True)  # Alembic's "Generating ... done": we say it below
        script = alembic_command.revision(
            cfg, message=message, autogenerate=True, rev_id=rev_id,
            process_revision_directives=note,
        )  # fmt: skip
        assert isinstance(script, Script)  # one head, so one script
        return script.path

    with tempfile.TemporaryDirectory(prefix="digestbot-revision-") as scratch:
        engine = db.create_engine(f"sqlite:///{Path(scratch) / 'scratch.db'}")
        try:
            await db.upgrade(engine)
            async with engine.begin() as conn:
                path = await conn.run_sync(write)
        finally:
            await engine.dispose()
    return path, all(empty)


def main() -> None:
    """Entry point of the ``digestbot`` command."""
    # Opt in to PTB's coming timedelta durations (RetryAfter.retry_after) now, which
    # also silences its deprecation warning; delivery.py reads either form.
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    cli(prog_name="digestbot")
