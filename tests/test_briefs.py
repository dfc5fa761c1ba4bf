"""Tests of digestbot.briefs: the text-card parser and the JSON / JSON Lines parsers."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from digestbot.briefs.parse import (
    MAX_TAGS,
    MAX_TEXT,
    MAX_TITLE,
    SECTIONS,
    BriefData,
    Rejected,
    is_slug,
    parse_card,
    parse_document,
    parse_json_text,
    slugify,
)
from digestbot.errors import BriefParseError

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN_TEXT = (FIXTURES / "example-brief.txt").read_text(encoding="utf-8")
GOLDEN_DICT: dict[str, Any] = json.loads(
    (FIXTURES / "example-brief.expected.json").read_text(encoding="utf-8")
)
HEADINGS = dict(SECTIONS)  # field -> card heading

# --- factories --------------------------------------------------------------------------------

DEFAULT_SECTIONS: Mapping[str, str] = {
    "what_happened": "A lab shipped a model.",
    "technical_details": "It has more parameters.",
    "why_it_matters": "Costs may fall.",
    "what_to_watch": "Watch the pricing.",
}


def make_card(
    *,
    back_to_feed: bool = True,
    score: int | str | None = 4,
    category: str | None = "Products & Tools",
    published: str | None = "1 May 2026, 02:01 UTC",
    title: str | None = "A model launched.",
    summary: str | None = "It matters to product teams.",
    sections: Mapping[str, str] | None = None,
    tags: Sequence[str] = ("generative-ai",),
    glue: bool = False,
    newline: str = "\n",
) -> str:
    """A text card as a scraper would see it; ``None`` leaves a line out.

    ``score`` is an int (written ``N/10``) or the raw score line. ``sections`` maps field
    names to their text ("\\n" between paragraphs, "" for a bare heading) and defaults to
    DEFAULT_SECTIONS; sections it lacks are left out. ``glue`` glues every heading to the
    end of the text line before it (summary or section text), as real cards do.
    """
    lines: list[str] = []
    if back_to_feed:
        lines.append("Back to feed")
    if score is not None:
        lines.append(f"{score}/10" if isinstance(score, int) else score)
    for line in (category, published, title):
        if line is not None:
            lines.append(line)
    after_text = False  # may the next heading be glued to lines[-1]?
    if summary is not None:
        lines.extend(summary.split("\n"))
        after_text = True
    for name, heading in SECTIONS:
        body = (DEFAULT_SECTIONS if sections is None else sections).get(name)
        if body is None:
            continue
        if glue and after_text:
            lines[-1] += heading
        else:
            lines.append(heading)
        after_text = bool(body)
        if body:
            lines.extend(body.split("\n"))
    lines.extend(tags)
    return newline.join(lines)


def reason_of(text: str) -> str:
    """The reason parse_card gives for rejecting text (fails the test if it accepts it)."""
    with pytest.raises(BriefParseError) as info:
        parse_card(text)
    return info.value.reason


def assert_valid_brief(brief: BriefData) -> None:
    """What every parsed brief promises, whatever the input was."""
    assert isinstance(brief, BriefData)
    assert brief.tags
    assert all(is_slug(tag) for tag in brief.tags)
    assert len(set(brief.tags)) == len(brief.tags)
    assert 0 <= brief.score <= 10
    assert brief.published_at.tzinfo is not None
    assert brief.published_at.utcoffset() == timedelta(0)
    assert brief.title
    assert "\n" not in brief.title
    assert len(brief.title) <= MAX_TITLE


# --- the golden card --------------------------------------------------------------------------


def test_golden_card_parses_to_expected_json() -> None:
    assert parse_card(GOLDEN_TEXT).to_dict() == GOLDEN_DICT


@pytest.mark.parametrize("newline", ["\r\n", "\r"], ids=["crlf", "cr"])
def test_golden_card_with_other_line_endings_parses_identically(newline: str) -> None:
    text = GOLDEN_TEXT.replace("\n", newline)
    assert parse_card(text).to_dict() == GOLDEN_DICT


def test_golden_card_with_bom_parses_identically() -> None:
    assert parse_card("\ufeff" + GOLDEN_TEXT).to_dict() == GOLDEN_DICT


def test_golden_card_without_back_to_feed_parses_identically() -> None:
    text = GOLDEN_TEXT.removeprefix("Back to feed\n")
    assert not text.startswith("Back")
    assert parse_card(text).to_dict() == GOLDEN_DICT


@pytest.mark.parametrize(
    "line", ["back to feed", "BACK TO FEED", "  Back  to feed ", "← Back to feed"]
)
def test_back_to_feed_variants_are_ignored(line: str) -> None:
    text = GOLDEN_TEXT.replace("Back to feed", line, 1)
    assert parse_card(text).to_dict() == GOLDEN_DICT


def test_golden_card_with_blank_lines_and_indentation_everywhere() -> None:
    noisy = "\n\n".join(f" \t {line}  " for line in GOLDEN_TEXT.split("\n"))
    assert parse_card("\n  \n" + noisy + "\n \n\n").to_dict() == GOLDEN_DICT


# --- headings ---------------------------------------------------------------------------------


@pytest.mark.parametrize("end", [".", "?", "!", ")", "]", "”", '"', "'", "\u2019", "»", "…", "。"])
def test_heading_glued_after_sentence_end(end: str) -> None:
    card = make_card(
        sections={"what_happened": f"It shipped (really{end}", "why_it_matters": "Cost."},
    )
    card = card.replace(f"really{end}\nWhy it matters", f"really{end}Why it matters")
    assert f"{end}Why it matters\n" in card
    brief = parse_card(card)
    assert brief.what_happened == f"It shipped (really{end}"
    assert brief.why_it_matters == "Cost."


def test_all_headings_glued_like_real_cards() -> None:
    brief = parse_card(make_card(glue=True))
    assert brief.summary == "It matters to product teams."
    for name, text in DEFAULT_SECTIONS.items():
        assert getattr(brief, name) == text


def test_heading_glued_to_summary() -> None:
    card = make_card(summary="The lede ends here.", sections={"what_happened": "Details."})
    card = card.replace("here.\nWhat happened", "here.What happened")
    brief = parse_card(card)
    assert brief.summary == "The lede ends here."
    assert brief.what_happened == "Details."


@pytest.mark.parametrize(
    "line",
    [
        "Nobody knows what happened",  # heading words after a space, not a sentence end
        "Nobody knows.what happened next",  # glued, but the line goes on
        "Nobody knows. What happened",  # a space after the sentence end: not glued
        "Nobody knowsWhat happened",  # glued to a word, not to a sentence end
        "What happened next was odd.",  # at a line start, but the line goes on
        "What happened?",
    ],
)
def test_heading_words_inside_a_paragraph_do_not_split_it(line: str) -> None:
    text = f"First line.\n{line}\nLast line."
    brief = parse_card(make_card(sections={"what_happened": text, "why_it_matters": "Cost."}))
    assert brief.what_happened == text
    assert brief.why_it_matters == "Cost."


def test_heading_in_any_case_and_with_a_colon_counts() -> None:
    card = make_card(sections={"what_happened": "Shipped.", "why_it_matters": "Cost."})
    card = card.replace("What happened", "WHAT HAPPENED:").replace(
        "Why it matters", "why it matters"
    )
    brief = parse_card(card)
    assert (brief.what_happened, brief.why_it_matters) == ("Shipped.", "Cost.")


def test_missing_section_is_absent_from_dict() -> None:
    sections = {k: v for k, v in DEFAULT_SECTIONS.items() if k != "technical_details"}
    brief = parse_card(make_card(sections=sections, glue=True))
    assert brief.technical_details is None
    assert "technical_details" not in brief.to_dict()
    assert brief.what_happened == DEFAULT_SECTIONS["what_happened"]
    assert brief.why_it_matters == DEFAULT_SECTIONS["why_it_matters"]


def test_heading_without_text_is_an_absent_section() -> None:
    brief = parse_card(make_card(sections={**DEFAULT_SECTIONS, "technical_details": ""}))
    assert brief.technical_details is None
    assert "technical_details" not in brief.to_dict()
    assert brief.what_happened == DEFAULT_SECTIONS["what_happened"]
    assert brief.why_it_matters == DEFAULT_SECTIONS["why_it_matters"]


def test_heading_out_of_order_stays_text() -> None:
    text = "It shipped.\nWhat happened\nAgain."  # "What happened" after "Why it matters"
    brief = parse_card(make_card(sections={"why_it_matters": text}))
    assert brief.what_happened is None
    assert brief.why_it_matters == text


def test_no_summary() -> None:
    brief = parse_card(make_card(summary=None))
    assert brief.summary is None
    assert "summary" not in brief.to_dict()
    assert brief.title == "A model launched."
    assert brief.what_happened == DEFAULT_SECTIONS["what_happened"]


def test_no_headings_makes_all_text_after_title_the_summary() -> None:
    brief = parse_card(make_card(summary="One.\nTwo.\nThree.", sections={}))
    assert brief.summary == "One.\nTwo.\nThree."
    assert all(getattr(brief, name) is None for name, _ in SECTIONS)


def test_title_and_tags_only() -> None:
    brief = parse_card(make_card(summary=None, sections={}, tags=("ai",)))
    assert (brief.title, brief.summary, brief.tags) == ("A model launched.", None, ("ai",))


def test_paragraphs_of_a_section_are_joined_with_newlines() -> None:
    card = make_card(sections={"what_happened": "One.\n\n   Two.  \n\n\nThree."})
    assert parse_card(card).what_happened == "One.\nTwo.\nThree."


def test_any_script_emoji_and_markup_characters_are_kept_verbatim() -> None:
    title = "Модель «Ёж» 🚀 <b>&amp; 新しいモデル"
    text = "Ελληνικά & עברית 😀 <script>alert(1)</script> &lt; 中文。"
    brief = parse_card(make_card(title=title, summary=text, sections={"what_to_watch": text}))
    assert brief.title == title
    assert brief.summary == text
    assert brief.what_to_watch == text


# --- header lines -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "score"), [("0/10", 0), ("10/10", 10), ("4 / 10", 4), ("7 /10", 7), ("07/10", 7)]
)
def test_score_lines(line: str, score: int) -> None:
    assert parse_card(make_card(score=line)).score == score


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("1 May 2026, 02:01 UTC", datetime(2026, 5, 1, 2, 1, tzinfo=UTC)),
        ("1 May 2026 02:01", datetime(2026, 5, 1, 2, 1, tzinfo=UTC)),
        ("01 may 2026, 02:01 GMT", datetime(2026, 5, 1, 2, 1, tzinfo=UTC)),
        ("15 September 2025, 23:59 UTC", datetime(2025, 9, 15, 23, 59, tzinfo=UTC)),
        ("15 Sep 2025, 23:59", datetime(2025, 9, 15, 23, 59, tzinfo=UTC)),
        ("15 Sept. 2025, 23:59:30 UTC", datetime(2025, 9, 15, 23, 59, 30, tzinfo=UTC)),
        ("29 Feb 2024, 0:00UTC", datetime(2024, 2, 29, 0, 0, tzinfo=UTC)),
        ("3 DEC, 2026, 12:00 utc", datetime(2026, 12, 3, 12, 0, tzinfo=UTC)),
    ],
)
def test_publish_time_variants(line: str, expected: datetime) -> None:
    published = parse_card(make_card(published=line)).published_at
    assert published == expected
    assert published.utcoffset() == timedelta(0)


def test_tags_with_hash_and_capitals_are_normalised() -> None:
    brief = parse_card(make_card(tags=("#Generative-AI", "USER-adoption", "#LLM_Safety")))
    assert brief.tags == ("generative-ai", "user-adoption", "llm-safety")


def test_duplicate_tags_are_deduped_in_order() -> None:
    brief = parse_card(make_card(tags=("ai", "policy", "AI", "#ai", "policy", "eu")))
    assert brief.tags == ("ai", "policy", "eu")


def test_tags_are_removed_from_the_last_section() -> None:
    brief = parse_card(make_card(tags=("ai", "eu")))
    assert brief.what_to_watch == DEFAULT_SECTIONS["what_to_watch"]


def test_one_word_last_paragraph_is_taken_as_a_tag() -> None:
    # A documented limit: a single slug-like word at the end cannot be told from a tag.
    brief = parse_card(make_card(sections={"what_to_watch": "Watch pricing.\nTBD"}))
    assert brief.what_to_watch == "Watch pricing."
    assert brief.tags == ("tbd", "generative-ai")


# --- rejections -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param(make_card(score=None), ["no score", "4/10"], id="no-score"),
        pytest.param(make_card(score=11), ["11", "out of range", "0..10"], id="score-11"),
        pytest.param(make_card(score=-1), ["-1", "out of range"], id="score-negative"),
        pytest.param(make_card(score="1" * 5000 + "/10"), ["out of range"], id="score-huge"),
        pytest.param(make_card(score="x/10"), ["'x'", "whole number"], id="score-x"),
        pytest.param(make_card(score="4.5/10"), ["'4.5'", "whole number"], id="score-fraction"),
        pytest.param(make_card(score="4/5"), ["no score"], id="score-out-of-5"),
        pytest.param(make_card(category=None), ["no category"], id="no-category"),
        pytest.param(make_card(published=None), ["no publish time", "UTC"], id="no-date"),
        pytest.param(make_card(published="yesterday"), ["no publish time"], id="date-words"),
        pytest.param(
            make_card(published="2026-05-01T02:01:00Z"), ["no publish time"], id="date-iso"
        ),
        pytest.param(
            make_card(published="1 May 2026, 02:01 PST"), ["no publish time"], id="date-not-utc"
        ),
        pytest.param(
            make_card(published="31 February 2026, 02:01 UTC"),
            ["publish time", "31 February 2026", "not a real date"],
            id="date-feb-31",
        ),
        pytest.param(
            make_card(published="1 May 2026, 25:01 UTC"), ["not a real date"], id="date-hour-25"
        ),
        pytest.param(
            make_card(published="1 Mayo 2026, 02:01 UTC"), ["unknown month", "Mayo"], id="month"
        ),
        pytest.param(make_card(published="1 Ju 2026, 02:01"), ["unknown month"], id="month-ju"),
        pytest.param(make_card(title=None, summary=None), ["no title"], id="no-title"),
        pytest.param(
            make_card(title=None, summary=None, sections={}, tags=()), ["no title"], id="bare"
        ),
        pytest.param(make_card(tags=()), ["no tags"], id="no-tags"),
        pytest.param(make_card(tags=("two words",)), ["no tags"], id="tag-with-space"),
        pytest.param(make_card(tags=("#",)), ["no tags"], id="tag-only-hash"),
        pytest.param(
            make_card(tags=[f"t{i}" for i in range(MAX_TAGS + 1)]), ["too many tags"], id="31-tags"
        ),
        pytest.param("", ["empty"], id="empty"),
        pytest.param(" \r\n\t\n\r ", ["empty"], id="whitespace"),
        pytest.param("\ufeff", ["empty"], id="bom-only"),
        pytest.param("Back to feed\n", ["empty"], id="back-to-feed-only"),
        pytest.param(
            "Dear all,\nthe meeting moved to Friday.\nthanks", ["no score"], id="not-a-card"
        ),
        pytest.param('{"title": "json"}', ["no score"], id="json-is-not-a-card"),
    ],
)
def test_rejected_card_names_the_problem(text: str, words: list[str]) -> None:
    reason = reason_of(text)
    for word in words:
        assert word in reason


def test_too_long_title_is_rejected_not_truncated() -> None:
    assert "title is too long" in reason_of(make_card(title="x " * MAX_TITLE))
    assert parse_card(make_card(title="x" * MAX_TITLE)).title == "x" * MAX_TITLE


def test_too_long_section_is_rejected_not_truncated() -> None:
    long_text = "word " * (MAX_TEXT // 5) + "end."
    reason = reason_of(make_card(sections={"why_it_matters": long_text}))
    assert "Why it matters" in reason
    assert "too long" in reason
    assert "summary is too long" in reason_of(make_card(summary=long_text))


def test_too_long_category_is_rejected() -> None:
    assert "category is too long" in reason_of(make_card(category="C" * 201))


# --- parse_document ---------------------------------------------------------------------------


def test_parse_document_reads_a_card() -> None:
    [brief] = parse_document(GOLDEN_TEXT, source="brief.txt")
    assert isinstance(brief, BriefData)
    assert brief.to_dict() == GOLDEN_DICT


def test_parse_document_rejects_a_bad_card_naming_the_source() -> None:
    [rejected] = parse_document(make_card(tags=()), source="brief.txt")
    assert isinstance(rejected, Rejected)
    assert rejected.source == "brief.txt"
    assert "no tags" in rejected.reason


# --- JSON and JSON Lines ----------------------------------------------------------------------


def brief_dict(**changes: Any) -> dict[str, Any]:
    """A valid brief as a JSON object: the golden one, with ``changes`` (None deletes a key)."""
    out = {**GOLDEN_DICT, **changes}
    return {k: v for k, v in out.items() if v is not None}


def test_json_one_object() -> None:
    [brief] = parse_json_text(json.dumps(brief_dict()), source="b.json")
    assert isinstance(brief, BriefData)
    assert brief == parse_card(GOLDEN_TEXT)


def test_json_array_with_one_bad_item() -> None:
    items = [brief_dict(title="one"), brief_dict(score=11), brief_dict(title="three")]
    results = parse_json_text(json.dumps(items), source="b.json")
    assert len(results) == 3
    first, bad, third = results
    assert isinstance(first, BriefData) and first.title == "one"
    assert isinstance(third, BriefData) and third.title == "three"
    assert isinstance(bad, Rejected)
    assert bad.source == "b.json item 2"
    assert "score" in bad.reason


def test_json_lines_with_bad_lines_name_the_line() -> None:
    lines = [
        json.dumps(brief_dict(title="one")),
        "{not json",
        json.dumps(brief_dict(tags=[])),
        "",
        json.dumps(brief_dict(title="five")),
    ]
    results = parse_json_text("\n".join(lines), source="b.jsonl")
    assert [r.title for r in results if isinstance(r, BriefData)] == ["one", "five"]
    rejected = [r for r in results if isinstance(r, Rejected)]
    assert [r.source for r in rejected] == ["b.jsonl:2", "b.jsonl:3"]
    assert "not valid JSON" in rejected[0].reason
    assert "no tags" in rejected[1].reason


def test_json_lines_numbers_count_leading_blank_lines() -> None:
    text = "\n\n" + json.dumps(brief_dict()) + "\r\n{oops\n"
    results = parse_json_text(text, source="b.jsonl")
    assert [r.source for r in results if isinstance(r, Rejected)] == ["b.jsonl:4"]


def test_json_lines_keep_line_separator_characters_inside_strings() -> None:
    # json.dumps(ensure_ascii=False) writes U+2028 and U+0085 raw; they are not line ends.
    lines = [json.dumps(brief_dict(summary=f"a{c}b"), ensure_ascii=False) for c in "\u2028\x85"]
    results = parse_json_text("\n".join(lines), source="b.jsonl")
    assert [r.summary for r in results if isinstance(r, BriefData)] == ["a\u2028b", "a\x85b"]


def test_json_with_bom() -> None:
    [brief] = parse_json_text("\ufeff" + json.dumps(brief_dict(), indent=2), source="b.json")
    assert isinstance(brief, BriefData)


def test_json_round_trip_keeps_every_field() -> None:
    original = parse_card(GOLDEN_TEXT)
    with_source = brief_dict(url="https://example.com/b/1", id="b-1")
    [from_json] = parse_json_text(json.dumps(with_source), source="b.json")
    assert isinstance(from_json, BriefData)
    assert (from_json.url, from_json.id) == ("https://example.com/b/1", "b-1")
    jsonl = "\n".join(json.dumps(b.to_dict(), ensure_ascii=False) for b in (original, from_json))
    assert parse_json_text(jsonl, source="export.jsonl") == [original, from_json]
    assert [b.to_dict() for b in (original, from_json)] == [GOLDEN_DICT, with_source]


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2026-05-01T02:01:00", datetime(2026, 5, 1, 2, 1, tzinfo=UTC)),  # naive: taken as UTC
        ("2026-05-01T02:01:00Z", datetime(2026, 5, 1, 2, 1, tzinfo=UTC)),
        ("2026-05-01T04:01:00+02:00", datetime(2026, 5, 1, 2, 1, tzinfo=UTC)),
    ],
)
def test_json_timestamps_become_utc(stamp: str, expected: datetime) -> None:
    [brief] = parse_json_text(json.dumps(brief_dict(published_at=stamp)))
    assert isinstance(brief, BriefData)
    assert brief.published_at == expected
    assert brief.published_at.utcoffset() == timedelta(0)
    assert brief.to_dict()["published_at"] == "2026-05-01T02:01:00+00:00"


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000,  # would be a RecursionError
        '{"score": ' + "1" * 5000 + "}",  # would be a ValueError (int digit limit)
        "",
        "not json at all",
    ],
    ids=["deep", "huge-number", "empty", "words"],
)
def test_json_garbage_raises_brief_parse_error(text: str) -> None:
    with pytest.raises(BriefParseError):
        parse_json_text(text, source="b.json")


def test_json_lines_garbage_lines_are_rejected_not_raised() -> None:
    good = json.dumps(brief_dict())
    text = "\n".join([good, "[" * 100_000, '{"id": ' + "9" * 5000 + "}", good])
    results = parse_json_text(text, source="b.jsonl")
    assert [type(r) for r in results] == [BriefData, Rejected, Rejected, BriefData]


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:00-01:00"])
def test_json_timestamp_out_of_range_is_rejected(stamp: str) -> None:
    [rejected] = parse_json_text(json.dumps(brief_dict(published_at=stamp)), source="b.json")
    assert isinstance(rejected, Rejected)
    assert "published_at" in rejected.reason


# --- properties -------------------------------------------------------------------------------

MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip
SENTENCE_ENDS = [".", "?", "!", ")", "”", '"', "'", "\u2019", "»"]
NEWLINES = ["\n", "\r\n", "\r"]

words = st.text(
    alphabet=st.characters(categories=["L", "N", "So"], include_characters="<>&#-"),
    min_size=1,
    max_size=8,
)
sentences = st.lists(words, min_size=2, max_size=8).map(lambda ws: " ".join(ws) + ".")
paragraphs = st.lists(sentences, min_size=1, max_size=3).map("\n".join)
slugs = st.from_regex(r"[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,2}", fullmatch=True)


@st.composite
def raw_tags(draw: st.DrawFn) -> tuple[list[str], tuple[str, ...]]:
    """(tag lines as written on a card, the tags they normalise to)."""
    tags = draw(st.lists(slugs, min_size=1, max_size=6))
    written = [
        draw(st.sampled_from(["", "#"])) + (tag.upper() if draw(st.booleans()) else tag)
        for tag in tags
    ]
    return written, tuple(dict.fromkeys(tags))


@st.composite
def published_lines(draw: st.DrawFn) -> tuple[str, datetime]:
    """(a publish time line in one of the accepted spellings, the time it means)."""
    when = draw(st.datetimes(datetime(1970, 1, 1), datetime(2100, 1, 1))).replace(microsecond=0)
    month = MONTHS[when.month - 1]
    month = draw(st.sampled_from([month, month[:3], month.upper(), month[:3] + "."]))
    comma = draw(st.sampled_from([",", ""]))
    zone = draw(st.sampled_from([" UTC", " GMT", "", "UTC"]))
    clock = f"{when:%H:%M}" if draw(st.booleans()) else f"{when:%H:%M:%S}"
    if clock.count(":") == 1:
        when = when.replace(second=0)
    return f"{when.day} {month} {when.year}{comma} {clock}{zone}", when.replace(tzinfo=UTC)


@st.composite
def well_formed_cards(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """(a valid card with random content, spellings and noise, the to_dict() it must give)."""
    published, when = draw(published_lines())
    tag_lines, tags = draw(raw_tags())
    fields: dict[str, Any] = {
        "title": draw(sentences),
        "score": draw(st.integers(0, 10)),
        "category": draw(sentences),
        "published_at": when.isoformat(),
        "summary": draw(st.none() | paragraphs),
    }
    sections = draw(
        st.dictionaries(st.sampled_from([name for name, _ in SECTIONS]), st.just("") | paragraphs)
    )
    fields.update({name: text for name, text in sections.items() if text})
    card = make_card(
        back_to_feed=draw(st.booleans()),
        score=fields["score"],
        category=fields["category"],
        published=published,
        title=fields["title"],
        summary=fields["summary"],
        sections=sections,
        tags=tag_lines,
        glue=draw(st.booleans()),
    )
    lines = card.split("\n")
    pads = st.sampled_from(["", " ", "\t", "  \t"])
    lines = [
        draw(pads) + line + draw(pads) + draw(st.sampled_from(["", "", "\n"])) for line in lines
    ]
    text = draw(st.sampled_from(["", "\ufeff"])) + "\n".join(lines)
    text = text.replace("\n", draw(st.sampled_from(NEWLINES)))
    expected = {k: v for k, v in fields.items() if v is not None}
    return text, {**expected, "tags": list(tags)}


card_lines = st.sampled_from(
    [
        "Back to feed",
        "4/10",
        "11/10",
        "x/10",
        " 0 / 10 ",
        "Products & Tools",
        "1 May 2026, 02:01 UTC",
        "31 Feb 2026, 02:01 UTC",
        "1 Sept 2026 23:59",
        "99 May 2026, 99:99",
        "A model launched.",
        "Nobody knows what happened",
        "#Generative-AI",
        "ai",
        "",
        "   ",
        "\ufeff",
        *HEADINGS.values(),
    ]
)
junk_lines = st.text(max_size=40)
glued_lines = st.builds(
    lambda line, end, heading: line + end + heading,
    card_lines | junk_lines,
    st.sampled_from(SENTENCE_ENDS),
    st.sampled_from(list(HEADINGS.values())),
)


@st.composite
def near_cards(draw: st.DrawFn) -> str:
    """Text that is nearly a card: real card lines, glued headings and junk in random order."""
    if draw(st.booleans()):  # a valid card, then mangled
        lines = make_card(glue=draw(st.booleans())).split("\n")
        for _ in range(draw(st.integers(0, 4))):
            at = draw(st.integers(0, len(lines)))
            action = draw(st.sampled_from(["drop", "insert", "glue"]))
            if action == "drop" and at < len(lines):
                del lines[at]
            elif action == "insert":
                lines.insert(at, draw(card_lines | junk_lines | glued_lines))
            elif action == "glue" and 0 < at < len(lines):
                lines[at - 1 : at + 1] = [lines[at - 1] + lines[at]]
    else:
        lines = draw(st.lists(card_lines | junk_lines | glued_lines, max_size=20))
    return draw(st.sampled_from(NEWLINES)).join(lines)


def parse_or_reason(text: str) -> BriefData | str:
    """parse_card's answer; any exception other than BriefParseError fails the test."""
    try:
        brief = parse_card(text)
    except BriefParseError as exc:
        assert exc.reason
        return exc.reason
    assert_valid_brief(brief)
    return brief


@given(st.text())
def test_any_text_parses_or_is_rejected(text: str) -> None:
    parse_or_reason(text)


@settings(deadline=None)
@given(near_cards())
def test_near_cards_parse_or_are_rejected(text: str) -> None:
    parse_or_reason(text)


@settings(deadline=None)
@given(well_formed_cards())
def test_well_formed_cards_parse_exactly(case: tuple[str, dict[str, Any]]) -> None:
    text, expected = case
    brief = parse_card(text)
    assert_valid_brief(brief)
    assert brief.to_dict() == expected


@given(st.text())
def test_any_text_as_json_parses_or_is_rejected(text: str) -> None:
    try:
        results = parse_json_text(text, source="any.json")
    except BriefParseError as exc:
        assert exc.reason
        return
    for result in results:
        if isinstance(result, BriefData):
            assert_valid_brief(result)
        else:
            assert isinstance(result, Rejected)
            assert result.source.startswith("any.json")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
brief_like = st.fixed_dictionaries(
    {},
    optional={
        key: json_values | st.just(value) | st.text(max_size=30)
        for key, value in brief_dict(url="https://example.com", id="x").items()
    },
)


@settings(deadline=None)
@given(st.lists(brief_like, max_size=4), st.sampled_from(["array", "lines", "one"]))
def test_brief_like_json_parses_or_is_rejected(items: list[dict[str, Any]], shape: str) -> None:
    if shape == "array":
        text = json.dumps(items)
    elif shape == "lines":
        text = "\n".join(json.dumps(item, ensure_ascii=False) for item in items)
    else:
        text = json.dumps(items[0] if items else {})
    try:
        results = parse_json_text(text, source="b.json")
    except BriefParseError:
        return
    for result in results:
        if isinstance(result, BriefData):
            assert_valid_brief(result)
        else:
            assert isinstance(result, Rejected)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "tg://resolve?domain=x", "ftp://a/b"])
def test_json_brief_with_a_non_web_url_is_rejected(url: str) -> None:
    obj = {**GOLDEN_DICT, "url": url}
    (result,) = parse_json_text(json.dumps(obj))
    assert isinstance(result, Rejected)
    assert result.reason == "url must start with http:// or https://"


def test_json_items_without_a_score_take_the_default_when_one_is_given() -> None:
    obj = dict(GOLDEN_DICT)
    del obj["score"]
    (strict,) = parse_json_text(json.dumps(obj))
    (lenient,) = parse_json_text(json.dumps(obj), default_score=5)
    assert isinstance(strict, Rejected) and strict.reason == "score is missing"
    assert isinstance(lenient, BriefData) and lenient.score == 5


def test_a_field_of_nothing_but_nul_is_missing() -> None:
    (result,) = parse_json_text(json.dumps({**GOLDEN_DICT, "title": "\u0000", "id": "\u0000"}))
    assert isinstance(result, Rejected) and result.reason == "title is missing"


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("title", "bad \ud800", "title is not valid text (a lone surrogate U+D800 at character 5)"),
        ("summary", "\udc00", "summary is not valid text (a lone surrogate U+DC00 at character 1)"),
        (
            "category",
            "x\udfff",
            "category is not valid text (a lone surrogate U+DFFF at character 2)",
        ),
        ("id", "\ud800", "id is not valid text (a lone surrogate U+D800 at character 1)"),
        (
            "tags",
            ["ok", "\ud800"],
            "a tag is not valid text (a lone surrogate U+D800 at character 1)",
        ),
    ],
)
def test_a_lone_surrogate_rejects_its_item_and_keeps_the_others(field, value, reason) -> None:
    text = json.dumps([{**GOLDEN_DICT, field: value}, {**GOLDEN_DICT, "title": "Good"}])

    bad, good = parse_json_text(text, source="f")

    assert bad == Rejected("f item 1", reason)
    assert isinstance(good, BriefData) and good.title == "Good"


def test_a_card_with_a_lone_surrogate_is_rejected_with_the_reason() -> None:
    with pytest.raises(BriefParseError) as info:
        parse_card(GOLDEN_TEXT + "\ud800")

    assert info.value.reason.startswith("the card is not valid text (a lone surrogate U+D800")


@pytest.mark.parametrize(
    ("raw", "slug"),
    [
        ("C++", "c-plus-plus"),
        ("C#", "c-sharp"),
        ("#C#", "c-sharp"),
        ("F#", "f-sharp"),
        (".NET", "dot-net"),
        ("ASP.NET Core", "asp-net-core"),
        ("C", "c"),
        ("Disney+", "disney-plus"),
        ("Réseaux Télécom", "reseaux-telecom"),
        ("#Generative AI", "generative-ai"),
    ],
)
def test_slugs_keep_languages_apart_and_stay_link_safe(raw: str, slug: str) -> None:
    assert slugify(raw) == slug
    assert is_slug(slug)  # /tag links, deep links and #hashtags take it as it is
