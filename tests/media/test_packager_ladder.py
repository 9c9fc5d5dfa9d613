"""Packaging generated portrait, 5.1, interlaced and silent sources (2 s, tiny, real ffmpeg).

What a player is told (RESOLUTION, CODECS, the audio group) is checked against what
libavformat reads back from the segments.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import av
import m3u8
import pytest

from media import commands, packager
from media.ladder import audio_for, plan
from media.probe import probe
from media.samples import make_clip
from streaming.config import DEFAULT_LADDER, LadderRung
from tests.media import sources
from tests.media.readback import decrypt, first_frame_interlaced, probe_segment

SEGMENT = 1.0
KEY = bytes(range(16, 32))
# Rungs that fit a 360x640 source, so a tiny clip shows a real ladder.
SMALL_LADDER = (
    LadderRung(short_side=360, video_kbps=730, audio_kbps=96),
    LadderRung(short_side=240, video_kbps=400, audio_kbps=96),
)
PROFILES = {0x4D: "Main", 0x64: "High"}


def _package(
    ffmpeg: str, work: Path, *, ladder: tuple[LadderRung, ...] = SMALL_LADDER, **clip: object
) -> tuple[Path, m3u8.M3U8]:
    encryption = clip.pop("encryption", None)
    source = asyncio.run(make_clip(ffmpeg, work / "source.mp4", seconds=2, **clip))  # type: ignore[arg-type]
    out = work / "out"
    asyncio.run(
        packager.package(
            ffmpeg,
            source,
            out,
            probe(source),
            SEGMENT,
            encryption=encryption,
            ladder=ladder,  # type: ignore[arg-type]
        )
    )
    return out, m3u8.load(str(out / "master.m3u8"))


def _segments(out: Path, uri: str) -> list[Path]:
    media = m3u8.load(str(out / uri))
    assert media.playlist_type == "vod" and media.is_endlist, uri
    return [out / uri.split("/")[0] / str(s.uri) for s in media.segments]


@pytest.fixture(scope="module")
def portrait_surround(
    ffmpeg: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, m3u8.M3U8]:
    """A 360x640 phone-shaped clip with 5.1 audio, in the clear."""
    work = tmp_path_factory.mktemp("portrait-surround")
    return _package(ffmpeg, work, width=360, height=640, channels=6)


def test_a_portrait_source_keeps_portrait_rungs(portrait_surround: tuple[Path, m3u8.M3U8]) -> None:
    """360x640 with a 360/240 ladder: 360x640 and 240x426, as encoded (not 202x360 on top)."""
    out, master = portrait_surround
    assert [(v.uri, v.stream_info.resolution) for v in master.playlists] == [
        ("360p/index.m3u8", (360, 640)), ("240p/index.m3u8", (240, 426)),
    ]  # fmt: skip
    for variant in master.playlists:
        probed = probe_segment(_segments(out, variant.uri)[0])
        assert (probed.width, probed.height) == variant.stream_info.resolution


def test_a_1080x1920_phone_video_keeps_a_1080x1920_top_rung(ffmpeg: str, tmp_path: Path) -> None:
    """The issue's case at full size, with the default ladder: the top rung is the source's
    1080x1920 (not 608x1080), High 4.0 as read back from its SPS, and every rung below it is
    portrait too, none upscaled."""
    out, master = _package(ffmpeg, tmp_path, ladder=DEFAULT_LADDER, width=1080, height=1920)
    sizes = [v.stream_info.resolution for v in master.playlists]
    assert sizes[0] == (1080, 1920) and all(w < h for w, h in sizes), sizes
    assert sizes == sorted(sizes, reverse=True) and len(sizes) == len(DEFAULT_LADDER)
    top = master.playlists[0]
    probed = probe_segment(_segments(out, top.uri)[0])
    assert (probed.width, probed.height) == (1080, 1920)
    assert top.stream_info.codecs.split(",")[0] == probed.sps_codecs == "avc1.640028"


def test_codecs_name_the_profile_and_level_read_back_from_each_rung(
    portrait_surround: tuple[Path, m3u8.M3U8],
) -> None:
    """CODECS' avc1.PPCCLL equals the stream's SPS bytes, and its profile and level are what
    ffprobe reports: Main 3.0 for 360x640, Main 2.1 for 240x426 (not 4.0 for all)."""
    out, master = portrait_surround
    seen = []
    for variant in master.playlists:
        video = variant.stream_info.codecs.split(",")[0]
        for segment in _segments(out, variant.uri)[:2]:
            probed = probe_segment(segment)
            assert probed.sps_codecs == video, segment
            assert probed.profile == PROFILES[int(video[5:7], 16)]
            assert probed.level == int(video[9:11], 16)
        seen.append(video)
    assert seen == ["avc1.4d401e", "avc1.4d4015"]


def test_a_5_1_source_gets_a_stereo_and_a_5_1_rendition_in_one_audio_group(
    portrait_surround: tuple[Path, m3u8.M3U8],
) -> None:
    """EXT-X-MEDIA: stereo (DEFAULT, CHANNELS="2") and 5.1 (CHANNELS="6"); every variant
    names the group, its segments carry no audio of their own, and BANDWIDTH counts 5.1."""
    out, master = portrait_surround
    tracks = {m.name: m for m in master.media}
    assert set(tracks) == {"Stereo", "5.1"}
    assert {m.type for m in master.media} == {"AUDIO"} and {m.group_id for m in master.media} == {
        "aac"
    }
    stereo, surround = tracks["Stereo"], tracks["5.1"]
    assert (stereo.channels, stereo.default, stereo.autoselect) == ("2", "YES", "YES")
    assert (surround.channels, surround.default) == ("6", "NO")
    channels = {}
    for track in (stereo, surround):
        segments = _segments(out, track.uri)
        probed = [probe_segment(s) for s in segments]
        assert all(p.has_audio and not p.has_video for p in probed)
        channels[track.name] = {p.channels for p in probed}
    assert channels == {"Stereo": {2}, "5.1": {6}}
    listed = m3u8.load(str(out / surround.uri)).segments
    surround_peak = max(
        file.stat().st_size * 8 / segment.duration
        for file, segment in zip(_segments(out, surround.uri), listed, strict=True)
    )
    for variant in master.playlists:
        assert variant.stream_info.audio == "aac"
        assert variant.stream_info.codecs.endswith(",mp4a.40.2")
        assert not any(probe_segment(s).has_audio for s in _segments(out, variant.uri))
        assert variant.stream_info.bandwidth > surround_peak


def test_separate_audio_renditions_are_encrypted_like_the_video(
    ffmpeg: str, tmp_path: Path
) -> None:
    """AES-128: the audio playlists carry the video's EXT-X-KEY and their segments decrypt
    to MPEG-TS with 2 and 6 channels."""
    key = packager.AesKey(KEY, "/drm/v5ch/key")
    out, master = _package(ffmpeg, tmp_path, width=256, height=144, channels=6, encryption=key)
    assert len(master.media) == 2
    for track in master.media:
        media = m3u8.load(str(out / track.uri))
        assert media.keys[-1].method == "AES-128" and media.keys[-1].uri == "/drm/v5ch/key"
        iv = bytes.fromhex(media.keys[-1].iv[2:])
        data = (out / track.uri.split("/")[0] / media.segments[0].uri).read_bytes()
        assert data[0] != 0x47  # really encrypted
        assert probe_segment(decrypt(data, KEY, iv)).channels == int(track.channels)


def _comb(path: Path, frames: int = 4) -> float:
    """Mean vertical high frequency of a few frames' luma: weaved fields comb where things move."""
    values = []
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            if index < 2:
                continue
            plane = frame.planes[0]
            data, width, stride = bytes(plane), plane.width, plane.line_size
            rows = [data[y * stride : y * stride + width] for y in range(plane.height)]
            total = sum(
                abs(2 * rows[y][x] - rows[y - 1][x] - rows[y + 1][x])
                for y in range(1, len(rows) - 1)
                for x in range(0, width, 2)
            )
            values.append(total / ((len(rows) - 2) * (width // 2)))
            if len(values) == frames:
                break
    return sum(values) / len(values)


def test_an_interlaced_source_is_deinterlaced(ffmpeg: str, tmp_path: Path) -> None:
    """Field order tt: bwdif in the argv, the output is progressive and its combing is gone."""
    out, master = _package(ffmpeg, tmp_path, width=320, height=180, interlaced=True)
    source = tmp_path / "source.mp4"
    info = probe(source)
    assert info.field_order == "tt" and first_frame_interlaced(source)
    job = commands.PackageJob(source, out, info, plan(320, 180, 25), SEGMENT)
    argv = commands.package(job)
    assert argv[argv.index("-filter_complex") + 1].startswith(f"[0:v]{commands.DEINTERLACE},")
    segment = _segments(out, master.playlists[0].uri)[1]
    assert probe_segment(segment).field_order == "progressive"
    assert not first_frame_interlaced(segment)
    assert _comb(segment) < 0.7 * _comb(source)


def test_a_progressive_source_is_not_deinterlaced(clip: Path, tmp_path: Path) -> None:
    """The ordinary clip says progressive: no deinterlacer touches it."""
    info = probe(clip)
    assert info.field_order == "progressive" and not info.interlaced
    job = commands.PackageJob(clip, tmp_path, info, plan(320, 180, 25), SEGMENT)
    assert "bwdif" not in " ".join(commands.package(job))


def test_a_portrait_source_without_audio_has_no_audio_group(ffmpeg: str, tmp_path: Path) -> None:
    """No audio: video-only rungs, no EXT-X-MEDIA, no mp4a in CODECS."""
    out, master = _package(ffmpeg, tmp_path, width=360, height=640, audio=False)
    assert master.media == [] and audio_for(False, 0) == ()
    assert [v.stream_info.resolution for v in master.playlists] == [(360, 640), (240, 426)]
    for variant in master.playlists:
        assert "mp4a" not in variant.stream_info.codecs and variant.stream_info.audio is None
        assert not probe_segment(_segments(out, variant.uri)[0]).has_audio


def test_an_anamorphic_source_gets_square_pixels_at_its_display_size(
    ffmpeg: str, tmp_path: Path
) -> None:
    """240x180 with 4:3 pixels displays as 320x180: one 320x180 rung with square pixels."""
    source = sources.anamorphic(ffmpeg, tmp_path / "anamorphic.mp4")
    info = probe(source)
    assert (info.width, info.sample_aspect) == (240, pytest.approx(4 / 3))
    assert (info.display_width, info.display_height) == (320, 180)
    out = tmp_path / "out"
    asyncio.run(packager.package(ffmpeg, source, out, info, SEGMENT))
    (variant,) = m3u8.load(str(out / "master.m3u8")).playlists
    assert variant.stream_info.resolution == (320, 180)
    with av.open(str(_segments(out, variant.uri)[0])) as container:
        ctx = container.streams.video[0].codec_context
        assert (ctx.width, ctx.height) == (320, 180)
        assert ctx.sample_aspect_ratio in (None, 1)
