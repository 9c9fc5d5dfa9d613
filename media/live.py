"""Live channels: one real-time ffmpeg per channel, published as an epoch-named sliding window.

Segment N always covers wall-clock [N*d, (N+1)*d) and is published as `<rung>/N.ts` with
`EXT-X-MEDIA-SEQUENCE` equal to its number, so every origin running the channel serves the
same names and sequence numbers without talking to the others. If ffmpeg dies the channel
restarts at the next boundary; the playlist then restarts from the new run (a gap is never
listed, which would break the name/sequence equality).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import anyio

from media import commands, runner
from media.ladder import Rung
from media.packager import Rendition, master_playlist, write_atomic
from media.probe import probe
from streaming.errors import StreamingError
from streaming.hls import MASTER_NAME

log = logging.getLogger("media.live")

POLL_SECONDS = 0.2
WORK_DIR = ".work"


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """What a channel is, as configured."""

    name: str
    source: str
    segment_duration: int
    window: int
    rungs: tuple[Rung, ...]
    frame_rate: int


@dataclass(slots=True)
class _Rendition:
    """Segments of the current run for one rung, oldest first: (number, duration)."""

    rung: Rung
    segments: list[tuple[int, float]] = field(default_factory=list)
    lines_read: int = 0


def segment_number(end: float, duration: int) -> int:
    """The epoch number of the segment ending at wall-clock second `end`."""
    return round(end / duration) - 1


def media_playlist(segments: list[tuple[int, float]], duration: int) -> str:
    """A sliding-window playlist: sequence = first number, a PROGRAM-DATE-TIME per segment."""
    target = max(duration, *(round(d) for _, d in segments))
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{target}",
        f"#EXT-X-MEDIA-SEQUENCE:{segments[0][0]}",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    for number, seconds in segments:
        started = datetime.fromtimestamp(number * duration, UTC)
        lines.append(
            f"#EXT-X-PROGRAM-DATE-TIME:{started.isoformat(timespec='milliseconds')}".replace(
                "+00:00", "Z"
            )
        )
        lines.append(f"#EXTINF:{seconds:.3f},")
        lines.append(f"{number}.ts")
    return "\n".join(lines) + "\n"


class Channel:
    """Keeps one channel on air under `root` until cancelled."""

    def __init__(
        self,
        binary: str,
        spec: ChannelSpec,
        root: Path,
        clock: Callable[[], float] = time.time,
        resolve: Callable[[str], str] = str,
    ) -> None:
        """`resolve` turns the configured source into "testsrc" or a file ffmpeg can loop."""
        self.binary, self.spec, self.root, self._clock = binary, spec, root, clock
        self._resolve = resolve
        self._source = spec.source
        self.runs = 0
        self.last_error: str | None = None
        self._renditions = [_Rendition(r) for r in spec.rungs]
        self._master_written = False
        self._has_audio = True
        self._aspect = 16 / 9

    def status(self) -> dict[str, object]:
        newest = max((r.segments[-1][0] for r in self._renditions if r.segments), default=None)
        return {
            "channel": self.spec.name,
            "master_path": f"/live/{self.spec.name}/{MASTER_NAME}",
            "segment_duration": self.spec.segment_duration,
            "newest_sequence": newest,
            "restarts": max(0, self.runs - 1),
            "last_error": self.last_error,
        }

    async def run(self) -> None:
        """(Re)start ffmpeg at each next segment boundary; publish and expire segments meanwhile."""
        prepared = False
        failures = 0
        while True:
            started = time.monotonic()
            try:
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
            failures = 0 if time.monotonic() - started > 30 else failures + 1
            await asyncio.sleep(min(10.0, 0.5 * 2 ** min(failures, 5)))

    def _prepare(self) -> None:
        """Start clean: drop playlists and runs of a previous process, keep fresh segments."""
        shutil.rmtree(self.root / WORK_DIR, ignore_errors=True)
        (self.root / MASTER_NAME).unlink(missing_ok=True)
        for rendition in self._renditions:
            (self.root / rendition.rung.name / commands.PLAYLIST_NAME).unlink(missing_ok=True)
        self._expire(int(self._clock() // self.spec.segment_duration))
        self._source = self._resolve(self.spec.source)
        if self._source != "testsrc":
            info = probe(Path(self._source))
            self._has_audio = info.has_audio
            self._aspect = info.display_width / info.display_height

    async def _run_once(self) -> None:
        seg = self.spec.segment_duration
        start = (int(self._clock()) // seg + 1) * seg
        await asyncio.sleep(max(0.0, start - self._clock()))
        run_dir = self.root / WORK_DIR / str(start)
        out_dirs = tuple(run_dir / r.name for r in self.spec.rungs)
        for directory in out_dirs:
            directory.mkdir(parents=True, exist_ok=True)
        for rendition in self._renditions:
            rendition.segments.clear()
            rendition.lines_read = 0
        job = commands.LiveJob(
            self._source, self._has_audio, out_dirs, self.spec.rungs, seg,
            self.spec.frame_rate, start,
        )  # fmt: skip
        self.runs += 1
        ffmpeg = asyncio.create_task(runner.run(self.binary, commands.live(job)))
        try:
            while not ffmpeg.done():
                await asyncio.wait({ffmpeg}, timeout=POLL_SECONDS)
                self._collect(run_dir)
            await ffmpeg
        finally:
            if not ffmpeg.done():
                ffmpeg.cancel()
                await asyncio.gather(ffmpeg, return_exceptions=True)
            shutil.rmtree(run_dir, ignore_errors=True)

    def _collect(self, run_dir: Path) -> None:
        """Publish every segment ffmpeg finished since the last poll."""
        seg, fps = self.spec.segment_duration, self.spec.frame_rate
        newest = None
        for rendition in self._renditions:
            listing = run_dir / rendition.rung.name / commands.LIVE_LIST_NAME
            try:
                lines = listing.read_text(encoding="utf-8").split("\n")[:-1]  # complete lines only
            except FileNotFoundError:
                continue
            for line in lines[rendition.lines_read :]:
                rendition.lines_read += 1
                name, end = line.split(",")[0], float(line.rsplit(",", 1)[1])
                number = segment_number(end, seg)
                seconds = end - number * seg
                if abs(seconds - seg) > 0.5 / fps:
                    continue  # a partial segment (ffmpeg stopped mid-way): other origins differ
                published = self.root / rendition.rung.name / f"{number}.ts"
                published.parent.mkdir(parents=True, exist_ok=True)
                os.replace(listing.parent / name, published)
                if rendition.segments and rendition.segments[-1][0] != number - 1:
                    rendition.segments.clear()  # never list a gap
                rendition.segments.append((number, round(seconds, 3)))
                del rendition.segments[: -self.spec.window]
                newest = number
            if rendition.segments and lines:
                text = media_playlist(rendition.segments, seg)
                write_atomic(self.root / rendition.rung.name / commands.PLAYLIST_NAME, text)
        if not self._master_written and all(r.segments for r in self._renditions):
            write_atomic(self.root / MASTER_NAME, self._master())
            self._master_written = True
        if newest is not None:
            self._expire(newest)

    def _master(self) -> str:
        renditions = []
        for rung in self.spec.rungs:
            audio = rung.audio_kbps if self._has_audio else 0
            width = max(2, round(rung.height * self._aspect / 2) * 2)
            renditions.append(
                Rendition(
                    rung,
                    width,
                    (rung.maxrate_kbps + audio) * 1000,
                    (rung.video_kbps + audio) * 1000,
                    commands.h264_level(
                        commands.live_width(rung.height), rung.height, self.spec.frame_rate
                    ),
                )
            )
        return master_playlist(renditions, float(self.spec.frame_rate), self._has_audio)

    def _expire(self, newest: int) -> None:
        """Delete segments a window plus a grace window old (RFC 8216: removed segments stay
        downloadable for the duration of the longest playlist that held them)."""
        oldest_kept = newest - 2 * self.spec.window
        for rendition in self._renditions:
            directory = self.root / rendition.rung.name
            if not directory.is_dir():
                continue
            for file in directory.glob("*.ts"):
                if file.stem.isdigit() and int(file.stem) < oldest_kept:
                    file.unlink(missing_ok=True)
