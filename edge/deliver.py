"""Deliver an object to the viewer: full, ranged (206/416), not modified (304) or HEAD.

Replies are sent on the raw ASGI channel: a memory hit sends the cached `bytes` (or a
`memoryview` slice for a range) without copying, a disk hit of a whole body is handed to the
server as a path (the ASGI `http.response.pathsend` extension, where the server offers it:
granian sends the file itself) and otherwise streamed with `pread`, a fill streams bytes as
they arrive from the origin.

The lean hit path: a plain GET (no range, no conditional) fresh hit is answered with a head
made once per entry and variant (`prepare`) from the first such reply, decorated as the
pipeline decorates every reply; later hits only add the per-request headers (`finish`).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

from starlette.types import Send

from edge.cache import Entry
from edge.fill import Fill
from edge.types import PER_REQUEST, Body, Head, Prepared, Reply, Result, Stream
from edge.viewer import Viewer
from streaming import cache_control
from streaming.errors import EdgeFunctionError, RangeNotSatisfiable, StreamingError
from streaming.http import error_response, etag_matches, parse_range

FILE_CHUNK = 256 * 1024
HEADS_PER_ENTRY = 8  # variants (behavior, Origin) with a precomputed head per entry
PATHSEND = "http.response.pathsend"
_NAMES = sum(len(name) + 4 for name in PER_REQUEST)  # the access log's count: name, ": ", CRLF
# Headers a 304 repeats (RFC 9110 15.4.5); the body-describing ones are dropped.
NOT_MODIFIED_KEEP = frozenset({
    "cache-control", "content-location", "date", "etag", "expires", "vary", "last-modified",
})  # fmt: skip


def edge_headers(
    pop: str, result: Result, viewer: Viewer, region: str, age: int | None
) -> dict[str, str]:
    """The headers every edge response carries."""
    headers = {
        "x-cache": f"{result.value} from {pop}",
        "via": f"1.1 {pop} (streaming-cdn)",
        "x-edge-location": pop,
        "x-request-id": viewer.request_id,
    }
    if region:
        headers["x-origin-region"] = region
    if age is not None:
        headers["age"] = str(age)
    return headers


def not_modified(viewer: Viewer, headers: dict[str, str]) -> bool:
    """If-None-Match wins over If-Modified-Since, as RFC 9110 13.2.2 orders them."""
    if_none_match = viewer.headers.get("if-none-match")
    if if_none_match is not None:
        etag = headers.get("etag")
        return etag is not None and etag_matches(if_none_match, etag)
    if_modified_since = viewer.headers.get("if-modified-since")
    if if_modified_since is None:  # the common case: no date parsing on the hit path
        return False
    since = cache_control.parse_http_date(if_modified_since)
    modified = cache_control.parse_http_date(headers.get("last-modified"))
    return since is not None and modified is not None and modified <= since


def _shape(
    viewer: Viewer, status: int, headers: dict[str, str], size: int | None
) -> tuple[int, tuple[int, int] | None]:
    """Decide 304 / 206 / 200 for a 200 object; raises RangeNotSatisfiable for a bad range."""
    if status != 200:
        return status, None
    headers["accept-ranges"] = "bytes"
    if not_modified(viewer, headers):
        return 304, None
    if size is None or viewer.range is None:
        return 200, None
    byte_range = parse_range(viewer.range, size)
    if byte_range is None:
        return 200, None
    headers["content-range"] = f"bytes {byte_range[0]}-{byte_range[1]}/{size}"
    return 206, byte_range


def _finish(
    viewer: Viewer, status: int, headers: dict[str, str], length: int | None
) -> dict[str, str]:
    if status == 304:
        return {
            k: v
            for k, v in headers.items()
            if k in NOT_MODIFIED_KEEP
            or k.startswith("x-")
            or k in ("age", "via", "accept-ranges")
            or k.startswith("access-control-")
        }
    if length is not None:
        headers["content-length"] = str(length)
    return headers


def from_entry(
    viewer: Viewer, entry: Entry, extra: dict[str, str], encoded: tuple[str, bytes] | None = None
) -> Reply:
    """A reply from a complete cached entry; `encoded` is a compressed variant to send instead."""
    headers = {**entry.headers, **extra}
    status, byte_range = _shape(viewer, entry.status, headers, entry.size)
    body: Body = b""
    length: int | None = entry.size
    if status == 304:
        length = None
    elif encoded is not None and byte_range is None:
        encoding, data = encoded
        headers["content-encoding"] = encoding
        if (etag := _weak(headers.get("etag"))) is not None:
            headers["etag"] = etag
        body, length = data, len(data)
    elif entry.body is not None:
        view: bytes | memoryview = entry.body
        if byte_range is not None:  # a slice of the cached bytes, not a copy
            view = memoryview(entry.body)[byte_range[0] : byte_range[1] + 1]
        body, length = view, len(view)
    else:
        assert entry.file is not None
        start, end = byte_range or (0, entry.size - 1)
        body, length = (entry.file, start, end), end - start + 1
    if viewer.method == "HEAD" or status == 304:
        body = b""
    return Reply(status, _finish(viewer, status, headers, length), body, range=byte_range)


def _weak(etag: str | None) -> str | None:
    if etag is None or etag.startswith("W/"):
        return etag
    return f"W/{etag}"


def from_fill(viewer: Viewer, fill: Fill, head: Head, headers: dict[str, str]) -> Reply:
    """A reply streamed from an in-flight fill (any offset, as the bytes arrive)."""
    merged = {**headers}
    status, byte_range = _shape(viewer, head.status, merged, head.length)
    length = head.length
    if byte_range is not None:
        length = byte_range[1] - byte_range[0] + 1
    body: Body = b""
    if viewer.method != "HEAD" and status != 304:
        body = (fill, byte_range[0], byte_range[1]) if byte_range else (fill, 0, None)
    return Reply(status, _finish(viewer, status, merged, length), body, range=byte_range)


def plain(viewer: Viewer) -> bool:
    """A GET whose answer depends on nothing but the entry: no range, no conditional."""
    h = viewer.headers
    return (
        viewer.method == "GET" and "range" not in h and "if-none-match" not in h
        and "if-modified-since" not in h
    )  # fmt: skip


def prepared(entry: Entry, variant: tuple[int, str | None]) -> Prepared | None:
    """The entry's precomputed head for `variant`, if it still fits the entry."""
    heads = entry.heads
    found = heads.get(variant) if heads is not None else None
    return found if found is not None and found.fits(entry) else None


def hit(entry: Entry, head: Prepared, now: float) -> Reply:
    """A fresh hit answered with its precomputed head: the whole cached body."""
    body: Body
    if entry.body is not None:
        body = entry.body
    else:
        assert entry.file is not None
        body = (entry.file, 0, entry.size - 1)
    age = entry.current_age(now)
    return Reply(
        200, head.headers, body, Result.HIT, "Hit", origin_region=entry.origin_region,
        age=int(age), cached_path=True, ttl_left=entry.ttl - age, prepared=head,
    )  # fmt: skip


def prepare(reply: Reply) -> None:
    """Keep the head of this decorated plain fresh hit on its entry, for the next ones."""
    assert reply.prepare is not None
    entry, variant = reply.prepare
    status = reply.headers.get("cache-status", "")
    start, ttl, _ = status.rpartition("ttl=")
    if reply.status != 200 or reply.cookies or not ttl:
        return
    headers = {k: v for k, v in reply.headers.items() if k not in PER_REQUEST}
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    head = Prepared(
        entry.status, entry.size, entry.origin_region, dict(entry.headers), headers, raw,
        start + ttl, sum(len(k) + len(v) + 4 for k, v in headers.items()),
    )  # fmt: skip
    if entry.heads is None or len(entry.heads) >= HEADS_PER_ENTRY:
        entry.heads = {}
    entry.heads[variant] = head


def finish(reply: Reply, request_id: str) -> list[tuple[bytes, bytes]]:
    """The encoded head of a reply with a precomputed head: it plus the per-request headers,
    valued as `edge_headers` and `cache_status` value them."""
    head = reply.prepared
    assert head is not None and reply.age is not None and reply.ttl_left is not None
    age, status = str(reply.age), f"{head.cache_status}{int(reply.ttl_left)}"
    reply.head_bytes = head.head_bytes + len(age) + len(request_id) + len(status) + _NAMES
    return [
        *head.raw, (b"age", age.encode()), (b"x-request-id", request_id.encode()),
        (b"cache-status", status.encode()),
    ]  # fmt: skip


def range_error(exc: RangeNotSatisfiable) -> dict[str, str]:
    return {"content-range": f"bytes */{exc.size}"}


async def send_reply(
    send: Send, reply: Reply, raw: list[tuple[bytes, bytes]] | None = None, pathsend: bool = False
) -> None:
    """Send status, headers and body; `reply.sent` counts body bytes actually written. `raw`:
    the head already encoded (`finish`); `pathsend`: the server takes a whole file by path."""
    if raw is None:
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers.items()]
        raw += [(b"set-cookie", c.encode("latin-1")) for c in reply.cookies]
    await send({"type": "http.response.start", "status": reply.status, "headers": raw})
    body = reply.body
    if isinstance(body, (bytes, memoryview)):
        await send({"type": "http.response.body", "body": body, "more_body": False})
        reply.sent = len(body)
        return
    if pathsend and reply.status == 200 and _whole_file(body):
        # The server opens and sends the file (granian: from its own threads, no copy through
        # Python). A version a sibling worker evicted meanwhile is gone: then the server cuts
        # the response, as the pread path does below.
        assert isinstance(body, tuple) and isinstance(body[0], str)
        await send({"type": PATHSEND, "path": body[0]})
        reply.sent = body[2] + 1
        return
    # An empty chunk puts the head on the wire now under every server (granian holds it until
    # the first body bytes): a body that fails before its first byte is then a cut response,
    # never a server-made 500 that hides the edge's headers.
    await send({"type": "http.response.body", "body": b"", "more_body": True})
    async for chunk in _chunks(body):
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
        reply.sent += len(chunk)
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def _whole_file(body: Body) -> bool:
    """A cached file from its first byte to its last (a range is read with pread)."""
    return isinstance(body, tuple) and isinstance(body[0], str) and body[1] == 0


async def _chunks(
    body: tuple[str, int, int] | tuple[Fill, int, int | None] | Stream,
) -> AsyncIterator[bytes]:
    if isinstance(body, Stream):
        async for chunk in body.chunks:
            yield chunk
        return
    source, start, end = body
    if isinstance(source, Fill):
        async for chunk in source.stream(start, end):
            yield chunk
        return
    assert end is not None
    fd = os.open(source, os.O_RDONLY)
    try:
        pos = start
        while pos <= end:
            chunk = os.pread(fd, min(FILE_CHUNK, end - pos + 1), pos)
            if not chunk:
                raise OSError(f"{source} is shorter than its metadata says")
            pos += len(chunk)
            yield chunk
    finally:
        os.close(fd)


def error_reply(pop: str, viewer: Viewer, exc: StreamingError) -> Reply:
    """The edge's answer for a refusal or failure: the JSON error body with its status."""
    response = error_response(exc)
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in response.raw_headers}
    function_failed = isinstance(exc, EdgeFunctionError)
    detail = "FunctionExecutionError" if function_failed else type(exc).__name__
    body = b"" if viewer.method == "HEAD" else bytes(response.body)
    return Reply(exc.status_code, headers, body, Result.ERROR, detail)


def vary_with(current: str | None, name: str) -> str:
    """Add `name` to a Vary value once."""
    if not current:
        return name
    names = [v.strip().lower() for v in current.split(",")]
    return current if name.lower() in names else f"{current}, {name}"


async def discard(reply: Reply) -> None:
    """Let go of what a reply's body holds: a relayed origin response, a fill."""
    body = reply.body
    if isinstance(body, Stream):
        await body.close()
    elif isinstance(body, tuple) and isinstance(body[0], Fill):
        body[0].release()
        reply.body = b""
