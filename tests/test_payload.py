"""Outbox payloads and failure outcomes: the formats rows hold, old and new."""

from __future__ import annotations

import json
from datetime import date

import pytest

from digestbot.delivery import failures
from digestbot.delivery.broadcasts import outcome_of
from digestbot.delivery.failures import Failure
from digestbot.delivery.payload import (
    AlertPayload,
    BroadcastPayload,
    CopyMessage,
    DigestPayload,
    PayloadError,
    TextMessage,
    decode,
    payload_language,
)
from digestbot.store.models import OutboxStatus


@pytest.mark.parametrize(
    "payload",
    [
        DigestPayload((3, 1, 2), date(2026, 11, 27), 4),
        DigestPayload((5,)),
        DigestPayload((3, 1), date(2026, 11, 27), 2, "hi", compact=True, feedback=True),
        DigestPayload((4,), language="hi"),
        AlertPayload(41),
        AlertPayload(41, "hi"),
        BroadcastPayload(7),
        TextMessage("<b>Hi</b> & bye"),
        CopyMessage(-100, 42),
    ],
)
def test_every_payload_reads_back_as_written_with_its_version(payload):
    raw = payload.encode()
    assert '"v":1' in raw
    assert decode(raw) == payload


@pytest.mark.parametrize(
    "payload",
    [
        DigestPayload((3, 1, 2), date(2026, 11, 27), 4),
        DigestPayload((5,)),
        DigestPayload((), None, 0),
        DigestPayload((3, 1), date(2026, 11, 27), 2, "hi", compact=True, feedback=True),
        DigestPayload((4,), language='x"\\ह'),
    ],
)
def test_a_digest_is_written_as_compact_json_with_its_fields_in_order(payload):
    data: dict[str, object] = {"v": 1, "digest": list(payload.brief_ids)}
    if payload.day is not None:
        data["day"] = payload.day.isoformat()
    if payload.more:
        data["more"] = payload.more
    if payload.language is not None:
        data["lang"] = payload.language
    if payload.compact:
        data["compact"] = 1
    if payload.feedback:
        data["fb"] = 1
    assert payload.encode() == json.dumps(data, separators=(",", ":"))
    assert decode(payload.encode()) == payload


@pytest.mark.parametrize(
    ("raw", "payload"),
    [
        ('{"digest":[3,1,2],"day":"2026-11-27"}', DigestPayload((3, 1, 2), date(2026, 11, 27))),
        ('{"digest":[1],"more":2}', DigestPayload((1,), None, 2)),
        # rows planned before digests had a language, a style and a feedback row
        ('{"v":1,"digest":[3],"day":"2026-11-27"}', DigestPayload((3,), date(2026, 11, 27))),
        ('{"v":1,"alert":41}', AlertPayload(41)),
        ('{"broadcast": 1}', BroadcastPayload(1)),
        ('{"text": "Your digest"}', TextMessage("Your digest")),
        ('{"copy": {"from_chat_id": 5, "message_id": 9}}', CopyMessage(5, 9)),
    ],
)
def test_rows_written_before_versions_read_as_version_1(raw, payload):
    assert decode(raw) == payload


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"v":2,"digest":[1]}', "unknown payload version 2"),
        ('{"poll":{"q":"?"}}', "unknown payload kind"),
        ('{"digest":"1,2"}', "not a list of brief ids"),
        ('{"digest":[1,"2"]}', "brief id is not a whole number"),
        ('{"digest":[true]}', "brief id is not a whole number"),
        ('{"digest":[1],"day":"27 Nov"}', "day is not a date"),
        ('{"broadcast":"7"}', "broadcast id is not a whole number"),
        ('{"text":null}', "text is not a string"),
        ('{"digest":[1],"lang":7}', "lang is not a language code"),
        ('{"alert":1,"lang":""}', "lang is not a language code"),
        ('{"digest":[1],"compact":"yes"}', "compact is not 0 or 1"),
        ('{"digest":[1],"fb":2}', "fb is not 0 or 1"),
    ],
)
def test_a_broken_payload_says_what_is_wrong(raw, reason):
    with pytest.raises(PayloadError, match=reason):
        decode(raw)


def test_a_digest_in_the_default_language_and_style_writes_no_extra_fields():
    assert DigestPayload((1, 2), None, 0, payload_language("en-US")).encode() == (
        '{"v":1,"digest":[1,2]}'
    )
    assert payload_language(None) is None and payload_language("xx") is None
    assert payload_language("hi-IN") == "hi"
    assert AlertPayload(9, payload_language("hi")).encode() == '{"v":1,"alert":9,"lang":"hi"}'


def test_a_broken_payload_echo_is_clipped():
    with pytest.raises(PayloadError) as caught:
        decode("x" * 10_000)
    assert len(str(caught.value)) < 80


@pytest.mark.parametrize(
    ("error", "status", "failure", "label", "counted"),
    [
        ("forbidden: Forbidden: bot was blocked by the user", "failed", Failure.BLOCKED,
         "forbidden", "blocked"),
        ("forbidden: Forbidden: bot was kicked from the group chat", "failed", Failure.LEFT,
         "forbidden", "left"),
        ("forbidden: Forbidden: user is deactivated", "cancelled", Failure.LEFT,
         "forbidden", "left"),
        ("chat not found", "failed", Failure.CHAT_NOT_FOUND, "chat_not_found", "left"),
        ("cancelled by an admin", "cancelled", Failure.CANCELLED_BY_ADMIN, "cancelled",
         "cancelled"),
        ("merged into a supergroup", "cancelled", Failure.CANCELLED, "cancelled", "left"),
        ("bad request: Bad Request: message is too long", "failed", Failure.BAD_REQUEST,
         "bad_request", "failed"),
        ("TimedOut: Timed out (after 8 attempts)", "failed", Failure.RETRIES_EXHAUSTED,
         "retries_exhausted", "failed"),
        ("rate limited for 7 s", "pending", Failure.RATE_LIMITED, "rate_limited", "pending"),
        ("bad payload: not JSON: 'x'", "failed", Failure.BAD_PAYLOAD, "bad_payload", "failed"),
        ("internal error: KeyError", "failed", Failure.OTHER, "other", "failed"),
    ],
)  # fmt: skip
def test_one_table_reads_an_error_for_the_sender_metrics_and_broadcast_counts(
    error, status, failure, label, counted
):
    assert failures.classify(error) is failure
    assert failure.label == label
    assert outcome_of(OutboxStatus(status), error) == counted


def test_stats_group_alike_failures_whatever_their_attempts():
    first = failures.exhausted("TimedOut: Timed out", 3)
    assert failures.grouping(first) == failures.grouping(
        failures.exhausted("TimedOut: Timed out", 8)
    )
    assert failures.grouping(first) == "TimedOut: Timed out"
