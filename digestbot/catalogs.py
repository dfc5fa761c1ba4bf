"""Keeping the translation catalogs in step with the code (``digestbot catalogs``).

Babel does the work: its extractor finds every text marked with :data:`i18n.KEYWORDS`,
``Catalog.update`` merges the new texts into each language's ``.po`` (keeping what
translators wrote, marking changed texts fuzzy), and ``write_mo`` compiles. This module
only fixes the choices so everyone runs them the same way: which files, which keywords,
no line numbers in the ``.po`` (so a moved line is not a catalog change) and sorted
entries (so two branches that add texts seldom touch the same lines).

Imports only the base module :mod:`digestbot.i18n`.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from digestbot.i18n import DOMAIN, KEYWORDS, LANGUAGES, LOCALES, SOURCE_LANGUAGE

PACKAGE = Path(__file__).parent
# Not for Telegram readers: the fake Bot API, and the operator's terminal tools.
SKIPPED = ("fakeapi/**", "cli.py", "console.py", "__main__.py", "catalogs.py")
COMMENT_TAGS = ("TRANSLATORS:",)


def template() -> Catalog:
    """Every marked text in the code, as a catalog with no translations."""
    catalog = Catalog(project="digestbot", domain=DOMAIN, charset="utf-8")
    method_map = [(pattern, "ignore") for pattern in SKIPPED] + [("**.py", "python")]
    for filename, lineno, message, comments, context in extract_from_dir(
        str(PACKAGE), method_map=method_map, keywords=KEYWORDS, comment_tags=COMMENT_TAGS,
        strip_comment_tags=True,
    ):  # fmt: skip
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def po_path(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(language: str) -> Path:
    return po_path(language).with_suffix(".mo")


def read(language: str) -> Catalog:
    with po_path(language).open("rb") as f:
        return read_po(f, locale=language, domain=DOMAIN)


def po_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, width=100, include_lineno=False, sort_output=True)
    return out.getvalue()


def mo_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def update() -> Iterator[str]:
    """Merge the code's texts into every language's ``.po``; yields what it did."""
    pot = template()
    for language in LANGUAGES:
        path = po_path(language)
        if path.exists():
            catalog = read(language)
            catalog.update(pot, update_header_comment=False)
        else:
            catalog = Catalog(locale=language, domain=DOMAIN, project="digestbot")
            catalog.update(pot)
            path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(po_bytes(catalog))
        missing = sum(1 for m in catalog if m.id and not m.string)
        kind = "source language" if language == SOURCE_LANGUAGE else f"{missing} untranslated"
        yield f"{path.relative_to(PACKAGE.parent)}: {len(catalog)} texts, {kind}"


def compile_all() -> Iterator[str]:
    """Compile every ``.po`` to the ``.mo`` the bot loads."""
    for language in LANGUAGES:
        mo_path(language).write_bytes(mo_bytes(read(language)))
        yield str(mo_path(language).relative_to(PACKAGE.parent))
