"""bench/send.py still runs: a small subprocess, checked by its JSON."""

from __future__ import annotations

from tests.benchrun import assert_explains_itself, run_script


def test_send_quick():
    result = run_script("send.py", "--quick")
    assert {
        "sender_msgs_per_s",
        "baseline_msgs_per_s",
        "ratio",
        "capped_rate",
        "responses_429",
    } <= result.keys()
    assert result["sender_msgs_per_s"] > 0
    assert result["baseline_msgs_per_s"] > 0
    assert result["ratio"] > 0
    # the budget paces evenly at the server's 30 a second: close to it, and never too fast
    assert 25 <= result["capped_rate"] <= 30.5
    assert result["responses_429"] == 0


def test_send_explains_itself():
    assert_explains_itself("send.py")
