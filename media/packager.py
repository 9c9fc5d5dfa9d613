"""Package one input into an HLS ladder, publishing playlists progressively (EVENT → VOD)."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import m3u8

from media import commands, runner, thumbnails
from media.ladder import Rung, ladder_for
from media.probe import MediaInfo
from streaming.hls import MASTER_NAME

_EXTINF = re.compile(r"^#EXTINF:([0-9.]+)", re.M)
PRIVATE_DIR = "_private"  # never matches a servable file name (they start with [A-Za-z0-9])
KEY_FILE = f"{PRIVATE_DIR}/aes.key"


@dataclass(frozen=True, slots=True)
class AesKey:
    """One video's AES-128 key: the raw 16 bytes and the URI players fetch it from."""

    key: bytes
    uri: str


@dataclass(frozen=True, slots=True)
class Rendition:
    """A packaged rung with the figures its master-playlist entry needs."""

    rung: Rung
    width: int
    peak_bps: int
    average_bps: int
    level: str  # the H.264 level the argv asked for, signalled in CODECS


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` in one rename so a reader never sees half a playlist."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def master_playlist(renditions: list[Rendition], frame_rate: float, has_audio: bool) -> str:
    """A multivariant playlist with every attribute Apple's authoring spec requires."""
    playlist = m3u8.M3U8()
    playlist.version = 6
    playlist.is_independent_segments = True
    audio = f",{commands.CODECS_AUDIO}" if has_audio else ""
    # Highest quality first is what ffmpeg does; Apple prefers ~2 Mb/s first, but hls.js and
    # Safari both pick by measured bandwidth so the order is cosmetic.
    for r in renditions:
        playlist.add_playlist(
            m3u8.Playlist(
                uri=f"{r.rung.name}/{commands.PLAYLIST_NAME}",
                stream_info={
                    "bandwidth": r.peak_bps,
                    "average_bandwidth": r.average_bps,
                    "resolution": f"{r.width}x{r.rung.height}",
                    "codecs": commands.codecs_video(r.level) + audio,
                    "frame_rate": round(frame_rate, 3),
                },
                media=[],
                base_uri=None,
            )
        )
    return playlist.dumps()


def _encoded_width(segment: Path) -> int | None:
    """The width ffmpeg actually encoded, read back from a clear-text segment."""
    try:
        with av.open(str(segment)) as container:
            return int(container.streams.video[0].codec_context.width) or None
    except (av.FFmpegError, IndexError, OSError):
        return None  # encrypted segments do not demux; fall back to the computed width


def measure(rung_dir: Path, rung: Rung, info: MediaInfo) -> Rendition:
    """Peak and average bit rates from the segments on disk (or nominal before there are any)."""
    nominal = (rung.maxrate_kbps + (rung.audio_kbps if info.has_audio else 0)) * 1000
    playlist_path = rung_dir / commands.PLAYLIST_NAME
    peak = avg = 0
    width = None
    if playlist_path.exists():
        media = m3u8.loads(playlist_path.read_text(encoding="utf-8"))
        total_bits = total_seconds = 0.0
        for segment in media.segments:
            file = rung_dir / str(segment.uri)
            if not file.exists() or not segment.duration:
                continue
            width = width or _encoded_width(file)
            bits = file.stat().st_size * 8
            total_bits += bits
            total_seconds += segment.duration
            peak = max(peak, int(bits / segment.duration))
        avg = int(total_bits / total_seconds) if total_seconds else 0
    level = commands.h264_level(
        commands.rendition_width(info, rung.height), rung.height, info.frame_rate
    )
    width = width or commands.rendition_width(info, rung.height)
    return Rendition(rung, width, peak or nominal, avg or nominal, level)


def finalize_media_playlist(path: Path) -> None:
    """Turn a finished EVENT playlist into VOD with ENDLIST, atomically."""
    text = path.read_text(encoding="utf-8").replace(
        "#EXT-X-PLAYLIST-TYPE:EVENT", "#EXT-X-PLAYLIST-TYPE:VOD"
    )
    if "#EXT-X-ENDLIST" not in text:
        text = text.rstrip("\n") + "\n#EXT-X-ENDLIST\n"
    write_atomic(path, text)


def _key_info(out_dir: Path, key: AesKey) -> Path:
    """Write the key and ffmpeg's key info file (URI line, key path line) under _private/."""
    private = out_dir / PRIVATE_DIR
    private.mkdir(parents=True, exist_ok=True)
    (out_dir / KEY_FILE).write_bytes(key.key)
    info = private / "keyinfo.txt"
    info.write_text(f"{key.uri}\n{out_dir / KEY_FILE}\n", encoding="utf-8")
    return info


async def package(
    binary: str,
    source: Path,
    out_dir: Path,
    info: MediaInfo,
    segment_duration: float,
    on_progress: Callable[[float], None] | None = None,
    encryption: AesKey | None = None,
) -> list[Rendition]:
    """Package `source` into `out_dir`; the master appears as soon as every rung is playable."""
    rungs = ladder_for(info.display_height)
    for rung in rungs:
        (out_dir / rung.name).mkdir(parents=True, exist_ok=True)
    key_info = _key_info(out_dir, encryption) if encryption else None
    job = commands.PackageJob(source, out_dir, info, rungs, segment_duration, key_info=key_info)
    progressive = asyncio.create_task(_follow(out_dir, rungs, info, on_progress))
    try:
        await runner.run(
            binary, commands.package(job), duration=info.duration, on_progress=on_progress,
            frames=info.duration * info.frame_rate,
        )  # fmt: skip
    finally:
        progressive.cancel()
    if key_info is not None:
        key_info.unlink()
    for rung in rungs:
        finalize_media_playlist(out_dir / rung.name / commands.PLAYLIST_NAME)
    grid = thumbnails.sprite_grid(info.duration, info.display_width, info.display_height)
    write_atomic(out_dir / thumbnails.INDEX_NAME, thumbnails.webvtt_index(grid, info.duration))
    renditions = [measure(out_dir / r.name, r, info) for r in rungs]
    write_atomic(
        out_dir / MASTER_NAME, master_playlist(renditions, info.frame_rate, info.has_audio)
    )
    return renditions


async def _follow(
    out_dir: Path,
    rungs: tuple[Rung, ...],
    info: MediaInfo,
    on_progress: Callable[[float], None] | None,
) -> None:
    """While ffmpeg runs: report progress from the playlists and publish a provisional master
    once every rung lists a segment. (ffmpeg's own -progress stalls until the sprite sheet,
    written at the very end, has produced a frame.)"""
    published = False
    while True:
        playlists = [out_dir / r.name / commands.PLAYLIST_NAME for r in rungs]
        texts = [p.read_text(encoding="utf-8") if p.exists() else "" for p in playlists]
        if on_progress and info.duration > 0:
            # A regex, not a playlist parser: this runs five times a second on long playlists.
            packaged = min(sum(float(d) for d in _EXTINF.findall(text)) for text in texts)
            on_progress(min(0.99, packaged / info.duration))
        if not published and all("#EXTINF" in text for text in texts):
            renditions = [measure(out_dir / r.name, r, info) for r in rungs]
            text = master_playlist(renditions, info.frame_rate, info.has_audio)
            write_atomic(out_dir / MASTER_NAME, text)
            published = True
        await asyncio.sleep(0.2)
