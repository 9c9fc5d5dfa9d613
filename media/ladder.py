"""The adaptive bitrate ladder: which renditions a source gets, keyed by its short side.

A rung's short side is matched against the picture's short side, so a 1080x1920 portrait
source keeps a 1080x1920 top rung (keyed by height it would top out at 608x1080). Rungs
above the source are skipped (never upscaled), sizes are even (4:2:0) and keep the aspect.
"""

from __future__ import annotations

from dataclasses import dataclass

from media import h264
from streaming.config import DEFAULT_LADDER, LadderRung
from streaming.errors import UnsupportedMedia
from streaming.hls import Container

FULL_LADDER: tuple[LadderRung, ...] = DEFAULT_LADDER
MIN_VIDEO_KBPS = 150


@dataclass(frozen=True, slots=True)
class Rung:
    """One rendition: planned VOD rungs know their width; live rungs are sized 16:9 later."""

    name: str
    height: int
    video_kbps: int
    audio_kbps: int = 128
    width: int = 0

    @property
    def maxrate_kbps(self) -> int:
        return int(self.video_kbps * 1.07)

    @property
    def bufsize_kbps(self) -> int:
        return self.video_kbps * 2


@dataclass(frozen=True, slots=True)
class AudioRendition:
    """A separate audio rendition in the master's audio group."""

    name: str  # its directory and URI
    label: str  # NAME in the master, what a player's audio menu shows
    channels: int
    kbps: int


AUDIO_GROUP = "aac"
# AAC-LC for 5.1 as for stereo: every MSE browser (hls.js, Shaka) and Safari decode it,
# where AC-3/E-AC-3 play in Safari and on TVs only; AC-3 would pass through to an AV receiver.
STEREO = AudioRendition("audio_2ch", "Stereo", 2, 128)
SURROUND = AudioRendition("audio_6ch", "5.1", 6, 384)


def audio_for(
    has_audio: bool, channels: int, container: Container = Container.TS
) -> tuple[AudioRendition, ...]:
    """Separate stereo and 5.1 renditions for a multichannel source; () for a stereo or mono
    source (its audio is muxed into every rung) and for one without audio.

    fMP4 is CMAF, one track per file (what DASH players expect of a Representation), so there
    even a stereo or mono source gets its audio as a separate stereo rendition.
    """
    if not has_audio:
        return ()
    if channels > 2:
        return (STEREO, SURROUND)
    return (STEREO,) if container is Container.FMP4 else ()


def even(value: float) -> int:
    """Round down to an even number, as 4:2:0 chroma subsampling requires."""
    return max(2, int(value) // 2 * 2)


def _nearest_even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def _sized(short: int, video_kbps: int, audio_kbps: int, width: int, height: int) -> Rung:
    """A rung `short` lines on the short side at the source's orientation and aspect."""
    source_short, source_long = min(width, height), max(width, height)
    # Never past the source's own long side, which an odd length could round up to.
    long = min(_nearest_even(source_long * short / source_short), even(source_long))
    # The ladder's rates are for 16:9; a squarer or wider picture has fewer or more pixels
    # (to two decimals, so 854x480's rounding leaves the rate alone).
    kbps = max(MIN_VIDEO_KBPS, round(video_kbps * round(long / (short * 16 / 9), 2)))
    w, h = (long, short) if width >= height else (short, long)
    return Rung(f"{short}p", h, kbps, audio_kbps, w)


def codec(rung: Rung, frame_rate: float) -> h264.H264:
    """The H.264 profile and level of a planned rung (plan() keeps only rungs that have one)."""
    found = h264.settings(rung.width, rung.height, frame_rate, rung.maxrate_kbps, rung.bufsize_kbps)
    if found is None:
        raise UnsupportedMedia(
            f"{rung.width}x{rung.height} at {frame_rate:g} fps is beyond every H.264 level"
        )
    return found


def plan(
    width: int, height: int, frame_rate: float, ladder: tuple[LadderRung, ...] = FULL_LADDER
) -> tuple[Rung, ...]:
    """Rungs for a picture displayed at `width` x `height`, largest first.

    Every ladder rung whose short side fits the source's; a source smaller than every rung
    gets one rung at its own (even) size. Rungs no H.264 level allows are dropped.
    """
    short = min(width, height)
    steps = sorted((s for s in ladder if s.short_side <= short), key=lambda s: -s.short_side)
    if steps:
        rungs = [_sized(s.short_side, s.video_kbps, s.audio_kbps, width, height) for s in steps]
    else:
        smallest = min(ladder, key=lambda s: s.short_side)
        own = even(short)
        kbps = smallest.video_kbps * own // smallest.short_side
        rungs = [_sized(own, kbps, smallest.audio_kbps, width, height)]
    allowed = tuple(r for r in rungs if h264.settings(
        r.width, r.height, frame_rate, r.maxrate_kbps, r.bufsize_kbps
    ))  # fmt: skip
    if not allowed:
        raise UnsupportedMedia(
            f"{width}x{height} at {frame_rate:g} fps is beyond every H.264 level"
        )
    return allowed


def ladder_for(
    source_height: int, ladder: tuple[LadderRung, ...] = FULL_LADDER
) -> tuple[Rung, ...]:
    """Rungs for a 16:9 landscape source `source_height` lines tall at 30 fps (the
    packaging benchmark's clips); uploads are planned from their real size by plan()."""
    return plan(even(source_height * 16 / 9), source_height, 30.0, ladder)


def live_rungs(heights: tuple[int, ...]) -> tuple[Rung, ...]:
    """Rungs for a live channel: the ladder's figures for its heights, else scaled from 360p."""
    known = {r.short_side: r for r in FULL_LADDER}
    smallest = FULL_LADDER[-1]
    rungs = []
    for height in sorted(set(heights), reverse=True):
        height = even(height)
        kbps = max(MIN_VIDEO_KBPS, smallest.video_kbps * height // smallest.short_side)
        step = known.get(height)
        if step is not None:
            rungs.append(Rung(f"{height}p", height, step.video_kbps, step.audio_kbps))
        else:
            rungs.append(Rung(f"{height}p", height, kbps, smallest.audio_kbps))
    return tuple(rungs)
