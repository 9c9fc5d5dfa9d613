"""Live channels inside an origin: looped uploads, what a missing segment answers, S3 storage."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path

import boto3
import m3u8
import pytest

from tests.origin.conftest import OriginFactory, RunningOrigin
from tests.origin.seaweed import ACCESS_KEY, SECRET_KEY, SeaweedFS
from tests.origin.test_routes import settle, upload

pytestmark = pytest.mark.anyio


async def test_live_channel_loops_an_uploaded_video(
    origin_app: OriginFactory, clip: Path, tmp_path: Path
) -> None:
    """A channel whose source is an uploaded video id loops it: playlist, master and segments
    are served with live headers; a channel naming a missing video reports why it is off air."""
    async with origin_app(data=tmp_path / "first") as first:
        video_id = (await upload(first, clip)).json()["id"]
        await settle(first, video_id)
    live = {"name": "loop", "source": video_id, "segment_duration": 1, "window": 6, "heights": [90]}
    missing = {**live, "name": "gone", "source": "vdoesnotexist"}
    async with origin_app(data=tmp_path / "first", live_channels=[live, missing]) as o:
        channel = o.ctx.channels["loop"]
        # Before its first segment the channel is warming up: 503 (an edge fails over), not 404.
        warming = await o.client.get("/live/loop/master.m3u8")
        assert warming.status_code == 503 and warming.json()["error"] == "unavailable"
        playlist = None
        for _ in range(150):
            response = await o.client.get("/live/loop/90p/index.m3u8")
            if response.status_code == 200 and len(m3u8.loads(response.text).segments) >= 2:
                playlist = m3u8.loads(response.text)
                break
            await asyncio.sleep(0.1)
        assert playlist is not None, channel.status()
        assert response.headers["cache-control"] == "public, max-age=0"
        master = await o.client.get("/live/loop/master.m3u8")
        assert master.status_code == 200 and "RESOLUTION=160x90" in master.text
        segment = await o.client.get(f"/live/loop/90p/{playlist.segments[-1].uri}")
        assert segment.status_code == 200 and segment.headers["content-type"] == "video/mp2t"
        # A number this origin never had, inside the window some origin may still hold: 503,
        # so an edge asks the next region; outside it, or of a rung it does not have: 404.
        first = int(playlist.segments[0].uri.removesuffix(".ts"))
        never = await o.client.get(f"/live/loop/90p/{first - 3}.ts")
        assert never.status_code == 503 and "not on this origin" in never.json()["detail"]
        assert (await o.client.get(f"/live/loop/90p/{first - 1000}.ts")).status_code == 404
        assert (await o.client.get(f"/live/loop/720p/{first}.ts")).status_code == 404
        assert (await o.client.get("/live/nope/master.m3u8")).status_code == 404
        assert (await o.client.get("/live/loop/.work/x.ts")).status_code == 400
        gone = o.ctx.channels["gone"].status()
        assert gone["newest_sequence"] is None and "not on this origin's disk" in str(
            gone["last_error"]
        )


async def wait_live(
    o: RunningOrigin, channel: str, ready: Callable[[m3u8.M3U8], bool], timeout: float = 20
) -> m3u8.M3U8:
    """The channel's 90p playlist once `ready` holds for it."""
    for _ in range(int(timeout / 0.1)):
        response = await o.client.get(f"/live/{channel}/90p/index.m3u8")
        if response.status_code == 200:
            playlist = m3u8.loads(response.text)
            if playlist.segments and ready(playlist):
                return playlist
        await asyncio.sleep(0.1)
    raise AssertionError(
        f"{channel}: not ready after {timeout}s: {o.ctx.channels[channel].status()}"
    )


async def test_live_goes_to_s3_and_a_restarted_origin_with_an_empty_disk_serves_it(
    origin_app: OriginFactory, s3_server: SeaweedFS, tmp_path: Path
) -> None:
    """With S3 storage the channel's segments and playlists are objects under the region's live
    prefix, none on local disk. An origin restarted on an empty disk serves every segment the
    old process listed at once, answers 503 for playlists until on air, then resumes the old
    window with a discontinuity."""
    prefix = f"t-{uuid.uuid4().hex[:12]}/"
    live = {"name": "cam", "segment_duration": 1, "window": 6, "heights": [90], "frame_rate": 10}
    doc = {"origin": {"segment_duration": 2.0, "storage": s3_server.storage(prefix)}}
    bucket = boto3.client(
        "s3", endpoint_url=s3_server.endpoint_url, region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
    )  # fmt: skip
    base = f"{prefix}_live/us-east/cam/"

    async with origin_app(data=tmp_path / "a", live_channels=[live], **doc) as o:
        before = await wait_live(o, "cam", lambda p: len(p.segments) >= 3)
        listed = bucket.list_objects_v2(Bucket="videos", Prefix=base)["Contents"]
        keys = {obj["Key"].removeprefix(base) for obj in listed}
        assert {"master.m3u8", "90p/index.m3u8"} <= keys
        assert {f"90p/{s.uri}" for s in before.segments} <= keys
        local = [p for p in (tmp_path / "a").rglob("*.ts") if ".work" not in p.parts]
        assert local == [], "published to the bucket only"
        segment = await o.client.get(f"/live/cam/90p/{before.segments[-1].uri}")
        stored = bucket.get_object(Bucket="videos", Key=f"{base}90p/{before.segments[-1].uri}")
        assert segment.status_code == 200 and segment.content == stored["Body"].read()

    async with origin_app(data=tmp_path / "b", live_channels=[live], **doc) as o:
        assert (await o.client.get("/live/cam/90p/index.m3u8")).status_code == 503
        for s in before.segments:
            assert (await o.client.get(f"/live/cam/90p/{s.uri}")).status_code == 200, s.uri
        newest = before.segments[-1].uri
        after = await wait_live(o, "cam", lambda p: p.segments[-1].uri != newest)
        assert newest in [s.uri for s in after.segments], "the old window is resumed"
        assert any(s.discontinuity for s in after.segments), after.dumps()
        for s in after.segments:
            if not s.gap_tag:
                assert (await o.client.get(f"/live/cam/90p/{s.uri}")).status_code == 200, s.uri
