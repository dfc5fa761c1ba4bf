"""The catalogs: complete, faithful to their placeholders and HTML, compiled, and plural-right.

These read the real ``.po`` files and the texts Babel's extractor finds in the code, so
a text added without a Hindi translation, a translation that drops ``{tag}`` or a
``<b>``, or a ``.po`` edited without recompiling fails here, not in a reader's chat.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from babel.messages.catalog import Catalog, Message

from digestbot import catalogs, i18n

DEVANAGARI = re.compile(r"[\u0900-\u097F]")
PLACEHOLDER = re.compile(r"\{[a-z_]*\}")
TAG = re.compile(r"</?([a-z]+)[^>]*>")
COMMAND = re.compile(r"(?<![\w/])/[a-z_]+")
# Texts that are the same in every language: nothing in them to translate.
SAME_IN_EVERY_LANGUAGE = re.compile(r"^[\W\d_]*$")


@pytest.fixture(scope="module")
def template() -> Catalog:
    return catalogs.template()


@pytest.fixture(scope="module")
def hindi() -> Catalog:
    return catalogs.read("hi")


def _forms(message: Message) -> list[str]:
    string = message.string
    return list(string) if isinstance(string, tuple | list) else [string]


def _ids(message: Message) -> list[str]:
    ids = message.id
    return list(ids) if isinstance(ids, tuple | list) else [ids]


def _entries(catalog: Catalog) -> list[Message]:
    return [m for m in catalog if m.id]


def test_the_code_marks_texts_for_translation(template: Catalog) -> None:
    assert len(_entries(template)) > 50  # the command table alone has dozens


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_text_in_the_code_is_in_each_catalog(template: Catalog, language: str) -> None:
    catalog = catalogs.read(language)
    missing = [m.id for m in _entries(template) if m.id not in catalog]
    assert missing == [], "run `digestbot catalogs update`, then translate"
    stale = [m.id for m in _entries(catalog) if m.id not in template]
    assert stale == [], "texts no longer in the code: run `digestbot catalogs update`"


def test_every_text_has_a_hindi_translation_that_is_hindi(hindi: Catalog) -> None:
    untranslated = [m.id for m in _entries(hindi) if not all(_forms(m))]
    assert untranslated == []
    fuzzy = [m.id for m in _entries(hindi) if m.fuzzy]
    assert fuzzy == [], "a fuzzy translation is not used: check it and drop the flag"
    english = [
        m.id
        for m in _entries(hindi)
        for form in _forms(m)
        if not DEVANAGARI.search(form) and not SAME_IN_EVERY_LANGUAGE.match(_ids(m)[0])
    ]
    assert english == [], "left in English"


def test_hindi_plural_entries_have_both_forms(hindi: Catalog) -> None:
    assert hindi.num_plurals == 2
    for message in _entries(hindi):
        if message.pluralizable:
            assert len(_forms(message)) == 2, message.id


def _shape(text: str, pattern: re.Pattern[str]) -> list[str]:
    return sorted(pattern.findall(text))


@pytest.mark.parametrize(("pattern", "what"), [(PLACEHOLDER, "placeholders"), (TAG, "HTML")])
def test_translations_keep_placeholders_and_html(
    hindi: Catalog, pattern: re.Pattern[str], what: str
) -> None:
    wrong = []
    for message in _entries(hindi):
        source = _ids(message)
        for i, form in enumerate(_forms(message)):
            # a plural's first form may drop {n} ("एक टैग"); it may not invent one
            expected = _shape(source[min(i, len(source) - 1)], pattern)
            got = _shape(form, pattern)
            if got != expected and not (
                what == "placeholders" and message.pluralizable and set(got) <= set(expected)
            ):
                wrong.append((message.id, form))
    assert wrong == [], f"{what} differ"


def test_translations_keep_the_commands_they_name(hindi: Catalog) -> None:
    wrong = [
        (m.id, form)
        for m in _entries(hindi)
        for form in _forms(m)
        if set(COMMAND.findall(form)) != set(COMMAND.findall(_ids(m)[0]))
    ]
    assert wrong == []


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_the_compiled_catalogs_match_their_sources(language: str) -> None:
    expected = catalogs.mo_bytes(catalogs.read(language))
    assert catalogs.mo_path(language).read_bytes() == expected, "run `digestbot catalogs compile`"


@pytest.mark.parametrize(
    ("language", "counts"),
    [
        # English: one for 1 only. Hindi (CLDR): one for 0 and 1, other from 2.
        ("en", {0: 1, 1: 0, 2: 1, 5: 1}),
        ("hi", {0: 0, 1: 0, 2: 1, 5: 1}),
    ],
)
def test_plural_forms_follow_each_language(
    template: Catalog, language: str, counts: dict[int, int]
) -> None:
    plurals = [m for m in _entries(template) if m.pluralizable]
    assert plurals, "no counted text is marked with ngettext/count"
    catalog = catalogs.read(language)
    for message in plurals:
        singular, plural = _ids(message)[:2]
        entry = catalog.get(message.id)
        forms = [singular, plural] if language == i18n.SOURCE_LANGUAGE else _forms(entry)
        for n, form in counts.items():
            with i18n.use(language):
                assert i18n.ngettext(singular, plural, n) == forms[form], (message.id, n)


def test_counts_are_written_as_each_language_writes_numbers() -> None:
    with i18n.use("en"):
        assert i18n.count("{n} chat", "{n} chats", 1) == "1 chat"
        assert i18n.count("{n} chat", "{n} chats", 1204) == "1,204 chats"
    with i18n.use("hi"):
        sent = i18n.count("Send to {n} chat", "Send to {n} chats", 1234567)
        assert "12,34,567" in sent  # lakh grouping
        assert DEVANAGARI.search(i18n.count("Send to {n} chat", "Send to {n} chats", 2))


def test_dates_are_written_in_the_chat_language() -> None:
    with i18n.use("en"):
        assert i18n.day(date(2026, 12, 7)) == "Dec 7, 2026"
    with i18n.use("hi"):
        assert i18n.day(date(2026, 12, 7)) == "7 दिस॰ 2026"


@pytest.mark.parametrize(
    ("code", "expected"),
    [("hi", "hi"), ("hi-IN", "hi"), ("HI_in", "hi"), ("en-US", "en"), ("de", "en"), (None, "en"),
     ("", "en"), ("x" * 300, "en")],
)  # fmt: skip
def test_a_telegram_language_code_resolves_to_a_language_we_speak(
    code: str | None, expected: str
) -> None:
    assert i18n.resolve(code) == expected


def test_the_default_language_is_used_for_languages_we_do_not_speak() -> None:
    i18n.configure("hi")
    try:
        assert i18n.resolve("de") == "hi"
        assert i18n.resolve("en") == "en"
    finally:
        i18n.configure("en")
    with pytest.raises(ValueError, match="no catalog"):
        i18n.configure("xx")


def test_use_restores_the_language_it_replaced() -> None:
    with i18n.use("hi"):
        with i18n.use("en"):
            assert i18n.current() == "en"
        assert i18n.current() == "hi"
    assert i18n.current() == i18n.default_language()
