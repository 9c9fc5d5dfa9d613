"""The live window: numbering, discontinuities, gaps and their sequence, as players read them."""

from __future__ import annotations

import m3u8

from media.live_window import Window, parse, render


def discontinuity_numbers(text: str) -> dict[int, int]:
    """Segment number -> discontinuity number, counted as hls.js does (`cc`)."""
    playlist = m3u8.loads(text)
    cc, found = playlist.discontinuity_sequence or 0, {}
    for segment in playlist.segments:
        cc += segment.discontinuity
        found[int(segment.uri.removesuffix(".ts"))] = cc
    return found


def test_playlist_sequence_is_the_first_number_with_dates_from_it() -> None:
    """MEDIA-SEQUENCE = first segment number; PROGRAM-DATE-TIME = number × duration (UTC)."""
    window = Window(6)
    window.append(900_000_000, 2.0, "a")
    window.append(900_000_001, 2.0, "a")
    text = render(window, 2)
    playlist = m3u8.loads(text)
    assert playlist.media_sequence == 900_000_000 and playlist.target_duration == 2
    assert playlist.playlist_type is None and not playlist.is_endlist
    assert [s.uri for s in playlist.segments] == ["900000000.ts", "900000001.ts"]
    assert playlist.segments[0].program_date_time.timestamp() == 1_800_000_000
    assert "#EXT-X-PROGRAM-DATE-TIME:2027-01-15T08:00:02.000Z" in text
    assert playlist.discontinuity_sequence == 0 and "#EXT-X-DISCONTINUITY\n" not in text


def test_a_new_run_keeps_the_old_segments_marks_a_discontinuity_and_lists_holes_as_gaps() -> None:
    """After a restart the previous run stays listed; numbers nobody produced are EXT-X-GAP, so
    segment N is still at media sequence N; the new run starts with EXT-X-DISCONTINUITY."""
    window = Window(6)
    for n in (10, 11):
        window.append(n, 1.0, "run:10")
    assert list(window.missing(14)) == [12, 13]
    window.gap(12, 1.0)
    window.append(13, 1.0, "peer:3")  # a copy from a peer's run
    window.append(14, 1.0, "run:14")
    playlist = m3u8.loads(render(window, 1))
    assert playlist.media_sequence == 10
    assert [s.uri for s in playlist.segments] == [f"{n}.ts" for n in range(10, 15)]
    assert [bool(s.gap_tag) for s in playlist.segments] == [False, False, True, False, False]
    assert [s.discontinuity for s in playlist.segments] == [False, False, False, True, True]


def test_discontinuity_sequence_counts_what_slid_out_so_every_segment_keeps_its_number() -> None:
    """As flagged segments leave the window EXT-X-DISCONTINUITY-SEQUENCE grows by one each: a
    player reloading the playlist computes the same discontinuity number for every segment."""
    window, seen = Window(6), {}
    for n in range(100, 120):
        window.append(n, 1.0, f"run:{n // 3}")  # a new run every third segment
        for number, cc in discontinuity_numbers(render(window, 1)).items():
            assert seen.setdefault(number, cc) == cc, (number, render(window, 1))
    # runs 34..37 began at 102..111 and slid out; 38 began at 114, still listed first
    assert window.discontinuity_sequence == 4 and window.segments[0].discontinuity


def test_a_hole_longer_than_the_window_slides_everything_out() -> None:
    """Down for longer than a window: the old segments leave (their discontinuities counted),
    and only the window before the new segment is filled."""
    window = Window(6)
    window.append(5, 1.0, "a")
    window.append(6, 1.0, "b")
    assert list(window.missing(100)) == [95, 96, 97, 98, 99]
    for n in window.missing(100):
        window.gap(n, 1.0)
    window.append(100, 1.0, "c")
    assert [s.number for s in window.segments] == [95, 96, 97, 98, 99, 100]
    assert window.discontinuity_sequence == 1 and window.segments[-1].discontinuity
    assert list(Window(6).missing(7)) == []  # nothing listed yet: nothing to fill


def test_a_published_window_parses_back_to_the_same_playlist_and_its_runs() -> None:
    """What a restarted origin reads back renders to the same text; a run after it is a new
    discontinuity; a peer's playlist names its runs after the peer and its discontinuities."""
    window = Window(6)
    for n, run in (
        (6, "z"),
        (7, "a"),
        (8, "a"),
        (10, "b"),
        (11, "b"),
        (12, "c"),
        (13, "c"),
        (14, "c"),
    ):
        if window.newest is not None:
            for hole in window.missing(n):
                window.gap(hole, 1.0)
        window.append(n, 1.0, run)
    text = render(window, 1)
    restored = parse(text, "restored:", 6)
    assert render(restored, 1) == text
    assert restored.discontinuity_sequence == window.discontinuity_sequence == 1
    assert {s.run for s in restored.segments if not s.gap} == {"restored:2", "restored:3"}
    restored.append(15, 1.0, "run:15")
    assert restored.segments[-1].discontinuity
    peer = parse(text, "eu-west:")
    assert [s.number for s in peer.segments] == list(range(9, 15))
    assert peer.segments[0].gap and peer.segments[1].run == "eu-west:2"
