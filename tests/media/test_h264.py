"""H.264 levels from Table A-1 (frame size, macroblock rate, VBV, DPB) and their CODECS values."""

from __future__ import annotations

import pytest

from media import h264


def _name(width: int, height: int, fps: float, profile: str = "high", **rates: int) -> str:
    level = h264.level_for(width, height, fps, profile=profile, **rates)
    assert level is not None
    return level.name


def test_levels_follow_the_table_from_180p_to_1080p60() -> None:
    """320x180@30 fits 1.3 (240 MBs, 7200 MB/s); 1080p30 is 4.0, 1080p60 4.2, 720p60 3.2."""
    assert _name(320, 180, 30, "main", maxrate_kbps=390, bufsize_kbps=730) == "1.3"
    assert _name(1920, 1080, 30) == "4.0"
    assert _name(1920, 1080, 60) == "4.2"
    assert _name(1280, 720, 30) == "3.1"
    assert _name(1280, 720, 60) == "3.2"


def test_portrait_frames_get_the_level_of_their_landscape_twin() -> None:
    """1080x1920 has the same 8160 macroblocks as 1920x1080, and no side beyond sqrt(8*MaxFS)."""
    assert _name(1080, 1920, 30) == _name(1920, 1080, 30) == "4.0"
    assert _name(720, 1280, 60) == "3.2"


def test_bit_rate_and_buffer_raise_the_level_high_allowing_a_quarter_more() -> None:
    """640x360@25 is 3.0 by size, but a 12 Mb/s VBV needs 3.1 in Main and fits 3.0 in High."""
    assert _name(640, 360, 25, "main") == "3.0"
    assert _name(640, 360, 25, "main", maxrate_kbps=12_000) == "3.1"
    assert _name(640, 360, 25, "high", maxrate_kbps=12_000) == "3.0"
    assert _name(640, 360, 25, "main", bufsize_kbps=10_001) == "3.1"


def test_nothing_beyond_level_5_2_is_offered() -> None:
    """8K is no H.264 level at all; 4K60 is 5.2."""
    assert h264.level_for(7680, 4320, 30) is None
    assert _name(3840, 2160, 60) == "5.2"


@pytest.mark.parametrize(
    ("profile", "level", "codecs"),
    [("main", "3.0", "avc1.4d401e"), ("main", "1.3", "avc1.4d400d"),
     ("high", "4.0", "avc1.640028"), ("high", "4.2", "avc1.64002a")],
)  # fmt: skip
def test_codecs_spell_profile_constraints_and_level_in_hex(
    profile: str, level: str, codecs: str
) -> None:
    """avc1.PPCCLL as x264 writes the SPS: Main sets constraint_set1 (0x40), High none."""
    assert h264.H264(profile, h264.BY_NAME[level]).codecs == codecs


def test_profile_is_main_below_720_lines_high_from_there() -> None:
    """The short side decides, so portrait rungs get the profile of their landscape twins."""
    assert [h264.profile_for(w, h) for w, h in ((640, 360), (480, 854), (720, 1280))] == [
        "main",
        "main",
        "high",
    ]
