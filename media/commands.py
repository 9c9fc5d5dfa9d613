"""Pure builders of ffmpeg argv: nothing here touches a process or the disk."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from media import thumbnails
from media.ladder import Rung
from media.probe import MediaInfo

H264_PROFILE = "high"
# (level, max frame size in macroblocks, max macroblocks per second), ITU-T H.264 Table A-1
H264_LEVELS = (("4.0", 8192, 245_760), ("4.2", 8704, 522_240), ("5.1", 36_864, 983_040))
CODECS_AUDIO = "mp4a.40.2"  # AAC-LC
PLAYLIST_NAME = "index.m3u8"
SEGMENT_PATTERN = "seg_%05d.ts"
LIVE_LIST_NAME = "segments.csv"


@dataclass(frozen=True, slots=True)
class PackageJob:
    """Everything the packaging argv depends on."""

    source: Path
    out_dir: Path
    info: MediaInfo
    rungs: tuple[Rung, ...]
    segment_duration: float
    preset: str = "veryfast"
    # AES-128: ffmpeg's key info file (key URI, key file path); None packages in the clear.
    key_info: Path | None = None
    thumbnails: bool = True


@dataclass(frozen=True, slots=True)
class LiveJob:
    """Everything a live channel's argv depends on."""

    source: str  # "testsrc" or a file, looped
    has_audio: bool
    out_dirs: tuple[Path, ...]  # one per rung, where the segment muxer writes
    rungs: tuple[Rung, ...]
    segment_duration: int
    frame_rate: int
    epoch_start: int  # wall-clock second of the first frame, a multiple of segment_duration
    preset: str = "superfast"


def h264_level(width: int, height: int, frame_rate: float) -> str:
    """The lowest listed level whose limits cover a rendition (1080p above 30 fps needs 4.2)."""
    macroblocks = math.ceil(width / 16) * math.ceil(height / 16)
    for level, max_frame, max_rate in H264_LEVELS:
        if macroblocks <= max_frame and macroblocks * frame_rate <= max_rate:
            return level
    return H264_LEVELS[-1][0]


def codecs_video(level: str) -> str:
    """The RFC 6381 CODECS value for H.264 High at `level`: avc1.64 + 00 + level × 10 in hex."""
    return f"avc1.6400{round(float(level) * 10):02x}"


def rendition_width(info: MediaInfo, height: int) -> int:
    """The even width `scale=-2:height` gives for the (rotated) display aspect."""
    return max(2, round(info.display_width * height / info.display_height / 2) * 2)


def live_width(height: int) -> int:
    """Live renditions are sized and signalled as 16:9."""
    return height * 16 // 9 // 2 * 2


def sample_clip(
    out: Path,
    *,
    seconds: float = 4,
    width: int = 320,
    height: int = 180,
    rate: int = 25,
    audio: bool = True,
) -> list[str]:
    """Arguments that synthesize a test clip (lavfi test pattern + tone) into `out`."""
    argv = ["-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    argv += ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={rate}:duration={seconds}"]
    if audio:
        argv += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
    argv += ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", str(rate)]
    if audio:
        argv += ["-c:a", "aac", "-b:a", "96k", "-shortest"]
    argv += ["-movflags", "+faststart", str(out)]
    return argv


def _filter_graph(job: PackageJob) -> str:
    """Split the (autorotated) video once and scale it per rung to even dimensions, yuv420p.

    Constant frame rate (`fps`) makes VFR sources segment evenly; `format` turns 4:2:2 or
    10-bit sources into the 8-bit 4:2:0 every player decodes. Two more branches feed the
    poster and the thumbnail sprite, so the source is decoded once.
    """
    n = len(job.rungs)
    rate = f"{job.info.frame_rate:.3f}".rstrip("0").rstrip(".")
    branches = n + (2 if job.thumbnails else 0)
    parts = [f"[0:v]fps={rate},split={branches}" + "".join(f"[s{i}]" for i in range(branches))]
    for i, rung in enumerate(job.rungs):
        parts.append(f"[s{i}]scale=-2:{rung.height}:flags=bicubic,format=yuv420p[v{i}]")
    if job.thumbnails:
        grid = thumbnails.sprite_grid(
            job.info.duration, job.info.display_width, job.info.display_height
        )
        at = thumbnails.poster_time(job.info.duration)
        parts.append(
            f"[s{n}]trim=start={at},setpts=PTS-STARTPTS,"
            f"scale=-2:{thumbnails.poster_height(job.info.display_height)},format=yuvj420p[poster]"
        )
        parts.append(
            # The first frame, then one per interval: never zero frames, even for a short clip
            # (an output that receives no frame fails the whole ffmpeg run).
            f"[s{n + 1}]select='isnan(prev_selected_t)+gte(t-prev_selected_t,{grid.interval:g})',"
            f"scale={grid.tile_width}:{grid.tile_height},"
            f"tile={grid.columns}x{grid.rows},format=yuvj420p[sprite]"
        )
    return ";".join(parts)


def _image(label: str, out: Path) -> list[str]:
    """One JPEG written once, renamed into place so no reader sees half of it."""
    return [
        "-map", f"[{label}]", "-frames:v", "1", "-c:v", "mjpeg", "-q:v", "4",
        "-f", "image2", "-update", "1", "-atomic_writing", "1", str(out),
    ]  # fmt: skip


def startup_cuts(segment_duration: float) -> tuple[int, float]:
    """How the first segment's worth of video is cut: (count, length) of short startup segments.

    A player can start once the first segment exists; cutting the first `segment_duration`
    seconds into ~1 s pieces makes that about one second of encoding instead of a whole
    segment. Later segments are full length (the target duration stays `segment_duration`).
    """
    count = max(1, math.ceil(segment_duration - 1e-9))
    return count, segment_duration / count


def keyframe_times(segment_duration: float) -> str:
    """An ffmpeg `-force_key_frames` expression: every startup cut, then every segment."""
    count, length = startup_cuts(segment_duration)
    return (
        f"expr:gte(t,if(lt(n_forced,{count}),n_forced*{length:.6g},"
        f"(n_forced-{count}+1)*{segment_duration:g}))"
    )


def package(job: PackageJob) -> list[str]:
    """Arguments for one ffmpeg process that packages every rung into HLS at once.

    Keyframes are forced on segment boundaries so all renditions align (a player can switch at
    any segment); playlists are written as EVENT so they are playable while packaging runs.
    The muxer cuts at the first keyframe past each multiple of the startup length, so after
    the short startup segments every cut falls on a full segment boundary.
    """
    seg = job.segment_duration
    _, startup = startup_cuts(seg)
    argv = ["-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(job.source)]
    argv += ["-filter_complex", _filter_graph(job)]
    for i, rung in enumerate(job.rungs):
        argv += ["-map", f"[v{i}]"]
        argv += [
            f"-c:v:{i}", "libx264",
            f"-b:v:{i}", f"{rung.video_kbps}k",
            f"-maxrate:v:{i}", f"{rung.maxrate_kbps}k",
            f"-bufsize:v:{i}", f"{rung.bufsize_kbps}k",
            f"-level:v:{i}", h264_level(
                rendition_width(job.info, rung.height), rung.height, job.info.frame_rate
            ),
        ]  # fmt: skip
        if job.info.has_audio:
            argv += ["-map", "0:a:0", f"-c:a:{i}", "aac", f"-b:a:{i}", f"{rung.audio_kbps}k"]
    argv += ["-preset", job.preset, "-profile:v", H264_PROFILE]
    argv += ["-force_key_frames", keyframe_times(seg), "-sc_threshold", "0"]
    if job.info.has_audio:
        argv += ["-ac", "2", "-ar", "48000"]
    streams = [
        f"v:{i},a:{i},name:{r.name}" if job.info.has_audio else f"v:{i},name:{r.name}"
        for i, r in enumerate(job.rungs)
    ]
    argv += [
        "-f", "hls",
        "-hls_time", f"{startup:.6g}",
        "-hls_playlist_type", "event",
        "-hls_flags", "independent_segments+temp_file",
        "-hls_segment_filename", str(job.out_dir / "%v" / SEGMENT_PATTERN),
        "-var_stream_map", " ".join(streams),
    ]  # fmt: skip
    if job.key_info is not None:
        argv += ["-hls_key_info_file", str(job.key_info)]
    argv += ["-progress", "pipe:1", "-stats_period", "0.25", "-nostats"]
    argv += [str(job.out_dir / "%v" / PLAYLIST_NAME)]
    if job.thumbnails:
        argv += _image("poster", job.out_dir / thumbnails.POSTER_NAME)
        argv += _image("sprite", job.out_dir / thumbnails.SPRITE_NAME)
    return argv


def live(job: LiveJob) -> list[str]:
    """Arguments for one real-time ffmpeg process that segments a channel per rung.

    Output timestamps are wall-clock seconds (`-output_ts_offset`), keyframes fall on every
    multiple of the segment duration and the segment muxer numbers from epoch/duration, so
    segment N covers [N*d, (N+1)*d) of wall time on every origin that runs the channel.
    `-progress pipe:1` makes ffmpeg die of SIGPIPE if its origin is killed, not linger.
    """
    seg, rate = job.segment_duration, job.frame_rate
    tallest = job.rungs[0].height
    argv = ["-hide_banner", "-nostdin", "-loglevel", "error"]
    argv += ["-progress", "pipe:1", "-stats_period", "1", "-nostats"]
    if job.source == "testsrc":
        size = f"{live_width(tallest)}x{tallest}"
        argv += ["-re", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}"]
        argv += ["-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
        audio = "1:a:0"
    else:
        argv += ["-re", "-stream_loop", "-1", "-i", job.source]
        audio = "0:a:0"
    n = len(job.rungs)
    graph = [f"[0:v]fps={rate},split={n}" + "".join(f"[s{i}]" for i in range(n))]
    graph += [f"[s{i}]scale=-2:{r.height},format=yuv420p[v{i}]" for i, r in enumerate(job.rungs)]
    argv += ["-filter_complex", ";".join(graph)]
    gop = str(seg * rate)
    for i, (rung, out) in enumerate(zip(job.rungs, job.out_dirs, strict=True)):
        argv += ["-map", f"[v{i}]"]
        if job.has_audio:
            argv += [
                "-map",
                audio,
                "-c:a",
                "aac",
                "-b:a",
                f"{rung.audio_kbps}k",
                "-ac",
                "2",
                "-ar",
                "48000",
            ]
        argv += [
            "-c:v", "libx264", "-preset", job.preset,
            "-profile:v", H264_PROFILE,
            "-level:v", h264_level(live_width(rung.height), rung.height, rate),
            "-b:v", f"{rung.video_kbps}k", "-maxrate", f"{rung.maxrate_kbps}k",
            "-bufsize", f"{rung.bufsize_kbps}k",
            "-g", gop, "-keyint_min", gop, "-sc_threshold", "0",
            "-force_key_frames", f"expr:gte(t,n_forced*{seg})",
            "-output_ts_offset", str(job.epoch_start),
            # One continuous TS cut into files (continuity counters run on across segments, as
            # players reading the playlist expect); PAT/PMT precede every keyframe anyway.
            "-f", "segment", "-segment_format", "mpegts", "-individual_header_trailer", "0",
            "-segment_time", str(seg),
            "-segment_start_number", str(job.epoch_start // seg),
            "-segment_list", str(out / LIVE_LIST_NAME), "-segment_list_type", "csv",
            str(out / "chunk_%d.ts"),
        ]  # fmt: skip
    return argv
