"""Feeds over real HTTP (a local server, no mocks) and the feed parsers."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest

from digestbot.briefs.feeds import NOT_A_FEED, parse_feed
from digestbot.briefs.fetcher import DEFAULT_MAX_BYTES, FetchResult, fetch, make_client
from digestbot.briefs.parse import MAX_TEXT, BriefData, Rejected
from digestbot.errors import BriefParseError, FetchError
from tests.httpserver import LocalHTTPServer, Reply, Request, closed_port

MAY_1 = datetime(2026, 5, 1, 2, 1, tzinfo=UTC)
JSON_FEED_TYPE = [("Content-Type", "application/feed+json")]
RSS_TYPE = [("Content-Type", "application/rss+xml; charset=utf-8")]
ATOM_TYPE = [("Content-Type", "application/atom+xml")]


@pytest.fixture
def server() -> Iterator[LocalHTTPServer]:
    with LocalHTTPServer() as running:
        yield running


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(timeout=2.0, allow_private=True) as http:
        yield http


@pytest.fixture
async def impatient_client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_client(timeout=0.2, allow_private=True) as http:
        yield http


def briefs(result: FetchResult | list[BriefData | Rejected]) -> list[BriefData]:
    items = result.items if isinstance(result, FetchResult) else result
    return [item for item in items if isinstance(item, BriefData)]


def rejected(result: FetchResult | list[BriefData | Rejected]) -> list[Rejected]:
    items = result.items if isinstance(result, FetchResult) else result
    return [item for item in items if isinstance(item, Rejected)]


async def fetch_error(url: str, client: httpx.AsyncClient, **kwargs: object) -> FetchError:
    with pytest.raises(FetchError) as info:
        await fetch(url, client=client, **kwargs)  # type: ignore[arg-type]
    assert info.value.source == url
    return info.value


# --- JSON Feed ------------------------------------------------------------------------------

JSON_FEED = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "AI briefs",
    "items": [
        {
            "id": "brief-1",
            "url": "https://example.com/model-x",
            "title": "Model X ships",
            "summary": "A lede.",
            "content_text": "The long body that _brief makes redundant.",
            "tags": ["Generative AI", "#Launch"],
            "date_published": "2026-05-01T04:01:00+02:00",
            "_brief": {
                "score": 8,
                "category": "Products & Tools",
                "what_happened": "It shipped.",
                "why_it_matters": "Because it is fast.",
            },
        },
        {
            "id": 2,
            "url": "https://example.com/plain",
            "title": "A plain item",
            "summary": "Short lede.",
            "content_text": "What happened, in the feed's own words.",
            "tags": ["research"],
            "date_published": "2026-05-01T02:01:00Z",
        },
        {
            "id": "3",
            "title": "No tags here",
            "date_published": "2026-05-01T02:01:00Z",
        },
        {
            "id": "4",
            "title": "Fourth still parses",
            "tags": ["policy"],
            "date_published": "2026-05-01T02:01:00Z",
            "_brief": {"score": "3/10", "tags": ["Policy & Regulation", "eu"], "summary": None},
        },
    ],
}
JSON_FEED_BODY = json.dumps(JSON_FEED).encode()


async def test_json_feed_with_brief_extension(server, client) -> None:
    url = server.serve("/feed.json", Reply(body=JSON_FEED_BODY, headers=JSON_FEED_TYPE))

    result = await fetch(url, client=client)

    first = briefs(result)[0]
    assert first.title == "Model X ships"
    assert first.score == 8
    assert first.category == "Products & Tools"
    assert first.published_at == MAY_1
    assert first.tags == ("generative-ai", "launch")
    assert first.summary == "A lede."
    assert first.what_happened == "It shipped."  # _brief's section wins over content_text
    assert first.why_it_matters == "Because it is fast."
    assert first.technical_details is None
    assert first.url == "https://example.com/model-x"
    assert first.id == "brief-1"
    fourth = briefs(result)[3]
    assert (fourth.score, fourth.tags) == (3, ("policy-regulation", "eu"))
    assert not result.not_modified
    assert result.url == url


async def test_json_feed_without_brief_takes_feed_defaults(server, client) -> None:
    url = server.serve("/feed.json", Reply(body=JSON_FEED_BODY, headers=JSON_FEED_TYPE))

    plain = briefs(await fetch(url, client=client))[1]

    assert plain.score == 5
    assert plain.category == "News"
    assert plain.summary == "Short lede."
    assert plain.what_happened == "What happened, in the feed's own words."
    assert plain.published_at == MAY_1
    assert plain.tags == ("research",)
    assert plain.id == "2"


async def test_json_feed_item_without_tags_is_kept_and_marked_for_tagging(server, client) -> None:
    url = server.serve("/feed.json", Reply(body=JSON_FEED_BODY, headers=JSON_FEED_TYPE))

    result = await fetch(url, client=client)

    assert [b.title for b in briefs(result)] == [
        "Model X ships",
        "A plain item",
        "No tags here",
        "Fourth still parses",
    ]
    untagged = briefs(result)[2]
    assert untagged.tags == ("untagged",)
    assert untagged.extra == {"needs_tags": True}  # the ingester looks for known tags
    assert rejected(result) == []


def test_json_feed_item_problems_are_named() -> None:
    feed = {
        "version": "https://jsonfeed.org/version/1",
        "items": [
            "not an object",
            {"title": "t", "tags": ["a"], "date_published": "2026-05-01T02:01:00Z", "_brief": []},
            {"title": "t", "tags": ["a"]},
            {
                "title": "t",
                "tags": ["a"],
                "date_published": "2026-05-01T02:01:00Z",
                "_brief": {"score": 11},
            },
        ],
    }

    items = parse_feed(json.dumps(feed).encode(), content_type=None, source="f")

    assert items == [
        Rejected("f item 1", "expected a JSON object, got str"),
        Rejected("f item 2", "_brief must be a JSON object, not list"),
        Rejected("f item 3", "no date_published"),
        Rejected("f item 4", "score must be a whole number 0..10, not 11"),
    ]


def test_json_feed_content_html_becomes_text_and_unsafe_links_are_dropped() -> None:
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "items": [
            {
                "id": "x",
                "title": "t",
                "url": "javascript:alert(1)",
                "content_html": "<p>Body &amp; <b>more</b></p>",
                "tags": ["a"],
                "date_published": "2026-05-01T02:01:00Z",
            }
        ],
    }

    (item,) = briefs(parse_feed(json.dumps(feed).encode(), content_type=None, source="f"))

    assert item.what_happened == "Body & more"
    assert item.url is None


def test_json_feed_without_items_list() -> None:
    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "x"}).encode()

    with pytest.raises(BriefParseError) as info:
        parse_feed(body, content_type="application/feed+json", source="f")

    assert info.value.reason == "JSON Feed has no items list"
    assert info.value.source == "f"


# --- RSS ------------------------------------------------------------------------------------

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
<channel>
  <title>Policy watch</title>
  <link>https://example.com/</link>
  <description>News</description>
  <item>
    <title>Chips &amp; policy</title>
    <link>https://example.com/chips</link>
    <guid isPermaLink="false">chips-1</guid>
    <description>&lt;p&gt;Export rules &lt;b&gt;tighten&lt;/b&gt; &amp;amp; widen.&lt;/p&gt;
      &lt;p&gt;Second&lt;br/&gt;line&lt;/p&gt;</description>
    <category>Policy &amp; Regulation</category>
    <category domain="x">chips</category>
    <pubDate>Fri, 01 May 2026 04:01:00 +0200</pubDate>
  </item>
  <item>
    <title>CDATA   item</title>
    <description><![CDATA[<p>Uses <a href="https://x">CDATA</a> &amp; 5 < 6 &#x1F600;</p>
      <script>alert("no")</script><style>p {}</style>]]></description>
    <category>research</category>
    <pubDate>Fri, 01 May 2026 02:01:00 GMT</pubDate>
    <guid>https://example.com/cdata</guid>
  </item>
  <item>
    <title>No tags</title>
    <description>nothing</description>
    <pubDate>Fri, 01 May 2026 02:01:00 GMT</pubDate>
  </item>
  <item>
    <title>Bad date</title>
    <category>x</category>
    <pubDate>yesterday-ish</pubDate>
  </item>
  <item>
    <title>Dublin Core date</title>
    <category>x</category>
    <dc:date xmlns:dc="http://purl.org/dc/elements/1.1/">2026-05-01T02:01:00Z</dc:date>
  </item>
</channel>
</rss>
"""


async def test_rss(server, client) -> None:
    url = server.serve("/rss", Reply(body=RSS, headers=RSS_TYPE))

    before = datetime.now(UTC)
    result = await fetch(url, client=client)
    after = datetime.now(UTC)

    first, second, untagged, undated, dublin = briefs(result)
    assert first.title == "Chips & policy"
    assert first.summary == "Export rules tighten & widen.\n\nSecond\nline"
    assert first.tags == ("policy-regulation", "chips")
    assert first.published_at == MAY_1
    assert first.url == "https://example.com/chips"
    assert first.id == "chips-1"
    assert (first.score, first.category) == (5, "News")
    assert second.title == "CDATA item"
    assert second.summary == "Uses CDATA & 5 < 6 \N{GRINNING FACE}"
    assert second.url == "https://example.com/cdata"  # a permalink guid stands in for <link>
    assert dublin.published_at == MAY_1
    assert untagged.tags == ("untagged",)  # kept: the ingester looks for known tags
    assert before <= undated.published_at <= after  # an unreadable date: the fetch time
    assert rejected(result) == []


def test_rss_without_channel_has_no_items() -> None:
    assert parse_feed(b"<rss version='2.0'/>", content_type="application/rss+xml", source="f") == []


def rss_item(inner: str, *, namespaces: str = "") -> bytes:
    return (
        f"<rss version='2.0' {namespaces}><channel><title>t</title><item>{inner}</item>"
        "</channel></rss>"
    ).encode()


def test_iso_8601_pub_date_is_read() -> None:
    body = rss_item(
        "<title>t</title><category>a</category><pubDate>2026-05-01T04:01:00+02:00</pubDate>"
    )

    (item,) = briefs(parse_feed(body, content_type=None, source="f"))

    assert item.published_at == MAY_1


def test_undated_entry_takes_the_injected_fetch_time() -> None:
    body = rss_item("<title>t</title><category>a</category>")

    (item,) = briefs(parse_feed(body, content_type=None, source="f", now=MAY_1))

    assert item.published_at == MAY_1


def test_content_encoded_is_the_summary() -> None:
    body = rss_item(
        "<title>t</title><category>a</category><description>Short.</description>"
        "<content:encoded><![CDATA[<p>The <em>whole</em> story.</p><p>More.</p>]]>"
        "</content:encoded>",
        namespaces="xmlns:content='http://purl.org/rss/1.0/modules/content/'",
    )

    (item,) = briefs(parse_feed(body, content_type=None, source="f", now=MAY_1))

    assert item.summary == "The whole story.\n\nMore."


def test_categories_keep_cpp_csharp_and_dotnet_apart() -> None:
    body = rss_item(
        "<title>t</title><category>C++</category><category>C#</category>"
        "<category>.NET</category><category>C</category>"
    )

    (item,) = briefs(parse_feed(body, content_type=None, source="f", now=MAY_1))

    assert item.tags == ("c-plus-plus", "c-sharp", "dot-net", "c")


def test_rss_1_0_rdf_as_arxiv_publishes() -> None:
    body = b"""<?xml version="1.0" encoding="UTF-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
  xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="https://example.org/rss/cs.LG"><title>cs.LG</title></channel>
<item rdf:about="https://example.org/abs/2605.00001">
<title>Sparse gradients for small models</title>
<link>https://example.org/abs/2605.00001</link>
<description>&lt;p&gt;We show a thing.&lt;/p&gt;</description>
<dc:subject>Machine Learning</dc:subject>
<dc:date>2026-05-01T02:01:00Z</dc:date>
</item></rdf:RDF>"""

    (item,) = briefs(parse_feed(body, content_type="application/rdf+xml", source="f"))

    assert (item.title, item.summary) == ("Sparse gradients for small models", "We show a thing.")
    assert (item.tags, item.published_at) == (("machine-learning",), MAY_1)
    assert item.url == "https://example.org/abs/2605.00001"


def test_rss_long_description_is_clipped_not_rejected() -> None:
    words = "word " * (MAX_TEXT // 2)
    body = (
        "<rss><channel><item><title>Long</title><category>a</category>"
        f"<pubDate>Fri, 01 May 2026 02:01:00 GMT</pubDate><description>{words}</description>"
        "</item></channel></rss>"
    ).encode()

    (item,) = briefs(parse_feed(body, content_type=None, source="f"))

    assert item.summary is not None
    assert len(item.summary) <= MAX_TEXT
    assert item.summary.endswith("word\N{HORIZONTAL ELLIPSIS}")


# --- Atom -----------------------------------------------------------------------------------

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Robots</title>
  <id>urn:feed</id>
  <updated>2026-05-03T00:00:00Z</updated>
  <entry>
    <title>Robots   learn</title>
    <id>urn:uuid:1</id>
    <link rel="self" href="https://example.com/self"/>
    <link href="/robots"/>
    <updated>2026-05-02T00:00:00Z</updated>
    <published>2026-05-01T02:01:00Z</published>
    <summary type="html">&lt;p&gt;Robots &lt;em&gt;learn&lt;/em&gt;.&lt;/p&gt;</summary>
    <content type="text">The full text wins over the summary.</content>
    <category term="Robotics" label="Robots"/>
    <category term="research"/>
  </entry>
  <entry>
    <title type="html">Content &lt;i&gt;only&lt;/i&gt;</title>
    <id>urn:uuid:2</id>
    <updated>2026-05-01T03:01:00+01:00</updated>
    <link rel="alternate" type="text/html" href="https://example.com/two"/>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>First <b>para</b>.</p>
      <p>Second.</p></div></content>
    <category term="policy"/>
  </entry>
  <entry>
    <title>No date</title>
    <id>urn:uuid:3</id>
    <category term="policy"/>
  </entry>
  <entry>
    <title>No category</title>
    <id>urn:uuid:4</id>
    <updated>2026-05-01T02:01:00Z</updated>
  </entry>
</feed>
"""


async def test_atom(server, client) -> None:
    url = server.serve("/atom", Reply(body=ATOM, headers=ATOM_TYPE))

    result = await fetch(url, client=client)

    first, second, undated, untagged = briefs(result)
    assert first.title == "Robots learn"
    assert first.published_at == MAY_1  # published wins over updated
    assert first.url == server.url("/robots")  # relative link resolved against the feed
    assert first.summary == "The full text wins over the summary."
    assert first.tags == ("robotics", "research")
    assert first.id == "urn:uuid:1"
    assert (first.score, first.category) == (5, "News")
    assert second.title == "Content only"
    assert second.published_at == MAY_1
    assert second.summary == "First para.\n\nSecond."
    assert second.url == "https://example.com/two"
    assert undated.tags == ("policy",)  # dated by the fetch, not dropped
    assert untagged.tags == ("untagged",)
    assert rejected(result) == []


# --- brief JSON over HTTP -------------------------------------------------------------------

BRIEF = {
    "title": "A brief",
    "score": 4,
    "category": "Research",
    "published_at": "2026-05-01T02:01:00+00:00",
    "summary": "Lede.",
    "tags": ["generative-ai"],
}


async def test_brief_json_array_over_http(server, client) -> None:
    no_score = {**BRIEF, "title": "No score", "score": None}
    body = json.dumps(
        [BRIEF, {**BRIEF, "tags": []}, no_score, {**BRIEF, "title": "Third"}]
    ).encode()
    url = server.serve(
        "/briefs.json", Reply(body=body, headers=[("Content-Type", "application/json")])
    )

    result = await fetch(url, client=client)

    assert [b.title for b in briefs(result)] == ["A brief", "No score", "Third"]
    assert briefs(result)[0].to_dict() == BRIEF
    assert briefs(result)[1].score == 5  # feed items without a score take 5
    assert rejected(result) == [Rejected(f"{url} item 2", "no tags")]


async def test_brief_json_lines_over_http(server, client) -> None:
    lines = [json.dumps(BRIEF), "{broken", json.dumps({**BRIEF, "title": "Second"})]
    url = server.serve(
        "/briefs.jsonl",
        Reply(body="\n".join(lines).encode(), headers=[("Content-Type", "application/x-ndjson")]),
    )

    result = await fetch(url, client=client)

    assert [b.title for b in briefs(result)] == ["A brief", "Second"]
    (bad,) = rejected(result)
    assert bad.source == f"{url}:2"
    assert bad.reason.startswith("not valid JSON")


async def test_large_feed_parses_off_the_event_loop(server, client) -> None:
    item = (
        "<item><title>Item {n}</title><category>bulk</category>"
        "<pubDate>Fri, 01 May 2026 02:01:00 GMT</pubDate>"
        "<description>{filler}</description></item>"
    )
    items = "".join(item.format(n=n, filler="x" * 200) for n in range(2000))
    body = f"<rss><channel>{items}</channel></rss>".encode()
    url = server.serve("/big.xml", Reply(body=body, headers=RSS_TYPE))

    result = await fetch(url, client=client)

    assert len(body) > 256 * 1024
    assert len(briefs(result)) == 2000
    assert briefs(result)[-1].title == "Item 1999"


async def test_requests_name_digestbot(server, client) -> None:
    url = server.serve("/feed.json", Reply(body=JSON_FEED_BODY))

    await fetch(url, client=client)

    (request,) = server.requests
    assert request.headers["user-agent"] == "digestbot/0.1"
    assert "application/feed+json" in request.headers["accept"]


# --- conditional requests -------------------------------------------------------------------

LAST_MODIFIED = "Fri, 01 May 2026 02:01:00 GMT"


def feed_or_not_modified(request: Request) -> Reply:
    if request.headers.get("if-none-match") == '"v1"':
        return Reply(status=304, headers=[("ETag", '"v1"')])
    return Reply(
        body=JSON_FEED_BODY,
        headers=[*JSON_FEED_TYPE, ("ETag", '"v1"'), ("Last-Modified", LAST_MODIFIED)],
    )


async def test_validators_are_sent_back_and_304_means_not_modified(server, client) -> None:
    url = server.serve("/feed.json", feed_or_not_modified)

    first = await fetch(url, client=client)
    second = await fetch(url, client=client, etag=first.etag, last_modified=first.last_modified)

    assert (first.etag, first.last_modified, first.not_modified) == ('"v1"', LAST_MODIFIED, False)
    assert len(first.items) == 4
    before, after = server.requests_to("/feed.json")
    assert "if-none-match" not in before.headers
    assert after.headers["if-none-match"] == '"v1"'
    assert after.headers["if-modified-since"] == LAST_MODIFIED
    assert second.not_modified
    assert second.items == []
    assert (second.etag, second.last_modified) == ('"v1"', LAST_MODIFIED)


async def test_validators_that_are_not_plain_header_text_are_not_sent(server, client) -> None:
    url = server.serve("/feed.json", feed_or_not_modified)

    result = await fetch(url, client=client, etag='"v1"\r\nX-Injected: yes', last_modified="\u00e9")

    assert not result.not_modified
    (request,) = server.requests_to("/feed.json")
    assert "if-none-match" not in request.headers
    assert "if-modified-since" not in request.headers
    assert "x-injected" not in request.headers


# --- redirects ------------------------------------------------------------------------------


async def test_redirects_are_followed_and_the_final_url_reported(server, client) -> None:
    final = server.serve("/feed.json", Reply(body=JSON_FEED_BODY))
    server.redirect("/b", final, status=301)
    start = server.redirect("/a", "/b", status=307)

    result = await fetch(start, client=client)

    assert result.url == final
    assert len(briefs(result)) == 4
    assert [r.path for r in server.requests] == ["/a", "/b", "/feed.json"]


async def test_redirect_loop_is_rejected(server, client) -> None:
    url = server.redirect("/loop", "/loop")

    error = await fetch_error(url, client)

    assert error.reason == "too many redirects (more than 5)"
    assert len(server.requests_to("/loop")) == 6


async def test_redirect_to_another_scheme_is_rejected(server, client) -> None:
    url = server.redirect("/ftp", "ftp://example.com/feed")

    error = await fetch_error(url, client)

    assert error.reason == "redirected to a URL that is not http or https"


async def test_redirect_bodies_are_not_read(server, impatient_client) -> None:
    # The redirect claims a huge body, then stalls: reading it would time out.
    final = server.serve("/feed.json", Reply(body=JSON_FEED_BODY))
    server.serve(
        "/old",
        Reply(
            status=302, headers=[("Location", final)], content_length=10**9, stall="after-headers"
        ),
    )

    result = await fetch(server.url("/old"), client=impatient_client)

    assert result.url == final


# --- HTTP and network failures --------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason"),
    [(404, "HTTP 404 Not Found"), (500, "HTTP 500 Internal Server Error"), (599, "HTTP 599")],
)
async def test_error_status_names_the_status(server, client, status: int, reason: str) -> None:
    url = server.serve("/feed", Reply(status=status, body=b"oops"))

    error = await fetch_error(url, client)

    assert error.reason == reason


async def test_unknown_path_is_404(server, client) -> None:
    error = await fetch_error(server.url("/nothing-here"), client)

    assert error.reason == "HTTP 404 Not Found"


async def test_timeout(server, impatient_client) -> None:
    url = server.serve("/slow", Reply(stall="before-headers"))

    error = await fetch_error(url, impatient_client)

    assert error.reason == "timed out after 0.2 s"
    assert isinstance(error.__cause__, httpx.TimeoutException)


async def test_declared_length_over_the_cap_is_refused_before_reading(
    server, impatient_client
) -> None:
    # The body never comes: only the up-front Content-Length check can answer in time.
    url = server.serve("/big", Reply(content_length=DEFAULT_MAX_BYTES + 1, stall="after-headers"))

    error = await fetch_error(url, impatient_client)

    assert error.reason == "the response is larger than 5 MB"


async def test_chunked_body_over_the_cap_is_cut_off(server, client) -> None:
    url = server.serve("/big", Reply(body=b"x" * 4096, chunked=True, chunk_size=500))

    error = await fetch_error(url, client, max_bytes=1024)

    assert error.reason == "the response is larger than 1 KB"


async def test_cap_counts_decompressed_bytes(server, client) -> None:
    bomb = gzip.compress(b" " * 100_000)
    url = server.serve("/gz", Reply(body=bomb, headers=[("Content-Encoding", "gzip")]))

    error = await fetch_error(url, client, max_bytes=10_000)

    assert len(bomb) < 10_000
    assert error.reason == "the response is larger than 9.8 KB"


async def test_body_exactly_at_the_cap_is_accepted(server, client) -> None:
    url = server.serve("/feed.json", Reply(body=JSON_FEED_BODY, chunked=True, chunk_size=100))

    result = await fetch(url, client=client, max_bytes=len(JSON_FEED_BODY))

    assert len(briefs(result)) == 4


async def test_connection_refused(client) -> None:
    url = f"http://127.0.0.1:{closed_port()}/feed"

    error = await fetch_error(url, client)

    assert error.reason == "connection refused"


async def test_unknown_host(client) -> None:
    error = await fetch_error("http://no-such-host.invalid/feed", client)

    assert error.reason == "host not found"


async def test_server_hanging_up_mid_body(server, client) -> None:
    url = server.serve("/cut", Reply(body=b'{"version": ', content_length=1000))

    error = await fetch_error(url, client)

    assert error.reason.startswith("bad HTTP response (")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/feed.xml", "only http and https URLs can be fetched"),
        ("file:///etc/passwd", "only http and https URLs can be fetched"),
        ("javascript:alert(1)", "only http and https URLs can be fetched"),
        (
            "example.com/feed.xml",
            "only http and https URLs can be fetched (start it with https://)",
        ),
        ("http:///feed.xml", "not a valid URL (no host name)"),
        ("http://[::1/feed", "not a valid URL (Invalid port: ':1')"),
    ],
)
async def test_urls_that_cannot_be_fetched(client, url: str, reason: str) -> None:
    error = await fetch_error(url, client)

    assert error.reason == reason


async def test_bad_international_host_name(client) -> None:
    # idna's own error (a UnicodeError, not an httpx one) must not escape either.
    error = await fetch_error("https://xn--a.com/", client)

    assert error.reason.startswith("not a valid URL (Codepoint U+0080")


# --- bodies that are not feeds --------------------------------------------------------------


async def test_garbage_body(server, client) -> None:
    url = server.serve(
        "/junk", Reply(body=b"Hello, I am not a feed.", headers=[("Content-Type", "text/plain")])
    )

    with pytest.raises(BriefParseError) as info:
        await fetch(url, client=client)

    assert info.value.reason == NOT_A_FEED
    assert info.value.source == url


async def test_html_page_is_not_a_feed(server, client) -> None:
    page = b"<!DOCTYPE html><html><head><title>Blog</title></head><body><p>Hi<br></body></html>"
    url = server.serve("/blog", Reply(body=page, headers=[("Content-Type", "text/html")]))

    with pytest.raises(BriefParseError) as info:
        await fetch(url, client=client)

    assert info.value.reason == f"{NOT_A_FEED} (got an HTML page)"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<rss><channel><item><title>&lol3;</title></item></channel></rss>
"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rss><channel><item><title>&secret;</title></item></channel></rss>
"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["expansion", "external"])
async def test_xml_with_entity_declarations_is_rejected(server, client, body: bytes) -> None:
    url = server.serve("/evil.xml", Reply(body=body, headers=[("Content-Type", "application/xml")]))

    with pytest.raises(BriefParseError) as info:
        await fetch(url, client=client)

    assert info.value.reason == "XML with entity declarations (<!ENTITY>) is not accepted"
    assert info.value.source == url


def test_doctype_without_entities_is_fine() -> None:
    body = (
        b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        b'"http://my.netscape.com/publish/formats/rss-0.91.dtd">' + RSS.split(b"?>", 1)[1]
    )

    assert len(briefs(parse_feed(body, content_type=None, source="f"))) == 5


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "the feed is empty"),
        (b" \r\n\t", "the feed is empty"),
        (b"<rss><channel></rss>", "not well-formed XML (mismatched tag)"),
        (b"<opml version='2.0'><body/></opml>", NOT_A_FEED),
        (b"{not json", "not valid JSON or JSON Lines"),
        (b"[" * 100_000, "not valid JSON or JSON Lines"),
        (b'{"version": ' + b"9" * 5000 + b"}", "not valid JSON or JSON Lines"),
        (b"caf\xe9 \x80 is latin-1, not UTF-8", "not UTF-8 text"),
    ],
)
def test_bodies_that_are_not_feeds(body: bytes, reason: str) -> None:
    with pytest.raises(BriefParseError) as info:
        parse_feed(body, content_type=None, source="feed")

    assert info.value.reason == reason
    assert info.value.source == "feed"


def test_empty_feeds_give_no_items() -> None:
    empty_rss = b"<rss version='2.0'><channel><title>t</title></channel></rss>"
    empty_atom = b"<feed xmlns='http://www.w3.org/2005/Atom'><title>t</title></feed>"
    empty_json_feed = b'{"version": "https://jsonfeed.org/version/1.1", "items": []}'

    for body in (empty_rss, empty_atom, empty_json_feed):
        assert parse_feed(body, content_type=None, source="f") == []


# --- character sets -------------------------------------------------------------------------


def rss_with_title(title: str) -> str:
    return (
        "<rss><channel><item><title>" + title + "</title><category>a</category>"
        "<pubDate>Fri, 01 May 2026 02:01:00 GMT</pubDate></item></channel></rss>"
    )


def test_charset_from_content_type() -> None:
    body = rss_with_title("Caf\u00e9").encode("latin-1")

    (item,) = briefs(parse_feed(body, content_type="text/xml; charset=ISO-8859-1", source="f"))

    assert item.title == "Caf\u00e9"


def test_charset_from_xml_declaration() -> None:
    body = ('<?xml version="1.0" encoding="windows-1252"?>' + rss_with_title("\u20ac5")).encode(
        "cp1252"
    )

    (item,) = briefs(parse_feed(body, content_type="application/rss+xml", source="f"))

    assert item.title == "\u20ac5"


def test_byte_order_marks() -> None:
    for body in (
        b"\xef\xbb\xbf" + json.dumps([BRIEF]).encode(),
        json.dumps([BRIEF]).encode("utf-16"),
    ):
        (item,) = briefs(parse_feed(body, content_type="application/json", source="f"))
        assert item.title == "A brief"


@pytest.mark.parametrize(
    ("content_type", "reason"),
    [
        ("text/xml; charset=klingon", "unknown character set 'klingon'"),
        ("text/xml; charset=base64", "unknown character set 'base64'"),
        ("text/xml; charset=punycode", "unknown character set 'punycode'"),
        ("text/xml; charset=undefined", "unknown character set 'undefined'"),
        ("text/xml; charset=unicode_escape", "unknown character set 'unicode_escape'"),
        (
            "text/xml; charset=" + "x" * 500,
            "unknown character set '" + "x" * 39 + "\N{HORIZONTAL ELLIPSIS}'",
        ),
    ],
)
def test_bad_charsets(content_type: str, reason: str) -> None:
    body = rss_with_title("Caf\u00e9").encode("utf-8")

    with pytest.raises(BriefParseError) as info:
        parse_feed(body, content_type=content_type, source="f")

    assert info.value.reason == reason


def test_a_declared_charset_that_does_not_fit_falls_back_like_feedparser() -> None:
    body = rss_with_title("Caf\u00e9").encode("utf-8")

    (item,) = briefs(parse_feed(body, content_type="text/xml; charset=us-ascii", source="f"))

    assert item.title == "Caf\u00e9"


@pytest.mark.parametrize("charset", ["punycode", "undefined", "unicode_escape", "base64"])
def test_codecs_that_are_not_charsets_are_refused_in_the_xml_declaration_and_json(
    charset: str,
) -> None:
    xml_body = f'<?xml version="1.0" encoding="{charset}"?>'.encode() + rss_with_title("x").encode()
    json_body = b'{"title": "\\ud800"}'

    for body, content_type in (
        (xml_body, None),
        (json_body, f"application/json; charset={charset}"),
    ):
        with pytest.raises(BriefParseError) as info:
            parse_feed(body, content_type=content_type, source="f")
        assert info.value.reason == f"unknown character set {charset!r}"


def test_a_body_is_never_opened_as_a_file_name(tmp_path, monkeypatch) -> None:
    # feedparser opens a bytes argument as a path when one exists; we hand it a stream.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "<rss>").write_bytes(RSS)

    with pytest.raises(BriefParseError) as info:
        parse_feed(b"<rss>", content_type=None, source="f")

    assert info.value.reason.startswith("not well-formed XML")


def test_a_lone_surrogate_rejects_only_its_item() -> None:
    body = json.dumps([{**BRIEF, "title": "bad \ud800"}, BRIEF, {**BRIEF, "tags": ["\udfff"]}])

    items = parse_feed(body.encode(), content_type="application/json", source="f")

    assert [b.title for b in briefs(items)] == ["A brief"]
    assert rejected(items) == [
        Rejected("f item 1", "title is not valid text (a lone surrogate U+D800 at character 5)"),
        Rejected("f item 3", "a tag is not valid text (a lone surrogate U+DFFF at character 1)"),
    ]


@pytest.mark.parametrize("reference", ["&#xD800;", "&#55296;", "&#0;", "&#x110000;"])
def test_a_reference_to_no_character_spoils_only_that_character(reference: str) -> None:
    body = rss_item(f"<title>bad {reference} title</title><category>a</category>")
    body = body.replace(
        b"</channel>", b"<item><title>good</title><category>a</category></item></channel>"
    )

    items = parse_feed(body, content_type=None, source="f", now=MAY_1)

    assert [b.title for b in briefs(items)] == ["bad \N{REPLACEMENT CHARACTER} title", "good"]
