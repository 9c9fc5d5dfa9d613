"""A classic live channel in fMP4: CMAF init + .m4s per stream on the wall clock, EXT-X-MAP
playlists and a dynamic manifest.mpd that two regions write alike."""

from __future__ import annotations

import asyncio
import io
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import av
import m3u8

from media import fmp4_boxes
from media.ladder import live_rungs
from media.live import Channel, ChannelSpec
from origin.live_store import LocalLive
from streaming.hls import Container

MPD = "{urn:mpeg:dash:schema:mpd:2011}"
SEGMENT = 1
SPEC = ChannelSpec("news", "testsrc", SEGMENT, 6, live_rungs((90,)), 10, Container.FMP4)


async def wait_for(check, timeout: float = 25) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the channel did not get there in time")


def listed(path: Path) -> list[m3u8.Segment]:
    return list(m3u8.loads(path.read_text()).segments) if path.exists() else []


def test_two_regions_publish_interchangeable_cmaf_segments_and_the_same_mpd(
    ffmpeg: str, tmp_path: Path
) -> None:
    """Each region's segment N decodes after its init segment and starts at N*d on the media
    timeline (audio within one AAC frame); both MPDs are the same bytes: dynamic, epoch
    availabilityStartTime, window-deep time shift, $Number$ = the epoch segment number."""
    roots = [tmp_path / "east", tmp_path / "west"]

    async def scenario() -> None:
        channels = [Channel(ffmpeg, SPEC, root / "news", LocalLive(root)) for root in roots]
        tasks = [asyncio.create_task(c.run()) for c in channels]
        try:
            await wait_for(
                lambda: (
                    all(
                        len(listed(root / "news" / name / "index.m3u8")) >= 3
                        for root in roots
                        for name in ("90p", "audio_2ch")
                    )
                    and all(c.on_air for c in channels)
                )
            )
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        assert channels[0].status()["mpd_path"] == "/live/news/manifest.mpd"

    asyncio.run(scenario())
    east, west = (root / "news" for root in roots)
    master = m3u8.loads((east / "master.m3u8").read_text())
    assert master.version == 7 and [m.uri for m in master.media] == ["audio_2ch/index.m3u8"]
    assert master.playlists[0].stream_info.audio == "aac"
    starts: dict[tuple[str, int], list[float]] = {}
    for directory in (east, west):
        for name in ("90p", "audio_2ch"):
            playlist = m3u8.loads((directory / name / "index.m3u8").read_text())
            assert playlist.segment_map[0].uri == f"init_{name}.mp4"
            init = (directory / name / f"init_{name}.mp4").read_bytes()
            scale = fmp4_boxes.track_timescale(init)
            for segment in playlist.segments:
                if segment.gap_tag:
                    continue
                number = int(segment.uri.removesuffix(".m4s"))
                media = (directory / name / segment.uri).read_bytes()
                start, _ = fmp4_boxes.fragment_timing(media)
                starts.setdefault((name, number), []).append(start / scale)
                slack = 0.03 if name == "audio_2ch" else 1e-6  # one AAC frame; video exact
                assert abs(start / scale - number * SEGMENT) < slack
                with av.open(io.BytesIO(init + media), mode="r") as container:
                    streams = container.streams.video if name == "90p" else container.streams.audio
                    assert len(container.streams) == 1 and streams
    shared = [times for times in starts.values() if len(times) == 2]
    assert shared and all(abs(a - b) < 0.03 for a, b in shared)
    text = (east / "manifest.mpd").read_text()
    assert text == (west / "manifest.mpd").read_text()
    root = ET.fromstring(text)
    assert root.get("type") == "dynamic"
    assert root.get("availabilityStartTime") == "1970-01-01T00:00:00Z"
    assert root.get("timeShiftBufferDepth") == f"PT{6 * SEGMENT:.3f}S"
    assert root.get("minimumUpdatePeriod") == f"PT{SEGMENT:.3f}S"
    newest = max(number for _, number in starts)
    for rep in root.iter(f"{MPD}Representation"):
        template = rep.find(f"{MPD}SegmentTemplate")
        assert template is not None and template.get("startNumber") == "0"
        rep_id = rep.get("id", "")
        init = (east / rep_id / f"init_{rep_id}.mp4").read_bytes()
        assert template.get("duration") == str(SEGMENT * fmp4_boxes.track_timescale(init))
        assert (east / str(template.get("initialization"))).is_file()
        media = str(template.get("media")).replace("$Number$", str(newest))
        assert (east / media).is_file(), media


def test_a_restarted_origin_finds_its_published_m4s_segments(tmp_path: Path) -> None:
    """The disk store counts fMP4 segments (N.m4s) as it counts N.ts, not init segments or
    playlists, so a restarted fMP4 channel expires what earlier processes published."""
    rung = tmp_path / "news" / "90p"
    rung.mkdir(parents=True)
    for name in ("7.m4s", "8.m4s", "9.ts", "init_90p.mp4", "index.m3u8"):
        (rung / name).write_bytes(b"x")
    assert asyncio.run(LocalLive(tmp_path).segment_numbers("news", "90p")) == {7, 8, 9}
