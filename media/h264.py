"""H.264 profile and level per rendition (ITU-T H.264 Annex A) and the CODECS value naming them.

The level is the lowest whose limits cover the rendition's frame size, macroblock rate, VBV
rate and buffer and the decoded-picture buffer x264 uses; it is passed to x264 (`-level`) and
signalled as `avc1.PPCCLL` (RFC 6381: the SPS bytes profile_idc, constraint flags, level_idc),
so a player never rejects a 320x180 rung for claiming 1080p's level 4.0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Level:
    """One row of Table A-1: limits in macroblocks, and in kbit(/s) for Baseline/Main."""

    name: str  # as x264's --level takes it
    idc: int  # level_idc in the SPS
    max_mbps: int
    max_frame_mbs: int
    max_dpb_mbs: int
    max_kbps: int
    max_cpb_kbits: int


# Level 1b is left out: x264 signals it through a constraint flag, and nothing here needs it.
LEVELS = (
    Level("1.0", 10, 1_485, 99, 396, 64, 175),
    Level("1.1", 11, 3_000, 396, 900, 192, 500),
    Level("1.2", 12, 6_000, 396, 2_376, 384, 1_000),
    Level("1.3", 13, 11_880, 396, 2_376, 768, 2_000),
    Level("2.0", 20, 11_880, 396, 2_376, 2_000, 2_000),
    Level("2.1", 21, 19_800, 792, 4_752, 4_000, 4_000),
    Level("2.2", 22, 20_250, 1_620, 8_100, 4_000, 4_000),
    Level("3.0", 30, 40_500, 1_620, 8_100, 10_000, 10_000),
    Level("3.1", 31, 108_000, 3_600, 18_000, 14_000, 14_000),
    Level("3.2", 32, 216_000, 5_120, 20_480, 20_000, 20_000),
    Level("4.0", 40, 245_760, 8_192, 32_768, 20_000, 25_000),
    Level("4.1", 41, 245_760, 8_192, 32_768, 50_000, 62_500),
    Level("4.2", 42, 522_240, 8_704, 34_816, 50_000, 62_500),
    Level("5.0", 50, 589_824, 22_080, 110_400, 135_000, 135_000),
    Level("5.1", 51, 983_040, 36_864, 184_320, 240_000, 240_000),
    Level("5.2", 52, 2_073_600, 36_864, 184_320, 240_000, 240_000),
)
BY_NAME = {level.name: level for level in LEVELS}

# x264 with B-pyramid keeps 4 reference frames (its SPS num_ref_frames is at least 4).
DPB_FRAMES = 4
# profile_idc and the constraint byte x264 writes for it (constraint_set1 up to Main).
PROFILES = {"main": (77, 0x40), "high": (100, 0x00)}
# High's VBV limits are 1.25 times the table's (cpbBrVclFactor 1250 vs 1000).
BITRATE_FACTOR = {"main": 1.0, "high": 1.25}
# Below this short side rungs are Main: every H.264 decoder, old phones and set-top boxes
# included, plays Main, and High's 8x8 transform gains little on small pictures.
HIGH_FROM_SHORT_SIDE = 720


@dataclass(frozen=True, slots=True)
class H264:
    """The profile (x264's name) and level of one rendition."""

    profile: str
    level: Level

    @property
    def codecs(self) -> str:
        """The RFC 6381 CODECS value: avc1 + profile_idc, constraint flags, level_idc in hex."""
        idc, constraints = PROFILES[self.profile]
        return f"avc1.{idc:02x}{constraints:02x}{self.level.idc:02x}"


def profile_for(width: int, height: int) -> str:
    """Main for small rungs, High from 720 lines on the short side."""
    return "high" if min(width, height) >= HIGH_FROM_SHORT_SIDE else "main"


def level_for(
    width: int,
    height: int,
    frame_rate: float,
    *,
    profile: str = "high",
    maxrate_kbps: int = 0,
    bufsize_kbps: int = 0,
) -> Level | None:
    """The lowest level whose limits cover the rendition, or None when none does."""
    mb_width, mb_height = math.ceil(width / 16), math.ceil(height / 16)
    frame_mbs = mb_width * mb_height
    factor = BITRATE_FACTOR[profile]
    for level in LEVELS:
        if (
            frame_mbs <= level.max_frame_mbs
            # Neither side may exceed sqrt(8 * MaxFS) macroblocks (A.3.1 f, g).
            and max(mb_width, mb_height) ** 2 <= 8 * level.max_frame_mbs
            and frame_mbs * frame_rate <= level.max_mbps
            and frame_mbs * DPB_FRAMES <= level.max_dpb_mbs
            and maxrate_kbps <= level.max_kbps * factor
            and bufsize_kbps <= level.max_cpb_kbits * factor
        ):
            return level
    return None


def settings(
    width: int, height: int, frame_rate: float, maxrate_kbps: int, bufsize_kbps: int
) -> H264 | None:
    """Profile and level for a rendition, or None when no H.264 level allows it."""
    profile = profile_for(width, height)
    level = level_for(
        width,
        height,
        frame_rate,
        profile=profile,
        maxrate_kbps=maxrate_kbps,
        bufsize_kbps=bufsize_kbps,
    )
    return H264(profile, level) if level else None
