"""What the player needs to start a stream: its master path and whether it is private.

Private means a cache behavior with trusted key groups covers the stream's playlists or
segments: the player then needs signed cookies first and sends credentials with every request
(which the edge allows only with a specific `Access-Control-Allow-Origin`, never `*`).
"""

from __future__ import annotations

import re
from functools import cache

from streaming import paths
from streaming.config import Behavior, Distribution
from streaming.errors import BadRequest, NotFound


@cache
def _pattern(path_pattern: str) -> re.Pattern[str]:
    """CloudFront path-pattern semantics: `*` any run of characters (`/` too), `?` one."""
    body = re.escape(path_pattern.lstrip("/")).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile(body)


def behavior_for(behaviors: tuple[Behavior, ...], path: str) -> Behavior:
    """The first behavior whose pattern matches `path` (the last one is always `*`)."""
    bare = path.lstrip("/")
    return next(b for b in behaviors if _pattern(b.path_pattern).fullmatch(bare))


def is_private(dist: Distribution, directory: str) -> bool:
    """True when the master, media playlists or segments under `directory` need signed access."""
    probes = ("master.m3u8", "360p/index.m3u8", "360p/seg_00001.ts", "360p/1.ts")
    return any(
        behavior_for(dist.behaviors, f"{directory}/{name}").trusted_key_groups for name in probes
    )


def playback(dist: Distribution, video: str | None, live: str | None) -> dict[str, object]:
    """The stream a `?video=<id>` or `?live=<channel>` deep link names."""
    if (video is None) == (live is None):
        raise BadRequest("name exactly one stream: ?video=<id> or ?live=<channel>")
    if video is not None:
        directory = f"/hls/{paths.video_id(video)}"
        cid, kind = video, "vod"
    else:
        channels = [c.name for c in dist.live_channels]
        if live not in channels:
            raise NotFound(
                f"no live channel {live!r}; the distribution has: {', '.join(channels) or 'none'}"
            )
        directory = f"/live/{live}"
        cid, kind = str(live), "live"
    stream: dict[str, object] = {
        "cid": cid,
        "kind": kind,
        "path": f"{directory}/master.m3u8",
        "private": is_private(dist, directory),
    }
    if kind == "live":  # LL-HLS: the player runs hls.js in low-latency mode
        stream["low_latency"] = any(c.low_latency for c in dist.live_channels if c.name == live)
    return stream
