"""Chunked parallel packaging: cut a long upload at segment boundaries, encode the chunks apart
(on any worker), encode the audio once, and stitch everything into one HLS presentation.

The contract between the parts (A1's job orchestration calls these functions):

    chunks = plan(info, segment_duration, chunk_seconds)          # pure
    audio  = await encode_audio(binary, source, info, seg, out_dir, progress)   # once per job
    r_i    = await encode_video_chunk(binary, source, info, chunks[i], rungs, seg, out_dir, p)
    stitch(results_so_far_in_order, audio, out_dir, final=...)    # pure rendering, idempotent

Layout of `out_dir` (the presentation root; the same on every worker, so a worker's files can be
uploaded to the video's prefix as they are):

    <rung.name>/seg_NNNNN.ts        video segments, NNNNN = the GLOBAL segment number
    <audio.name>/seg_NNNNN.ts       audio segments of each separate audio rendition
    <rung.name>/index.m3u8          media playlists        } written by stitch() only
    <audio.name>/index.m3u8                                } (EVENT while growing,
    master.m3u8                                            }  VOD + ENDLIST when final)
    _private/chunks/chunk_NNNNN.json   a chunk's ChunkResult (written last, after its segments)
    _private/chunks/audio.json         the AudioResult (written last, after its segments)

`_private/` is never servable (see media.packager.PRIVATE_DIR); a result file existing means its
segments are complete on disk. Re-encoding a chunk overwrites the same file names with the same
timing (the argv is a pure function of the chunk), so a chunk taken over from a killed worker
just replaces the partial files.

Timing: every segment of every rung starts on a frame of the whole presentation's frame grid
(frame n at n / rate seconds); a chunk is encoded from an accurate input seek with
`-output_ts_offset`, so its timestamps continue the presentation's. Chunked presentations always
carry audio as separate renditions (EXT-X-MEDIA group), encoded once for the whole source: no
gap or click at chunk joins. Segments are all `segment_duration` long (no short startup cuts:
chunking is for long uploads), except the last, and each is one closed GOP starting with a
keyframe at the same presentation time in every rung.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from media.ladder import FULL_LADDER, STEREO, AudioRendition, Rung, audio_for
from media.probe import MediaInfo
from streaming.config import LadderRung

Progress = Callable[[float], None]
RESULTS_DIR = "_private/chunks"
AUDIO_RESULT = "audio.json"
# A boundary falls on the first frame at or after k * segment_duration; the epsilon keeps a
# frame that float arithmetic puts a hair before the boundary on the right side of it.
_EPSILON = 1e-6


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk of the presentation: a whole number of segments, frames [first_frame, +frames).

    `start` = first_frame / rate and `duration` = frames / rate, in seconds of presentation time;
    the last chunk's `frames` is the planned count (the source's duration x rate), its encoder
    simply runs to the end of the source.
    """

    index: int
    count: int  # chunks in the plan; index == count - 1 is the last
    start: float
    duration: float
    first_segment: int  # global number of its first segment
    first_frame: int
    frames: int
    segment_frames: tuple[int, ...]  # frames per segment, in order (their sum is `frames`)
    rate: float  # the presentation's constant frame rate (the fps filter's)

    @property
    def last(self) -> bool:
        return self.index == self.count - 1

    @property
    def segment_count(self) -> int:
        return len(self.segment_frames)


@dataclass(frozen=True, slots=True)
class Segment:
    """One written segment: its global number, file name, duration (s) and size (bytes)."""

    number: int
    uri: str
    duration: float
    size: int


@dataclass(frozen=True, slots=True)
class RungResult:
    """One rung of one chunk (or the whole audio): its segments and bit rates."""

    name: str
    width: int
    height: int
    video_kbps: int
    audio_kbps: int
    segments: tuple[Segment, ...]
    peak_bps: int  # the largest segment's bits / duration
    average_bps: int  # all bits / all seconds of these segments


@dataclass(frozen=True, slots=True)
class ChunkResult:
    """What encode_video_chunk wrote; `_private/chunks/chunk_NNNNN.json` holds the same."""

    index: int
    count: int
    start: float
    duration: float  # measured: the sum of its segments' durations
    first_segment: int
    segment_duration: float
    frame_rate: float
    rungs: tuple[RungResult, ...]  # largest first, like the ladder


@dataclass(frozen=True, slots=True)
class AudioTrackResult:
    """One separate audio rendition of the whole source."""

    name: str
    label: str
    channels: int
    kbps: int
    segments: tuple[Segment, ...]
    peak_bps: int
    average_bps: int


@dataclass(frozen=True, slots=True)
class AudioResult:
    """What encode_audio wrote; `_private/chunks/audio.json` holds the same."""

    duration: float
    tracks: tuple[AudioTrackResult, ...]


def chunked_audio(info: MediaInfo) -> tuple[AudioRendition, ...]:
    """The separate audio renditions of a chunked job: the ladder's for multichannel sources,
    else one stereo rendition (a chunked job never muxes audio into the video variants)."""
    if not info.has_audio:
        return ()
    return audio_for(info.has_audio, info.audio_channels) or (STEREO,)


def plan(info: MediaInfo, segment_duration: float, chunk_seconds: float) -> list[Chunk]:
    """Chunks of about `chunk_seconds` (rounded down to whole segments, at least one), cut on
    segment boundaries of the presentation's frame grid; the last may be shorter."""
    raise NotImplementedError


async def encode_video_chunk(
    binary: str,
    source: Path,
    info: MediaInfo,
    chunk: Chunk,
    rungs: tuple[Rung, ...],
    segment_duration: float,
    out_dir: Path,
    progress: Progress | None = None,
) -> ChunkResult:
    """Encode `chunk` of the video for every rung (video only) into `out_dir/<rung>/seg_NNNNN.ts`.

    `rungs` are media.ladder.plan(info.display_width, info.display_height, info.frame_rate,
    ladder), the same for every chunk of a job. Reads `source` only; writes the chunk's
    segments under global numbers, then `_private/chunks/chunk_NNNNN.json` last. `progress` gets 0..1 of this chunk.
    Raises MediaError if ffmpeg fails or writes other segments than planned.
    """
    raise NotImplementedError


async def encode_audio(
    binary: str,
    source: Path,
    info: MediaInfo,
    segment_duration: float,
    out_dir: Path,
    progress: Progress | None = None,
) -> AudioResult:
    """Encode the whole audio once, per chunked_audio() rendition, cut at the segment boundaries,
    into `out_dir/<audio.name>/seg_NNNNN.ts`; then `_private/chunks/audio.json`."""
    raise NotImplementedError


def stitch(
    results_in_order: list[ChunkResult], audio: AudioResult | None, out_dir: Path, final: bool
) -> None:
    """Write every media playlist and the master from the chunks done so far (0..n-1, in order).

    Pure rendering of the results (reads nothing but them, writes only playlists, each in one
    rename), so calling it again with the same arguments writes the same bytes. EVENT while
    growing; with `final` (which needs every chunk) VOD with ENDLIST. While growing, the audio
    playlists list the segments that start before the video covered so far. Writes nothing
    when there is no chunk yet, or when the source has audio and `audio` is None (a master
    naming an audio group must have its playlists). Raises MediaError on a gap in the order.
    """
    raise NotImplementedError


def read_result(out_dir: Path, index: int) -> ChunkResult | None:
    """The ChunkResult a worker wrote for chunk `index`, or None if it is not complete."""
    path = out_dir / RESULTS_DIR / f"chunk_{index:05d}.json"
    return _chunk_result(json.loads(path.read_text(encoding="utf-8"))) if path.exists() else None


def read_audio_result(out_dir: Path) -> AudioResult | None:
    """The AudioResult encode_audio wrote, or None if it is not complete."""
    path = out_dir / RESULTS_DIR / AUDIO_RESULT
    return _audio_result(json.loads(path.read_text(encoding="utf-8"))) if path.exists() else None


async def package_chunked(
    binary: str,
    source: Path,
    out_dir: Path,
    info: MediaInfo,
    segment_duration: float,
    on_progress: Progress | None = None,
    ladder: tuple[LadderRung, ...] = FULL_LADDER,
    chunk_seconds: float = 60.0,
    parallel: int = 1,
) -> list[ChunkResult]:
    """The whole chunked job in one process (same arguments as media.packager.package, no AES):
    rungs from media.ladder.plan, the audio, `parallel` chunks at a time, stitching after each
    chunk that extends the in-order prefix, then the final VOD stitch. Returns the results."""
    raise NotImplementedError


def _segments(raw: list[dict[str, object]]) -> tuple[Segment, ...]:
    return tuple(Segment(**s) for s in raw)  # type: ignore[arg-type]


def _chunk_result(raw: dict[str, object]) -> ChunkResult:
    rungs = tuple(
        RungResult(**{**r, "segments": _segments(r["segments"])})  # type: ignore[dict-item]
        for r in raw.pop("rungs")  # type: ignore[attr-defined]
    )
    return ChunkResult(**raw, rungs=rungs)  # type: ignore[arg-type]


def _audio_result(raw: dict[str, object]) -> AudioResult:
    tracks = tuple(
        AudioTrackResult(**{**t, "segments": _segments(t["segments"])})  # type: ignore[dict-item]
        for t in raw["tracks"]  # type: ignore[attr-defined]
    )
    return AudioResult(duration=float(raw["duration"]), tracks=tracks)  # type: ignore[arg-type]


def _dump(result: ChunkResult | AudioResult) -> str:
    return json.dumps(asdict(result), indent=1)


def _ceil_frame(seconds: float, rate: float) -> int:
    return math.ceil(seconds * rate - _EPSILON)
