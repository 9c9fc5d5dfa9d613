"""The lean hit path, in-process: precomputed heads per entry and variant, and disk hits handed
to the server by path (ASGI pathsend) while ranges are read with pread."""

from __future__ import annotations

import asyncio
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge.app import EdgeApp, create_app
from edge.deliver import PATHSEND
from streaming.config import parse
from tests.edge.stack import edge_doc

PLAYER = "http://player.test"
BIG = bytes(range(256)) * 1200  # 300 KB: above the test distribution's memory_object_bytes


class Origin:
    """An in-process origin: each path answers from its queue (the last answer repeats)."""

    def __init__(self) -> None:
        self.answers: dict[str, list[httpx.Response]] = {}
        self.seen: list[httpx.Request] = []

    def route(self, path: str, *answers: tuple[int, dict[str, str], bytes]) -> None:
        self.answers[path] = [
            httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))
            for status, headers, body in answers
        ]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        queue = self.answers[request.url.path]
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if not queue:
            queue.append(answer)
        # A fresh stream per request: a ByteStream is read once.
        return httpx.Response(
            answer.status_code, headers=answer.headers,
            stream=httpx.ByteStream(b"".join(answer.stream)),  # type: ignore[arg-type]
        )  # fmt: skip


@pytest.fixture
def origin() -> Origin:
    return Origin()


@pytest.fixture
def app(origin: Origin, tmp_path: Path) -> EdgeApp:
    doc = edge_doc("http://origin.test", cors={"allowed_origins": [PLAYER]})
    return create_app(
        parse(doc), "iad", transport=httpx.MockTransport(origin), cache_dir=tmp_path, access_log=""
    )


def call(
    app: EdgeApp, path: str, headers: dict[str, str] | None = None, pathsend: bool = False
) -> tuple[int, dict[str, str], list[dict[str, Any]]]:
    """One viewer request straight into the edge's ASGI callable: status, headers, messages."""
    raw = [(b"host", b"cdn.test"), *((k.encode(), v.encode()) for k, v in (headers or {}).items())]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": raw, "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8201), "extensions": {PATHSEND: {}} if pathsend else {},
    }  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    asyncio.run(app(scope, receive, send))
    start = sent[0]
    head = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], head, sent[1:]


def body_of(messages: list[dict[str, Any]]) -> bytes:
    return b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")


def entry_of(app: EdgeApp, path: str) -> Any:
    cache = app.pipeline.lookup.cache
    return next(e for e in [*cache.memory, *cache.disk] if e.path == path)


def test_a_precomputed_head_is_the_head_the_full_path_makes(app: EdgeApp, origin: Origin) -> None:
    """The first plain hit makes the entry's head; the next hits send it with only the request
    id, Age and Cache-Status's ttl made anew; another Origin is another variant."""
    path = "/v/seg.ts"
    origin.route(path, (200, {"content-type": "video/mp2t", "cache-control": "max-age=600"}, b"s"))
    call(app, path, {"origin": PLAYER})  # the miss
    status, slow, _ = call(app, path, {"origin": PLAYER})
    entry = entry_of(app, path)
    assert status == 200 and slow["x-cache"] == "Hit from iad"
    assert entry.heads is not None and len(entry.heads) == 1
    status, fast, messages = call(app, path, {"origin": PLAYER})
    assert status == 200 and body_of(messages) == b"s"
    assert fast["x-request-id"] != slow["x-request-id"]
    same = {k: v for k, v in slow.items() if k not in ("x-request-id", "age", "cache-status")}
    assert {k: v for k, v in fast.items() if k not in ("x-request-id", "age", "cache-status")} == (
        same
    )
    assert fast["access-control-allow-origin"] == PLAYER
    assert fast["cache-status"].startswith("iad.streaming-cdn; hit; ttl=")
    assert int(fast["age"]) >= 0 and set(fast) == set(slow)
    _, other, _ = call(app, path, {"origin": "http://elsewhere.test"})
    _, other_again, _ = call(app, path, {"origin": "http://elsewhere.test"})
    assert "access-control-allow-origin" not in other and set(other_again) == set(other)
    assert len(entry.heads) == 2


def test_a_refresh_that_changes_a_header_is_visible_on_the_next_hit(
    app: EdgeApp, origin: Origin
) -> None:
    """A 304 changes the stored headers in place: the precomputed head no longer fits the
    entry, and the next hit shows the new header (and makes the head again)."""
    path = "/v/refresh.ts"
    origin.route(
        path,
        (200, {"cache-control": "max-age=1", "etag": '"v1"', "x-version": "1"}, b"body"),
        (304, {"cache-control": "max-age=600", "etag": '"v1"', "x-version": "2"}, b""),
    )
    call(app, path)
    call(app, path)  # makes the head
    assert call(app, path)[1]["x-version"] == "1"  # sent with it
    time.sleep(1.2)
    _, refreshed, _ = call(app, path)
    assert refreshed["x-cache"] == "RefreshHit from iad" and refreshed["x-version"] == "2"
    status, hit, messages = call(app, path)
    assert status == 200 and hit["x-cache"] == "Hit from iad" and hit["x-version"] == "2"
    assert body_of(messages) == b"body"
    assert call(app, path)[1]["x-version"] == "2"  # the head made again fits


def test_conditional_range_and_head_requests_are_not_answered_with_the_prepared_head(
    app: EdgeApp, origin: Origin
) -> None:
    path = "/v/cond.ts"
    origin.route(path, (200, {"cache-control": "max-age=600", "etag": '"e"'}, b"0123456789"))
    call(app, path), call(app, path), call(app, path)
    assert call(app, path, {"if-none-match": '"e"'})[0] == 304
    status, ranged, messages = call(app, path, {"range": "bytes=2-4"})
    assert status == 206 and ranged["content-range"] == "bytes 2-4/10"
    assert body_of(messages) == b"234"


def test_a_disk_hit_is_handed_to_the_server_by_path_and_a_range_is_read(
    app: EdgeApp, origin: Origin
) -> None:
    """With the server offering pathsend, a whole disk-tier body goes as its path; a range of
    it is read with pread and sent as bytes; without the extension the whole body is read."""
    path = "/v/big.ts"
    origin.route(path, (200, {"content-type": "video/mp2t", "cache-control": "max-age=600"}, BIG))
    assert body_of(call(app, path, pathsend=True)[2]) == BIG  # the miss streams the fill
    for _ in range(2):  # the full path, then the precomputed head
        status, head, messages = call(app, path, pathsend=True)
        assert status == 200 and head["x-cache"] == "Hit from iad"
        assert head["content-length"] == str(len(BIG))
        assert [m["type"] for m in messages] == [PATHSEND]
        assert Path(messages[0]["path"]).read_bytes() == BIG
    status, head, messages = call(app, path, {"range": "bytes=1000-2999"}, pathsend=True)
    assert status == 206 and head["content-range"] == f"bytes 1000-2999/{len(BIG)}"
    assert PATHSEND not in [m["type"] for m in messages] and body_of(messages) == BIG[1000:3000]
    status, _, messages = call(app, path)
    assert status == 200 and body_of(messages) == BIG
    assert PATHSEND not in [m["type"] for m in messages]
