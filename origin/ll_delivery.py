"""Delivery of an LL-HLS channel from memory: blocking playlist reloads, delta updates, held
part requests, and the Cache-Control of each (the URL layout and rules: media.ll_channel)."""

from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import Response

from media.ll_channel import PLAYLIST_NAME, LLChannel, parse_name
from media.ll_playlist import render
from streaming.errors import BadRequest, NotFound, Unavailable
from streaming.hls import MASTER_NAME, content_type
from streaming.http import etag_matches, parse_range

FILE_POLICY = "public, max-age=1209600, immutable"
BLOCKING_POLICY = "public, max-age=3600"  # the playlist that first held msn/part: never changes
PLAYLIST_POLICY = "public, max-age=1"  # MediaPackage's; Cache-Control has no sub-second unit
MASTER_POLICY = "public, max-age=1"
HOLD_TARGETS = 3  # a held request waits at most this many target durations
AHEAD_LIMIT = 2  # _HLS_msn beyond the newest segment by more than this: 400 (8216bis 6.2.5.2)
SKIP_VALUES = ("YES", "v2")


def _number(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise BadRequest(f"{name}={raw!r}: not a non-negative integer")
    return int(raw)


def hold_seconds(channel: LLChannel) -> float:
    return HOLD_TARGETS * channel.spec.segment_duration


async def serve_ll(channel: LLChannel, relpath: str, request: Request) -> Response:
    """Answer GET/HEAD for one path of an LL channel."""
    if relpath == MASTER_NAME:
        if channel.master is None:
            raise Unavailable(f"live channel {channel.spec.name!r} is starting")
        return _text(request, channel.master, MASTER_POLICY)
    rung, _, name = relpath.partition("/")
    if rung not in channel.rungs or "/" in name:
        raise NotFound(f"no {relpath} in live channel {channel.spec.name!r}")
    if name == PLAYLIST_NAME:
        return await _playlist(channel, rung, request)
    return await _file(channel, rung, name, request)


async def _playlist(channel: LLChannel, rung: str, request: Request) -> Response:
    msn, part = _number(request, "_HLS_msn"), _number(request, "_HLS_part")
    skip = request.query_params.get("_HLS_skip")
    if skip is not None and skip not in SKIP_VALUES:
        raise BadRequest(f"_HLS_skip={skip!r}: YES or v2")
    if part is not None and msn is None:
        raise BadRequest("_HLS_part needs _HLS_msn")
    if part is not None and part > channel.parts_per_segment:
        raise BadRequest(f"_HLS_part={part}: a segment has {channel.parts_per_segment} parts")
    playlist = channel.rungs[rung].playlist
    if not channel.on_air or playlist.last_part is None:
        raise Unavailable(f"live channel {channel.spec.name!r} is starting")
    if msn is not None:
        newest = playlist.last_msn if playlist.last_msn is not None else playlist.live_edge
        assert newest is not None
        if msn > newest + AHEAD_LIMIT:
            raise BadRequest(
                f"_HLS_msn={msn} is more than {AHEAD_LIMIT} segments beyond the newest ({newest})"
            )

        def ready() -> bool:
            if part is None:
                return playlist.has_segment(msn)
            return playlist.has_part(msn, part)

        if not await channel.wait_for(ready, hold_seconds(channel)):
            wanted = f"segment {msn}" + (f" part {part}" if part is not None else "")
            raise Unavailable(
                f"{wanted} of {channel.spec.name}/{rung} not out after {hold_seconds(channel)} s"
            )
    text = render(playlist, channel.reports(rung), skip=skip is not None)
    return _text(request, text, BLOCKING_POLICY if msn is not None else PLAYLIST_POLICY)


async def _file(channel: LLChannel, rung: str, name: str, request: Request) -> Response:
    state = channel.rungs[rung]
    body = state.files.get(name)
    parsed = parse_name(name)
    if body is None and parsed is not None and _due(channel, rung, parsed):
        await channel.wait_for(lambda: name in state.files, hold_seconds(channel))
        body = state.files.get(name)
        if body is None:
            raise Unavailable(f"{rung}/{name} not out after {hold_seconds(channel)} s")
    if body is None:
        if channel.may_exist(f"{rung}/{name}"):
            # Like classic live: one this origin never had may be on a peer (503 fails over).
            raise Unavailable(f"live segment {rung}/{name} is not on this origin")
        raise NotFound(f"no {rung}/{name} in live channel {channel.spec.name!r}")
    return _bytes(request, name, body)


def _due(channel: LLChannel, rung: str, parsed: tuple[int, int | None]) -> bool:
    """Is this part (or segment) the next to come, or one soon after it? Then it is held."""
    playlist = channel.rungs[rung].playlist
    edge = playlist.live_edge
    number, part = parsed
    if edge is None or not number <= edge + 1 or (part or 0) >= channel.parts_per_segment:
        return False
    last = playlist.last_part
    if part is None:
        return number >= edge
    return last is None or (number, part) > last


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


def _text(request: Request, text: str, policy: str) -> Response:
    body = text.encode()
    headers = {"Content-Type": content_type(".m3u8"), "Cache-Control": policy}
    headers["Content-Length"] = str(len(body))
    return Response(b"" if request.method == "HEAD" else body, headers=headers)


def _bytes(request: Request, name: str, body: bytes) -> Response:
    etag = _etag(body)
    headers = {
        "Content-Type": content_type(name),
        "Cache-Control": FILE_POLICY,
        "ETag": etag,
        "Accept-Ranges": "bytes",
    }
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    status, start, end = 200, 0, len(body) - 1
    byte_range = parse_range(request.headers.get("range"), len(body))
    if byte_range is not None:
        (start, end), status = byte_range, 206
        headers["Content-Range"] = f"bytes {start}-{end}/{len(body)}"
    headers["Content-Length"] = str(end - start + 1)
    content = b"" if request.method == "HEAD" else body[start : end + 1]
    return Response(content, status_code=status, headers=headers)
