"""``digestbot feed add|list|remove|poll``, run as a real subprocess on both databases."""

from __future__ import annotations

import json

import pytest

from tests.factories import make_brief
from tests.httpserver import LocalHTTPServer, Reply
from tests.test_cli import digestbot, env  # noqa: F401  (env: the fixture, a fresh database)


def test_feeds_are_added_listed_and_removed(tmp_path, env):  # noqa: F811
    url = "https://news.example/feed.xml"

    added = digestbot(
        "feed", "add", url, "--tag", "Rust", "--tag", "llm", "--category", "Systems",
        "--score", "7", env=env, cwd=tmp_path,
    )  # fmt: skip
    listed = digestbot("feed", "list", env=env, cwd=tmp_path)
    removed = digestbot("feed", "remove", "1", env=env, cwd=tmp_path)
    empty = digestbot("feed", "list", env=env, cwd=tmp_path)

    assert (added.returncode, added.stdout) == (0, f"added feed 1: {url}\n")
    assert listed.returncode == 0
    assert listed.stdout.splitlines() == [
        f"1. {url}",
        "   #rust #llm · category Systems · score 7",
        "   last success never · 0 briefs, 0 untagged",
    ]
    assert (removed.returncode, removed.stdout) == (0, f"removed feed 1: {url}\n")
    assert empty.stdout == "no feeds yet: digestbot feed add URL --tag TAG\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "ftp://a.example/f"], "'ftp://a.example/f' is not an http(s) URL"),
        (["add", "https://a.example/f", "--score", "11"], "the score must be a whole number"),
        (["add", "https://a.example/f", "--tag", "!!"], "'!!' is not a tag"),
        (["add", "https://a.example/" + "x" * 3000], "is longer than 2048 characters"),
        (["remove", "99"], "there is no feed 99"),
        (["remove", "first"], "'first' is not a feed number"),
    ],
)
def test_each_mistake_is_one_line_and_exit_2(tmp_path, env, args, message):  # noqa: F811
    result = digestbot("feed", *args, env=env, cwd=tmp_path)

    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("digestbot: ") and message in line
    assert len(line) < 200
    assert "Traceback" not in result.stderr
    assert digestbot("feed", "list", env=env, cwd=tmp_path).stdout.startswith("no feeds yet")


def test_a_url_already_there_is_refused(tmp_path, env):  # noqa: F811
    assert digestbot("feed", "add", "https://a.example/f", env=env, cwd=tmp_path).returncode == 0

    again = digestbot("feed", "add", "https://a.example/f", env=env, cwd=tmp_path)

    assert again.returncode == 2
    assert again.stderr.strip() == "digestbot: 'https://a.example/f' is already feed 1"


def test_poll_reports_like_ingest_and_exits_1_when_a_feed_failed(tmp_path, env):  # noqa: F811
    body = json.dumps([make_brief(title="Polled one").to_dict()]).encode()
    local = {**env, "FEED_ALLOW_PRIVATE": "true"}
    with LocalHTTPServer() as server:
        good = server.serve("/good.json", Reply(body=body))
        broken = server.serve("/broken.json", Reply(status=500))
        for url in (good, broken):
            assert digestbot("feed", "add", url, env=local, cwd=tmp_path).returncode == 0

        first = digestbot("feed", "poll", env=local, cwd=tmp_path)
        second = digestbot("feed", "poll", env=local, cwd=tmp_path)  # neither is due again

    assert first.returncode == 1
    assert first.stdout.strip() == "1 added, 0 updated, 0 unchanged, 1 rejected"
    # (the log says it too, as a warning line)
    (rejected,) = [line for line in first.stderr.splitlines() if line.startswith("rejected")]
    assert rejected.startswith(f"rejected {broken}: ") and "500" in rejected
    assert (second.returncode, second.stdout.strip()) == (
        0,
        "0 added, 0 updated, 0 unchanged, 0 rejected",
    )
    listed = digestbot("feed", "list", env=env, cwd=tmp_path).stdout
    assert "0 briefs, 0 untagged" in listed and "1 brief, 0 untagged" in listed


def test_poll_adds_the_feed_urls_setting_first(tmp_path, env):  # noqa: F811
    body = json.dumps([make_brief(title="From the setting").to_dict()]).encode()
    with LocalHTTPServer() as server:
        url = server.serve("/feed.json", Reply(body=body))
        local = {**env, "FEED_ALLOW_PRIVATE": "true", "FEED_URLS": url}

        polled = digestbot("feed", "poll", env=local, cwd=tmp_path)

    assert (polled.returncode, polled.stdout.strip()) == (
        0,
        "1 added, 0 updated, 0 unchanged, 0 rejected",
    )
    listed = digestbot("feed", "list", env=env, cwd=tmp_path)
    assert listed.stdout.splitlines()[:2] == [
        f"1. {url}",
        "   no default tags · category News · score 5",
    ]
