"""Delivery of packaged files with CDN-grade headers: cache policy, validators, ranges, HEAD."""

from __future__ import annotations

import math

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from origin.jobs import State
from origin.store import Store, StoredObject
from streaming import cache_control
from streaming.hls import Kind, content_type, kind_of
from streaming.http import etag_matches, parse_range

SEGMENT_MAX_AGE = 1_209_600  # 14 days, what MediaPackage sends for segments
FINAL_PLAYLIST_MAX_AGE = 86_400


def cache_policy(kind: Kind, state: State, segment_duration: float) -> str:
    """Cache-Control for an object: segments immutable, playlists short until the video is final."""
    if kind in (Kind.SEGMENT, Kind.INIT, Kind.THUMBNAIL, Kind.SUBTITLE):
        return f"public, max-age={SEGMENT_MAX_AGE}, immutable"
    if kind is Kind.KEY:
        return "private, no-store"
    if state is State.READY:
        return f"public, max-age={FINAL_PLAYLIST_MAX_AGE}"
    # EVENT playlists change every segment: at most half the target duration (RFC 8216 reload).
    return f"public, max-age={max(1, math.floor(segment_duration / 2))}"


def _headers(obj: StoredObject, path: str, policy: str) -> dict[str, str]:
    return {
        "Content-Type": content_type(path),
        "Cache-Control": policy,
        "ETag": obj.etag,
        "Last-Modified": cache_control.http_date(obj.mtime),
        "Accept-Ranges": "bytes",
    }


async def serve(
    request: Request, store: Store, video_id: str, relpath: str, policy: str
) -> Response:
    """Answer GET/HEAD for one stored file, honouring If-None-Match/If-Modified-Since and Range."""
    obj = await store.stat(video_id, relpath)
    headers = _headers(obj, relpath, policy)
    if etag_matches(request.headers.get("if-none-match"), obj.etag) or (
        "if-none-match" not in request.headers
        and (since := cache_control.parse_http_date(request.headers.get("if-modified-since")))
        and int(obj.mtime) <= since
    ):
        return Response(status_code=304, headers=headers)
    byte_range = parse_range(request.headers.get("range"), obj.size)
    start, end, status = 0, obj.size - 1, 200
    if byte_range is not None:
        start, end = byte_range
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{obj.size}"
    headers["Content-Length"] = str(end - start + 1)
    if request.method == "HEAD" or obj.size == 0:
        return Response(status_code=status, headers=headers)
    return StreamingResponse(store.read(video_id, relpath, start, end), status_code=status, headers=headers)
