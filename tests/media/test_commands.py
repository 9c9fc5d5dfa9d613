"""Pure argv builders: keyframe placement and the live channel's wall-clock segmenting."""

from __future__ import annotations

from pathlib import Path

from media import commands
from media.ladder import live_rungs


def test_startup_cuts_are_about_one_second() -> None:
    """4 s segments start as four 1 s cuts; 2.5 s as three of 0.833 s; 1 s stays one cut."""
    assert commands.startup_cuts(4.0) == (4, 1.0)
    assert commands.startup_cuts(2.5) == (3, 2.5 / 3)
    assert commands.startup_cuts(1.0) == (1, 1.0)


def test_keyframes_fall_on_startup_cuts_then_on_segment_boundaries() -> None:
    """The expression keys t = 0,1,2,3 then 4,8,12,... for 4 s segments."""
    expr = commands.keyframe_times(4.0)
    assert expr == "expr:gte(t,if(lt(n_forced,4),n_forced*1,(n_forced-4+1)*4))"


def test_live_argv_numbers_segments_from_the_wall_clock(tmp_path: Path) -> None:
    """Timestamps offset to the epoch start, segment numbers from epoch/duration, TS continuous."""
    rungs = live_rungs((360, 180))
    job = commands.LiveJob(
        "testsrc", True, (tmp_path / "a", tmp_path / "b"), rungs, 2, 25, 1_800_000_000
    )
    argv = commands.live(job)
    assert argv.count("-output_ts_offset") == 2 and "1800000000" in argv
    assert argv[argv.index("-segment_start_number") + 1] == "900000000"
    assert argv[argv.index("-individual_header_trailer") + 1] == "0"
    assert argv[argv.index("-g") + 1] == "50" and "-re" in argv
    assert "expr:gte(t,n_forced*2)" in argv
    assert argv[argv.index("-progress") + 1] == "pipe:1"  # dies of SIGPIPE with its origin


def test_h264_level_covers_the_rendition_and_codecs_say_so() -> None:
    """1080p up to 30 fps is level 4.0 (avc1.640028); 1080p60 needs 4.2 (avc1.64002a)."""
    assert commands.h264_level(1920, 1080, 30) == "4.0"
    assert commands.h264_level(1920, 1080, 60) == "4.2"
    assert commands.h264_level(1280, 720, 60) == "4.0"
    assert commands.codecs_video("4.0") == "avc1.640028"
    assert commands.codecs_video("4.2") == "avc1.64002a"


def test_each_rendition_gets_its_own_level(tmp_path: Path) -> None:
    """A 1080p60 source: -level:v:0 4.2 for 1080p, 4.0 for 720p."""
    from media.ladder import ladder_for
    from media.probe import MediaInfo

    info = MediaInfo(1920, 1080, 10.0, 60.0, True, "h264", "yuv420p", 0)
    job = commands.PackageJob(tmp_path / "in.mp4", tmp_path, info, ladder_for(1080)[:2], 4.0)
    argv = commands.package(job)
    assert argv[argv.index("-level:v:0") + 1] == "4.2"
    assert argv[argv.index("-level:v:1") + 1] == "4.0"
