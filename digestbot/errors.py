"""The one exception tree of digestbot.

Foreign errors (httpx, SQLAlchemy, pydantic, json, XML) are translated at the
module that meets them (``raise ... from exc``), so callers catch only these::

    DigestbotError
    ├── ConfigError            a setting is missing or invalid (names the variable)
    ├── StoreError             the database cannot be used as asked
    │   └── SchemaOutdatedError    the schema is behind the code (names the command to run)
    └── InputError             an input was rejected; ``source`` names it
        ├── BriefParseError        a card, JSON object or feed item is not a valid brief
        └── FetchError             a URL could not be fetched (timeout, HTTP status, size cap...)
"""

from __future__ import annotations


class DigestbotError(Exception):
    """Base of every error digestbot raises on purpose."""


class ConfigError(DigestbotError):
    """A setting is missing or invalid."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


class StoreError(DigestbotError):
    """The database cannot be used as asked."""


class SchemaOutdatedError(StoreError):
    """The database schema is older than this version of digestbot."""


class InputError(DigestbotError):
    """An input (file, URL, JSON item, card) was rejected.

    ``reason`` says what is wrong in words a user understands; ``source`` names the
    input (a path, a URL, ``file.jsonl:12``) when the caller knows it.
    """

    def __init__(self, reason: str, *, source: str | None = None) -> None:
        super().__init__(f"{source}: {reason}" if source else reason)
        self.reason = reason
        self.source = source

    def with_source(self, source: str) -> InputError:
        """The same error, naming where it came from."""
        return type(self)(self.reason, source=source)


class BriefParseError(InputError):
    """Text or data that is not a valid brief."""


class FetchError(InputError):
    """A URL could not be fetched or was not a usable feed."""
