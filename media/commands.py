"""Pure builders of ffmpeg argv: nothing here touches a process or the disk."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from media.ladder import Rung
from media.probe import MediaInfo

H264_PROFILE = "high"
H264_LEVEL = "4.0"
CODECS_VIDEO = "avc1.640028"  # High profile (0x64), level 4.0 (0x28): what the argv asks for
CODECS_AUDIO = "mp4a.40.2"  # AAC-LC
PLAYLIST_NAME = "index.m3u8"
SEGMENT_PATTERN = "seg_%05d.ts"


@dataclass(frozen=True, slots=True)
class PackageJob:
    """Everything the packaging argv depends on."""

    source: Path
    out_dir: Path
    info: MediaInfo
    rungs: tuple[Rung, ...]
    segment_duration: float
    preset: str = "veryfast"


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
    """Split the (autorotated) video once and scale it per rung to even dimensions, yuv420p."""
    n = len(job.rungs)
    rate = f"{job.info.frame_rate:.3f}".rstrip("0").rstrip(".")
    parts = [f"[0:v]fps={rate},split={n}" + "".join(f"[s{i}]" for i in range(n))]
    for i, rung in enumerate(job.rungs):
        parts.append(f"[s{i}]scale=-2:{rung.height}:flags=bicubic,format=yuv420p[v{i}]")
    return ";".join(parts)


def package(job: PackageJob) -> list[str]:
    """Arguments for one ffmpeg process that packages every rung into HLS at once.

    Keyframes are forced on segment boundaries so all renditions align (a player can switch at
    any segment); playlists are written as EVENT so they are playable while packaging runs.
    """
    seg = job.segment_duration
    argv = ["-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(job.source)]
    argv += ["-filter_complex", _filter_graph(job)]
    for i, rung in enumerate(job.rungs):
        argv += ["-map", f"[v{i}]"]
        argv += [
            f"-c:v:{i}", "libx264",
            f"-b:v:{i}", f"{rung.video_kbps}k",
            f"-maxrate:v:{i}", f"{rung.maxrate_kbps}k",
            f"-bufsize:v:{i}", f"{rung.bufsize_kbps}k",
        ]  # fmt: skip
        if job.info.has_audio:
            argv += ["-map", "0:a:0", f"-c:a:{i}", "aac", f"-b:a:{i}", f"{rung.audio_kbps}k"]
    argv += ["-preset", job.preset, "-profile:v", H264_PROFILE, "-level:v", H264_LEVEL]
    argv += ["-force_key_frames", f"expr:gte(t,n_forced*{seg})", "-sc_threshold", "0"]
    if job.info.has_audio:
        argv += ["-ac", "2", "-ar", "48000"]
    streams = [
        f"v:{i},a:{i},name:{r.name}" if job.info.has_audio else f"v:{i},name:{r.name}"
        for i, r in enumerate(job.rungs)
    ]
    argv += [
        "-f", "hls",
        "-hls_time", f"{seg:g}",
        "-hls_playlist_type", "event",
        "-hls_flags", "independent_segments+temp_file",
        "-hls_segment_filename", str(job.out_dir / "%v" / SEGMENT_PATTERN),
        "-var_stream_map", " ".join(streams),
        "-progress", "pipe:1", "-nostats",
        str(job.out_dir / "%v" / PLAYLIST_NAME),
    ]  # fmt: skip
    return argv
