"""Pure builders of the ffmpeg argv of chunked packaging: a chunk of video, the audio, thumbnails.

Both write MPEG-TS segments with the segment muxer, which cuts where it is told (frame counts
for video, times for audio) instead of at multiples of a duration from the first packet, and
lists what it wrote in a CSV (name, start, end). Negative-timestamp shifting is off in the
segment muxer and in each segment's TS muxer: it would move the first chunk (whose B-frames
start before zero) by two frames against every other chunk and against the audio. With it off,
every stream of every process maps presentation time t to the same TS time (t + the muxer's
constant delay), so chunk joins and audio line up exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from media import commands
from media.commands import DEINTERLACE, SEGMENT_PATTERN
from media.ladder import AudioRendition, Rung, codec
from media.probe import MediaInfo

_LAYOUTS = {2: "stereo", 6: "5.1"}
_QUIET = ["-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
_PROGRESS = ["-progress", "pipe:1", "-stats_period", "0.25", "-nostats"]
_NO_SHIFT = ["-avoid_negative_ts", "disabled"]


@dataclass(frozen=True, slots=True)
class VideoChunkJob:
    """Everything one chunk's argv depends on (frame counts are of the chunk's own frames)."""

    source: Path
    info: MediaInfo
    rungs: tuple[Rung, ...]
    rate: str  # the presentation's constant frame rate as the fps filter takes it
    start: float  # presentation seconds of the chunk's first frame
    frames: int | None  # frames to encode; None runs to the end of the source (last chunk)
    cuts: tuple[int, ...]  # chunk-local frame numbers where a new segment starts (not 0)
    first_segment: int
    rung_dirs: tuple[Path, ...]  # where each rung's segments go
    lists: tuple[Path, ...]  # each rung's segment CSV
    preset: str = "veryfast"


@dataclass(frozen=True, slots=True)
class AudioJob:
    """Everything the audio argv depends on."""

    source: Path
    renditions: tuple[AudioRendition, ...]
    cuts: tuple[float, ...]  # presentation seconds where a new segment starts (not 0)
    dirs: tuple[Path, ...]
    lists: tuple[Path, ...]


def _segmenter(cuts_option: list[str], first: int, listing: Path, directory: Path) -> list[str]:
    return [
        *_NO_SHIFT, "-f", "segment", "-segment_format", "mpegts",
        "-segment_format_options", "avoid_negative_ts=disabled",
        *cuts_option,
        "-segment_start_number", str(first),
        "-segment_list", str(listing), "-segment_list_type", "csv",
        str(directory / SEGMENT_PATTERN),
    ]  # fmt: skip


def video_chunk(job: VideoChunkJob) -> list[str]:
    """Arguments that encode frames [start, start + frames) for every rung, video only.

    Accurate input seeking decodes from the keyframe before `start` and drops what precedes it;
    `fps` then puts the chunk on the presentation's frame grid and `trim` stops it after its
    frames, and `-output_ts_offset` restores presentation time. A keyframe is forced on each
    cut (half a frame early, so rounding cannot push it onto the next frame) and the segment
    muxer cuts on exactly those frames.
    """
    rate = float(job.rate)
    argv = list(_QUIET)
    if job.start > 0:
        argv += ["-ss", f"{job.start:.6f}"]
    argv += ["-i", str(job.source)]
    head = f"{DEINTERLACE}," if job.info.interlaced else ""
    trim = f",trim=end_frame={job.frames}" if job.frames is not None else ""
    n = len(job.rungs)
    graph = [f"[0:v]{head}fps={job.rate}{trim},split={n}" + "".join(f"[s{i}]" for i in range(n))]
    graph += [
        f"[s{i}]scale={r.width}:{r.height}:flags=bicubic,setsar=1,format=yuv420p[v{i}]"
        for i, r in enumerate(job.rungs)
    ]
    argv += ["-filter_complex", ";".join(graph), *_PROGRESS]
    keyframes = ",".join(f"{(cut - 0.5) / rate:.6f}" for cut in job.cuts) or "0"
    frames = ["-segment_frames", ",".join(str(c) for c in job.cuts)] if job.cuts else []
    for i, rung in enumerate(job.rungs):
        settings = codec(rung, rate)
        argv += [
            "-map", f"[v{i}]", "-c:v", "libx264",
            "-b:v", f"{rung.video_kbps}k",
            "-maxrate:v", f"{rung.maxrate_kbps}k",
            "-bufsize:v", f"{rung.bufsize_kbps}k",
            "-profile:v", settings.profile, "-level:v", settings.level.name,
            "-preset", job.preset,
            "-force_key_frames", keyframes, "-sc_threshold", "0",
            "-output_ts_offset", f"{job.start:.6f}",
        ]  # fmt: skip
        argv += _segmenter(frames, job.first_segment, job.lists[i], job.rung_dirs[i])
    return argv


def audio(job: AudioJob) -> list[str]:
    """Arguments that encode the whole first audio track once per rendition (AAC, 48 kHz),
    each cut at the presentation's segment boundaries into its own directory."""
    argv = [*_QUIET, "-i", str(job.source)]
    n = len(job.renditions)
    graph = [f"[0:a:0]asplit={n}" + "".join(f"[a{i}]" for i in range(n))]
    graph += [
        f"[a{i}]aformat=sample_rates=48000:channel_layouts={_LAYOUTS[a.channels]}[ar{i}]"
        for i, a in enumerate(job.renditions)
    ]
    argv += ["-filter_complex", ";".join(graph), *_PROGRESS]
    times = ["-segment_times", ",".join(f"{t:.6f}" for t in job.cuts)] if job.cuts else []
    for i, rendition in enumerate(job.renditions):
        argv += ["-map", f"[ar{i}]", "-c:a", "aac", "-b:a", f"{rendition.kbps}k"]
        argv += _segmenter(times, 0, job.lists[i], job.dirs[i])
    return argv


def thumbnails(source: Path, info: MediaInfo, out_dir: Path) -> list[str]:
    """Arguments that write the poster and the thumbnail sprite, as the single-process argv
    does in its own branches (a chunked job decodes the whole video once more for them)."""
    head = f"{DEINTERLACE}," if info.interlaced else ""
    graph = [f"[0:v]{head}split=2[t0][t1]", *commands.thumbnail_branches(info, "t0", "t1")]
    argv = [*_QUIET, "-i", str(source), "-filter_complex", ";".join(graph), *_PROGRESS]
    return argv + commands.thumbnail_outputs(out_dir)
