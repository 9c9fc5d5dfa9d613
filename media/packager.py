"""Package one input into an HLS ladder, publishing playlists progressively (EVENT → VOD)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import m3u8

from media import commands, dash, runner, segment_aes, thumbnails
from media.ladder import (
    AUDIO_GROUP,
    FULL_LADDER,
    STEREO,
    AudioRendition,
    Rung,
    audio_for,
    codec,
    plan,
)
from media.probe import MediaInfo
from streaming.config import LadderRung
from streaming.hls import MASTER_NAME, MPD_NAME, Container

_EXTINF = re.compile(r"^#EXTINF:([0-9.]+)", re.M)
PRIVATE_DIR = "_private"  # never matches a servable file name (they start with [A-Za-z0-9])
KEY_FILE = f"{PRIVATE_DIR}/aes.key"
STAGING_DIR = f"{PRIVATE_DIR}/staging"  # fMP4 + AES-128: packaged in the clear, never served


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
    level: str  # the H.264 level and profile the argv asked for, signalled in CODECS
    profile: str = commands.H264_PROFILE


@dataclass(frozen=True, slots=True)
class AudioTrack:
    """A packaged separate audio rendition with its measured bit rates."""

    audio: AudioRendition
    peak_bps: int
    average_bps: int


def write_atomic(path: Path, text: str) -> None:
    """Replace `path` in one rename so a reader never sees half a playlist."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def master_playlist(
    renditions: list[Rendition],
    frame_rate: float,
    has_audio: bool,
    audio: list[AudioTrack] | None = None,
    version: int = 6,
) -> str:
    """A multivariant playlist with every attribute Apple's authoring spec requires.

    With separate `audio` renditions every variant names their group (AUDIO=...) and its
    BANDWIDTH counts the largest of them; stereo is the DEFAULT, so a player that cannot
    play 5.1 (or never looks at CHANNELS) plays stereo. fMP4 media playlists (EXT-X-MAP) are
    version 7, and so is their master.
    """
    playlist = m3u8.M3U8()
    playlist.version = version
    playlist.is_independent_segments = True
    for track in audio or ():
        default = "YES" if track.audio == STEREO else "NO"
        playlist.add_media(
            m3u8.Media(
                uri=f"{track.audio.name}/{commands.PLAYLIST_NAME}",
                type="AUDIO",
                group_id=AUDIO_GROUP,
                name=track.audio.label,
                default=default,
                autoselect="YES",
                channels=str(track.audio.channels),
            )
        )
    extra_peak = max((t.peak_bps for t in audio or ()), default=0)
    extra_average = max((t.average_bps for t in audio or ()), default=0)
    codecs_audio = f",{commands.CODECS_AUDIO}" if has_audio else ""
    # Highest quality first is what ffmpeg does; Apple prefers ~2 Mb/s first, but hls.js and
    # Safari both pick by measured bandwidth so the order is cosmetic.
    for r in renditions:
        stream_info: dict[str, object] = {
            "bandwidth": r.peak_bps + extra_peak,
            "average_bandwidth": r.average_bps + extra_average,
            "resolution": f"{r.width}x{r.rung.height}",
            "codecs": commands.codecs_video(r.level, r.profile) + codecs_audio,
            "frame_rate": round(frame_rate, 3),
        }
        if audio:
            stream_info["audio"] = AUDIO_GROUP
        playlist.add_playlist(
            m3u8.Playlist(
                uri=f"{r.rung.name}/{commands.PLAYLIST_NAME}",
                stream_info=stream_info,
                media=playlist.media,
                base_uri=None,
            )
        )
    return playlist.dumps()


def _bit_rates(directory: Path) -> tuple[int, int]:
    """(peak, average) bit/s of the segments a rendition's playlist lists, 0 before any."""
    playlist_path = directory / commands.PLAYLIST_NAME
    if not playlist_path.exists():
        return 0, 0
    media = m3u8.loads(playlist_path.read_text(encoding="utf-8"))
    peak = 0
    total_bits = total_seconds = 0.0
    for segment in media.segments:
        file = directory / str(segment.uri)
        if not file.exists() or not segment.duration:
            continue
        bits = file.stat().st_size * 8
        total_bits += bits
        total_seconds += segment.duration
        peak = max(peak, int(bits / segment.duration))
    return peak, int(total_bits / total_seconds) if total_seconds else 0


def measure(rung_dir: Path, rung: Rung, info: MediaInfo, muxed_audio: bool = True) -> Rendition:
    """Peak and average bit rates from the segments on disk (or nominal before there are any)."""
    audio = rung.audio_kbps if info.has_audio and muxed_audio else 0
    nominal = (rung.maxrate_kbps + audio) * 1000
    peak, average = _bit_rates(rung_dir)
    settings = codec(rung, info.frame_rate)
    return Rendition(
        rung, rung.width, peak or nominal, average or nominal, settings.level.name,
        settings.profile,
    )  # fmt: skip


def measure_audio(directory: Path, audio: AudioRendition) -> AudioTrack:
    """Bit rates of a separate audio rendition (nominal before it has segments)."""
    peak, average = _bit_rates(directory)
    nominal = audio.kbps * 1000
    return AudioTrack(audio, peak or nominal, average or nominal)


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
    ladder: tuple[LadderRung, ...] = FULL_LADDER,
    container: Container = Container.TS,
) -> list[Rendition]:
    """Package `source` into `out_dir`; the master appears as soon as every rung is playable.

    fMP4 videos also get `manifest.mpd` over the same segments, written once packaging is done
    (a static MPD needs every duration) and before the final master. fMP4 with AES-128 is
    packaged under _private/ and encrypted here (ffmpeg cannot), so it is published whole at
    the end, not progressively; it gets no MPD (DASH has no whole-segment encryption).
    """
    staged = container is Container.FMP4 and encryption is not None
    layout = _Layout(
        out_dir,
        info,
        plan(info.display_width, info.display_height, info.frame_rate, ladder),
        audio_for(info.has_audio, info.audio_channels, container),
        container,
        out_dir / STAGING_DIR if staged else None,
    )
    for directory in (*layout.directories, *layout.sources):
        directory.mkdir(parents=True, exist_ok=True)
    key_info = _key_info(out_dir, encryption) if encryption else None
    job = commands.PackageJob(
        source, out_dir, info, layout.rungs, segment_duration,
        key_info=None if staged else key_info, audio=layout.audio, container=container,
        media_dir=layout.staging,
    )  # fmt: skip
    progressive = asyncio.create_task(_follow(layout, on_progress))
    try:
        await runner.run(
            binary, commands.package(job), duration=info.duration, on_progress=on_progress,
            frames=info.duration * info.frame_rate,
        )  # fmt: skip
    finally:
        progressive.cancel()
    if key_info is not None:
        key_info.unlink()
    if staged and encryption is not None:
        for source_dir, directory in zip(layout.sources, layout.directories, strict=True):
            segment_aes.publish_encrypted(source_dir, directory, encryption.key, encryption.uri)
        shutil.rmtree(out_dir / STAGING_DIR)
    for directory in layout.directories:
        finalize_media_playlist(directory / commands.PLAYLIST_NAME)
    grid = thumbnails.sprite_grid(info.duration, info.display_width, info.display_height)
    write_atomic(out_dir / thumbnails.INDEX_NAME, thumbnails.webvtt_index(grid, info.duration))
    renditions = layout.measure()
    if container is Container.FMP4 and encryption is None:
        write_atomic(out_dir / MPD_NAME, layout.mpd(renditions, segment_duration))
    write_atomic(out_dir / MASTER_NAME, layout.master(renditions))
    return renditions


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where a video's renditions go and how its master describes them."""

    out_dir: Path
    info: MediaInfo
    rungs: tuple[Rung, ...]
    audio: tuple[AudioRendition, ...]
    container: Container = Container.TS
    staging: Path | None = None  # where ffmpeg writes the streams, when not the served dirs

    @property
    def directories(self) -> list[Path]:
        return [self.out_dir / r.name for r in self.rungs] + [
            self.out_dir / a.name for a in self.audio
        ]

    @property
    def sources(self) -> list[Path]:
        """Where ffmpeg writes each stream's playlist and segments."""
        if self.staging is None:
            return self.directories
        return [self.staging / d.name for d in self.directories]

    def measure(self) -> list[Rendition]:
        muxed = not self.audio
        return [measure(self.out_dir / r.name, r, self.info, muxed) for r in self.rungs]

    def master(self, renditions: list[Rendition]) -> str:
        tracks = [measure_audio(self.out_dir / a.name, a) for a in self.audio]
        version = 7 if self.container is Container.FMP4 else 6
        return master_playlist(
            renditions, self.info.frame_rate, self.info.has_audio, tracks, version
        )

    def mpd(self, renditions: list[Rendition], segment_duration: float) -> str:
        """The static DASH manifest over the packaged fMP4 streams."""
        video = [
            dash.Representation(
                id=r.rung.name,
                bandwidth=r.peak_bps,
                codecs=commands.codecs_video(r.level, r.profile),
                timeline=dash.stream_timeline(self.out_dir / r.rung.name),
                width=r.width,
                height=r.rung.height,
                frame_rate=self.info.frame_rate,
            )
            for r in renditions
        ]
        tracks = [measure_audio(self.out_dir / a.name, a) for a in self.audio]
        audio = [
            dash.Representation(
                id=t.audio.name,
                bandwidth=t.peak_bps,
                codecs=commands.CODECS_AUDIO,
                timeline=dash.stream_timeline(self.out_dir / t.audio.name),
                channels=t.audio.channels,
            )
            for t in tracks
        ]
        return dash.vod_mpd(video, audio, segment_duration)


async def _follow(layout: _Layout, on_progress: Callable[[float], None] | None) -> None:
    """While ffmpeg runs: report progress from the playlists and publish a provisional master
    once every rendition lists a segment. (ffmpeg's own -progress stalls until the sprite
    sheet, written at the very end, has produced a frame.)"""
    published = False
    info = layout.info
    video = len(layout.rungs)
    while True:
        playlists = [d / commands.PLAYLIST_NAME for d in layout.sources]
        texts = [p.read_text(encoding="utf-8") if p.exists() else "" for p in playlists]
        if on_progress and info.duration > 0:
            # A regex, not a playlist parser: this runs five times a second on long playlists.
            # Video only: separate audio is cut in whole segments, so it lags behind.
            packaged = min(sum(float(d) for d in _EXTINF.findall(text)) for text in texts[:video])
            on_progress(min(0.99, packaged / info.duration))
        # A staged video (encrypted at the end) has nothing servable until then.
        if not published and layout.staging is None and all("#EXTINF" in t for t in texts):
            write_atomic(layout.out_dir / MASTER_NAME, layout.master(layout.measure()))
            published = True
        await asyncio.sleep(0.2)
