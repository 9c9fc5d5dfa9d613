"""LL-HLS live channels: one real-time ffmpeg per channel, fMP4 on a pipe per rung, cut into
parts and segments here and kept in memory (the origin serves them from there, origin.ll_delivery).

URL layout under `/live/<channel>/` (the same on every origin that runs the channel):
  master.m3u8                 multivariant playlist, one variant per rung
  <rung>/index.m3u8           media playlist; `?_HLS_msn=M[&_HLS_part=P]` blocks, `_HLS_skip=YES|v2`
                              asks for a delta update (EXT-X-SKIP)
  <rung>/init-<hash>.mp4      init segment (ftyp+moov), named by its content
  <rung>/<N>.m4s              segment N: wall clock [N*d, (N+1)*d), media sequence N
  <rung>/<N>.<P>.m4s          part P of segment N: its video frames [P*k, (P+1)*k), where
                              k = floor(part_target * frame_rate); names follow from the clock
Response rules (origin.ll_delivery): a blocking reload is held until segment M (part P) is
listed, at most 3 target durations, then 503; 400 for a malformed value or an `_HLS_msn` more
than 2 beyond the newest complete segment. A part or segment not out yet but due next (the
preload hint) is held the same way, then sent whole. Cache-Control: blocking playlists
`public, max-age=3600` (the answer to msn/part never changes), plain playlists
`public, max-age=1` (MediaPackage's; HTTP has no finer unit), parts, segments and inits
`public, max-age=1209600, immutable`, master as classic live.

ffmpeg fragments at every frame (media.ll_commands); this module groups fragments into parts on
frame counts from the run's first frame, and moves every decode time onto the wall clock, so
two origins cut the same frames into the same names with the same timestamps. A run starts at
a segment boundary; when ffmpeg dies the segment it was cutting is dropped from the playlist
(its parts are never published as a whole segment), the numbers it missed are listed as gaps,
and the next run begins with EXT-X-DISCONTINUITY. Nothing is kept across origin restarts.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio

from media import commands, fmp4_boxes, ll_commands, runner
from media.ladder import Rung
from media.live import (
    ChannelSpec,
    live_rendition,
    may_be_held,
    probe_source,
    restart_backoff,
    sleep_to_next_boundary,
)
from media.ll_playlist import Part, Playlist, RenditionReport, Timing
from media.packager import master_playlist
from streaming.errors import StreamingError
from streaming.hls import MASTER_NAME

log = logging.getLogger("media.ll_channel")

OWN = "run:"
PLAYLIST_NAME = commands.PLAYLIST_NAME


@dataclass(slots=True)
class _Rung:
    """One rung's playlist and the files it lists (and a window more), by name."""

    rung: Rung
    playlist: Playlist
    files: dict[str, bytes] = field(default_factory=dict)
    by_number: dict[int, list[str]] = field(default_factory=dict)


def part_frames(part_target: float, frame_rate: int) -> int:
    """Frames per part: as many as fit in the part target."""
    return max(1, int(part_target * frame_rate + 1e-9))


def parse_name(name: str) -> tuple[int, int | None] | None:
    """(N, P) of `N.P.m4s`, (N, None) of `N.m4s`, else None."""
    stem = name.removesuffix(".m4s")
    if stem == name:
        return None
    number, _, part = stem.partition(".")
    if not number.isdigit() or (part and not part.isdigit()):
        return None
    return int(number), int(part) if part else None


class LLChannel:
    """Keeps one LL-HLS channel on air until cancelled; everything it publishes is in memory."""

    def __init__(
        self,
        binary: str,
        spec: ChannelSpec,
        part_target: float,
        clock: Callable[[], float] = time.time,
        resolve: Callable[[str], str] = str,
    ) -> None:
        self.binary, self.spec, self._clock, self._resolve = binary, spec, clock, resolve
        self.timing = Timing(spec.segment_duration, part_target, spec.window)
        self.part_frames = part_frames(part_target, spec.frame_rate)
        self.parts_per_segment = -(-spec.segment_duration * spec.frame_rate // self.part_frames)
        self.rungs = {r.name: _Rung(r, Playlist(self.timing)) for r in spec.rungs}
        self.master: str | None = None
        self.on_air = False
        self.runs = 0
        self.pid: int | None = None
        self.last_error: str | None = None
        self._source = spec.source
        self._has_audio = True
        self._aspect = 16 / 9
        self._changed = asyncio.Event()
        self._aired = False  # the current run published a part

    def status(self) -> dict[str, object]:
        first = next(iter(self.rungs.values())).playlist
        return {
            "channel": self.spec.name,
            "master_path": f"/live/{self.spec.name}/{MASTER_NAME}",
            "low_latency": True,
            "segment_duration": self.spec.segment_duration,
            "part_target": self.timing.part_target,
            "newest_sequence": first.last_msn,
            "newest_part": first.last_part,
            "discontinuity_sequence": first.discontinuity_sequence,
            "on_air": self.on_air,
            "pid": self.pid,
            "restarts": max(0, self.runs - 1),
            "last_error": self.last_error,
        }

    def may_exist(self, relpath: str) -> bool:
        """Is `relpath` a segment or part some origin may hold now (see media.live)?"""
        rung, _, name = relpath.partition("/")
        parsed = parse_name(name)
        if rung not in self.rungs or parsed is None:
            return False
        return may_be_held(parsed[0], self._clock(), self.spec)

    def reports(self, rung: str) -> list[RenditionReport]:
        """EXT-X-RENDITION-REPORTs of the other rungs, for `rung`'s playlist."""
        reports = []
        for name, other in self.rungs.items():
            last = other.playlist.last_part
            if name != rung and last is not None:
                reports.append(RenditionReport(f"../{name}/{PLAYLIST_NAME}", *last))
        return reports

    async def wait_for(self, ready: Callable[[], bool], timeout: float) -> bool:
        """Wait (woken by each publish, never polling) until `ready()`; False on timeout."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not ready():
            changed = self._changed
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return False
            try:
                async with asyncio.timeout(remaining):
                    await changed.wait()
            except TimeoutError:
                return ready()
        return True

    def notify(self) -> None:
        """Wake every held request (they re-check what they wait for)."""
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def run(self) -> None:
        """(Re)start ffmpeg at each next segment boundary; back off when it never got on air."""
        failures = 0
        while True:
            started = time.monotonic()
            self._aired = False
            try:
                await anyio.to_thread.run_sync(self._prepare)
                await self._run_once()
            except StreamingError as exc:
                self.last_error = exc.detail
                log.warning("live channel %s: %s; restarting", self.spec.name, exc.detail)
            except ValueError as exc:  # ffmpeg wrote something our box reader refuses
                self.last_error = f"unreadable fMP4: {exc}"
                log.warning("live channel %s: %s; restarting", self.spec.name, self.last_error)
            else:
                self.last_error = "ffmpeg exited"
            self.pid = None
            for state in self.rungs.values():
                state.playlist.abandon()
            self.notify()
            # A run that published a part restarts at the next boundary; one that never got
            # that far backs off, up to 10 s (as media.live does).
            failures = 0 if self._aired or time.monotonic() - started > 30 else failures + 1
            await asyncio.sleep(0.0 if failures <= 1 else restart_backoff(failures))

    def _prepare(self) -> None:
        self._source = self._resolve(self.spec.source)
        probed = probe_source(self._source)
        if probed is not None:
            self._has_audio, self._aspect = probed

    def _started(self, pid: int) -> None:
        self.pid = pid

    async def _run_once(self) -> None:
        seg = self.spec.segment_duration
        start = await sleep_to_next_boundary(self._clock, seg)
        job = ll_commands.LLJob(
            self._source, self._has_audio, self.spec.rungs, seg, self.spec.frame_rate, start
        )
        self.runs += 1
        run = f"{OWN}{start}"
        states = list(self.rungs.values())

        async def consume(readers: list[asyncio.StreamReader]) -> None:
            await asyncio.gather(
                *(self._cut(r, s, start, run) for r, s in zip(readers, states, strict=True))
            )

        await runner.run_piped(
            self.binary, lambda fds: ll_commands.ll_live(job, fds), len(states), consume,
            on_start=self._started,
        )  # fmt: skip

    async def _cut(self, reader: asyncio.StreamReader, state: _Rung, start: int, run: str) -> None:
        """Read one rung's fMP4 stream and publish its init, parts and segments."""
        seg_frames = self.spec.segment_duration * self.spec.frame_rate
        first_number = start // self.spec.segment_duration
        init: str | None = None
        video: fmp4_boxes.Track | None = None
        timescales: dict[int, int] = {}
        head: list[bytes] = []
        moof: bytes | None = None
        cut = _Cut()
        t0: int | None = None
        async for box in fmp4_boxes.read_boxes(reader):
            if box.type in (b"ftyp", b"moov"):
                head.append(box.data)
                if box.type == b"moov":
                    video = fmp4_boxes.video_track(box.data)
                    timescales = {t.track_id: t.timescale for t in fmp4_boxes.tracks(box.data)}
                    data = b"".join(head)
                    init = f"init-{hashlib.sha256(data).hexdigest()[:12]}.mp4"
                    state.files[init] = data
                continue
            if box.type == b"moof":
                moof = box.data
                continue
            if box.type != b"mdat" or moof is None or video is None or init is None:
                continue
            fragment = fmp4_boxes.fragment(moof, box.data, video)
            data = fmp4_boxes.shift_decode_times(moof, start, timescales) + box.data
            moof = None
            if fragment.video_start is None:
                cut.fragments.append(data)  # audio: joins the part being cut
                continue
            t0 = fragment.video_start if t0 is None else t0
            frame = round((fragment.video_start - t0) * self.spec.frame_rate / video.timescale)
            number, in_segment = first_number + frame // seg_frames, frame % seg_frames
            position = (number, in_segment // self.part_frames)
            if cut.position is not None and cut.position != position:
                await self._not_before(start + cut.end_frame / self.spec.frame_rate)
                self._publish_part(state, cut, init, run, video.timescale, number)
            if cut.position is None:
                cut.position, cut.independent = position, fragment.keyframe
            cut.fragments.append(data)
            cut.ticks += fragment.video_duration
            cut.end_frame = frame + 1
            ends = in_segment + 1 == seg_frames
            if ends or (in_segment + 1) % self.part_frames == 0:  # its last frame: out it goes
                await self._not_before(start + cut.end_frame / self.spec.frame_rate)
                self._publish_part(state, cut, init, run, video.timescale, number + ends)

    async def _not_before(self, end: float) -> None:
        """Hold a part until the wall clock passes its end: ffmpeg's -re reads a synthetic
        source a few hundred ms ahead, and a part out before its PROGRAM-DATE-TIME says it
        ended would make every latency measured from those dates look better than it is."""
        await asyncio.sleep(max(0.0, end - self._clock()))

    def _publish_part(
        self, state: _Rung, cut: _Cut, init: str, run: str, timescale: int, next_number: int
    ) -> None:
        """List the part `cut` holds; when the next one belongs to a later segment, the segment
        it ends is complete."""
        assert cut.position is not None
        number, index = cut.position
        name = f"{number}.{index}.m4s"
        body = b"".join(cut.fragments)
        state.files[name] = body
        state.by_number.setdefault(number, []).append(name)
        part = Part(index, round(cut.ticks / timescale, 5), cut.independent)
        state.playlist.add_part(number, part, init, run)
        cut.segment.append(body)
        if next_number != number:
            state.files[f"{number}.m4s"] = b"".join(cut.segment)
            state.by_number[number].append(f"{number}.m4s")
            state.playlist.complete()
            cut.segment = []
            self._expire(state, number)
        cut.reset()
        self._aired = True
        if not self.on_air and all(s.playlist.last_part for s in self.rungs.values()):
            self.master = self._master()
            self.on_air = True
        self.notify()

    def _expire(self, state: _Rung, newest: int) -> None:
        """Forget files two windows old (RFC 8216: still fetchable while a playlist held them)."""
        for number in [n for n in state.by_number if n < newest - 2 * self.spec.window]:
            for name in state.by_number.pop(number):
                state.files.pop(name, None)

    def _master(self) -> str:
        """The multivariant playlist, as media.live writes it for classic channels."""
        renditions = [
            live_rendition(
                rung, self._aspect, rung.audio_kbps if self._has_audio else 0, self.spec.frame_rate
            )
            for rung in self.spec.rungs
        ]
        return master_playlist(renditions, float(self.spec.frame_rate), self._has_audio, version=7)


@dataclass(slots=True)
class _Cut:
    """The part being cut: its fragments so far, and the parts of its segment before it."""

    position: tuple[int, int] | None = None
    independent: bool = False
    ticks: int = 0
    end_frame: int = 0  # the run's frame number after its last frame
    fragments: list[bytes] = field(default_factory=list)
    segment: list[bytes] = field(default_factory=list)

    def reset(self) -> None:
        self.position, self.independent, self.ticks, self.fragments = None, False, 0, []
