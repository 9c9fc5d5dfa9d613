"""Deliver a cached or fetched object to the viewer with the CDN's response headers."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import Enum

from starlette.responses import Response

from edge.cache import Entry
from streaming.http import etag_matches, parse_range
from streaming import cache_control


class Result(str, Enum):
    """The `x-edge-result-type` vocabulary of CloudFront logs, shown in X-Cache."""

    HIT = "Hit"
    MISS = "Miss"
    REFRESH_HIT = "RefreshHit"
    ERROR = "Error"


@dataclass(frozen=True, slots=True)
class Viewer:
    """What delivery needs from the viewer request."""

    method: str
    range: str | None
    if_none_match: str | None
    if_modified_since: str | None


def request_id() -> str:
    return secrets.token_urlsafe(24)


def edge_headers(pop: str, result: Result, origin_region: str | None, age: int | None) -> dict[str, str]:
    headers = {
        "X-Cache": f"{result.value} from {pop}",
        "Via": f"1.1 {pop} (streaming-cdn)",
        "X-Edge-Location": pop,
        "X-Request-Id": request_id(),
    }
    if origin_region:
        headers["X-Origin-Region"] = origin_region
    if age is not None:
        headers["Age"] = str(age)
    return headers


def _not_modified(viewer: Viewer, entry: Entry) -> bool:
    etag = entry.headers.get("etag")
    if viewer.if_none_match is not None:
        return etag is not None and etag_matches(viewer.if_none_match, etag)
    since = cache_control.parse_http_date(viewer.if_modified_since)
    modified = cache_control.parse_http_date(entry.headers.get("last-modified"))
    return since is not None and modified is not None and modified <= since


def deliver(viewer: Viewer, entry: Entry, extra: dict[str, str]) -> Response:
    """Full, ranged (206), not-modified (304) or HEAD response for a complete entry."""
    headers = {**entry.headers, **extra}
    body = entry.body
    status = entry.status
    if status == 200:
        headers["Accept-Ranges"] = "bytes"
        if _not_modified(viewer, entry):
            return Response(status_code=304, headers=headers)
        byte_range = parse_range(viewer.range, len(body))
        if byte_range is not None:
            start, end = byte_range
            headers["Content-Range"] = f"bytes {start}-{end}/{len(body)}"
            body, status = body[start : end + 1], 206
    headers["Content-Length"] = str(len(body))
    if viewer.method == "HEAD":
        return Response(status_code=status, headers=headers)
    return Response(content=body, status_code=status, headers=headers)
