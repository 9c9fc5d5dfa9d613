"""Holes this suite found that are still open on the tree, one entry each, with the reproduction.

A case listed here is marked `xfail(strict=True)`: it must keep failing until the owner fixes
it, and then the strict XPASS fails the run until the entry is deleted. Keep this empty when
nothing is open.
"""

from __future__ import annotations

import pytest

GRANIAN = "granian 2.8.9 (embedded Server, default HTTP1Settings), the edge's server"
UVICORN = "uvicorn 0.54 with httptools, the origin's server"
_FRESH_IDLE = (
    "a connection that never sends a byte is never closed: exec 3<>/dev/tcp/127.0.0.1/<port>; "
    "sleep 40 -> still open, so idle sockets can hold every file descriptor"
)

HOLES: dict[str, str] = {
    "edge bare LF inside a field": (
        f"{GRANIAN} takes a bare LF as the end of a header line: printf 'POST /videos "
        "HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nX-A: b\\nContent-Length: <inner length>\\r\\n\\r\\n"
        "GET /hls/<id>/master.m3u8 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n' | nc 127.0.0.1 "
        "<edge port> -> one 401 (the inner request read as the body) and the connection kept "
        "open, not 400: a front proxy that ends lines only at CRLF sees no Content-Length there "
        "and two requests (RFC 9112 2.2 allows the leniency; a request smuggling risk behind "
        "such a proxy; no private byte reaches anyone here)"
    ),
    "origin slow headers": (
        f"{UVICORN} has no header read timeout: a request line, then one header byte per "
        "second ('GET /healthz HTTP/1.1\\r\\nHost: x\\r\\nX-Slow: aaa...') keeps the "
        "connection open past 40 s (slowloris); the edge's granian cuts it at 30 s"
    ),
    "edge idle connection": (
        f"{GRANIAN}: {_FRESH_IDLE} (its 30 s header_read_timeout starts only at the first byte: "
        "slow headers and idle keep-alive connections are closed at 30 s)"
    ),
    "origin idle connection": (
        f"{UVICORN}: {_FRESH_IDLE} (only a keep-alive connection idle after an answer is closed, "
        "after timeout_keep_alive = 5 s)"
    ),
}  # fmt: skip


def marks(key: str) -> list[pytest.MarkDecorator]:
    """The xfail mark for a known hole, or nothing."""
    reason = HOLES.get(key)
    return [pytest.mark.xfail(strict=True, reason=reason)] if reason else []


def param(value: object, key: str, id: str | None = None) -> object:
    """A pytest.param carrying the known-hole mark of `key`, if any."""
    return pytest.param(value, id=id or key, marks=marks(key))
