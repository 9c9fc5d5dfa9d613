"""Live channels: one real-time ffmpeg per channel, published as an epoch-named sliding window.

Segment N always covers wall-clock [N*d, (N+1)*d) and is published as `<rung>/N.ts` with
`EXT-X-MEDIA-SEQUENCE` equal to its number, so every origin running the channel serves the
same names and sequence numbers without talking to the others. If ffmpeg dies the channel
restarts at the next boundary and the playlist keeps the previous run's segments: the numbers
the restart missed are copied from a peer origin that lists them, else listed as gaps, and the
new run begins with a discontinuity (media.live_window). A restarted origin process resumes the
same way from the playlists it published before.

A channel whose container is fMP4 publishes `<rung>/N.m4s` video-only segments, one separate
stereo rendition (`audio_2ch/N.m4s`), an init segment per stream (`<rung>/init_<rung>.mp4`,
EXT-X-MAP) and a dynamic `manifest.mpd` beside the master over the same segments; media.cmaf
puts their decode times on the wall clock so regions stay interchangeable, and a peer's copy
of `N.m4s` fills a hole as a peer's `N.ts` does (same encoder settings, so the same init).

Published files go to a `LiveStore` the origin provides (its disk, or object storage); ffmpeg
writes into a local work directory first, and a listed segment is always published before the
playlist that lists it.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import anyio

from media import cmaf, commands, dash, runner
from media.ladder import STEREO, Rung
from media.live_window import Window, parse, render
from media.packager import AudioTrack, Rendition, master_playlist
from media.probe import probe
from streaming.errors import StreamingError
from streaming.hls import MASTER_NAME, MPD_NAME, Container

log = logging.getLogger("media.live")

POLL_SECONDS = 0.2
WORK_DIR = ".work"
FILL_SECONDS = 3.0  # how long the first segment of a run waits for peers' copies of the hole
RESTORED = "restored:"  # runs of a playlist an earlier process published
OWN = "run:"


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """What a channel is, as configured."""

    name: str
    source: str
    segment_duration: int
    window: int
    rungs: tuple[Rung, ...]
    frame_rate: int
    container: Container = Container.TS

    @property
    def suffix(self) -> str:
        return ".m4s" if self.container is Container.FMP4 else ".ts"


# An AAC frame (1024 samples at 48 kHz): how far an fMP4 audio segment's cut may miss the boundary.
AUDIO_SLACK = 0.025


class LiveStore(Protocol):
    """Where a channel's published files live; `relpath` is `<rung>/<file>` or the master."""

    async def put_file(self, channel: str, relpath: str, local: Path) -> None:
        """Publish a finished local file (moved or uploaded: it is gone locally afterwards)."""
        ...

    async def put_text(self, channel: str, relpath: str, text: str) -> None:
        """Replace a playlist in one step: a reader sees the old text or the new one."""
        ...

    async def get_text(self, channel: str, relpath: str) -> str | None:
        """A playlist published earlier (perhaps by an earlier process), or None."""
        ...

    async def segment_numbers(self, channel: str, rung: str) -> set[int]:
        """Numbers of the segments published for a rung."""
        ...

    async def remove(self, channel: str, relpaths: list[str]) -> None:
        """Delete published files (idempotent)."""
        ...


@dataclass(frozen=True, slots=True)
class PeerSegment:
    """A copy of a segment another origin publishes, downloaded to `file`."""

    number: int
    duration: float
    run: str  # the peer's run, so copies of one peer run play on without a discontinuity
    file: Path


class Peers(Protocol):
    """The other origins running the same channel."""

    async def fetch(self, channel: str, rung: str, numbers: range, dest: Path) -> list[PeerSegment]:
        """Copies of those `numbers` a peer lists (not as gaps), downloaded into `dest`."""
        ...


@dataclass(slots=True)
class _Rendition:
    """One rung's window, what of it is published, and how far ffmpeg's list was read."""

    rung: Rung
    window: Window
    published: set[int] = field(default_factory=set)
    lines_read: int = 0
    listed: bool = False  # this process has published its playlist
    audio: bool = False  # fMP4: the separate stereo rendition, not a video rung
    init_run: str | None = None  # fMP4: the run whose init segment is published
    timescale: int = 0  # fMP4: the track timescale its init segment declares


def segment_number(end: float, duration: int) -> int:
    """The epoch number of the segment ending at wall-clock second `end`."""
    return round(end / duration) - 1


def next_boundary(now: float, segment_duration: int) -> int:
    """The next wall-clock second that is a multiple of the segment duration: a run starts there
    so its segment N covers [N*d, (N+1)*d) on every origin."""
    return (int(now) // segment_duration + 1) * segment_duration


async def sleep_to_next_boundary(clock: Callable[[], float], segment_duration: int) -> int:
    """Sleep until the next segment boundary on `clock`; returns it (a run's epoch start)."""
    start = next_boundary(clock(), segment_duration)
    await asyncio.sleep(max(0.0, start - clock()))
    return start


def may_be_held(number: int, now: float, spec: ChannelSpec) -> bool:
    """Can segment `number` exist on some origin at `now`: kept two windows, or about to be
    published?"""
    newest = int(now // spec.segment_duration)
    return newest - 2 * spec.window <= number <= newest + 1


def restart_backoff(failures: int) -> float:
    """Seconds before a channel that failed to get on air `failures` times in a row retries."""
    return min(10.0, 0.5 * 2 ** min(failures, 5))


def probe_source(source: str) -> tuple[bool, float] | None:
    """(has audio, display aspect) of a resolved source file; None for the test pattern."""
    if source == "testsrc":
        return None
    info = probe(Path(source))
    return info.has_audio, info.display_width / info.display_height


def live_rendition(rung: Rung, aspect: float, audio_kbps: int, frame_rate: int) -> Rendition:
    """A live rung's master-playlist entry from its nominal rates (`audio_kbps` muxed in)."""
    width = max(2, round(rung.height * aspect / 2) * 2)
    level = commands.h264_level(commands.live_width(rung.height), rung.height, frame_rate)
    peak, average = (rung.maxrate_kbps + audio_kbps) * 1000, (rung.video_kbps + audio_kbps) * 1000
    return Rendition(rung, width, peak, average, level)


class Channel:
    """Keeps one channel on air until cancelled: ffmpeg works under `work`, files go to `store`."""

    def __init__(
        self,
        binary: str,
        spec: ChannelSpec,
        work: Path,
        store: LiveStore,
        peers: Peers | None = None,
        clock: Callable[[], float] = time.time,
        resolve: Callable[[str], str] = str,
    ) -> None:
        """`resolve` turns the configured source into "testsrc" or a file ffmpeg can loop."""
        self.binary, self.spec, self.work, self.store = binary, spec, work, store
        self._peers, self._clock, self._resolve = peers, clock, resolve
        self._source = spec.source
        self.runs = 0
        self.last_error: str | None = None
        self.pid: int | None = None  # the running ffmpeg's
        self.on_air = False  # every playlist published by this process at least once
        self.filled = 0  # segments copied from peers
        self.gaps = 0  # numbers listed as gaps
        self._renditions = [_Rendition(r, Window(spec.window)) for r in spec.rungs]
        self._fmp4 = spec.container is Container.FMP4
        if self._fmp4:
            stereo = Rung(STEREO.name, 0, 0, STEREO.kbps)
            self._renditions.append(_Rendition(stereo, Window(spec.window), audio=True))
        self._aired = False  # the current run published a segment
        self._has_audio = True
        self._aspect = 16 / 9

    def status(self) -> dict[str, object]:
        windows = [r.window for r in self._renditions]
        return {
            "channel": self.spec.name,
            "master_path": f"/live/{self.spec.name}/{MASTER_NAME}",
            **({"mpd_path": f"/live/{self.spec.name}/{MPD_NAME}"} if self._fmp4 else {}),
            "segment_duration": self.spec.segment_duration,
            "newest_sequence": max(
                (w.newest for w in windows if w.newest is not None), default=None
            ),
            "discontinuity_sequence": windows[0].discontinuity_sequence,
            "on_air": self.on_air,
            "pid": self.pid,
            "restarts": max(0, self.runs - 1),
            "filled_from_peers": self.filled,
            "gaps": self.gaps,
            "last_error": self.last_error,
        }

    def may_exist(self, relpath: str) -> bool:
        """Is `relpath` a segment number some origin may hold now (kept for two windows, or
        about to be published)? One missing here is then elsewhere or coming, not gone."""
        rung, _, name = relpath.partition("/")
        number = name.removesuffix(self.spec.suffix)
        if rung not in {r.rung.name for r in self._renditions} or not number.isdigit():
            return False
        return may_be_held(int(number), self._clock(), self.spec)

    async def run(self) -> None:
        """(Re)start ffmpeg at each next segment boundary; publish and expire segments meanwhile."""
        restored = prepared = False
        failures = 0
        while True:
            started = time.monotonic()
            try:
                if not restored:
                    await self._restore()
                    restored = True
                if not prepared:  # a missing source file is retried, not fatal to the origin
                    await anyio.to_thread.run_sync(self._prepare)
                    prepared = True
                await self._run_once()
            except StreamingError as exc:
                self.last_error = exc.detail
                log.warning("live channel %s: %s; restarting", self.spec.name, exc.detail)
            else:
                self.last_error = "ffmpeg exited"
                log.warning("live channel %s: ffmpeg exited; restarting", self.spec.name)
            self.pid = None
            # A run that was on air restarts at once (the next boundary is wait enough): viewers
            # hold about three segments. One that never got there backs off, up to 10 s.
            failures = 0 if self._aired or time.monotonic() - started > 30 else failures + 1
            self._aired = False
            await asyncio.sleep(0.0 if failures == 0 else restart_backoff(failures))

    async def _restore(self) -> None:
        """Resume from what an earlier process published: its playlists and segments."""
        await anyio.to_thread.run_sync(
            lambda: shutil.rmtree(self.work / WORK_DIR, ignore_errors=True)
        )
        for rendition in self._renditions:
            rung = rendition.rung.name
            text = await self.store.get_text(self.spec.name, f"{rung}/{commands.PLAYLIST_NAME}")
            try:
                rendition.window = parse(text or "", RESTORED, self.spec.window)
            except ValueError:
                log.warning(
                    "live channel %s: unreadable %s playlist; starting over", self.spec.name, rung
                )
            rendition.published = await self.store.segment_numbers(self.spec.name, rung)
        await self._expire(int(self._clock() // self.spec.segment_duration))

    def _prepare(self) -> None:
        self._source = self._resolve(self.spec.source)
        probed = probe_source(self._source)
        if probed is not None:
            self._has_audio, self._aspect = probed
            if not self._has_audio:
                self._renditions = [r for r in self._renditions if not r.audio]

    def _started(self, pid: int) -> None:
        self.pid = pid

    async def _run_once(self) -> None:
        seg = self.spec.segment_duration
        start = await sleep_to_next_boundary(self._clock, seg)
        run_dir = self.work / WORK_DIR / str(start)
        out_dirs = tuple(run_dir / r.name for r in self.spec.rungs)
        audio_dir = run_dir / STEREO.name if self._fmp4 else None
        for directory in (*out_dirs, *([audio_dir] if audio_dir else [])):
            directory.mkdir(parents=True, exist_ok=True)
        for rendition in self._renditions:
            rendition.lines_read = 0
        job = commands.LiveJob(
            self._source, self._has_audio, out_dirs, self.spec.rungs, seg,
            self.spec.frame_rate, start, container=self.spec.container, audio_dir=audio_dir,
        )  # fmt: skip
        self.runs += 1
        argv = commands.live(job)
        ffmpeg = asyncio.create_task(runner.run(self.binary, argv, on_start=self._started))
        try:
            while not ffmpeg.done():
                await asyncio.wait({ffmpeg}, timeout=POLL_SECONDS)
                await self._collect(run_dir, f"{OWN}{start}")
            await ffmpeg
        finally:
            if not ffmpeg.done():
                ffmpeg.cancel()
                await asyncio.gather(ffmpeg, return_exceptions=True)
            shutil.rmtree(run_dir, ignore_errors=True)

    async def _collect(self, run_dir: Path, run: str) -> None:
        """Publish every segment ffmpeg finished since the last poll, then the playlists."""
        seg, fps = self.spec.segment_duration, self.spec.frame_rate
        newest = None
        for rendition in self._renditions:
            rung = rendition.rung.name
            listing = run_dir / rung / commands.LIVE_LIST_NAME
            try:
                lines = listing.read_text(encoding="utf-8").split("\n")[:-1]  # complete lines only
            except FileNotFoundError:
                continue
            changed = False
            for line in lines[rendition.lines_read :]:
                rendition.lines_read += 1
                name, end = line.split(",")[0], float(line.rsplit(",", 1)[1])
                number = segment_number(end, seg)
                seconds = end - number * seg
                slack = AUDIO_SLACK if rendition.audio else 0.5 / fps
                if abs(seconds - seg) > slack:
                    continue  # a partial segment (ffmpeg stopped mid-way): other origins differ
                latest = rendition.window.newest
                if latest is not None and number <= latest:
                    continue  # listed already (the wall clock stepped back)
                await self._fill(rendition, number, run_dir)
                local = listing.parent / name
                if self._fmp4:
                    local, seconds = await self._to_cmaf(rendition, local, end, run)
                await self._publish(rendition, number, local)
                rendition.window.append(number, round(seconds, 3), run)
                changed = self._aired = True
                newest = number
            if changed:
                init = commands.init_name(rung) if self._fmp4 else None
                text = render(rendition.window, seg, self.spec.suffix, init)
                await self.store.put_text(self.spec.name, f"{rung}/{commands.PLAYLIST_NAME}", text)
                rendition.listed = True
        if not self.on_air and all(r.listed for r in self._renditions):
            if self._fmp4:
                await self.store.put_text(self.spec.name, MPD_NAME, self._mpd())
            await self.store.put_text(self.spec.name, MASTER_NAME, self._master())
            self.on_air = True
        if newest is not None:
            await self._expire(newest)

    async def _fill(self, rendition: _Rendition, number: int, run_dir: Path) -> None:
        """List the numbers between the window and `number`: a peer's copy, else a gap."""
        holes = rendition.window.missing(number)
        if not holes:
            return
        copies: dict[int, PeerSegment] = {}
        if self._peers is not None:
            dest = run_dir / ".fill" / rendition.rung.name
            dest.mkdir(parents=True, exist_ok=True)
            try:
                async with asyncio.timeout(FILL_SECONDS):
                    found = await self._peers.fetch(
                        self.spec.name, rendition.rung.name, holes, dest
                    )
                copies = {copy.number: copy for copy in found}
            except TimeoutError:
                log.warning("live channel %s: peers too slow to fill %s", self.spec.name, holes)
        for hole in holes:
            copy = copies.get(hole)
            if copy is None:
                rendition.window.gap(hole, float(self.spec.segment_duration))
                self.gaps += 1
            else:
                await self._publish(rendition, hole, copy.file)
                rendition.window.append(hole, copy.duration, copy.run)
                self.filled += 1

    async def _publish(self, rendition: _Rendition, number: int, local: Path) -> None:
        relpath = f"{rendition.rung.name}/{number}{self.spec.suffix}"
        await self.store.put_file(self.spec.name, relpath, local)
        rendition.published.add(number)

    async def _to_cmaf(
        self, rendition: _Rendition, local: Path, end: float, run: str
    ) -> tuple[Path, float]:
        """Split ffmpeg's segment file into the stream's init segment (published once per
        run, before the first segment that needs it) and a media segment on the wall clock."""
        init, media, scale, seconds = cmaf.wall_clock_segment(local.read_bytes(), end)
        if rendition.init_run != run:
            name = commands.init_name(rendition.rung.name)
            init_file = local.with_name(name)
            init_file.write_bytes(init)
            await self.store.put_file(self.spec.name, f"{rendition.rung.name}/{name}", init_file)
            rendition.init_run, rendition.timescale = run, scale
        media_file = local.with_suffix(".m4s")
        media_file.write_bytes(media)
        local.unlink()
        return media_file, seconds

    def _mpd(self) -> str:
        """The dynamic MPD: fixed-duration $Number$ templates over the published streams."""
        seg = self.spec.segment_duration
        scales = {r.rung.name: r.timescale for r in self._renditions}
        video = [
            dash.Representation(
                id=entry.rung.name,
                bandwidth=entry.peak_bps,
                codecs=commands.codecs_video(entry.level, entry.profile),
                timeline=dash.Timeline(scales[entry.rung.name], 0, ()),
                width=entry.width,
                height=entry.rung.height,
                frame_rate=float(self.spec.frame_rate),
            )
            for entry in self._entries()
        ]
        audio = [
            dash.Representation(
                id=r.rung.name,
                bandwidth=STEREO.kbps * 1000,
                codecs=commands.CODECS_AUDIO,
                timeline=dash.Timeline(r.timescale, 0, ()),
                channels=STEREO.channels,
            )
            for r in self._renditions
            if r.audio
        ]
        return dash.live_mpd(video, audio, seg, self.spec.window)

    def _master(self) -> str:
        renditions = self._entries()
        if not self._fmp4:
            return master_playlist(renditions, float(self.spec.frame_rate), self._has_audio)
        tracks = [AudioTrack(STEREO, STEREO.kbps * 1000, STEREO.kbps * 1000)]
        return master_playlist(
            renditions, float(self.spec.frame_rate), self._has_audio,
            tracks if self._has_audio else None, version=7,
        )  # fmt: skip

    def _entries(self) -> list[Rendition]:
        """The video rungs as the master (and the MPD) describe them, from nominal rates."""
        audio = self._has_audio and not self._fmp4
        rate = self.spec.frame_rate
        return [
            live_rendition(rung, self._aspect, rung.audio_kbps if audio else 0, rate)
            for rung in self.spec.rungs
        ]

    async def _expire(self, newest: int) -> None:
        """Delete segments a window plus a grace window old (RFC 8216: removed segments stay
        downloadable for the duration of the longest playlist that held them)."""
        oldest_kept = newest - 2 * self.spec.window
        for rendition in self._renditions:
            old = sorted(n for n in rendition.published if n < oldest_kept)
            if old:
                relpaths = [f"{rendition.rung.name}/{n}{self.spec.suffix}" for n in old]
                await self.store.remove(self.spec.name, relpaths)
                rendition.published.difference_update(old)
