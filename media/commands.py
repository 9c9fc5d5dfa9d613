"""Pure builders of ffmpeg argv: nothing here touches a process or the disk."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from media import h264, thumbnails
from media.ladder import AudioRendition, Rung, codec
from media.probe import MediaInfo
from streaming.hls import Container

H264_PROFILE = "high"  # live channels; VOD rungs get theirs from media.h264
CODECS_AUDIO = "mp4a.40.2"  # AAC-LC, stereo and 5.1 alike
# Bob-weaver deinterlacing, one frame out per frame in (the frame rate stays the source's).
DEINTERLACE = "bwdif=mode=send_frame:parity=auto:deint=all"
PLAYLIST_NAME = "index.m3u8"
SEGMENT_PATTERN = "seg_%05d.ts"
FMP4_SEGMENT_PATTERN = "seg_%05d.m4s"
# ffmpeg names the init segment of each variant stream from this (%v: the stream's name).
FMP4_INIT_PATTERN = "init_%v.mp4"
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
    # Separate audio renditions (multichannel sources); () muxes stereo into every rung.
    audio: tuple[AudioRendition, ...] = ()
    container: Container = Container.TS
    # Where the HLS outputs go when not `out_dir` (fMP4 + AES-128: a private staging area that
    # media.packager encrypts from, since ffmpeg cannot encrypt fMP4).
    media_dir: Path | None = None


def init_name(stream: str) -> str:
    """The fMP4 init segment ffmpeg writes beside a stream's playlist (EXT-X-MAP's URI)."""
    return FMP4_INIT_PATTERN.replace("%v", stream)


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
    container: Container = Container.TS
    # fMP4 only: where the separate audio stream is segmented (one track per file, as in CMAF).
    audio_dir: Path | None = None


# Self-contained fMP4 files, one fragment each (media.cmaf splits off the init segment).
LIVE_MP4_OPTIONS = "movflags=+empty_moov+default_base_moof+skip_trailer:frag_duration=60000000"


def _live_segments(job: LiveJob, out: Path, fmp4: bool) -> list[str]:
    """The segment muxer: numbered from epoch/duration, listed with wall-clock end times."""
    seg = job.segment_duration
    if fmp4:
        muxer = ["-segment_format", "mp4", "-segment_format_options", LIVE_MP4_OPTIONS]
    else:
        # One continuous TS cut into files (continuity counters run on across segments, as
        # players reading the playlist expect); PAT/PMT precede every keyframe anyway.
        muxer = ["-segment_format", "mpegts", "-individual_header_trailer", "0"]
    return [
        "-output_ts_offset", str(job.epoch_start),
        "-f", "segment", *muxer,
        "-segment_time", str(seg),
        "-segment_start_number", str(job.epoch_start // seg),
        "-segment_list", str(out / LIVE_LIST_NAME), "-segment_list_type", "csv",
        str(out / ("chunk_%d.mp4" if fmp4 else "chunk_%d.ts")),
    ]  # fmt: skip


def h264_level(width: int, height: int, frame_rate: float) -> str:
    """The lowest H.264 High level covering a live rendition's size and rate (1080p60: 4.2)."""
    level = h264.level_for(width, height, frame_rate)
    return (level or h264.LEVELS[-1]).name


def codecs_video(level: str, profile: str = H264_PROFILE) -> str:
    """The RFC 6381 CODECS value for H.264 `profile` at `level` ("4.0": avc1.640028)."""
    return h264.H264(profile, h264.BY_NAME[level]).codecs


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
    channels: int = 1,
    interlaced: bool = False,
) -> list[str]:
    """Arguments that synthesize a test clip (lavfi test pattern + tone) into `out`.

    Portrait is just `width` < `height`. `channels=6` makes 5.1 audio, a different tone per
    channel; `interlaced` weaves twice as many frames into top-field-first H.264 fields,
    which the stream then flags (field order "tt").
    """
    fields = rate * 2 if interlaced else rate
    argv = ["-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
    video = f"testsrc2=size={width}x{height}:rate={fields}:duration={seconds}"
    argv += ["-f", "lavfi", "-i", video]
    if audio and channels == 6:
        tones = "|".join(f"0.2*sin({hz}*2*PI*t)" for hz in (440, 550, 660, 55, 770, 880))
        source = f"aevalsrc={tones}:c=5.1:s=48000:d={seconds}"
        argv += ["-f", "lavfi", "-i", source]
    elif audio:
        argv += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
    argv += ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", str(rate)]
    if interlaced:
        argv += ["-vf", "interlace=scan=tff", "-flags", "+ildct+ilme"]
        argv += ["-x264-params", "interlaced=1:tff=1"]
    if audio:
        argv += ["-c:a", "aac", "-b:a", "256k" if channels == 6 else "96k", "-shortest"]
    argv += ["-movflags", "+faststart", str(out)]
    return argv


def _filter_graph(job: PackageJob) -> str:
    """Split the (autorotated) video once and scale it per rung to even dimensions, yuv420p.

    Interlaced sources are deinterlaced first. Constant frame rate (`fps`) makes VFR sources
    segment evenly; `format` turns 4:2:2 or 10-bit sources into the 8-bit 4:2:0 every player
    decodes; `setsar=1` gives square pixels at the planned size (anamorphic sources too). Two
    more branches feed the poster and the thumbnail sprite, so the source is decoded once.
    Multichannel audio is split into the stereo downmix and the 5.1 rendition.
    """
    n = len(job.rungs)
    rate = f"{job.info.frame_rate:.3f}".rstrip("0").rstrip(".")
    branches = n + (2 if job.thumbnails else 0)
    head = f"{DEINTERLACE}," if job.info.interlaced else ""
    parts = [
        f"[0:v]{head}fps={rate},split={branches}" + "".join(f"[s{i}]" for i in range(branches))
    ]
    for i, rung in enumerate(job.rungs):
        parts.append(
            f"[s{i}]scale={rung.width}:{rung.height}:flags=bicubic,setsar=1,format=yuv420p[v{i}]"
        )
    if job.thumbnails:
        parts += thumbnail_branches(job.info, f"s{n}", f"s{n + 1}")
    if job.audio:
        labels = "".join(f"[a{i}]" for i in range(len(job.audio)))
        parts.append(f"[0:a:0]asplit={len(job.audio)}{labels}")
        parts += [
            f"[a{i}]aformat=sample_rates=48000:channel_layouts={_LAYOUTS[a.channels]}[ar{i}]"
            for i, a in enumerate(job.audio)
        ]
    return ";".join(parts)


_LAYOUTS = {2: "stereo", 6: "5.1"}


def thumbnail_branches(info: MediaInfo, poster_in: str, sprite_in: str) -> list[str]:
    """Filter graph branches from two video labels to [poster] and [sprite]."""
    grid = thumbnails.sprite_grid(info.duration, info.display_width, info.display_height)
    at = thumbnails.poster_time(info.duration)
    return [
        f"[{poster_in}]trim=start={at},setpts=PTS-STARTPTS,"
        f"scale=-2:{thumbnails.poster_height(info.display_height)},format=yuvj420p[poster]",
        # The first frame, then one per interval: never zero frames, even for a short clip
        # (an output that receives no frame fails the whole ffmpeg run).
        f"[{sprite_in}]select='isnan(prev_selected_t)+gte(t-prev_selected_t,{grid.interval:g})',"
        f"scale={grid.tile_width}:{grid.tile_height},"
        f"tile={grid.columns}x{grid.rows},format=yuvj420p[sprite]",
    ]


def thumbnail_outputs(out_dir: Path) -> list[str]:
    """The poster and sprite outputs of the [poster] and [sprite] branches."""
    return _image("poster", out_dir / thumbnails.POSTER_NAME) + _image(
        "sprite", out_dir / thumbnails.SPRITE_NAME
    )


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


def _hls(job: PackageJob, hls_time: float, streams: list[str]) -> list[str]:
    """One HLS muxer output: EVENT playlists, one directory per stream, AES-128 if asked;
    fMP4 writes an init segment per stream (EXT-X-MAP) and .m4s media segments."""
    fmp4 = job.container is Container.FMP4
    root = job.media_dir or job.out_dir
    argv = [
        "-f", "hls",
        "-hls_time", f"{hls_time:.6g}",
        "-hls_playlist_type", "event",
        "-hls_flags", "independent_segments+temp_file",
        "-hls_segment_filename",
        str(root / "%v" / (FMP4_SEGMENT_PATTERN if fmp4 else SEGMENT_PATTERN)),
        "-var_stream_map", " ".join(streams),
    ]  # fmt: skip
    if fmp4:
        # ffmpeg substitutes %v only when an output has two or more variant streams.
        single = streams[0].rsplit("name:", 1)[-1] if len(streams) == 1 else None
        init = init_name(single) if single else FMP4_INIT_PATTERN
        argv += ["-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", init]
    if job.key_info is not None:
        argv += ["-hls_key_info_file", str(job.key_info)]
    return argv + [str(root / "%v" / PLAYLIST_NAME)]


def package(job: PackageJob) -> list[str]:
    """Arguments for one ffmpeg process that packages every rung into HLS at once.

    Keyframes are forced on segment boundaries so all renditions align (a player can switch at
    any segment); playlists are written as EVENT so they are playable while packaging runs.
    The muxer cuts at the first keyframe past each multiple of the startup length, so after
    the short startup segments every cut falls on a full segment boundary. Each rung gets the
    H.264 profile and level media.h264 computes for it, which the master's CODECS repeats.

    Separate audio renditions go to a second HLS output cut at the full segment duration: an
    audio-only stream is cut at every multiple of the muxer's hls_time, so sharing the video's
    ~1 s startup length would make every audio segment ~1 s long.
    """
    seg = job.segment_duration
    _, startup = startup_cuts(seg)
    muxed = job.info.has_audio and not job.audio
    argv = ["-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", str(job.source)]
    argv += ["-filter_complex", _filter_graph(job)]
    argv += ["-progress", "pipe:1", "-stats_period", "0.25", "-nostats"]
    for i, rung in enumerate(job.rungs):
        settings = codec(rung, job.info.frame_rate)
        argv += ["-map", f"[v{i}]"]
        argv += [
            f"-c:v:{i}", "libx264",
            f"-b:v:{i}", f"{rung.video_kbps}k",
            f"-maxrate:v:{i}", f"{rung.maxrate_kbps}k",
            f"-bufsize:v:{i}", f"{rung.bufsize_kbps}k",
            f"-profile:v:{i}", settings.profile,
            f"-level:v:{i}", settings.level.name,
        ]  # fmt: skip
        if muxed:
            argv += ["-map", "0:a:0", f"-c:a:{i}", "aac", f"-b:a:{i}", f"{rung.audio_kbps}k"]
    argv += ["-preset", job.preset]
    argv += ["-force_key_frames", keyframe_times(seg), "-sc_threshold", "0"]
    if muxed:
        argv += ["-ac", "2", "-ar", "48000"]
    streams = [
        f"v:{i},a:{i},name:{r.name}" if muxed else f"v:{i},name:{r.name}"
        for i, r in enumerate(job.rungs)
    ]
    argv += _hls(job, startup, streams)
    if job.audio:
        for i, audio in enumerate(job.audio):
            argv += ["-map", f"[ar{i}]", f"-c:a:{i}", "aac", f"-b:a:{i}", f"{audio.kbps}k"]
        argv += _hls(job, seg, [f"a:{i},name:{a.name}" for i, a in enumerate(job.audio)])
    if job.thumbnails:
        argv += thumbnail_outputs(job.out_dir)
    return argv


def live(job: LiveJob) -> list[str]:
    """Arguments for one real-time ffmpeg process that segments a channel per rung.

    Output timestamps are wall-clock seconds (`-output_ts_offset`), keyframes fall on every
    multiple of the segment duration and the segment muxer numbers from epoch/duration, so
    segment N covers [N*d, (N+1)*d) of wall time on every origin that runs the channel.
    `-progress pipe:1` makes ffmpeg die of SIGPIPE if its origin is killed, not linger.

    fMP4 rungs carry video only and the audio is one more output into `audio_dir`, each a
    self-contained MP4 per segment whose decode times media.cmaf moves onto the wall clock.
    """
    seg, rate = job.segment_duration, job.frame_rate
    tallest = job.rungs[0].height
    argv = ["-hide_banner", "-nostdin", "-loglevel", "error"]
    argv += ["-progress", "pipe:1", "-stats_period", "1", "-nostats"]
    inputs, audio = live_inputs(job.source, tallest, rate)
    argv += inputs + live_scaler(job.rungs, rate)
    fmp4 = job.container is Container.FMP4
    for i, (rung, out) in enumerate(zip(job.rungs, job.out_dirs, strict=True)):
        argv += ["-map", f"[v{i}]"]
        if job.has_audio and not fmp4:
            argv += ["-map", audio, *live_aac(rung.audio_kbps)]
        argv += live_x264(rung, job.preset, seg, rate)
        argv += _live_segments(job, out, fmp4)
    if fmp4 and job.has_audio and job.audio_dir is not None:
        argv += ["-map", audio, *live_aac(job.rungs[0].audio_kbps)]
        argv += _live_segments(job, job.audio_dir, fmp4)
    return argv


# The pieces of a live encode that classic (`live`) and LL-HLS (`media.ll_commands`) channels
# share, so both put keyframes and rungs the same way.


def live_inputs(source: str, tallest: int, rate: int) -> tuple[list[str], str]:
    """(input arguments read in real time, the audio stream to map) of a live source: the test
    pattern plus a tone, or a file looped forever."""
    if source == "testsrc":
        size = f"{live_width(tallest)}x{tallest}"
        argv = ["-re", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}"]
        argv += ["-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
        return argv, "1:a:0"
    return ["-re", "-stream_loop", "-1", "-i", source], "0:a:0"


def live_scaler(rungs: Sequence[Rung], rate: int) -> list[str]:
    """A filter graph splitting the source video at `rate` into [v<i>], one per rung."""
    n = len(rungs)
    graph = [f"[0:v]fps={rate},split={n}" + "".join(f"[s{i}]" for i in range(n))]
    graph += [f"[s{i}]scale=-2:{r.height},format=yuv420p[v{i}]" for i, r in enumerate(rungs)]
    return ["-filter_complex", ";".join(graph)]


def live_aac(kbps: int) -> list[str]:
    """A live rung's stereo 48 kHz AAC encode."""
    return ["-c:a", "aac", "-b:a", f"{kbps}k", "-ac", "2", "-ar", "48000"]


def live_x264(
    rung: Rung, preset: str, seg: int, rate: int, tune: tuple[str, ...] = ()
) -> list[str]:
    """A live rung's x264 encode: a keyframe on every multiple of the segment duration `seg`
    of the run's clock and none elsewhere (`tune`: extra -tune arguments after the preset)."""
    gop = str(seg * rate)
    return [
        "-c:v", "libx264", "-preset", preset, *tune,
        "-profile:v", H264_PROFILE,
        "-level:v", h264_level(live_width(rung.height), rung.height, rate),
        "-b:v", f"{rung.video_kbps}k", "-maxrate", f"{rung.maxrate_kbps}k",
        "-bufsize", f"{rung.bufsize_kbps}k",
        "-g", gop, "-keyint_min", gop, "-sc_threshold", "0",
        "-force_key_frames", f"expr:gte(t,n_forced*{seg})",
    ]  # fmt: skip
