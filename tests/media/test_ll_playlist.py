"""An LL-HLS rendition's playlist: parts, hints, reports, gaps, discontinuities, delta updates."""

from __future__ import annotations

import m3u8
import pytest

from media.ll_playlist import Part, Playlist, RenditionReport, Timing, render

N = 900_000_000


def filled(segments: int, window: int = 10, parts: int = 4, run: str = "a") -> Playlist:
    """`segments` complete 2 s segments of `parts` parts from N on, plus two parts of the next."""
    playlist = Playlist(Timing(2, 0.5, window))
    for number in range(N, N + segments):
        for index in range(parts):
            playlist.add_part(number, Part(index, 0.5, index == 0), "init-a.mp4", run)
        playlist.complete()
    for index in range(2):
        playlist.add_part(N + segments, Part(index, 0.5, index == 0), "init-a.mp4", run)
    return playlist


def test_playlist_has_every_ll_hls_tag_with_parts_only_near_the_end() -> None:
    """PART-INF, SERVER-CONTROL (hold back 3 parts, skip 6 targets), MAP, dates from the wall
    clock, parts for the last 3 complete segments and the growing one, its hint, the reports."""
    playlist = filled(5)
    report = RenditionReport("../360p/index.m3u8", N + 5, 1)
    text = render(playlist, [report])
    parsed = m3u8.loads(text)
    assert parsed.version == 9 and parsed.media_sequence == N and parsed.target_duration == 2
    assert parsed.part_inf.part_target == 0.5
    control = parsed.server_control
    assert control.can_block_reload == "YES"
    assert control.part_hold_back == 1.5 and control.can_skip_until == 12
    assert '#EXT-X-MAP:URI="init-a.mp4"' in text
    assert [s.uri for s in parsed.segments] == [f"{n}.m4s" for n in range(N, N + 5)] + [None]
    assert parsed.segments[0].program_date_time.timestamp() == N * 2
    assert [len(s.parts) for s in parsed.segments] == [0, 0, 4, 4, 4, 2]
    first = parsed.segments[2].parts[0]
    assert first.uri == f"{N + 2}.0.m4s" and first.duration == 0.5 and first.independent == "YES"
    assert parsed.segments[2].parts[1].independent is None
    assert parsed.preload_hint.hint_type == "PART" and parsed.preload_hint.uri == f"{N + 5}.2.m4s"
    assert parsed.rendition_reports[0].uri == "../360p/index.m3u8"
    assert parsed.rendition_reports[0].last_msn == N + 5
    assert parsed.rendition_reports[0].last_part == 1


def test_blocking_predicates_follow_the_newest_part() -> None:
    """A part is there when it or a later one is listed; a segment only once complete."""
    playlist = filled(2)
    assert playlist.last_msn == N + 1 and playlist.last_part == (N + 2, 1)
    assert playlist.has_part(N + 2, 1) and not playlist.has_part(N + 2, 2)
    assert playlist.has_part(N + 1, 9)  # a complete segment answers for any part of it
    assert playlist.has_segment(N + 1) and not playlist.has_segment(N + 2)
    assert playlist.live_edge == N + 2


def test_delta_update_skips_all_but_the_last_skip_until_seconds() -> None:
    """_HLS_skip: 10 segments of 2 s with CAN-SKIP-UNTIL 12: the oldest 4 are skipped; the
    sequence numbers stay; a playlist no longer than 12 s is sent whole."""
    text = render(filled(10), [], skip=True)
    parsed = m3u8.loads(text)
    assert "#EXT-X-SKIP:SKIPPED-SEGMENTS=4" in text and parsed.media_sequence == N
    assert parsed.segments[0].uri == f"{N + 4}.m4s"
    assert '#EXT-X-MAP:URI="init-a.mp4"' in text
    short = render(filled(5), [], skip=True)
    assert "EXT-X-SKIP" not in short and m3u8.loads(short).segments[0].uri == f"{N}.m4s"


def test_a_new_run_after_a_hole_lists_gaps_then_a_discontinuity() -> None:
    """A segment cut short is unlisted; the numbers missed are gaps; the next run's first
    segment carries EXT-X-DISCONTINUITY (and its own init)."""
    playlist = filled(2)
    playlist.abandon()  # ffmpeg died while cutting N+2
    playlist.add_part(N + 4, Part(0, 0.5, True), "init-b.mp4", "b")
    text = render(playlist, [])
    lines = text.splitlines()
    assert f"{N + 2}.0.m4s" not in text
    gaps = [lines[i + 2] for i, line in enumerate(lines) if line == "#EXT-X-GAP"]
    assert gaps == [f"{N + 2}.m4s", f"{N + 3}.m4s"]
    disc = lines.index("#EXT-X-DISCONTINUITY")
    assert lines[disc + 1] == '#EXT-X-MAP:URI="init-b.mp4"' and f"{N + 4}.0.m4s" in lines[disc + 3]


def test_discontinuities_sliding_out_are_counted() -> None:
    """The window keeps `window` segments; a discontinuity that slides out is counted in
    EXT-X-DISCONTINUITY-SEQUENCE."""
    playlist = filled(2, window=6)
    playlist.abandon()
    for number in range(N + 3, N + 10):
        playlist.add_part(number, Part(0, 2.0, True), "init-a.mp4", "b")
        playlist.complete()
    assert [s.number for s in playlist.segments] == list(range(N + 4, N + 10))
    assert playlist.discontinuity_sequence == 1
    assert "#EXT-X-DISCONTINUITY\n" not in render(playlist, [])


def test_a_segment_number_going_back_is_refused() -> None:
    playlist = filled(2)
    playlist.complete()
    with pytest.raises(ValueError, match="not after"):
        playlist.add_part(N + 1, Part(0, 0.5, True), "init-a.mp4", "a")
