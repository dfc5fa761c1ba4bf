"""The languages the bot speaks: gettext catalogs through Babel, one language per update.

Every text a reader or an admin sees in Telegram goes through :func:`gettext` (imported
as ``_``) or :func:`ngettext` (counts). The catalogs are
``digestbot/locales/<lang>/LC_MESSAGES/digestbot.po``, compiled beside themselves to
``.mo`` (shipped in the wheel; ``tests/test_i18n.py`` fails when a ``.mo`` is older than
its ``.po``). The README's "Adding a language" says how a translator adds one.

Which language a text is in is the *current* language, a context variable: the bot sets
it at the start of each update from the chat's choice (bot/language.py), and the sender
wraps each chat's message in :func:`use`. A context variable rather than a parameter on
every function that makes a text: asyncio gives each update its own task, so one chat's
language never leaks into another's, and the hundreds of texts need no plumbing.

Texts defined once at import time (the command table's descriptions, button labels) are
marked with :func:`N_` and translated where they are shown.

Dates and numbers are formatted by Babel in the current language's locale.

Imports nothing of digestbot: it is a base module.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date as _format_date
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

LOCALES = Path(__file__).parent / "locales"
DOMAIN = "digestbot"
# The languages with a catalog, each named in its own language (the /language buttons).
NAMES: dict[str, str] = {"en": "English", "hi": "हिन्दी"}
LANGUAGES: tuple[str, ...] = tuple(NAMES)
SOURCE_LANGUAGE = "en"  # the language the texts are written in, in the code

# The functions the catalog extractor looks for, as Babel's ``keywords`` (pybabel -k).
KEYWORDS: dict[str, tuple[int, ...] | None] = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "N_": None,
    "count": (1, 2),
}

_default = SOURCE_LANGUAGE
_current: ContextVar[str | None] = ContextVar("digestbot_language", default=None)


def configure(default: str) -> None:
    """Set the language of chats that never said theirs (``DEFAULT_LANGUAGE``)."""
    global _default
    if default not in NAMES:
        raise ValueError(f"no catalog for language {default!r}; have {', '.join(LANGUAGES)}")
    _default = default


def default_language() -> str:
    return _default


def resolve(code: str | None) -> str:
    """The language to speak for a Telegram ``language_code`` (``"hi"``, ``"en-US"``) or
    a chat's stored choice: ours when we have it, else the default."""
    if code:
        primary = code.replace("_", "-").split("-", 1)[0].lower()
        if primary in NAMES:
            return primary
    return _default


def current() -> str:
    """The language texts are made in now."""
    return _current.get() or _default


def set_current(language: str) -> None:
    """Make ``language`` current for the rest of this task (one update's handling)."""
    _current.set(language if language in NAMES else _default)


@contextmanager
def use(language: str | None) -> Iterator[None]:
    """Make texts in ``language`` (resolved) inside the block."""
    token = _current.set(resolve(language))
    try:
        yield
    finally:
        _current.reset(token)


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalog of ``language``; the source language needs none."""
    if language == SOURCE_LANGUAGE:
        return NullTranslations()
    return Translations.load(str(LOCALES), [language], domain=DOMAIN)


def gettext(message: str) -> str:
    """``message`` in the current language."""
    return translations(current()).gettext(message)


_ = gettext


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a counted text that goes with ``n`` in the current language."""
    return translations(current()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for the catalog, to be translated where it is shown."""
    return message


@cache
def locale(language: str) -> Locale:
    return Locale.parse(language)


def number(n: int | float) -> str:
    """``n`` as the current language writes it: "1,204" (en), "1,204" (hi)."""
    return format_decimal(n, locale=locale(current()))


def count(singular: str, plural: str, n: int, **values: object) -> str:
    """A counted text ("{n} chat" / "{n} chats") in the form that goes with ``n``, its
    ``{n}`` filled with the number as the current language writes it ("1,204"), and any
    other placeholders from ``values``. The extractor knows it as ``ngettext``
    (:data:`KEYWORDS`)."""
    return ngettext(singular, plural, n).format(n=number(n), **values)


def day(value: date, *, format: str = "medium") -> str:
    """A date as the current language writes it: "Dec 7, 2026", "7 दिस॰ 2026"."""
    return _format_date(value, format=format, locale=locale(current()))
