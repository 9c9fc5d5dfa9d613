"""Pass-through behaviors (/api/*): every method and the body reach the origin,
nothing is cached.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import Iterator

import httpx
import pytest

from edge.viewer import request_body
from streaming import origin_access
from streaming.config import Secret
from streaming.errors import BadRequest
from tests.edge.stack import (
    Answer,
    EdgeStack,
    ScriptedOrigin,
    Seen,
    edge_doc,
    edge_stack,
)
from tests.limits import chunks

pytestmark = pytest.mark.e2e
SIGNED_SECRET = "relay-origin-secret"
BODY_LIMIT = 100_000


@pytest.fixture(scope="module")
def signed(origin: ScriptedOrigin, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeStack]:
    """An edge whose origin has an OAC secret, with a small `edge.max_request_body_bytes`."""
    doc = edge_doc(origin.url)
    doc["origins"][0]["access_secret"] = SIGNED_SECRET
    doc["edge"] = {**doc["edge"], "max_request_body_bytes": BODY_LIMIT}
    with edge_stack(tmp_path_factory.mktemp("signed"), doc) as s:
        yield s


def echo(seen: Seen) -> Answer:
    headers = {
        "content-type": "application/json",
        "set-cookie": "a=1; Path=/",
        "cache-control": "max-age=600",
    }
    body = f'{{"method": "{seen.method}", "bytes": {len(seen.body)}}}'.encode()
    return Answer(201 if seen.method == "POST" else 200, headers, body)


def test_every_method_and_the_body_reach_the_origin_without_the_prefix(
    stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """POST/PUT/DELETE with bodies go to /videos (strip-prefix), with Authorization forwarded."""
    origin.handler("/videos", echo)
    body = b"x" * 300_000
    for method in ("POST", "PUT", "PATCH", "DELETE", "GET"):
        content = body if method != "GET" and method != "DELETE" else None
        response = httpx.request(
            method, stack.url() + "/api/videos?page=2", content=content,
            headers={"authorization": "Bearer t", "content-type": "application/octet-stream"},
        )  # fmt: skip
        assert response.status_code == (201 if method == "POST" else 200), method
        assert response.json() == {"method": method, "bytes": len(content or b"")}
        assert response.headers["x-cache"] == "Miss from iad"
    sent = origin.seen("/videos")
    assert [s.method for s in sent] == ["POST", "PUT", "PATCH", "DELETE", "GET"]
    assert all(s.query == "page=2" and s.headers["authorization"] == "Bearer t" for s in sent)
    assert sent[0].headers["content-length"] == str(len(body))


def test_api_answers_are_never_cached_and_keep_set_cookie(
    stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """Even with max-age from the origin, a max_ttl 0 behavior asks the origin every time."""
    origin.handler("/videos", echo)
    before = origin.count("/videos")
    for _ in range(3):
        response = httpx.get(stack.url() + "/api/videos")
        assert response.headers["x-cache"] == "Miss from iad"
        assert response.headers["set-cookie"] == "a=1; Path=/"
    assert origin.count("/videos") == before + 3


def test_cached_behaviors_forward_no_identity(stack: EdgeStack, origin: ScriptedOrigin) -> None:
    """On a caching behavior, Authorization and Cookie never reach the origin (nor the key)."""
    origin.route("/plain.json", Answer(headers={"content-type": "application/json"}, body=b"{}"))
    httpx.get(
        stack.url() + "/plain.json", headers={"authorization": "Bearer secret", "cookie": "s=1"}
    )
    seen = origin.seen("/plain.json")[0]
    assert "authorization" not in seen.headers and "cookie" not in seen.headers
    assert (
        seen.headers["x-forwarded-for"] == "127.0.0.1"
        and seen.headers["via"] == "1.1 iad (streaming-cdn)"
    )


def test_origin_down_is_a_502_with_a_reason_and_the_edge_keeps_serving(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """An unreachable origin: 502 origin_error, X-Cache Error; later requests are answered too."""
    from procs.supervisor import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    with edge_stack(tmp_path_factory.mktemp("dead"), edge_doc(dead)) as stack:
        for _ in range(2):
            response = httpx.get(stack.url() + "/api/videos")
            assert response.status_code == 502 and response.json()["error"] == "origin_error"
            assert response.headers["x-cache"] == "Error from iad"
        assert httpx.get(stack.url() + "/healthz").status_code == 200


def test_a_pass_through_body_is_signed_over_its_digest(
    signed: EdgeStack, origin: ScriptedOrigin
) -> None:
    """Declared or chunked, the origin gets the whole body with its Content-Length and the
    SHA-256 the signature covers; the signature verifies with the origin's secret."""
    origin.handler("/videos", echo)
    body = os.urandom(60_000)
    before = len(origin.seen("/videos"))
    for content in (body, chunks(len(body), 7000)):
        sent = body if isinstance(content, bytes) else b"".join(chunks(len(body), 7000))
        response = httpx.post(
            signed.url() + "/api/videos?x=1", content=content,
            headers={"authorization": "Bearer t", "content-type": "application/octet-stream"},
        )  # fmt: skip
        assert response.status_code == 201, response.text
        seen = origin.seen("/videos")[-1]
        assert seen.body == sent and seen.headers["content-length"] == str(len(sent))
        assert seen.headers[origin_access.CONTENT_HEADER] == hashlib.sha256(sent).hexdigest()
        target = f"{seen.path}?{seen.query}"
        assert origin_access.verify(
            Secret(SIGNED_SECRET), "POST", target, seen.headers, time.time()
        ) == "iad"  # fmt: skip
    assert len(origin.seen("/videos")) == before + 2


def test_a_body_over_the_edge_limit_is_413_before_the_origin_hears_of_it(
    signed: EdgeStack, origin: ScriptedOrigin
) -> None:
    """Past edge.max_request_body_bytes: 413 with the limit, declared up front or counted
    while a chunked body arrives; the origin never sees the request."""
    origin.handler("/videos", echo)
    before = origin.count("/videos")
    for content in (b"x" * (BODY_LIMIT + 1), chunks(BODY_LIMIT + 10_000, 5000)):
        response = httpx.post(signed.url() + "/api/videos", content=content)
        assert response.status_code == 413, response.text
        assert response.json()["error"] == "payload_too_large"
        assert str(BODY_LIMIT) in response.json()["detail"]
    assert origin.count("/videos") == before
    assert httpx.get(signed.url() + "/healthz").status_code == 200


def test_a_viewer_that_disconnects_mid_body_is_not_forwarded_as_whole() -> None:
    """The body iterator raises on a disconnect instead of ending, so the spool never sends a
    truncated body with a valid digest."""
    messages: list[dict[str, object]] = [
        {"type": "http.request", "body": b"part", "more_body": True}, {"type": "http.disconnect"},
    ]  # fmt: skip

    async def receive() -> dict[str, object]:
        return messages.pop(0)

    async def drain() -> list[bytes]:
        return [chunk async for chunk in request_body(receive)]

    with pytest.raises(BadRequest):
        asyncio.run(drain())
