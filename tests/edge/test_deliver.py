"""Delivery through a real edge: ranges, HEAD, conditionals, compression, CORS, error pages."""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator

import brotli
import httpx
import pytest

from tests.access import key_group
from tests.edge.stack import (
    Answer,
    EdgeStack,
    ScriptedOrigin,
    edge_doc,
    edge_stack,
)

pytestmark = pytest.mark.e2e

SEGMENT = {"content-type": "video/mp2t", "cache-control": "public, max-age=3600"}
PLAYLIST = {"content-type": "application/vnd.apple.mpegurl", "cache-control": "max-age=3600",
            "etag": '"pl1"', "last-modified": "Sat, 01 Jan 2022 00:00:00 GMT"}  # fmt: skip
PLAYER = "http://player.test"


@pytest.fixture(scope="module")
def stack(origin: ScriptedOrigin, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeStack]:
    doc = edge_doc(origin.url)
    doc["behaviors"].insert(
        0, {"path_pattern": "/private/*", "target": "all", "trusted_key_groups": ["viewers"]}
    )
    doc.update(
        key_groups=[key_group("viewers", "alice")],
        default_root_object="index.html",
        custom_error_responses=[
            {
                "error_code": 404,
                "response_page_path": "/errors/404.html",
                "error_caching_min_ttl": 1,
            },
            {"error_code": 503, "response_page_path": "/errors/down.html", "response_code": 200},
        ],
        cors={"allowed_origins": [PLAYER]},
    )
    page = {"content-type": "text/html", "cache-control": "max-age=300"}
    origin.route("/errors/404.html", Answer(headers=page, body=b"<p>lost</p>"))
    origin.route("/errors/down.html", Answer(headers=page, body=b"<p>back soon</p>"))
    with edge_stack(tmp_path_factory.mktemp("deliver"), doc) as s:
        yield s


def unique(name: str) -> str:
    return f"/d/{name}-{os.urandom(4).hex()}"


@pytest.fixture
def segment(stack: EdgeStack, origin: ScriptedOrigin) -> tuple[str, bytes]:
    path = unique("seg") + ".ts"
    body = os.urandom(4096)
    origin.route(path, Answer(headers={**SEGMENT, "etag": '"s1"'}, body=body))
    return path, body


def test_range_on_a_miss_fills_the_whole_object_once_then_ranges_hit(
    stack: EdgeStack, origin: ScriptedOrigin, segment: tuple[str, bytes]
) -> None:
    """A ranged miss answers 206 and the origin is asked for the whole object once."""
    path, body = segment
    first = httpx.get(stack.url() + path, headers={"range": "bytes=100-199"})
    assert first.status_code == 206 and first.content == body[100:200]
    assert first.headers["content-range"] == f"bytes 100-199/{len(body)}"
    assert first.headers["x-cache"] == "Miss from iad"
    later = httpx.get(stack.url() + path, headers={"range": "bytes=4000-"})
    assert (
        later.status_code == 206
        and later.content == body[4000:]
        and later.headers["x-cache"] == "Hit from iad"
    )
    assert [s.headers.get("range") for s in origin.seen(path)] == [None]


def test_suffix_range_and_unsatisfiable_range(stack: EdgeStack, segment: tuple[str, bytes]) -> None:
    """`bytes=-N` is the last N bytes; a range past the end is 416 with `bytes */size`."""
    path, body = segment
    httpx.get(stack.url() + path)
    suffix = httpx.get(stack.url() + path, headers={"range": "bytes=-10"})
    assert suffix.status_code == 206 and suffix.content == body[-10:]
    past = httpx.get(stack.url() + path, headers={"range": "bytes=99999-"})
    assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{len(body)}"
    assert past.json()["error"] == "range_not_satisfiable"


def test_a_disk_tier_hit_and_its_ranges_are_byte_exact_under_granian(
    stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """A body above memory_object_bytes lives on disk only: granian sends its whole-body hits
    from the file by path (ASGI pathsend), its ranges are read with pread; every byte is the
    origin's, hit after hit."""
    path = unique("disk") + ".ts"
    body = os.urandom(600 * 1024)
    origin.route(path, Answer(headers=SEGMENT, body=body))
    assert httpx.get(stack.url() + path).content == body  # the miss
    for _ in range(3):  # the full path, then the precomputed head
        hit = httpx.get(stack.url() + path)
        assert hit.headers["x-cache"] == "Hit from iad" and hit.content == body
        assert hit.headers["content-length"] == str(len(body))
    for asked, start, end in (
        ("bytes=1000-299999", 1000, 299999), ("bytes=-100", len(body) - 100, len(body) - 1),
        ("bytes=614000-", 614000, len(body) - 1), ("bytes=0-0", 0, 0),
    ):  # fmt: skip
        part = httpx.get(stack.url() + path, headers={"range": asked})
        assert part.status_code == 206 and part.content == body[start : end + 1]
        assert part.headers["content-range"] == f"bytes {start}-{end}/{len(body)}"
    assert origin.count(path) == 1


def test_head_has_the_get_headers_and_no_body(
    stack: EdgeStack, origin: ScriptedOrigin, segment: tuple[str, bytes]
) -> None:
    """HEAD on a miss fills the object (a GET to the origin) and answers headers only."""
    path, body = segment
    head = httpx.head(stack.url() + path)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(body))
    assert httpx.get(stack.url() + path).headers["x-cache"] == "Hit from iad"
    assert [s.method for s in origin.seen(path)] == ["GET"]


def test_viewer_conditionals_get_304_from_cache(
    stack: EdgeStack, segment: tuple[str, bytes]
) -> None:
    """If-None-Match with the ETag, or If-Modified-Since, answers 304 without a body."""
    path, _ = segment
    httpx.get(stack.url() + path)
    not_modified = httpx.get(stack.url() + path, headers={"if-none-match": '"s1"'})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert (
        not_modified.headers["etag"] == '"s1"' and not_modified.headers["x-cache"] == "Hit from iad"
    )
    assert httpx.get(stack.url() + path, headers={"if-none-match": '"other"'}).status_code == 200


def test_playlists_are_compressed_brotli_first_and_vary_on_accept_encoding(
    stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """A 3 kB playlist: br when accepted, gzip otherwise, identity without Accept-Encoding."""
    path = unique("pl") + ".m3u8"
    body = (
        b"#EXTM3U\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-TARGETDURATION:4\n"
        + b"#EXTINF:4.0,\nsegment.ts\n" * 120
        + b"#EXT-X-ENDLIST\n"
    )
    origin.route(path, Answer(headers=PLAYLIST, body=body))
    br, br_raw = raw(stack.url() + path, "gzip, br")
    gz, gz_raw = raw(stack.url() + path, "gzip")
    plain, plain_raw = raw(stack.url() + path, "identity")
    assert br.headers["content-encoding"] == "br" and brotli.decompress(br_raw) == body
    assert gz.headers["content-encoding"] == "gzip" and gzip.decompress(gz_raw) == body
    assert "content-encoding" not in plain.headers and plain_raw == body
    assert int(br.headers["content-length"]) == len(br_raw) < len(body)
    for response in (br, gz, plain):
        assert "Accept-Encoding" in response.headers["vary"]
    assert br.headers["etag"] == 'W/"pl1"' and plain.headers["etag"] == '"pl1"'
    assert origin.count(path) == 1
    assert [s.headers["accept-encoding"] for s in origin.seen(path)] == ["identity"]


def raw(url: str, accept_encoding: str) -> tuple[httpx.Response, bytes]:
    """The response and its body bytes exactly as sent (httpx would decode them)."""
    with httpx.stream("GET", url, headers={"accept-encoding": accept_encoding}) as response:
        return response, b"".join(response.iter_raw())


def test_segments_and_small_playlists_are_never_compressed(
    stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """Media segments (any size) and playlists under 1,000 bytes go out as they are."""
    seg, small = unique("big") + ".ts", unique("small") + ".m3u8"
    origin.route(seg, Answer(headers=SEGMENT, body=b"\x47" * 50_000))
    origin.route(small, Answer(headers=PLAYLIST, body=b"#EXTM3U\n#EXT-X-ENDLIST\n"))
    for path in (seg, small):
        for _ in range(2):
            response = httpx.get(stack.url() + path, headers={"accept-encoding": "br, gzip"})
            assert "content-encoding" not in response.headers, path
    assert "vary" not in httpx.get(stack.url() + seg).headers or "Accept-Encoding" not in httpx.get(
        stack.url() + seg
    ).headers.get("vary", "")


def test_cors_echoes_allowed_origins_with_vary_and_refuses_others(
    stack: EdgeStack, segment: tuple[str, bytes]
) -> None:
    """An allowed Origin is echoed (never *), expose headers list X-Cache; others get no ACAO."""
    path, _ = segment
    allowed = httpx.get(stack.url() + path, headers={"origin": PLAYER})
    other = httpx.get(stack.url() + path, headers={"origin": "http://evil.test"})
    assert allowed.headers["access-control-allow-origin"] == PLAYER
    assert "x-cache" in allowed.headers["access-control-expose-headers"]
    assert "access-control-allow-credentials" not in allowed.headers  # a public path
    assert "access-control-allow-origin" not in other.headers
    assert "Origin" in allowed.headers["vary"] and "Origin" in other.headers["vary"]


def test_cookie_protected_paths_allow_credentials_even_on_their_403(stack: EdgeStack) -> None:
    """Behind trusted key groups: credentials allowed, and the 403 carries CORS headers too."""
    denied = httpx.get(stack.url() + "/private/v/master.m3u8", headers={"origin": PLAYER})
    assert denied.status_code == 403 and denied.headers["x-cache"] == "Error from iad"
    assert denied.headers["access-control-allow-origin"] == PLAYER
    assert denied.headers["access-control-allow-credentials"] == "true"


def test_preflight_is_answered_at_the_edge(stack: EdgeStack, origin: ScriptedOrigin) -> None:
    """OPTIONS with Access-Control-Request-Method: 204 with methods, headers and max-age."""
    before = len(origin.fetches())
    response = httpx.options(stack.url() + "/private/v/seg.ts", headers={
        "origin": PLAYER, "access-control-request-method": "GET",
        "access-control-request-headers": "range",
    })  # fmt: skip
    assert response.status_code == 204
    assert "GET" in response.headers["access-control-allow-methods"]
    assert "range" in response.headers["access-control-allow-headers"]
    assert response.headers["access-control-max-age"] == "600"
    assert len(origin.fetches()) == before


def test_default_root_object_applies_to_slash_only(
    stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """`/` serves /index.html; `/docs/` is not rewritten (CloudFront semantics)."""
    origin.route(
        "/index.html",
        Answer(
            headers={"content-type": "text/html", "cache-control": "max-age=60"},
            body=b"<h1>home</h1>",
        ),
    )
    assert httpx.get(stack.url() + "/").content == b"<h1>home</h1>"
    httpx.get(stack.url() + "/docs/")
    assert origin.count("/docs/") == 1 and origin.count("/index.html") == 1


def test_custom_error_page_replaces_the_body_and_keeps_or_sets_the_status(
    stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """404 → the configured page with 404; 503 → the maintenance page with 200."""
    missing = unique("gone") + ".html"
    broken = unique("broken") + ".html"
    origin.route(broken, Answer(503, {"content-type": "text/plain"}, b"overloaded"))
    lost = httpx.get(stack.url() + missing)
    assert (
        lost.status_code == 404
        and lost.content == b"<p>lost</p>"
        and lost.headers["x-cache"] == "Error from iad"
    )
    down = httpx.get(stack.url() + broken)
    assert down.status_code == 200 and down.content == b"<p>back soon</p>"


def test_custom_error_caching_ttl_applies_per_status(
    stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """The 404 page's error_caching_min_ttl (1 s) replaces the default 10 s for 404s."""
    import time

    path = unique("later") + ".ts"
    origin.route(
        path,
        Answer(404, {"content-type": "text/plain"}, b"no"),
        Answer(headers=SEGMENT, body=b"now"),
    )
    assert httpx.get(stack.url() + path).status_code == 404
    assert httpx.get(stack.url() + path).status_code == 404
    time.sleep(1.1)
    assert httpx.get(stack.url() + path).content == b"now"
    assert origin.count(path) == 2
