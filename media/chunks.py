"""Chunked parallel packaging: cut a long upload at segment boundaries, encode the chunks apart
(on any worker), encode the audio once, and stitch everything into one HLS presentation.

The contract between the parts (the job orchestration, origin.tasks, calls these functions;
package_chunked is all of it in one process):

    chunks = plan(info, segment_duration, chunk_seconds)          # pure
    audio  = await encode_audio(binary, source, info, seg, out_dir, progress, key)  # once a job
    r_i    = await encode_video_chunk(binary, source, info, chunks[i], rungs, seg, out_dir, p, key)
    await encode_thumbnails(binary, source, info, out_dir, progress)   # poster + sprite, once
    stitch(results_so_far_in_order, audio, out_dir, final=...)    # pure rendering, idempotent

`key` (media.packager.AesKey, or None for the clear) must be the same for every part of a
video; the results carry only its URI. Results travel as JSON too (to_json, parse_*_result).

Layout of `out_dir` (the presentation root; the same on every worker, so a worker's files can be
uploaded to the video's prefix as they are):

    <rung.name>/seg_NNNNN.ts        video segments, NNNNN = the GLOBAL segment number
    <audio.name>/seg_NNNNN.ts       audio segments of each separate audio rendition
    <rung.name>/index.m3u8          media playlists        } written by stitch() only
    <audio.name>/index.m3u8                                } (EVENT while growing,
    master.m3u8                                            }  VOD + ENDLIST when final)
    poster.jpg thumbnails.jpg thumbnails.vtt                  encode_thumbnails
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

import asyncio
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from media import chunk_commands, chunk_playlists, runner, thumbnails
from media.chunk_results import (
    AUDIO_RESULT,
    RESULTS_DIR,
    AudioResult,
    AudioTrackResult,
    ChunkResult,
    RungResult,
    Segment,
    parse_audio_result,
    parse_chunk_result,
    read_audio_result,
    read_result,
    to_json,
    write_result,
)
from media.commands import PLAYLIST_NAME, SEGMENT_PATTERN
from media.ladder import FULL_LADDER, STEREO, AudioRendition, Rung, audio_for
from media.ladder import plan as plan_rungs
from media.packager import KEY_FILE, AesKey, write_atomic
from media.probe import MediaInfo
from streaming.config import LadderRung
from streaming.errors import MediaError
from streaming.hls import MASTER_NAME

# The results live in media.chunk_results; the job orchestration finds them here too.
__all__ = [
    "AUDIO_RESULT", "RESULTS_DIR", "AudioResult", "AudioTrackResult", "Chunk", "ChunkResult",
    "RungResult", "Segment", "chunked_audio", "encode_audio", "encode_thumbnails",
    "encode_video_chunk", "package_chunked", "parse_audio_result", "parse_chunk_result", "plan",
    "read_audio_result", "read_result", "stitch", "to_json",
]  # fmt: skip
Progress = Callable[[float], None]
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


def chunked_audio(info: MediaInfo) -> tuple[AudioRendition, ...]:
    """The separate audio renditions of a chunked job: the ladder's for multichannel sources,
    else one stereo rendition (a chunked job never muxes audio into the video variants)."""
    if not info.has_audio:
        return ()
    return audio_for(info.has_audio, info.audio_channels) or (STEREO,)


def frame_rate(info: MediaInfo) -> str:
    """The presentation's constant frame rate as the fps filter takes it (as media.commands)."""
    return f"{info.frame_rate:.3f}".rstrip("0").rstrip(".")


def plan(info: MediaInfo, segment_duration: float, chunk_seconds: float) -> list[Chunk]:
    """Chunks of about `chunk_seconds` (rounded down to whole segments, at least one), cut on
    segment boundaries of the presentation's frame grid; the last may be shorter."""
    if segment_duration <= 0 or chunk_seconds <= 0:
        raise MediaError("segment duration and chunk length must be positive")
    rate = float(frame_rate(info))
    total = max(1, round(info.duration * rate))
    # Segment k starts on the first frame at or after k * segment_duration.
    starts = [0]
    while (nxt := _ceil_frame((len(starts)) * segment_duration, rate)) < total:
        starts.append(nxt)
    bounds = [*starts, total]
    per_chunk = max(1, int(chunk_seconds / segment_duration + _EPSILON))
    firsts = list(range(0, len(starts), per_chunk))
    chunks = []
    for index, first in enumerate(firsts):
        last = min(first + per_chunk, len(starts))
        frames = tuple(bounds[k + 1] - bounds[k] for k in range(first, last))
        chunks.append(
            Chunk(
                index=index,
                count=len(firsts),
                start=bounds[first] / rate,
                duration=sum(frames) / rate,
                first_segment=first,
                first_frame=bounds[first],
                frames=sum(frames),
                segment_frames=frames,
                rate=rate,
            )  # fmt: skip
        )
    return chunks


def segment_starts(info: MediaInfo, segment_duration: float) -> list[float]:
    """Presentation seconds where each segment starts (the audio is cut at the same times)."""
    return [c.start for c in plan(info, segment_duration, segment_duration)]


async def encode_video_chunk(
    binary: str,
    source: Path,
    info: MediaInfo,
    chunk: Chunk,
    rungs: tuple[Rung, ...],
    segment_duration: float,
    out_dir: Path,
    progress: Progress | None = None,
    key: AesKey | None = None,
) -> ChunkResult:
    """Encode `chunk` of the video for every rung (video only) into `out_dir/<rung>/seg_NNNNN.ts`.

    `rungs` are media.ladder.plan(info.display_width, info.display_height, info.frame_rate,
    ladder), the same for every chunk of a job. Reads `source` only; writes the chunk's
    segments under global numbers, then `_private/chunks/chunk_NNNNN.json` last. `progress`
    gets 0..1 of this chunk. With `key` every segment is AES-128 encrypted in place (IV = its
    global number) before the result is written. Raises MediaError if ffmpeg fails or writes
    other segments than planned.
    """
    results = out_dir / RESULTS_DIR
    results.mkdir(parents=True, exist_ok=True)
    dirs = tuple(out_dir / r.name for r in rungs)
    for directory in dirs:
        directory.mkdir(parents=True, exist_ok=True)
    lists = tuple(results / f"chunk_{chunk.index:05d}.{r.name}.csv" for r in rungs)
    cuts = tuple(sum(chunk.segment_frames[:j]) for j in range(1, chunk.segment_count))
    job = chunk_commands.VideoChunkJob(
        source, info, rungs, frame_rate(info), chunk.start,
        None if chunk.last else chunk.frames, cuts, chunk.first_segment, dirs, lists,
    )  # fmt: skip
    await runner.run(
        binary, chunk_commands.video_chunk(job), duration=chunk.duration,
        on_progress=progress, frames=chunk.frames,
    )  # fmt: skip
    rung_results = []
    for rung, directory, listing in zip(rungs, dirs, lists, strict=True):
        _encrypt(directory, listing, chunk.first_segment, key)
        segments = _listed(directory, listing, chunk.start, chunk.first_segment)
        planned = chunk.segment_count
        if len(segments) != planned and not (chunk.last and 0 < len(segments) <= planned):
            raise MediaError(
                f"chunk {chunk.index} of {rung.name}: {len(segments)} segments, {planned} planned"
            )
        rung_results.append(_rung_result(rung, segments))
    result = ChunkResult(
        index=chunk.index, count=chunk.count, start=chunk.start,
        duration=round(sum(s.duration for s in rung_results[0].segments), 6),
        first_segment=chunk.first_segment, segment_duration=segment_duration,
        frame_rate=chunk.rate, has_audio=info.has_audio, rungs=tuple(rung_results),
        key_uri=key.uri if key else "",
    )  # fmt: skip
    write_result(results / f"chunk_{chunk.index:05d}.json", result)
    return result


async def encode_audio(
    binary: str,
    source: Path,
    info: MediaInfo,
    segment_duration: float,
    out_dir: Path,
    progress: Progress | None = None,
    key: AesKey | None = None,
) -> AudioResult:
    """Encode the whole audio once, per chunked_audio() rendition, cut at the segment boundaries,
    into `out_dir/<audio.name>/seg_NNNNN.ts` (AES-128 with `key`, as the video); then
    `_private/chunks/audio.json`."""
    renditions = chunked_audio(info)
    if not renditions:
        raise MediaError("the source has no audio to encode")
    results = out_dir / RESULTS_DIR
    results.mkdir(parents=True, exist_ok=True)
    dirs = tuple(out_dir / a.name for a in renditions)
    for directory in dirs:
        directory.mkdir(parents=True, exist_ok=True)
    lists = tuple(results / f"audio.{a.name}.csv" for a in renditions)
    cuts = tuple(segment_starts(info, segment_duration)[1:])
    job = chunk_commands.AudioJob(source, renditions, cuts, dirs, lists)
    await runner.run(
        binary, chunk_commands.audio(job), duration=info.duration, on_progress=progress
    )
    tracks = []
    for rendition, directory, listing in zip(renditions, dirs, lists, strict=True):
        _encrypt(directory, listing, 0, key)
        segments = _listed(directory, listing, 0.0, 0)
        peak, average = chunk_playlists.bit_rates(segments)
        tracks.append(
            AudioTrackResult(
                rendition.name,
                rendition.label,
                rendition.channels,
                rendition.kbps,
                segments,
                peak,
                average,
            )  # fmt: skip
        )
    duration = round(sum(s.duration for s in tracks[0].segments), 6)
    result = AudioResult(duration, tuple(tracks), key.uri if key else "")
    write_result(results / AUDIO_RESULT, result)
    return result


async def encode_thumbnails(
    binary: str, source: Path, info: MediaInfo, out_dir: Path, progress: Progress | None = None
) -> None:
    """Write the poster, the thumbnail sprite and its WebVTT index (media.thumbnails names) into
    `out_dir`, as the single-process path does: a task of its own, off the critical path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    await runner.run(
        binary, chunk_commands.thumbnails(source, info, out_dir), duration=info.duration,
        on_progress=progress, frames=info.duration * info.frame_rate,
    )  # fmt: skip
    grid = thumbnails.sprite_grid(info.duration, info.display_width, info.display_height)
    write_atomic(out_dir / thumbnails.INDEX_NAME, thumbnails.webvtt_index(grid, info.duration))


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
    if [r.index for r in results_in_order] != list(range(len(results_in_order))):
        raise MediaError("chunk results must be chunks 0..n-1 in order")
    if final and (not results_in_order or len(results_in_order) != results_in_order[0].count):
        raise MediaError("the final stitch needs every chunk")
    if not results_in_order or (results_in_order[0].has_audio and audio is None):
        return
    keys = {r.key_uri for r in results_in_order} | ({audio.key_uri} if audio else set())
    if len(keys) > 1:
        raise MediaError("the chunks and the audio of one video must share its key")
    first = results_in_order[0]
    covered = results_in_order[-1].start + results_in_order[-1].duration
    tracks = audio.tracks if audio is not None else ()
    for track in tracks:
        starts = _starts(track.segments)
        listed = [s for s, at in zip(track.segments, starts, strict=True) if final or at < covered]
        (out_dir / track.name).mkdir(parents=True, exist_ok=True)
        text = chunk_playlists.media_playlist(listed, first.segment_duration, final, first.key_uri)
        write_atomic(out_dir / track.name / PLAYLIST_NAME, text)
    renditions = []
    for i, head in enumerate(first.rungs):
        segments = [s for r in results_in_order for s in r.rungs[i].segments]
        (out_dir / head.name).mkdir(parents=True, exist_ok=True)
        text = chunk_playlists.media_playlist(
            segments, first.segment_duration, final, first.key_uri
        )
        write_atomic(out_dir / head.name / PLAYLIST_NAME, text)
        renditions.append(chunk_playlists.rendition(head, segments, first.frame_rate))
    master = chunk_playlists.master(renditions, first.frame_rate, tracks)
    write_atomic(out_dir / MASTER_NAME, master)


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
    with_thumbnails: bool = True,
    encryption: AesKey | None = None,
) -> list[ChunkResult]:
    """The whole chunked job in one process (same arguments as media.packager.package, no AES):
    rungs from media.ladder.plan, the audio, `parallel` chunks at a time, stitching after each
    chunk that extends the in-order prefix, the thumbnails, then the final VOD stitch. Returns
    the chunk results. With `encryption` the key goes to KEY_FILE, as the single-process path
    puts it, and every segment is AES-128 encrypted."""
    if encryption is not None:
        (out_dir / KEY_FILE).parent.mkdir(parents=True, exist_ok=True)
        (out_dir / KEY_FILE).write_bytes(encryption.key)
    rungs = plan_rungs(info.display_width, info.display_height, info.frame_rate, ladder)
    chunks = plan(info, segment_duration, chunk_seconds)
    slots = asyncio.Semaphore(max(1, parallel))
    done: dict[int, ChunkResult] = {}
    fractions = [0.0] * len(chunks)
    audio: AudioResult | None = None

    def report(index: int) -> Progress:
        def update(fraction: float) -> None:
            fractions[index] = fraction
            if on_progress is not None:
                covered = sum(f * c.duration for f, c in zip(fractions, chunks, strict=True))
                on_progress(min(0.99, covered / sum(c.duration for c in chunks)))

        return update

    def prefix() -> list[ChunkResult]:
        ordered: list[ChunkResult] = []
        while len(ordered) in done:
            ordered.append(done[len(ordered)])
        return ordered

    async def encode(chunk: Chunk) -> None:
        async with slots:
            done[chunk.index] = await encode_video_chunk(
                binary, source, info, chunk, rungs, segment_duration, out_dir,
                report(chunk.index), encryption,
            )  # fmt: skip
        stitch(prefix(), audio, out_dir, final=False)

    if info.has_audio:
        # First and in a slot of its own: it is quick, and the master waits for it.
        async with slots:
            audio = await encode_audio(
                binary, source, info, segment_duration, out_dir, key=encryption
            )

    async def pictures() -> None:
        async with slots:
            await encode_thumbnails(binary, source, info, out_dir)

    try:
        # A failed chunk cancels the others here, in the running loop (their ffmpeg killed).
        async with asyncio.TaskGroup() as group:
            for chunk in chunks:
                group.create_task(encode(chunk))
            if with_thumbnails:
                group.create_task(pictures())
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None
    ordered = prefix()
    stitch(ordered, audio, out_dir, final=True)
    if on_progress is not None:
        on_progress(1.0)
    return ordered


def _encrypt(directory: Path, listing: Path, first: int, key: AesKey | None) -> None:
    """AES-128-CBC over each listed segment, PKCS#7 padded, IV = its global number (HLS 5.2)."""
    if key is None:
        return
    for offset, line in enumerate(listing.read_text(encoding="utf-8").splitlines()):
        path = directory / line.split(",")[0]
        padder = padding.PKCS7(128).padder()
        plain = padder.update(path.read_bytes()) + padder.finalize()
        iv = (first + offset).to_bytes(16, "big")
        encryptor = Cipher(algorithms.AES(key.key), modes.CBC(iv)).encryptor()
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(encryptor.update(plain) + encryptor.finalize())
        os.replace(tmp, path)


def _listed(directory: Path, listing: Path, start: float, first: int) -> tuple[Segment, ...]:
    """The segments a segment-muxer CSV lists, numbered from `first`, with their sizes.

    The listed end times are presentation seconds; durations are their differences, the first
    from `start` (the CSV's first start time is 0 whatever the chunk, so it is not used).
    """
    segments = []
    previous = start
    for offset, line in enumerate(listing.read_text(encoding="utf-8").splitlines()):
        name, _, end = line.split(",")
        expected = SEGMENT_PATTERN % (first + offset)
        if name != expected:
            raise MediaError(f"ffmpeg wrote {name}, expected {expected}")
        size = (directory / name).stat().st_size
        segments.append(Segment(first + offset, name, round(float(end) - previous, 6), size))
        previous = float(end)
    return tuple(segments)


def _rung_result(rung: Rung, segments: tuple[Segment, ...]) -> RungResult:
    peak, average = chunk_playlists.bit_rates(segments)
    return RungResult(
        rung.name, rung.width, rung.height, rung.video_kbps, rung.audio_kbps, segments, peak,
        average,
    )  # fmt: skip


def _starts(segments: tuple[Segment, ...]) -> list[float]:
    """Each segment's start in presentation seconds (a track that starts at 0)."""
    starts, at = [], 0.0
    for segment in segments:
        starts.append(at)
        at += segment.duration
    return starts


def _ceil_frame(seconds: float, rate: float) -> int:
    return math.ceil(seconds * rate - _EPSILON)
