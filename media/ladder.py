"""The adaptive bitrate ladder: which renditions a source gets (never upscaled)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rung:
    """One rendition of the ladder."""

    name: str
    height: int
    video_kbps: int
    audio_kbps: int = 128

    @property
    def maxrate_kbps(self) -> int:
        return int(self.video_kbps * 1.07)

    @property
    def bufsize_kbps(self) -> int:
        return self.video_kbps * 2


# Apple HLS authoring spec 1.25 figures, trimmed to four 16:9 rungs.
FULL_LADDER: tuple[Rung, ...] = (
    Rung("1080p", 1080, 6000),
    Rung("720p", 720, 3000),
    Rung("480p", 480, 1400, 96),
    Rung("360p", 360, 730, 96),
)


def even(value: float) -> int:
    """Round down to an even number, as 4:2:0 chroma subsampling requires."""
    return max(2, int(value) // 2 * 2)


def ladder_for(source_height: int, ladder: tuple[Rung, ...] = FULL_LADDER) -> tuple[Rung, ...]:
    """Rungs at or below the source height; a small source gets one rung at its own size."""
    rungs = tuple(r for r in ladder if r.height <= source_height)
    if rungs:
        return rungs
    smallest = ladder[-1]
    kbps = max(150, smallest.video_kbps * source_height // smallest.height)
    height = even(source_height)
    return (Rung(f"{height}p", height, kbps, smallest.audio_kbps),)


def live_rungs(heights: tuple[int, ...]) -> tuple[Rung, ...]:
    """Rungs for a live channel: the ladder's figures for its heights, else scaled from 360p."""
    known = {r.height: r for r in FULL_LADDER}
    smallest = FULL_LADDER[-1]
    rungs = []
    for height in sorted(set(heights), reverse=True):
        height = even(height)
        kbps = max(150, smallest.video_kbps * height // smallest.height)
        rungs.append(known.get(height, Rung(f"{height}p", height, kbps, smallest.audio_kbps)))
    return tuple(rungs)
