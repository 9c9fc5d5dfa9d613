"""Delivery of packaged files with CDN-grade headers: cache policy, validators, ranges, HEAD."""

from __future__ import annotations

import math

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from media.ll_channel import LLChannel
from media.packager import KEY_FILE
from origin.context import OriginContext
from origin.jobs import State
from origin.ll_delivery import serve_ll
from origin.store import Store, StoredObject
from streaming import cache_control, paths
from streaming.errors import NotFound, Unavailable
from streaming.hls import Encryption, Kind, content_type, kind_of
from streaming.http import etag_matches, parse_range

SEGMENT_MAX_AGE = 1_209_600  # 14 days, what MediaPackage sends for segments
FINAL_PLAYLIST_MAX_AGE = 86_400
KEY_POLICY = "private, no-store"


def short_max_age(target_duration: float) -> str:
    """Playlists that still change: at most half the target duration (RFC 8216 reload rule)."""
    return f"public, max-age={max(0, math.floor(target_duration / 2))}"


def cache_policy(kind: Kind, state: State, segment_duration: float) -> str:
    """Cache-Control for an object: segments immutable, playlists short until the video is final."""
    if kind in (Kind.SEGMENT, Kind.INIT, Kind.THUMBNAIL, Kind.SUBTITLE):
        return f"public, max-age={SEGMENT_MAX_AGE}, immutable"
    if kind is Kind.KEY:
        return KEY_POLICY
    if state is State.READY:
        return f"public, max-age={FINAL_PLAYLIST_MAX_AGE}"
    return short_max_age(segment_duration)


def live_cache_policy(kind: Kind, segment_duration: float) -> str:
    if kind is Kind.SEGMENT:
        return f"public, max-age={SEGMENT_MAX_AGE}, immutable"
    return short_max_age(segment_duration)


def _headers(obj: StoredObject, path: str, policy: str) -> dict[str, str]:
    return {
        "Content-Type": content_type(path),
        "Cache-Control": policy,
        "ETag": obj.etag,
        "Last-Modified": cache_control.http_date(obj.mtime),
        "Accept-Ranges": "bytes",
    }


async def serve(
    request: Request, store: Store, video_id: str, relpath: str, policy: str, served_as: str = ""
) -> Response:
    """Answer GET/HEAD for one stored file, honouring If-None-Match/If-Modified-Since and Range."""
    obj = await store.stat(video_id, relpath)
    headers = _headers(obj, served_as or relpath, policy)
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
    return StreamingResponse(
        store.read(video_id, relpath, start, end), status_code=status, headers=headers
    )


def delivery_router(ctx: OriginContext) -> APIRouter:
    """GET/HEAD for VOD files (/hls), AES keys (/drm) and live channels (/live)."""
    router = APIRouter()
    methods = ["GET", "HEAD"]

    @router.api_route("/hls/{video_id}/{relpath:path}", methods=methods)
    async def hls(video_id: str, relpath: str, request: Request) -> Response:
        job = await ctx.job(video_id)
        relpath = paths.relative_file(relpath)
        if job.state not in (State.PACKAGING, State.READY):
            raise NotFound(f"video {video_id} is {job.state.value}: nothing to serve")
        policy = cache_policy(kind_of(relpath), job.state, ctx.settings.segment_duration)
        return await serve(request, ctx.files_of(job), job.id, relpath, policy)

    @router.api_route("/drm/{video_id}/key", methods=methods)
    async def key(video_id: str, request: Request) -> Response:
        """The raw 16-byte AES-128 key; never cached by anyone (the edge must authorize it)."""
        job = await ctx.job(video_id)
        if job.encryption != Encryption.AES_128 or job.state not in (State.PACKAGING, State.READY):
            raise NotFound(f"video {video_id} has no key")
        return await serve(
            request, ctx.files_of(job), job.id, KEY_FILE, KEY_POLICY, served_as="key.key"
        )

    @router.get("/live")
    async def live_channels() -> dict[str, object]:
        return {"channels": [channel.status() for channel in ctx.channels.values()]}

    @router.api_route("/live/{channel}/{relpath:path}", methods=methods)
    async def live(channel: str, relpath: str, request: Request) -> Response:
        running = ctx.channels.get(channel)
        if running is None:
            raise NotFound(f"no live channel {channel!r}")
        relpath = paths.relative_file(relpath)
        if isinstance(running, LLChannel):
            return await serve_ll(running, relpath, request)
        kind = kind_of(relpath)
        playlist = kind in (Kind.MASTER, Kind.MEDIA_PLAYLIST)
        # Until this process published every playlist (after a start or a restart), what is on
        # disk is an old window: 503 lets an edge fail over to a region that is on air.
        if playlist and not running.on_air:
            raise Unavailable(f"live channel {channel!r} is starting")
        policy = live_cache_policy(kind, running.spec.segment_duration)
        try:
            return await serve(request, ctx.live_store, channel, relpath, policy)
        except NotFound:
            if playlist:
                raise Unavailable(f"live channel {channel!r} is starting") from None
            if running.may_exist(relpath):
                # A listed segment is never missing here; one this origin never had (it was
                # down, or a peer is a moment ahead) may be on a peer: 503 fails over, a 404
                # would tell the viewer it is gone everywhere.
                raise Unavailable(f"live segment {relpath} is not on this origin") from None
            raise

    return router
