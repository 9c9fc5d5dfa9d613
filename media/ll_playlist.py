"""One LL-HLS rendition's playlist: its segments and parts, as state and as HLS text.

Pure data and text (draft-pantos-hls-rfc8216bis): `media.ll_channel` feeds it parts as ffmpeg
makes them, `origin.ll_delivery` asks it whether a blocking request is satisfied and renders it.
Segment N starts at wall-clock N*d (its EXT-X-PROGRAM-DATE-TIME) and is media sequence N; part
P of it is `N.P.m4s`, the whole segment `N.m4s`. A number no run produced is an EXT-X-GAP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

PART_SEGMENTS = 3  # complete segments that keep their parts listed (spec: >= 3 target durations)
SKIP_TARGETS = 6  # CAN-SKIP-UNTIL, in target durations (the spec's minimum)
HOLD_BACK_PARTS = 3  # PART-HOLD-BACK, in part targets (the spec's recommendation)
VERSION = 9  # EXT-X-SKIP needs 9


@dataclass(frozen=True, slots=True)
class Timing:
    """The durations a channel's playlists announce."""

    segment_duration: int
    part_target: float
    window: int

    @property
    def part_hold_back(self) -> float:
        return round(HOLD_BACK_PARTS * self.part_target, 3)

    @property
    def skip_until(self) -> float:
        return float(SKIP_TARGETS * self.segment_duration)


@dataclass(frozen=True, slots=True)
class Part:
    index: int
    duration: float
    independent: bool


@dataclass(slots=True)
class Segment:
    """A listed segment: complete, a gap, or (the newest only) still growing part by part."""

    number: int
    init: str  # the EXT-X-MAP it needs
    run: str
    parts: list[Part] = field(default_factory=list)
    duration: float = 0.0
    complete: bool = False
    gap: bool = False
    discontinuity: bool = False


@dataclass(slots=True)
class Playlist:
    """A rendition's window of complete segments plus the one being cut."""

    timing: Timing
    segments: list[Segment] = field(default_factory=list)  # complete or gaps, oldest first
    pending: Segment | None = None
    discontinuity_sequence: int = 0
    last_run: str | None = None

    @property
    def last_msn(self) -> int | None:
        """The newest complete segment's number."""
        return self.segments[-1].number if self.segments else None

    @property
    def last_part(self) -> tuple[int, int] | None:
        """(msn, part) of the newest listed part."""
        if self.pending is not None and self.pending.parts:
            return self.pending.number, self.pending.parts[-1].index
        for segment in reversed(self.segments):
            if segment.parts:
                return segment.number, segment.parts[-1].index
        return None

    @property
    def preload_hint(self) -> tuple[int, int] | None:
        """The part that comes next."""
        if self.pending is not None and self.pending.parts:
            return self.pending.number, self.pending.parts[-1].index + 1
        if self.last_msn is None:
            return None
        return self.last_msn + 1, 0

    @property
    def live_edge(self) -> int | None:
        """The msn being cut now (or the next one): what `_HLS_msn` limits count from."""
        if self.pending is not None:
            return self.pending.number
        return None if self.last_msn is None else self.last_msn + 1

    def has_segment(self, msn: int) -> bool:
        """Is segment `msn` (or a later one) listed complete?"""
        return self.last_msn is not None and self.last_msn >= msn

    def has_part(self, msn: int, part: int) -> bool:
        """Is part `part` of `msn`, or a later part, listed? A complete segment `msn` answers
        for any part number of it (its next part is the next segment's first)."""
        last = self.last_part
        return self.has_segment(msn) or (last is not None and last >= (msn, part))

    def add_part(self, number: int, part: Part, init: str, run: str) -> None:
        """List the next part; a new number starts a segment (after gaps for skipped numbers)."""
        if self.pending is None or self.pending.number != number:
            self._begin(number, init, run)
        assert self.pending is not None
        self.pending.parts.append(part)
        self.pending.duration = round(self.pending.duration + part.duration, 6)

    def complete(self) -> Segment:
        """The growing segment is whole: list it as a segment."""
        assert self.pending is not None
        segment, self.pending = self.pending, None
        segment.complete = True
        self._push(segment)
        return segment

    def abandon(self) -> None:
        """The run ended mid-segment: its parts are unlisted (never published whole)."""
        self.pending = None

    def _begin(self, number: int, init: str, run: str) -> None:
        newest = self.last_msn
        if newest is not None and number <= newest:
            raise ValueError(f"segment {number} is not after {newest}")
        if newest is not None:
            for hole in range(max(newest + 1, number - self.timing.window), number):
                gap = Segment(hole, self.segments[-1].init, "", complete=True, gap=True)
                gap.duration = float(self.timing.segment_duration)
                self._push(gap)
        flag = self.last_run is not None and run != self.last_run
        self.last_run = run
        self.pending = Segment(number, init, run, discontinuity=flag)

    def _push(self, segment: Segment) -> None:
        self.segments.append(segment)
        while len(self.segments) > self.timing.window:
            if self.segments.pop(0).discontinuity:
                self.discontinuity_sequence += 1
        if self.segments[0].discontinuity:  # the tag of the oldest segment is implied
            self.segments[0].discontinuity = False
            self.discontinuity_sequence += 1


@dataclass(frozen=True, slots=True)
class RenditionReport:
    uri: str
    last_msn: int
    last_part: int


def program_date_time(seconds: float) -> str:
    stamp = datetime.fromtimestamp(seconds, UTC)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def skipped(playlist: Playlist) -> int:
    """How many of the oldest segments a delta update leaves out: those before the last
    CAN-SKIP-UNTIL seconds (0 when the playlist is no longer than that)."""
    kept, count = 0.0, len(playlist.segments)
    for index in range(len(playlist.segments) - 1, -1, -1):
        kept += playlist.segments[index].duration
        if kept >= playlist.timing.skip_until:
            count = index
            break
    else:
        return 0
    return count


def render(playlist: Playlist, reports: list[RenditionReport], skip: bool = False) -> str:
    """The media playlist (a delta update with `skip`); needs at least one listed part."""
    t = playlist.timing
    first = playlist.segments[0].number if playlist.segments else playlist.live_edge
    lines = [
        "#EXTM3U",
        f"#EXT-X-VERSION:{VERSION}",
        f"#EXT-X-TARGETDURATION:{t.segment_duration}",
        f"#EXT-X-PART-INF:PART-TARGET={t.part_target:g}",
        "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,"
        f"PART-HOLD-BACK={t.part_hold_back:g},CAN-SKIP-UNTIL={t.skip_until:g}",
        f"#EXT-X-MEDIA-SEQUENCE:{first}",
        f"#EXT-X-DISCONTINUITY-SEQUENCE:{playlist.discontinuity_sequence}",
    ]
    listed = playlist.segments + ([playlist.pending] if playlist.pending else [])
    leave_out = skipped(playlist) if skip else 0
    if leave_out:
        lines.append(f"#EXT-X-SKIP:SKIPPED-SEGMENTS={leave_out}")
    with_parts = {s.number for s in playlist.segments[-PART_SEGMENTS:]}
    init = None
    for segment in listed[leave_out:]:
        if segment.discontinuity:
            lines.append("#EXT-X-DISCONTINUITY")
        if segment.init != init:
            lines.append(f'#EXT-X-MAP:URI="{segment.init}"')
            init = segment.init
        lines.append(
            f"#EXT-X-PROGRAM-DATE-TIME:{program_date_time(segment.number * t.segment_duration)}"
        )
        if not segment.complete or segment.number in with_parts:
            for part in segment.parts:
                independent = ",INDEPENDENT=YES" if part.independent else ""
                lines.append(
                    f"#EXT-X-PART:DURATION={part.duration:.5f},"
                    f'URI="{segment.number}.{part.index}.m4s"{independent}'
                )
        if segment.complete:
            if segment.gap:
                lines.append("#EXT-X-GAP")
            lines += [f"#EXTINF:{segment.duration:.5f},", f"{segment.number}.m4s"]
    hint = playlist.preload_hint
    if hint is not None:
        lines.append(f'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="{hint[0]}.{hint[1]}.m4s"')
    for report in reports:
        lines.append(
            f'#EXT-X-RENDITION-REPORT:URI="{report.uri}",'
            f"LAST-MSN={report.last_msn},LAST-PART={report.last_part}"
        )
    return "\n".join(lines) + "\n"
