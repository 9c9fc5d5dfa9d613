"""Ladder planning, a pure function: rungs keyed by the short side, even sizes, never upscaled."""

from __future__ import annotations

import pytest

from media import ladder
from media.ladder import STEREO, SURROUND, codec, plan
from streaming.config import LadderRung
from streaming.errors import UnsupportedMedia


def sizes(width: int, height: int, fps: float = 30) -> list[tuple[int, int]]:
    return [(r.width, r.height) for r in plan(width, height, fps)]


def test_portrait_1080x1920_keeps_a_1080x1920_top_rung() -> None:
    """Keyed by the short side: 1080x1920, 720x1280, 480x854, 360x640 (not 608x1080 on top)."""
    rungs = plan(1080, 1920, 30)
    assert [(r.name, r.width, r.height) for r in rungs] == [
        ("1080p", 1080, 1920), ("720p", 720, 1280), ("480p", 480, 854), ("360p", 360, 640),
    ]  # fmt: skip
    assert sizes(1920, 1080) == [(1920, 1080), (1280, 720), (854, 480), (640, 360)]


def test_rungs_above_the_source_are_skipped_never_upscaled() -> None:
    """A 720x1280 phone clip starts at 720p; a 1000-line one too (no rung between)."""
    assert sizes(720, 1280) == [(720, 1280), (480, 854), (360, 640)]
    assert sizes(1000, 1778)[0] == (720, 1280)


def test_odd_sizes_become_even_without_passing_the_source() -> None:
    """1080x1923: the long side rounds to 1922 at most, never up to 1924; 321x181 -> 320x180."""
    top = plan(1080, 1923, 30)[0]
    assert (top.width, top.height) == (1080, 1922)
    assert sizes(321, 181) == [(320, 180)]
    assert all(w % 2 == 0 and h % 2 == 0 for w, h in sizes(853, 479) + sizes(479, 853))


def test_aspect_is_kept_and_rates_follow_the_pixel_count() -> None:
    """4:3 at 1080 lines is 1440x1080 with 3/4 of the 16:9 rate; 2.39:1 gets more."""
    four_three = plan(1440, 1080, 25)
    assert [(r.width, r.height) for r in four_three][:2] == [(1440, 1080), (960, 720)]
    assert four_three[0].video_kbps == 4500
    scope = plan(1920, 804, 24)[0]
    assert (scope.width, scope.height) == (1720, 720) and scope.video_kbps > 3000


def test_a_source_below_every_rung_gets_one_at_its_own_size() -> None:
    """320x180 and its portrait twin: one 180p rung, the rate scaled from 360p's."""
    assert [(r.name, r.width, r.height, r.video_kbps) for r in plan(180, 320, 25)] == [
        ("180p", 180, 320, 365)
    ]


def test_each_rung_gets_its_own_profile_and_level() -> None:
    """1080x1920@30: High 4.0 and 3.1, then Main 3.1 and 3.0; at 60 fps the top rung is 4.2."""
    assert [codec(r, 30).codecs for r in plan(1080, 1920, 30)] == [
        "avc1.640028", "avc1.64001f", "avc1.4d401f", "avc1.4d401e",
    ]  # fmt: skip
    assert codec(plan(1080, 1920, 60)[0], 60).codecs == "avc1.64002a"
    tiny = plan(320, 180, 30)[0]
    assert codec(tiny, 30).codecs == "avc1.4d400d"  # Main 1.3, not 1080p's 4.0


def test_a_configured_ladder_is_planned_the_same_way() -> None:
    """origin.ladder rungs in any order: largest first, only those that fit."""
    configured = (
        LadderRung(short_side=240, video_kbps=400),
        LadderRung(short_side=360, video_kbps=730),
        LadderRung(short_side=480, video_kbps=1400),
    )
    rungs = plan(360, 640, 25, configured)
    assert [(r.name, r.width, r.height, r.video_kbps) for r in rungs] == [
        ("360p", 360, 640, 730), ("240p", 240, 426, 400),
    ]  # fmt: skip


def test_a_picture_beyond_every_h264_level_is_refused() -> None:
    """A 2160-line rung of a 7680x2160 panorama has more macroblocks than level 5.2 allows."""
    wide = (LadderRung(short_side=2160, video_kbps=20_000),)
    with pytest.raises(UnsupportedMedia, match="beyond every H.264 level"):
        plan(7680, 2160, 30, wide)


@pytest.mark.parametrize(
    ("has_audio", "channels", "expected"),
    [(True, 6, (STEREO, SURROUND)), (True, 8, (STEREO, SURROUND)), (True, 2, ()),
     (True, 1, ()), (False, 0, ())],
)  # fmt: skip
def test_multichannel_sources_get_stereo_and_5_1_renditions(
    has_audio: bool, channels: int, expected: tuple[ladder.AudioRendition, ...]
) -> None:
    """More than two channels: separate stereo (the default) and 5.1; else audio stays muxed."""
    assert ladder.audio_for(has_audio, channels) == expected
    assert (STEREO.channels, SURROUND.channels) == (2, 6)
