"""A portrait 5.1 upload through real origin and edge processes: what ffprobe sees via the edge.

libavformat's HLS demuxer (ffprobe's, through PyAV) reads the master through the edge, follows
every variant and audio rendition and fetches the AES-128 key there too.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import av
import httpx
import m3u8
import pytest

from media.samples import make_clip
from tests.factories import Topology, distribution_doc, running_topology
from tests.helpers import AUTH, wait_state

pytestmark = pytest.mark.e2e

SMALL_LADDER = [
    {"short_side": 360, "video_kbps": 730, "audio_kbps": 96},
    {"short_side": 240, "video_kbps": 400, "audio_kbps": 96},
]


@pytest.fixture(scope="module")
def portrait_surround(
    ffmpeg: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Topology, str]]:
    """One origin, two POPs (iad for ffprobe, fra for the cache checks); a 2 s 360x640 clip
    with 5.1 audio, packaged with AES-128."""
    tmp = tmp_path_factory.mktemp("ladder-edge")
    clip = asyncio.run(
        make_clip(ffmpeg, tmp / "phone.mp4", seconds=2, width=360, height=640, channels=6)
    )
    doc = distribution_doc(
        pops=(("iad", "us-east"), ("fra", "us-east")),
        origin={"segment_duration": 1.0, "ladder": SMALL_LADDER},
    )
    with running_topology(tmp, doc) as topology:
        origin = topology.origin_url("us-east")
        with clip.open("rb") as fh:
            response = httpx.post(
                f"{origin}/videos", params={"encryption": "aes-128"},
                files={"file": (clip.name, fh)}, headers=AUTH, timeout=30,
            )  # fmt: skip
        assert response.status_code == 202, response.text
        video = str(response.json()["id"])
        wait_state(origin, video)
        yield topology, video


def test_ffprobe_through_the_edge_shows_portrait_rungs_and_both_audio_renditions(
    portrait_surround: tuple[Topology, str],
) -> None:
    """Through the edge: video 360x640 (Main 3.0) and 240x426 (Main 2.1), audio 2 and 6
    channels, each decodable (so the key came through the edge as well)."""
    topology, video = portrait_surround
    url = f"{topology.edge_url('iad')}/hls/{video}/master.m3u8"
    with av.open(url, timeout=10) as container:
        videos = {
            (s.codec_context.width, s.codec_context.height): s.codec_context
            for s in container.streams.video
        }
        channels = sorted(s.codec_context.channels for s in container.streams.audio)
        decoded = {s.index: False for s in (*container.streams.video, *container.streams.audio)}
        for packet in container.demux():
            if packet.stream.index in decoded and not decoded[packet.stream.index]:
                decoded[packet.stream.index] = bool(packet.decode())
            if all(decoded.values()):
                break
    assert sorted(videos) == [(240, 426), (360, 640)]
    assert (videos[(360, 640)].profile, videos[(360, 640)].level) == ("Main", 30)
    assert (videos[(240, 426)].profile, videos[(240, 426)].level) == ("Main", 21)
    assert channels == [2, 6]
    assert all(decoded.values()), decoded
    log = topology.config.parent / "edge" / "iad" / "access.log"

    def fetched() -> set[str]:
        lines = log.read_text().splitlines() if log.exists() else []
        return {json.loads(line)["cs-uri-stem"] for line in lines}

    wanted = {f"/drm/{video}/key", f"/hls/{video}/audio_6ch/index.m3u8"}
    deadline = time.monotonic() + 5  # the log is flushed every 0.5 s
    while not wanted <= fetched() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert wanted <= fetched()


def test_audio_renditions_are_cached_at_the_edge_like_the_video(
    portrait_surround: tuple[Topology, str],
) -> None:
    """Every playlist and segment of both audio renditions: Miss, then Hit, origin's bytes."""
    topology, video = portrait_surround
    edge, origin = topology.edge_url("fra"), topology.origin_url("us-east")
    base = f"/hls/{video}"
    master = m3u8.loads(httpx.get(f"{edge}{base}/master.m3u8", timeout=10).text)
    assert [(m.name, m.channels) for m in master.media] == [("Stereo", "2"), ("5.1", "6")]
    assert {v.stream_info.audio for v in master.playlists} == {"aac"}
    paths = []
    for track in master.media:
        playlist = f"{base}/{track.uri}"
        media = m3u8.loads(httpx.get(origin + playlist, timeout=10).text)
        assert media.keys[-1].method == "AES-128"
        paths += [playlist] + [f"{playlist.rsplit('/', 1)[0]}/{s.uri}" for s in media.segments]
    for path in paths:
        first, second = httpx.get(edge + path, timeout=10), httpx.get(edge + path, timeout=10)
        assert first.status_code == second.status_code == 200, path
        assert (first.headers["x-cache"], second.headers["x-cache"]) == (
            "Miss from fra",
            "Hit from fra",
        ), path
        assert first.content == second.content == httpx.get(origin + path, timeout=10).content
