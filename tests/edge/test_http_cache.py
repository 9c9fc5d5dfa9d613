"""The edge as an RFC 9111 shared cache, through a real edge process and a scripted origin:
one test per rule (the public cache test suite, bench/conformance.py, is the yardstick)."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.edge.stack import Answer, EdgeStack, ScriptedOrigin, edge_doc, edge_stack

pytestmark = pytest.mark.e2e
NO_DEFAULT = {"min_ttl": 0, "default_ttl": 0, "max_ttl": 31536000, "error_ttl": 0,
              "stale_if_error": 0}  # fmt: skip


@pytest.fixture(scope="module")
def rfc(origin: ScriptedOrigin, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeStack]:
    """One POP with a single generic behavior: no default caching, every header forwarded."""
    doc = edge_doc(origin.url)
    doc["behaviors"] = [{
        "path_pattern": "*", "target": "all", "ttl": NO_DEFAULT, "forward_headers": "all",
        "cache_key": {"query_strings": "all"},
        "allowed_methods": ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE", "M-SEARCH"],
        "response_headers": {"remove": ["server-timing"], "add": {"x-added": "1"},
                             "override": {"x-frame-options": "DENY"}},
    }]  # fmt: skip
    with edge_stack(tmp_path_factory.mktemp("rfc"), doc) as s:
        yield s


def unique(name: str) -> str:
    return f"/rfc/{name}-{os.urandom(4).hex()}"


def get(stack: EdgeStack, path: str, **headers: str) -> httpx.Response:
    return httpx.get(
        stack.url() + path, headers={k.replace("_", "-"): v for k, v in headers.items()}
    )


def test_origin_headers_reach_viewers_and_the_cache_minus_connection_listed(
    rfc: EdgeStack, origin: ScriptedOrigin
) -> None:
    path = unique("headers")
    origin.route(path, Answer(headers={
        "cache-control": "max-age=3600", "x-custom": "kept", "connection": "x-hop",
        "x-hop": "dropped", "server-timing": "db;dur=3", "x-frame-options": "SAMEORIGIN",
    }, body=b"x"))  # fmt: skip
    first, second = get(rfc, path), get(rfc, path)
    assert second.headers["x-cache"].startswith("Hit") and origin.count(path) == 1
    for answer in (first, second):
        assert answer.headers["x-custom"] == "kept" and "x-hop" not in answer.headers
        assert "server-timing" not in answer.headers and answer.headers["x-added"] == "1"
        assert answer.headers["x-frame-options"] == "DENY"  # the policy overrides the origin


def test_upstream_age_is_added_to_and_counts_against_freshness(
    rfc: EdgeStack, origin: ScriptedOrigin
) -> None:
    path = unique("age")
    origin.route(path, Answer(headers={"cache-control": "max-age=3602", "age": "3600"}, body=b"a"))
    first = get(rfc, path)
    assert int(first.headers["age"]) >= 3600
    time.sleep(2.2)
    assert get(rfc, path).headers["x-cache"].startswith("Miss")  # 3600 + 2 s: stale
    assert origin.count(path) == 2


def test_vary_selects_variants_and_vary_star_is_never_reused(
    rfc: EdgeStack, origin: ScriptedOrigin
) -> None:
    path = unique("vary")
    origin.handler(path, lambda seen: Answer(
        headers={"cache-control": "max-age=3600", "vary": "Foo"},
        body=seen.headers.get("foo", "none").encode(),
    ))  # fmt: skip
    assert get(rfc, path, foo="1").content == b"1"
    assert get(rfc, path, foo="2").content == b"2"  # another variant: fetched
    again = get(rfc, path, foo="1")
    assert again.content == b"1" and again.headers["x-cache"].startswith("Hit")
    assert origin.count(path) == 2
    star = unique("vary-star")
    origin.route(star, Answer(headers={"cache-control": "max-age=3600", "vary": "*"}, body=b"*"))
    get(rfc, star), get(rfc, star)
    assert origin.count(star) == 2


def test_an_authorized_request_is_not_shared_unless_the_answer_says_public(
    rfc: EdgeStack, origin: ScriptedOrigin
) -> None:
    private, public = unique("auth"), unique("auth-public")
    origin.route(private, Answer(headers={"cache-control": "max-age=3600"}, body=b"alice's"))
    origin.route(public, Answer(headers={"cache-control": "public, max-age=3600"}, body=b"all"))
    get(rfc, private, authorization="Bearer alice")
    assert get(rfc, private).headers["x-cache"].startswith("Miss")
    get(rfc, public, authorization="Bearer alice")
    assert get(rfc, public).headers["x-cache"].startswith("Hit")


def test_a_304_updates_every_stored_header(rfc: EdgeStack, origin: ScriptedOrigin) -> None:
    path = unique("update")
    origin.route(
        path,
        Answer(headers={"cache-control": "max-age=1", "etag": '"v1"', "x-version": "1"}, body=b"b"),
        Answer(304, {"cache-control": "max-age=3600", "etag": '"v1"', "x-version": "2"}),
    )
    get(rfc, path)
    time.sleep(1.2)
    refreshed = get(rfc, path)
    assert refreshed.content == b"b" and refreshed.headers["x-version"] == "2"
    assert origin.seen(path)[-1].headers["if-none-match"] == '"v1"'
    assert get(rfc, path).headers["x-version"] == "2"


def test_a_successful_post_invalidates_its_uri_and_location(
    rfc: EdgeStack, origin: ScriptedOrigin
) -> None:
    path, other = unique("post"), unique("post-location")
    for p in (path, other):
        origin.handler(p, lambda seen: Answer(
            201 if seen.method == "POST" else 200,
            {"cache-control": "max-age=3600", "location": other} if seen.method == "POST"
            else {"cache-control": "max-age=3600"}, b"v",
        ))  # fmt: skip
    get(rfc, path), get(rfc, other)
    assert httpx.post(rfc.url() + path, content=b"change").status_code == 201
    assert get(rfc, path).headers["x-cache"].startswith("Miss")
    assert get(rfc, other).headers["x-cache"].startswith("Miss")


def test_cdn_cache_control_steers_the_edge_and_stays_with_it(
    rfc: EdgeStack, origin: ScriptedOrigin
) -> None:
    path = unique("cdn-cc")
    origin.route(path, Answer(
        headers={"cache-control": "no-store", "cdn-cache-control": "max-age=3600"}, body=b"c"
    ))  # fmt: skip
    first, second = get(rfc, path), get(rfc, path)
    assert second.headers["x-cache"].startswith("Hit") and origin.count(path) == 1
    assert "cdn-cache-control" not in first.headers and first.headers["cache-control"] == "no-store"


def test_cache_status_says_what_the_cache_did(rfc: EdgeStack, origin: ScriptedOrigin) -> None:
    path = unique("status")
    origin.route(path, Answer(headers={"cache-control": "max-age=3600"}, body=b"s"))
    miss, hit = get(rfc, path), get(rfc, path)
    assert miss.headers["cache-status"].startswith(
        "iad.streaming-cdn; fwd=uri-miss; fwd-status=200"
    )
    assert hit.headers["cache-status"].startswith("iad.streaming-cdn; hit; ttl=")
    passed = httpx.post(rfc.url() + path, content=b"")
    assert passed.headers["cache-status"].startswith("iad.streaming-cdn; fwd=bypass")


def test_an_extension_method_passes_through(rfc: EdgeStack, origin: ScriptedOrigin) -> None:
    path = unique("m-search")
    origin.route(path, Answer(200, {}, b"found"))
    assert httpx.request("M-SEARCH", rfc.url() + path).content == b"found"


def overrunning_origin() -> tuple[socket.socket, list[int]]:
    """An origin whose first answer sends more bytes than its Content-Length."""
    server = socket.create_server(("127.0.0.1", 0))
    served: list[int] = []

    import threading

    def answer(conn: socket.socket) -> None:
        with conn:
            while len(served) < 4:
                data = conn.recv(65536)
                if not data:
                    break
                served.append(1)
                extra = b"garbage-after-the-body" if len(served) == 1 else b""
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n"
                             b"cache-control: no-store\r\n\r\nok" + extra)  # fmt: skip

    def serve() -> None:  # a connection each (an edge of several workers opens several)
        with server:
            while len(served) < 4:
                conn, _ = server.accept()
                threading.Thread(target=answer, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return server, served


def test_an_idempotent_request_on_a_broken_reused_connection_is_retried(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    server, served = overrunning_origin()
    url = f"http://127.0.0.1:{server.getsockname()[1]}"
    doc: dict[str, Any] = edge_doc(url)
    doc["behaviors"] = [{"path_pattern": "*", "target": "all", "ttl": NO_DEFAULT}]
    with edge_stack(tmp_path_factory.mktemp("overrun"), doc) as stack:
        assert get(stack, "/a").content == b"ok"
        assert get(stack, "/b").status_code == 200  # not a 502 from the leftover bytes
