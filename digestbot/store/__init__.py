"""Storage: the models, the engine and sessions, the migrations, and every query.

Owns the schema (``models``), connecting and migrating (``db``, ``migrations/``) and
the queries, as keyword-only async functions taking a session (``queries``; full-text
search in ``search``). Callers write ``store.find_items(session=..., ...)``: the
queries are re-exported here.

May import: the base modules (``config``, ``errors``, ``logs``, ``zones``) only.
"""

from digestbot.store.queries import *  # noqa: F403
from digestbot.store.search import search_items as search_items
