"""fMP4 (CMAF) packaging: init + .m4s per stream, EXT-X-MAP, alignment, and the DASH manifest
written over the very same segments."""

from __future__ import annotations

import asyncio
import io
import xml.etree.ElementTree as ET
from pathlib import Path

import av
import m3u8
import pytest

from media import dash, fmp4_boxes, packager
from media.probe import probe
from media.samples import make_clip
from streaming.config import LadderRung
from streaming.hls import Container
from tests.media import sources
from tests.media.readback import decrypt
from tests.media.test_packager import Packaged
from tests.media.test_packager import package as packaged

SEGMENT = 1.0
SECONDS = 3.0
KEY = bytes(range(16))
LADDER = (LadderRung(short_side=360, video_kbps=730), LadderRung(short_side=180, video_kbps=300))
MPD = "{urn:mpeg:dash:schema:mpd:2011}"


def package(ffmpeg: str, source: Path, out: Path, **kwargs: object) -> Packaged:
    """tests/media/test_packager.py's `package`, as fMP4 into this module's ladder."""
    return packaged(ffmpeg, source, out, ladder=LADDER, container=Container.FMP4, **kwargs)


@pytest.fixture(scope="module")
def cmaf(ffmpeg: str, tmp_path_factory: pytest.TempPathFactory) -> Packaged:
    """A 3 s 640x360 stereo source packaged as fMP4 into a 360p + 180p ladder."""
    work = tmp_path_factory.mktemp("cmaf")
    return package(ffmpeg, sources.clip(ffmpeg, work / "360.mp4", "640x360"), work / "out")


def streams(packaged: Packaged) -> list[Path]:
    return sorted(p.parent for p in packaged.out.glob("*/index.m3u8"))


def media_playlist(directory: Path) -> m3u8.M3U8:
    return m3u8.load(str(directory / "index.m3u8"))


def read(init: Path, segment: bytes) -> av.container.InputContainer:
    """libavformat (ffprobe's library) opening an init segment followed by one media segment."""
    return av.open(io.BytesIO(init.read_bytes() + segment), mode="r")


def test_every_stream_has_an_init_segment_and_m4s_media_named_by_ext_x_map(cmaf: Packaged) -> None:
    """Version 7 playlists with EXT-X-MAP pointing at the stream's own init segment; the
    master is version 7 too and lists separate stereo audio (CMAF: one track per file)."""
    assert [p.name for p in streams(cmaf)] == ["180p", "360p", "audio_2ch"]
    assert cmaf.master.version == 7
    assert [m.uri for m in cmaf.master.media] == ["audio_2ch/index.m3u8"]
    for directory in streams(cmaf):
        text = (directory / "index.m3u8").read_text()
        assert "#EXT-X-VERSION:7" in text
        playlist = media_playlist(directory)
        assert playlist.segment_map[0].uri == f"init_{directory.name}.mp4"
        assert (directory / f"init_{directory.name}.mp4").is_file()
        assert playlist.segments and all(s.uri.endswith(".m4s") for s in playlist.segments)
        assert not list(directory.glob("*.ts"))


def test_ffprobe_reads_init_plus_each_segment_video_only_rungs_audio_only_rendition(
    cmaf: Packaged,
) -> None:
    """Each segment decodes after its init segment; rungs carry video alone at their size,
    the audio rendition stereo AAC alone."""
    sizes = {"360p": (640, 360), "180p": (320, 180)}
    for directory in streams(cmaf):
        init = directory / f"init_{directory.name}.mp4"
        for segment in media_playlist(directory).segments:
            with read(init, (directory / segment.uri).read_bytes()) as container:
                if directory.name in sizes:
                    assert not container.streams.audio
                    ctx = container.streams.video[0].codec_context
                    assert (ctx.width, ctx.height) == sizes[directory.name]
                    assert sum(1 for _ in container.decode(video=0)) > 0
                else:
                    assert not container.streams.video
                    assert container.streams.audio[0].codec_context.channels == 2


def test_durations_sum_to_the_source_and_rungs_are_cut_at_the_same_instants(
    cmaf: Packaged,
) -> None:
    """Keyframe alignment as for TS: identical EXTINF lists and identical tfdt timelines."""
    video = [d for d in streams(cmaf) if d.name.endswith("p")]
    extinfs = [[s.duration for s in media_playlist(d).segments] for d in video]
    assert extinfs[0] == extinfs[1]
    assert sum(extinfs[0]) == pytest.approx(SECONDS, abs=0.05)
    timelines = [dash.stream_timeline(d) for d in video]
    assert timelines[0] == timelines[1]
    assert timelines[0].seconds == pytest.approx(SECONDS, abs=0.05)
    # The tfdt of each segment is where the previous one ended: no holes, no overlaps.
    for (start, duration), (following, _) in zip(
        timelines[0].segments, timelines[0].segments[1:], strict=False
    ):
        assert start + duration == following


def test_master_codecs_are_what_each_init_segment_declares(cmaf: Packaged) -> None:
    """CODECS' avc1.PPCCLL is the avcC record of the rung's init segment."""
    for variant in cmaf.master.playlists:
        name = variant.uri.split("/")[0]
        init = (cmaf.out / name / f"init_{name}.mp4").read_bytes()
        at = init.index(b"avcC") + 4
        assert variant.stream_info.codecs == f"avc1.{init[at + 1 : at + 4].hex()},mp4a.40.2"
        assert variant.stream_info.audio == "aac"


def test_the_mpd_is_static_and_references_exactly_the_hls_segments(cmaf: Packaged) -> None:
    """manifest.mpd: isoff-live, one video set with both rungs and an audio set; every
    SegmentTemplate's init and media URL resolves to a file HLS lists, with its duration."""
    root = ET.parse(cmaf.out / "manifest.mpd").getroot()
    assert root.tag == f"{MPD}MPD" and root.get("type") == "static"
    assert root.get("profiles") == dash.PROFILE
    total = float(root.get("mediaPresentationDuration", "").removeprefix("PT").removesuffix("S"))
    assert total == pytest.approx(SECONDS, abs=0.05)
    assert root.get("minBufferTime")
    sets = root.findall(f"{MPD}Period/{MPD}AdaptationSet")
    assert [s.get("contentType") for s in sets] == ["video", "audio"]
    reps = {r.get("id", ""): r for s in sets for r in s.findall(f"{MPD}Representation")}
    assert set(reps) == {"360p", "180p", "audio_2ch"}
    by_codecs = {
        v.uri.split("/")[0]: v.stream_info.codecs.split(",")[0] for v in cmaf.master.playlists
    }
    for rep_id, rep in reps.items():
        assert int(rep.get("bandwidth", "0")) > 0
        if rep_id in by_codecs:
            assert rep.get("codecs") == by_codecs[rep_id]
            assert rep.get("width") and rep.get("height") and rep.get("frameRate") == "25"
        else:
            assert rep.get("codecs") == "mp4a.40.2"
            channels = rep.find(f"{MPD}AudioChannelConfiguration")
            assert channels is not None and channels.get("value") == "2"
        template = rep.find(f"{MPD}SegmentTemplate")
        assert template is not None
        assert (cmaf.out / template.get("initialization", "")).is_file()
        scale = int(template.get("timescale", "0"))
        number = int(template.get("startNumber", "-1"))
        urls, seconds = [], 0.0
        for s in template.findall(f"{MPD}SegmentTimeline/{MPD}S"):
            for _ in range(int(s.get("r", "0")) + 1):
                urls.append(template.get("media", "").replace("$Number%05d$", f"{number:05d}"))
                seconds += int(s.get("d", "0")) / scale
                number += 1
        listed = [f"{rep_id}/{s.uri}" for s in media_playlist(cmaf.out / rep_id).segments]
        assert urls == listed
        assert seconds == pytest.approx(SECONDS, abs=0.05)


def test_thumbnails_and_poster_are_made_for_fmp4_too(cmaf: Packaged) -> None:
    assert (cmaf.out / "poster.jpg").stat().st_size > 0
    assert (cmaf.out / "thumbnails.vtt").read_text().startswith("WEBVTT")


def test_aes_128_encrypts_every_fmp4_media_segment_whole_and_writes_no_mpd(
    ffmpeg: str, tmp_path: Path
) -> None:
    """ffmpeg's HLS muxer refuses a key with fMP4, so the packager encrypts: EXT-X-MAP (init in
    the clear) then EXT-X-KEY with an IV; each .m4s decrypts (AES-128-CBC, PKCS#7) to the
    fragment that plays after the init. No clear copy stays behind, and no MPD: DASH has no
    whole-segment scheme."""
    source = sources.clip(ffmpeg, tmp_path / "180.mp4", "320x180", seconds=2)
    ladder = (LadderRung(short_side=180, video_kbps=300),)
    out = tmp_path / "out"
    asyncio.run(
        packager.package(
            ffmpeg, source, out, probe(source), SEGMENT, None,
            packager.AesKey(KEY, "/drm/v1/key"), ladder, Container.FMP4,
        )
    )  # fmt: skip
    assert not (out / "manifest.mpd").exists()
    assert not (out / packager.STAGING_DIR).exists()
    assert m3u8.load(str(out / "master.m3u8")).version == 7
    for name in ("180p", "audio_2ch"):
        text = (out / name / "index.m3u8").read_text()
        assert text.index("#EXT-X-MAP:") < text.index("#EXT-X-KEY:METHOD=AES-128")
        playlist = media_playlist(out / name)
        assert playlist.keys[-1].uri == "/drm/v1/key" and playlist.keys[-1].iv
        init = out / name / f"init_{name}.mp4"
        fmp4_boxes.track_timescale(init.read_bytes())  # the init segment is in the clear
        seconds = 0.0
        for segment in playlist.segments:
            data = (out / name / segment.uri).read_bytes()
            with pytest.raises(ValueError):
                fmp4_boxes.fragment_timing(data)  # ciphertext: no box structure
            plain = decrypt(data, KEY, bytes.fromhex(segment.key.iv[2:]))
            with read(init, plain) as container:
                assert len(container.streams) == 1
            seconds += segment.duration
        assert seconds == pytest.approx(2.0, abs=0.05)


def test_a_5_1_source_gets_stereo_and_5_1_renditions_in_both_manifests(
    ffmpeg: str, tmp_path: Path
) -> None:
    """Separate audio renditions still work in fMP4: the master's audio group and one DASH
    audio set per rendition, with 2 and 6 channels."""
    source = asyncio.run(
        make_clip(ffmpeg, tmp_path / "51.mp4", seconds=2, width=320, height=180, channels=6)
    )
    out = tmp_path / "out"
    ladder = (LadderRung(short_side=180, video_kbps=300),)
    asyncio.run(
        packager.package(
            ffmpeg, source, out, probe(source), SEGMENT, ladder=ladder, container=Container.FMP4
        )
    )
    master = m3u8.load(str(out / "master.m3u8"))
    assert [(m.uri, m.channels) for m in master.media] == [
        ("audio_2ch/index.m3u8", "2"), ("audio_6ch/index.m3u8", "6"),
    ]  # fmt: skip
    root = ET.parse(out / "manifest.mpd").getroot()
    audio = [s for s in root.iter(f"{MPD}AdaptationSet") if s.get("contentType") == "audio"]
    channels = [s.find(f"{MPD}Representation/{MPD}AudioChannelConfiguration") for s in audio]
    assert [c.get("value") for c in channels if c is not None] == ["2", "6"]
    init = out / "audio_6ch" / "init_audio_6ch.mp4"
    segment = media_playlist(out / "audio_6ch").segments[0].uri
    with read(init, (out / "audio_6ch" / segment).read_bytes()) as container:
        assert container.streams.audio[0].codec_context.channels == 6
