"""Alembic environment: runs on a connection digestbot hands in, or opens its own."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from sqlalchemy import Connection
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

from digestbot.store.models import (  # importing the models registers the tables
    UTCDateTime,
    is_model_object,
)

target_metadata = SQLModel.metadata


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    # Migrations must not import digestbot.store.models (they outlive it): render the
    # project's column types as the plain SQLAlchemy types they store as.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_item=_render_item,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite can't ALTER most things
        compare_type=True,
        include_name=is_model_object,  # not the full-text search objects (see models)
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_own_engine() -> None:
    from digestbot.config import load_settings
    from digestbot.store.db import create_engine

    engine = create_engine(load_settings().database_url)
    async with engine.begin() as conn:
        await conn.run_sync(_run)
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # the plain `alembic` command line, for developers writing migrations
    asyncio.run(_run_own_engine())
