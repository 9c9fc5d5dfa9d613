"""What the origin sends a CDN: Cache-Control by kind and state, validators, ranges, HEAD, keys."""

from __future__ import annotations

from pathlib import Path

import m3u8
import pytest

from origin.delivery import cache_policy, live_cache_policy
from origin.jobs import State
from streaming.hls import Kind
from tests.helpers import AUTH
from tests.origin.conftest import OriginFactory
from tests.origin.test_routes import settle, upload

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("kind", "state", "expected"),
    [
        (Kind.SEGMENT, State.PACKAGING, "public, max-age=1209600, immutable"),
        (Kind.MEDIA_PLAYLIST, State.PACKAGING, "public, max-age=2"),
        (Kind.MASTER, State.PACKAGING, "public, max-age=2"),
        (Kind.MEDIA_PLAYLIST, State.READY, "public, max-age=86400"),
        (Kind.THUMBNAIL, State.READY, "public, max-age=1209600, immutable"),
        (Kind.KEY, State.READY, "private, no-store"),
    ],
)
def test_cache_policy_keeps_changing_playlists_short(
    kind: Kind, state: State, expected: str
) -> None:
    """EVENT playlists ≤ half the 4 s target; final ones long; segments immutable; keys never."""
    assert cache_policy(kind, state, 4.0) == expected


def test_live_playlists_live_at_most_half_a_target_duration() -> None:
    """Live playlists (master too) get floor(target/2); live segments are immutable."""
    assert live_cache_policy(Kind.MEDIA_PLAYLIST, 2) == "public, max-age=1"
    assert live_cache_policy(Kind.MASTER, 6) == "public, max-age=3"
    assert live_cache_policy(Kind.SEGMENT, 2).endswith("immutable")


async def test_ready_video_headers_validators_ranges_and_head(
    origin_app: OriginFactory, clip: Path
) -> None:
    """Content types per kind, ETag → 304, Range → 206 with Content-Range, HEAD without a body."""
    async with origin_app() as o:
        video_id = (await upload(o, clip)).json()["id"]
        await settle(o, video_id)
        base = f"/hls/{video_id}"
        master = await o.client.get(f"{base}/master.m3u8")
        assert master.headers["content-type"] == "application/vnd.apple.mpegurl"
        assert master.headers["cache-control"] == "public, max-age=86400"
        variant = m3u8.loads(master.text).playlists[0].uri
        media = m3u8.loads((await o.client.get(f"{base}/{variant}")).text)
        segment_path = f"{base}/{variant.rsplit('/', 1)[0]}/{media.segments[0].uri}"
        segment = await o.client.get(segment_path)
        assert segment.headers["content-type"] == "video/mp2t"
        assert segment.headers["content-length"] == str(len(segment.content))
        assert "immutable" in segment.headers["cache-control"]

        again = await o.client.get(segment_path, headers={"if-none-match": segment.headers["etag"]})
        assert again.status_code == 304 and again.content == b""
        since = await o.client.get(
            segment_path, headers={"if-modified-since": segment.headers["last-modified"]}
        )
        assert since.status_code == 304

        part = await o.client.get(segment_path, headers={"range": "bytes=188-375"})
        assert part.status_code == 206 and part.content == segment.content[188:376]
        assert part.headers["content-range"] == f"bytes 188-375/{len(segment.content)}"
        beyond = await o.client.get(
            segment_path, headers={"range": f"bytes={len(segment.content)}-"}
        )
        assert beyond.status_code == 416

        head = await o.client.head(segment_path)
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == str(len(segment.content))

        for name, ctype in (
            ("poster.jpg", "image/jpeg"),
            ("thumbnails.jpg", "image/jpeg"),
            ("thumbnails.vtt", "text/vtt"),
        ):
            thumb = await o.client.get(f"{base}/{name}")
            assert thumb.status_code == 200 and thumb.headers["content-type"].startswith(ctype), (
                name
            )


async def test_encrypted_video_key_is_private_and_only_for_encrypted_videos(
    origin_app: OriginFactory, clip: Path
) -> None:
    """/drm/{id}/key returns the 16-byte key with no-store; a clear video has no key (404)."""
    async with origin_app() as o:
        secret = (await upload(o, clip, "?encryption=aes-128")).json()["id"]
        clear = (await upload(o, clip)).json()["id"]
        await settle(o, secret)
        await settle(o, clear)
        key = await o.client.get(f"/drm/{secret}/key")
        assert key.status_code == 200 and len(key.content) == 16
        assert key.headers["cache-control"] == "private, no-store"
        master = m3u8.loads((await o.client.get(f"/hls/{secret}/master.m3u8")).text)
        media = m3u8.loads((await o.client.get(f"/hls/{secret}/{master.playlists[0].uri}")).text)
        assert media.keys[-1].uri == f"/drm/{secret}/key"
        assert (await o.client.get(f"/drm/{clear}/key")).status_code == 404
        assert (await o.client.get("/videos", headers=AUTH)).json()["videos"][0][
            "encryption"
        ] == "aes-128"
