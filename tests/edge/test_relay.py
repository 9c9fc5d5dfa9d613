"""Pass-through behaviors (/api/*): every method and the body reach the origin,
nothing is cached.
"""

from __future__ import annotations

import httpx
import pytest

from tests.edge.stack import (
    Answer,
    EdgeStack,
    ScriptedOrigin,
    Seen,
    edge_doc,
    edge_stack,
)

pytestmark = pytest.mark.e2e


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
    from streaming.cli.supervisor import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    with edge_stack(tmp_path_factory.mktemp("dead"), edge_doc(dead)) as stack:
        for _ in range(2):
            response = httpx.get(stack.url() + "/api/videos")
            assert response.status_code == 502 and response.json()["error"] == "origin_error"
            assert response.headers["x-cache"] == "Error from iad"
        assert httpx.get(stack.url() + "/healthz").status_code == 200
