"""Live channels inside an origin: an uploaded video as the looped source, served under /live."""

from __future__ import annotations

import asyncio
from pathlib import Path

import m3u8
import pytest

from tests.origin.conftest import OriginFactory
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
        assert (await o.client.get("/live/nope/master.m3u8")).status_code == 404
        assert (await o.client.get("/live/loop/.work/x.ts")).status_code == 400
        gone = o.ctx.channels["gone"].status()
        assert gone["newest_sequence"] is None and "not on this origin's disk" in str(
            gone["last_error"]
        )
