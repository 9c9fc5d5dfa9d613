"""HTTP helpers shared by origin and edge: the one error mapping, ranges, conditional GET."""

from __future__ import annotations

import re

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from streaming.errors import AccessDenied, RangeNotSatisfiable, StreamingError, TooManyRequests

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def error_response(exc: StreamingError, headers: dict[str, str] | None = None) -> Response:
    """Render any StreamingError as `{"error": code, "detail": reason}` with its status."""
    extra = dict(headers or {})
    body = {"error": exc.code, "detail": exc.detail}
    if isinstance(exc, RangeNotSatisfiable):
        extra["Content-Range"] = f"bytes */{exc.size}"
    elif isinstance(exc, TooManyRequests):
        extra["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, AccessDenied):
        body["reason"] = exc.reason
    return JSONResponse(body, status_code=exc.status_code, headers=extra)


def install_error_handler(app: Starlette) -> None:
    """Map the StreamingError tree to HTTP for `app` (subclasses resolve through the MRO)."""

    async def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StreamingError)
        return error_response(exc)

    app.add_exception_handler(StreamingError, handle)


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Resolve a single `bytes=` range to inclusive (start, end), None to serve the whole body.

    Multi-range and malformed headers are ignored (RFC 9110 allows a full 200 instead);
    unsatisfiable ranges raise RangeNotSatisfiable.
    """
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":
        length = int(last)
        if length == 0 or size == 0:
            raise RangeNotSatisfiable(f"suffix range {header!r} is empty", size)
        return max(0, size - length), size - 1
    start = int(first)
    if start >= size:
        raise RangeNotSatisfiable(f"range {header!r} starts past the end ({size} bytes)", size)
    end = int(last) if last else size - 1
    if end < start:
        return None
    return start, min(end, size - 1)


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """True when an If-None-Match header matches `etag` (weak comparison, `*` included)."""
    if not if_none_match:
        return False
    bare = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*" or tag.removeprefix("W/") == bare:
            return True
    return False
