"""The sliding window of one live rendition: segments, gaps and discontinuities, as HLS text.

Segment N is always listed at media sequence N, on every origin. Consecutive segments of one
encoder run play as one stream; where the run changes (an ffmpeg restart, or copies filled from
a peer origin's run) the first segment of the new run carries `#EXT-X-DISCONTINUITY`. A number
no run produced is listed as `#EXT-X-GAP` (RFC 8216bis 4.4.4.7) rather than left out, so the
numbering stays aligned. `EXT-X-DISCONTINUITY-SEQUENCE` counts the discontinuities that slid
out of the window (RFC 8216 6.2.2), so a client reloading the playlist keeps its count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

GAP_RUN = ""  # a gap belongs to no run: the next real segment is compared to the last real one


@dataclass(frozen=True, slots=True)
class Segment:
    """One listed segment; `run` names the encoder run that made it."""

    number: int
    duration: float
    run: str
    gap: bool = False
    discontinuity: bool = False  # `#EXT-X-DISCONTINUITY` precedes it


@dataclass(slots=True)
class Window:
    """The newest `size` segment numbers of a rendition, oldest first, without holes."""

    size: int
    segments: list[Segment] = field(default_factory=list)
    discontinuity_sequence: int = 0
    last_run: str | None = None  # the run of the newest real segment, even after it slid out

    @property
    def newest(self) -> int | None:
        return self.segments[-1].number if self.segments else None

    def missing(self, number: int) -> range:
        """Numbers between the newest listed one and `number` that its window would list."""
        if self.newest is None:
            return range(0)
        return range(max(self.newest + 1, number - self.size + 1), number)

    def append(self, number: int, duration: float, run: str) -> None:
        """List the next real segment; a hole before it must have been filled (`gap`) first
        unless it is older than the window."""
        self._check(number)
        flag = self.last_run is not None and run != self.last_run
        self.last_run = run
        self._push(Segment(number, duration, run, discontinuity=flag))

    def gap(self, number: int, duration: float) -> None:
        """List a number this origin has no segment for."""
        self._check(number)
        self._push(Segment(number, duration, GAP_RUN, gap=True))

    def _check(self, number: int) -> None:
        if self.newest is not None and number <= self.newest:
            raise ValueError(f"segment {number} is not newer than {self.newest}")

    def _push(self, segment: Segment) -> None:
        if self.newest is not None and segment.number > self.newest + 1:
            # The hole is older than the window: everything listed so far slides out.
            self._slide(len(self.segments))
        self.segments.append(segment)
        self._slide(len(self.segments) - self.size)

    def _slide(self, count: int) -> None:
        for _ in range(max(0, count)):
            if self.segments.pop(0).discontinuity:
                self.discontinuity_sequence += 1


def render(window: Window, duration: int, suffix: str = ".ts", init: str | None = None) -> str:
    """The media playlist: sequence = first number, a PROGRAM-DATE-TIME per segment.

    fMP4 segments (`suffix` ".m4s") follow their `init` segment's EXT-X-MAP (version 6).
    """
    segments = window.segments
    target = max(duration, *(round(s.duration) for s in segments))
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:6" if init else "#EXT-X-VERSION:3",
        f"#EXT-X-TARGETDURATION:{target}",
        f"#EXT-X-MEDIA-SEQUENCE:{segments[0].number}",
        f"#EXT-X-DISCONTINUITY-SEQUENCE:{window.discontinuity_sequence}",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    if init:
        lines.append(f'#EXT-X-MAP:URI="{init}"')
    for segment in segments:
        if segment.discontinuity:
            lines.append("#EXT-X-DISCONTINUITY")
        started = datetime.fromtimestamp(segment.number * duration, UTC)
        stamp = started.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{stamp}")
        lines.append(f"#EXTINF:{segment.duration:.3f},")
        if segment.gap:
            lines.append("#EXT-X-GAP")
        lines.append(f"{segment.number}{suffix}")
    return "\n".join(lines) + "\n"


def parse(text: str, run_prefix: str, size: int | None = None) -> Window:
    """A window of `size` (default: as listed) from a playlist `render` wrote: this origin's
    before a restart, or a peer's. Raises ValueError on a playlist it did not write.

    Runs are named `<run_prefix><discontinuity number>`: stable across reloads of one origin's
    playlist, and never equal to a run of another origin or of a later process.
    """
    window = Window(size or 0)
    group, duration, gap, flag = 0, 0.0, False, False
    for line in text.splitlines():
        if line.startswith("#EXT-X-DISCONTINUITY-SEQUENCE:"):
            window.discontinuity_sequence = group = int(line.split(":", 1)[1])
        elif line == "#EXT-X-DISCONTINUITY":
            group, flag = group + 1, True
        elif line.startswith("#EXTINF:"):
            duration = float(line.split(":", 1)[1].split(",", 1)[0])
        elif line == "#EXT-X-GAP":
            gap = True
        elif line and not line.startswith("#"):
            number = int(line.removesuffix(".ts").removesuffix(".m4s"))
            run = GAP_RUN if gap else f"{run_prefix}{group}"
            window.segments.append(Segment(number, duration, run, gap, flag))
            if not gap:
                window.last_run = run
            gap = flag = False
    if size is None:
        window.size = len(window.segments)
    window._slide(len(window.segments) - window.size)
    return window
