"""The ISO-BMFF reader on what ffmpeg writes for an LL channel (media.ll_commands' movflags and
fragment duration): tracks, one video frame per fragment, keyframes, wall-clock decode times."""

from __future__ import annotations

import asyncio
import io

import av
import pytest

from media import fmp4_boxes, ll_commands, runner

pytestmark = pytest.mark.anyio
FPS = 15


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def fragmented(ffmpeg: str, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """3 s of 160x90 at 15 fps with a tone, keyframes every 2 s, fragmented as an LL channel."""
    out = tmp_path_factory.mktemp("fmp4") / "ll.mp4"
    argv = [
        "-hide_banner", "-loglevel", "error",
        "-f", "lavfi", "-i", f"testsrc2=size=160x90:rate={FPS}",
        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
        "-t", "3", "-map", "0:v", "-map", "1:a", "-c:a", "aac",
        "-c:v", "libx264", "-preset", "superfast", "-tune", "zerolatency",
        "-g", str(2 * FPS), "-force_key_frames", "expr:gte(t,n_forced*2)",
        "-avoid_negative_ts", "disabled", "-f", "mp4", "-movflags", ll_commands.MOVFLAGS,
        "-frag_duration", str(ll_commands.frag_duration_us(FPS)), str(out),
    ]  # fmt: skip
    asyncio.run(runner.run(ffmpeg, argv))
    return out.read_bytes()


async def boxes_of(data: bytes) -> list[fmp4_boxes.Box]:
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return [box async for box in fmp4_boxes.read_boxes(reader)]


async def test_fragments_hold_one_video_frame_each_with_keyframes_on_segment_starts(
    fragmented: bytes,
) -> None:
    boxes = await boxes_of(fragmented)
    assert [b.type for b in boxes[:3]] == [b"ftyp", b"moov", b"moof"]
    tracks = fmp4_boxes.tracks(boxes[1].data)
    assert [(t.handler, t.timescale) for t in tracks] == [(b"vide", FPS * 1024), (b"soun", 48000)]
    video = fmp4_boxes.video_track(boxes[1].data)
    pairs = zip(boxes[2::2], boxes[3::2], strict=True)
    fragments = [fmp4_boxes.fragment(moof.data, mdat.data, video) for moof, mdat in pairs]
    frames = [f for f in fragments if f.video_start is not None]
    assert len(frames) == 3 * FPS and len(fragments) > len(frames)  # audio ones between
    assert [f.video_start for f in frames] == [n * 1024 for n in range(3 * FPS)]
    assert all(f.video_duration == 1024 for f in frames)
    assert [n for n, f in enumerate(frames) if f.keyframe] == [0, 2 * FPS]


async def test_decode_times_move_onto_the_wall_clock(fragmented: bytes) -> None:
    """Shifted by an epoch second, every track's frames decode at that second onwards."""
    boxes = await boxes_of(fragmented)
    scales = {t.track_id: t.timescale for t in fmp4_boxes.tracks(boxes[1].data)}
    epoch = 1_800_000_000
    shifted = b"".join(
        fmp4_boxes.shift_decode_times(b.data, epoch, scales) if b.type == b"moof" else b.data
        for b in boxes
    )
    with av.open(io.BytesIO(shifted), mode="r", format="mp4") as container:
        video = next(container.decode(video=0))
        assert video.pts is not None and video.time_base is not None
        assert float(video.pts * video.time_base) == epoch
    with av.open(io.BytesIO(shifted), mode="r", format="mp4") as container:
        audio = next(container.decode(audio=0))
        assert audio.pts is not None and audio.time_base is not None
        assert float(audio.pts * audio.time_base) == pytest.approx(epoch, abs=0.05)


async def test_a_box_cut_short_by_the_end_of_the_stream_is_dropped(fragmented: bytes) -> None:
    whole = await boxes_of(fragmented)
    cut = await boxes_of(fragmented[:-10])
    assert len(cut) == len(whole) - 1 and cut == whole[:-1]
    with pytest.raises(ValueError, match="impossible size"):
        await boxes_of(b"\x00\x00\x00\x04free")


def test_an_init_segment_without_video_is_refused() -> None:
    moov = b"\x00\x00\x00\x08moov"
    with pytest.raises(ValueError, match="no video track"):
        fmp4_boxes.video_track(moov)
