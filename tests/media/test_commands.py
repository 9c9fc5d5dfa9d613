"""Pure argv builders: keyframe placement and the live channel's wall-clock segmenting."""

from __future__ import annotations

from pathlib import Path

from media import commands
from media.ladder import audio_for, live_rungs, plan
from media.probe import MediaInfo


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


def test_live_levels_cover_the_rendition_and_codecs_say_so() -> None:
    """Live rungs are High: 1080p30 is 4.0 (avc1.640028), 1080p60 4.2, 720p60 3.2."""
    assert commands.h264_level(1920, 1080, 30) == "4.0"
    assert commands.h264_level(1920, 1080, 60) == "4.2"
    assert commands.h264_level(1280, 720, 60) == "3.2"
    assert commands.codecs_video("4.0") == "avc1.640028"
    assert commands.codecs_video("4.2") == "avc1.64002a"
    assert commands.codecs_video("3.0", "main") == "avc1.4d401e"


def _job(tmp_path: Path, info: MediaInfo, **kwargs: object) -> commands.PackageJob:
    rungs = plan(info.display_width, info.display_height, info.frame_rate)[:2]
    return commands.PackageJob(tmp_path / "in.mp4", tmp_path, info, rungs, 4.0, **kwargs)  # type: ignore[arg-type]


def _outputs(argv: list[str]) -> list[list[str]]:
    """The argv split after each HLS output's playlist pattern."""
    found, current = [], []
    for arg in argv:
        current.append(arg)
        if arg.endswith("%v/index.m3u8"):
            found.append(current)
            current = []
    return found


def test_each_rendition_gets_its_own_profile_and_level(tmp_path: Path) -> None:
    """A 1080p60 source: High 4.2 for 1080p, High 3.2 for 720p, scaled to the planned size."""
    info = MediaInfo(1920, 1080, 10.0, 60.0, True, "h264", "yuv420p", 0)
    argv = commands.package(_job(tmp_path, info))
    assert argv[argv.index("-profile:v:0") + 1] == "high"
    assert argv[argv.index("-level:v:0") + 1] == "4.2"
    assert argv[argv.index("-level:v:1") + 1] == "3.2"
    graph = argv[argv.index("-filter_complex") + 1]
    assert "scale=1920:1080:" in graph and "scale=1280:720:" in graph


def test_a_portrait_source_is_scaled_to_portrait_rungs(tmp_path: Path) -> None:
    """1080x1920 (or a rotated 1920x1080 phone clip): 1080x1920 and 720x1280, High 4.0 / 3.1."""
    rotated = MediaInfo(1920, 1080, 10.0, 30.0, True, "h264", "yuv420p", 90)
    argv = commands.package(_job(tmp_path, rotated))
    graph = argv[argv.index("-filter_complex") + 1]
    assert "scale=1080:1920:" in graph and "scale=720:1280:" in graph
    assert [argv[argv.index(f"-level:v:{i}") + 1] for i in (0, 1)] == ["4.0", "3.1"]


def test_interlaced_sources_are_deinterlaced_and_only_they(tmp_path: Path) -> None:
    """Field order tt/bb/tb/bt puts bwdif before everything else; progressive or unknown not."""
    for order in ("tt", "bb", "tb", "bt", "progressive", "unknown"):
        info = MediaInfo(720, 576, 4.0, 25.0, True, "mpeg2video", "yuv420p", 0, 2, order)
        argv = commands.package(_job(tmp_path, info))
        graph = argv[argv.index("-filter_complex") + 1]
        deinterlaced = order not in ("progressive", "unknown")
        assert ("bwdif" in graph) == deinterlaced, order
        assert graph.startswith(f"[0:v]{commands.DEINTERLACE},fps=25,") == deinterlaced


def test_stereo_is_muxed_into_every_rung(tmp_path: Path) -> None:
    """A stereo source: one HLS output, each variant v:i,a:i, AAC downmixed to 2 channels."""
    info = MediaInfo(1280, 720, 4.0, 25.0, True, "h264", "yuv420p", 0, 2)
    argv = commands.package(_job(tmp_path, info))
    (video,) = _outputs(argv)
    assert video[video.index("-var_stream_map") + 1] == "v:0,a:0,name:720p v:1,a:1,name:480p"
    assert argv[argv.index("-ac") + 1] == "2"


def test_multichannel_audio_goes_to_its_own_output_encrypted_like_the_video(
    tmp_path: Path,
) -> None:
    """5.1: video-only variants; stereo and 5.1 AAC in a second HLS output with full-length
    segments; both outputs name the AES-128 key info file."""
    info = MediaInfo(1280, 720, 4.0, 25.0, True, "h264", "yuv420p", 0, 6)
    key_info = tmp_path / "keyinfo.txt"
    job = _job(tmp_path, info, audio=audio_for(True, 6), key_info=key_info)
    argv = commands.package(job)
    video, audio = _outputs(argv)
    assert video[video.index("-var_stream_map") + 1] == "v:0,name:720p v:1,name:480p"
    assert video[video.index("-hls_time") + 1] == "1"  # the startup cuts
    assert audio[audio.index("-var_stream_map") + 1] == "a:0,name:audio_2ch a:1,name:audio_6ch"
    assert audio[audio.index("-hls_time") + 1] == "4"
    assert audio[audio.index("-b:a:1") + 1] == "384k"
    for output in (video, audio):
        assert output[output.index("-hls_key_info_file") + 1] == str(key_info)
    graph = argv[argv.index("-filter_complex") + 1]
    assert "[0:a:0]asplit=2[a0][a1]" in graph
    assert "channel_layouts=stereo[ar0]" in graph and "channel_layouts=5.1[ar1]" in graph
    assert "-ac" not in argv and "0:a:0" not in argv  # no muxed audio
