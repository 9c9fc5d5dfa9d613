"""Chunked packaging with real ffmpeg: chunk joins, keyframes across rungs, audio once, growth."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from pathlib import Path

import av
import m3u8
import pytest

from media import chunks, packager, runner, thumbnails
from media.ladder import plan as plan_rungs
from media.probe import MediaInfo, probe
from media.samples import make_clip
from streaming.config import LadderRung
from streaming.errors import MediaError
from tests.media import sources
from tests.media.readback import decrypt

SEGMENT = 1.0
CHUNK = 2.0
SECONDS = 5.6  # 6 segments (the last 0.6 s) in 3 chunks (the last 1.6 s)
RATE = 25
LADDER = (LadderRung(short_side=180, video_kbps=300), LadderRung(short_side=120, video_kbps=150))
TS = 90_000  # MPEG-TS clock


@dataclass(frozen=True)
class Chunked:
    source: Path
    info: MediaInfo
    out: Path
    results: list[chunks.ChunkResult]


@dataclass(frozen=True)
class Packet:
    pts: int  # 90 kHz
    is_keyframe: bool


def packets(path: Path, kind: str) -> list[Packet]:
    """The packets of the first `kind` stream of a TS segment, in decode order."""
    with av.open(str(path)) as container:
        stream = next(s for s in container.streams if s.type == kind)
        return [Packet(p.pts, p.is_keyframe) for p in container.demux(stream) if p.pts is not None]


def info_for(ffmpeg: str, out: Path, **kwargs: object) -> tuple[Path, MediaInfo]:
    source = asyncio.run(make_clip(ffmpeg, out, **kwargs))  # type: ignore[arg-type]
    return source, probe(source)


@pytest.fixture(scope="module")
def packaged(ffmpeg: str, tmp_path_factory: pytest.TempPathFactory) -> Chunked:
    """A 5.6 s 320x180 source with a tone, two rungs, chunked two at a time."""
    work = tmp_path_factory.mktemp("chunked")
    source, info = info_for(ffmpeg, work / "clip.mp4", seconds=SECONDS, rate=RATE)
    out = work / "out"
    results = asyncio.run(
        chunks.package_chunked(
            ffmpeg, source, out, info, SEGMENT, ladder=LADDER, chunk_seconds=CHUNK, parallel=2
        )
    )
    return Chunked(source, info, out, results)


def test_plan_cuts_whole_segments_and_the_last_chunk_is_shorter() -> None:
    info = MediaInfo(320, 180, SECONDS, RATE, True, "h264", "yuv420p", 0)
    planned = chunks.plan(info, SEGMENT, 2.5)  # rounded down to 2 segments a chunk
    assert [(c.index, c.first_segment, c.segment_frames) for c in planned] == [
        (0, 0, (25, 25)),
        (1, 2, (25, 25)),
        (2, 4, (25, 15)),
    ]
    assert [c.start for c in planned] == [0.0, 2.0, 4.0]
    assert planned[-1].last and planned[-1].duration == pytest.approx(1.6)
    assert sum(c.frames for c in planned) == SECONDS * RATE


def test_plan_puts_boundaries_on_the_first_frame_at_or_after_each_multiple() -> None:
    """At 29.97 fps a 2 s segment is 59.94 frames: the cuts fall on frames 0, 60, 120, 180."""
    info = MediaInfo(320, 180, 8.0, 29.97, False, "h264", "yuv420p", 0)
    planned = chunks.plan(info, 2.0, 4.0)
    assert [c.first_frame for c in planned] == [0, 120]
    assert [c.segment_frames for c in planned] == [(60, 60), (60, 60)]
    assert planned[1].start == pytest.approx(120 / 29.97)


def test_a_chunk_shorter_than_a_segment_is_one_segment() -> None:
    info = MediaInfo(320, 180, 3.0, RATE, False, "h264", "yuv420p", 0)
    assert [c.segment_count for c in chunks.plan(info, 1.0, 0.4)] == [1, 1, 1]


def test_every_segment_starts_at_its_presentation_time_with_frames_contiguous_across_joins(
    packaged: Chunked,
) -> None:
    """Segment k's first frame is at k x 1 s (plus the muxer's constant delay), every rung; no
    frame is missing or doubled at a chunk join; the durations sum to the source's."""
    for i, rung in enumerate(packaged.results[0].rungs):
        pts: list[int] = []
        starts: list[int] = []
        for segment in (s for r in packaged.results for s in r.rungs[i].segments):
            video = sorted(p.pts for p in packets(packaged.out / rung.name / segment.uri, "video"))
            starts.append(video[0])
            pts += video
        delay = starts[0]
        assert [s - delay for s in starts] == [k * TS for k in range(6)]
        assert [b - a for a, b in zip(pts, pts[1:], strict=False)] == [TS // RATE] * (len(pts) - 1)
        assert len(pts) == SECONDS * RATE
        listed = m3u8.load(str(packaged.out / rung.name / "index.m3u8"))
        assert sum(s.duration for s in listed.segments) == pytest.approx(SECONDS, abs=1 / RATE)


def test_each_segment_starts_with_a_keyframe_at_the_same_time_in_every_rung(
    packaged: Chunked,
) -> None:
    firsts: dict[str, list[int]] = {}
    for result in packaged.results:
        for rung in result.rungs:
            for segment in rung.segments:
                video = packets(packaged.out / rung.name / segment.uri, "video")
                assert video[0].is_keyframe, f"{rung.name}/{segment.uri}"
                firsts.setdefault(rung.name, []).append(min(p.pts for p in video))
    assert len(firsts) == 2 and len(set(map(tuple, firsts.values()))) == 1


def test_audio_is_one_continuous_rendition_starting_with_the_video(packaged: Chunked) -> None:
    """Packets follow each other without a gap across every segment boundary (one encode), the
    first sample plays with the first frame, and the master's variants name the audio group."""
    track = packaged.out / "audio_2ch"
    listed = m3u8.load(str(track / "index.m3u8"))
    pts = [p.pts for s in listed.segments for p in packets(track / str(s.uri), "audio")]
    step = 1024 * TS // 48_000
    assert [b - a for a, b in zip(pts, pts[1:], strict=False)] == [step] * (len(pts) - 1)
    first_frame = min(p.pts for p in packets(packaged.out / "180p" / "seg_00000.ts", "video"))
    assert first_frame - step <= pts[0] <= first_frame  # AAC priming: one frame before
    assert sum(s.duration for s in listed.segments) == pytest.approx(SECONDS, abs=0.03)
    master = m3u8.load(str(packaged.out / "master.m3u8"))
    assert [m.uri for m in master.media] == ["audio_2ch/index.m3u8"]
    for variant in master.playlists:
        assert variant.stream_info.audio == "aac"
        assert variant.stream_info.codecs.endswith(",mp4a.40.2")
        audio = packaged.results[0].rungs[0].audio_kbps  # not muxed: counted once, from the track
        assert variant.stream_info.bandwidth > audio


def test_the_playlists_grow_as_event_and_end_as_vod(packaged: Chunked, tmp_path: Path) -> None:
    audio = chunks.read_audio_result(packaged.out)
    results = [chunks.read_result(packaged.out, i) for i in range(3)]
    assert audio is not None and results == packaged.results
    seen = []
    for n, final in ((1, False), (2, False), (3, True)):
        chunks.stitch(packaged.results[:n], audio, tmp_path, final=final)
        video = (tmp_path / "180p" / "index.m3u8").read_text()
        sound = m3u8.loads((tmp_path / "audio_2ch" / "index.m3u8").read_text())
        seen.append(video)
        listed = m3u8.loads(video)
        assert listed.playlist_type == ("vod" if final else "event")
        assert listed.is_endlist is final
        assert [s.uri for s in listed.segments] == [f"seg_{k:05d}.ts" for k in range(2 * n)][:6]
        covered = sum(s.duration for s in listed.segments)
        assert sum(s.duration for s in sound.segments[:-1]) < covered
        assert (tmp_path / "master.m3u8").exists()
    # A growing playlist only ever appends segments.
    body = [text.split("#EXT-X-PLAYLIST-TYPE")[1].split("\n", 1)[1] for text in seen]
    assert body[1].startswith(body[0].removesuffix("\n")) and body[2].startswith(body[1])


def test_stitch_is_idempotent_and_waits_for_the_audio(packaged: Chunked, tmp_path: Path) -> None:
    audio = chunks.read_audio_result(packaged.out)
    chunks.stitch(packaged.results[:1], None, tmp_path, final=False)
    assert not any(tmp_path.iterdir())
    chunks.stitch(packaged.results[:2], audio, tmp_path, final=False)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*.m3u8")}
    chunks.stitch(packaged.results[:2], audio, tmp_path, final=False)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*.m3u8")} == before


def test_stitch_refuses_a_gap_and_an_early_final(packaged: Chunked, tmp_path: Path) -> None:
    audio = chunks.read_audio_result(packaged.out)
    with pytest.raises(MediaError):
        chunks.stitch([packaged.results[0], packaged.results[2]], audio, tmp_path, final=False)
    with pytest.raises(MediaError):
        chunks.stitch(packaged.results[:2], audio, tmp_path, final=True)


def test_a_chunk_encoded_twice_has_the_same_segment_timing(
    ffmpeg: str, packaged: Chunked, tmp_path: Path
) -> None:
    """A chunk taken over from a killed worker is encoded again: same names, same times."""
    rungs = plan_rungs(320, 180, RATE, LADDER)
    chunk = chunks.plan(packaged.info, SEGMENT, CHUNK)[1]
    again = asyncio.run(
        chunks.encode_video_chunk(
            ffmpeg, packaged.source, packaged.info, chunk, rungs, SEGMENT, tmp_path
        )
    )
    first = packaged.results[1]
    assert [[(s.uri, s.duration) for s in r.segments] for r in again.rungs] == [
        [(s.uri, s.duration) for s in r.segments] for r in first.rungs
    ]
    for rung in first.rungs:
        for segment in rung.segments:
            old = [p.pts for p in packets(packaged.out / rung.name / segment.uri, "video")]
            new = [p.pts for p in packets(tmp_path / rung.name / segment.uri, "video")]
            assert new == old


def test_a_5_1_source_gets_stereo_and_5_1_tracks_and_a_silent_one_none(
    ffmpeg: str, tmp_path: Path
) -> None:
    source, info = info_for(ffmpeg, tmp_path / "surround.mp4", seconds=2, channels=6)
    out = tmp_path / "surround"
    asyncio.run(chunks.package_chunked(ffmpeg, source, out, info, SEGMENT, ladder=LADDER))
    master = m3u8.load(str(out / "master.m3u8"))
    assert [(m.uri, m.channels) for m in master.media] == [
        ("audio_2ch/index.m3u8", "2"),
        ("audio_6ch/index.m3u8", "6"),
    ]
    silent_source, silent = info_for(ffmpeg, tmp_path / "silent.mp4", seconds=2, audio=False)
    quiet = tmp_path / "quiet"
    asyncio.run(chunks.package_chunked(ffmpeg, silent_source, quiet, silent, 1.0, ladder=LADDER))
    master = m3u8.load(str(quiet / "master.m3u8"))
    assert not master.media and "mp4a" not in master.playlists[0].stream_info.codecs
    assert chunks.chunked_audio(replace(silent, has_audio=False)) == ()


def test_at_29_97_fps_segments_start_on_the_planned_frames_with_no_frame_lost(
    ffmpeg: str, tmp_path: Path
) -> None:
    """1 s is 29.97 frames: boundaries on frames 0, 30, 60, 90 (the first at or after each
    second), each a keyframe at that frame's time, across chunk joins."""
    source = tmp_path / "ntsc.mp4"
    argv = [*sources.BASE, "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30000/1001:d=4"]
    asyncio.run(runner.run(ffmpeg, [*argv, "-c:v", "libx264", "-preset", "ultrafast", str(source)]))
    info = probe(source)
    out = tmp_path / "out"
    results = asyncio.run(
        chunks.package_chunked(ffmpeg, source, out, info, SEGMENT, ladder=LADDER, chunk_seconds=2)
    )
    planned = chunks.plan(info, SEGMENT, 2)
    assert [c.segment_frames for c in planned] == [(30, 30), (30, 30)]
    pts = []
    for segment in (s for r in results for s in r.rungs[0].segments):
        video = packets(out / "180p" / segment.uri, "video")
        assert video[0].is_keyframe
        pts += sorted(p.pts for p in video)
    frame = TS * 1001 / 30000
    assert len(pts) == 120
    assert all(abs(b - a - frame) <= 1 for a, b in zip(pts, pts[1:], strict=False))
    starts = [pts[k] for k in (0, 30, 60, 90)]
    assert [round((s - pts[0]) / frame) for s in starts] == [0, 30, 60, 90]


def test_the_poster_and_thumbnail_sprite_are_written_like_the_single_process_path(
    packaged: Chunked,
) -> None:
    poster = av.open(str(packaged.out / thumbnails.POSTER_NAME)).streams.video[0].codec_context
    assert (poster.width, poster.height) == (320, 180)
    assert (packaged.out / thumbnails.SPRITE_NAME).stat().st_size > 0
    index = (packaged.out / thumbnails.INDEX_NAME).read_text()
    assert index.startswith("WEBVTT") and f"{thumbnails.SPRITE_NAME}#xywh=0,0," in index


def test_a_result_survives_its_json_unchanged(packaged: Chunked) -> None:
    """The orchestration may carry results in its ledger instead of the result files."""
    for result in packaged.results:
        assert chunks.parse_chunk_result(chunks.to_json(result)) == result
    audio = chunks.read_audio_result(packaged.out)
    assert audio is not None and chunks.parse_audio_result(chunks.to_json(audio)) == audio


def test_an_encrypted_chunked_video_decrypts_with_its_key_and_each_segments_number(
    ffmpeg: str, packaged: Chunked, tmp_path: Path
) -> None:
    """AES-128 like the single-process path: EXT-X-KEY names the URI, never the key; each
    segment decrypts with IV = its sequence number to the same TS timing as in the clear."""
    key = packager.AesKey(bytes(range(16)), "/drm/v1/key")
    out = tmp_path / "locked"
    asyncio.run(
        chunks.package_chunked(
            ffmpeg, packaged.source, out, packaged.info, SEGMENT, ladder=LADDER,
            chunk_seconds=CHUNK, with_thumbnails=False, encryption=key,
        )
    )  # fmt: skip
    assert (out / packager.KEY_FILE).read_bytes() == key.key
    for name in ("180p", "audio_2ch"):
        listed = m3u8.load(str(out / name / "index.m3u8"))
        assert [k.uri for k in listed.keys] == ["/drm/v1/key"] and listed.keys[0].iv is None
        for number, segment in enumerate(listed.segments):
            data = (out / name / str(segment.uri)).read_bytes()
            assert data[0] != 0x47  # not a TS sync byte: encrypted
            plain = decrypt(data, key.key, number.to_bytes(16, "big"))
            assert plain[0] == 0x47
            if name == "180p":
                (tmp_path / "plain.ts").write_bytes(plain)
                clear = packets(packaged.out / name / str(segment.uri), "video")
                assert packets(tmp_path / "plain.ts", "video")[0] == clear[0]
    for path in out.rglob("*.m3u8"):
        assert key.key.hex() not in path.read_text()
