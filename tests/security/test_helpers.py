"""The suite's own parts, without processes: the raw response parser, the leak detector, the
shape families and the report. A detector that missed a leak would make every verdict void."""

from __future__ import annotations

import os

from tests.security.ledger import Ledger, fingerprints, looks_like_hls
from tests.security.rawhttp import RawResponse, parse_responses
from tests.security.report import render
from tests.security.shapes import FAMILIES, every_shape

SEGMENT = b"\x47" + os.urandom(187) + b"\x47" + os.urandom(600)
POSTER = b"\xff\xd8" + os.urandom(300)


def test_pipelined_responses_are_told_apart_whatever_their_framing() -> None:
    data = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
        b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nshort"
    )
    responses, rest = parse_responses(data)
    assert [(r.status, r.body) for r in responses] == [
        (200, b"hello"), (403, b"abc"), (404, b"short")
    ]  # fmt: skip
    assert rest == b""


def test_a_window_of_a_private_body_is_found_in_any_answer_but_shared_bytes_are_not_used() -> None:
    shared = os.urandom(64)
    private = shared + os.urandom(400)
    prints = fingerprints({"/hls/t/seg.ts": private, "/drm/t/key": b"K" * 16}, [shared + POSTER])
    assert shared[:32] not in prints.windows and "/drm/t/key" in prints.whole
    ledger = Ledger(prints, {"name": b"secret-name.mp4"}, "vtarget")
    leak = RawResponse(403, [], b'{"error": "x"}' + private[200:260])
    assert ledger.leaks_in(leak, anonymous=False) == ["/hls/t/seg.ts"]
    assert ledger.leaks_in(RawResponse(200, [], b"..KKKKKKKKKKKKKKKK.."), False) == ["/drm/t/key"]
    assert ledger.leaks_in(RawResponse(200, [], POSTER), anonymous=True) == []
    job = RawResponse(200, [], b'{"id": "vtarget", "state": "ready"}')
    assert ledger.leaks_in(job, anonymous=False) == [
        "the target video's job record (JSON naming its id)"
    ]
    assert ledger.leaks_in(RawResponse(403, [], b'{"detail": "vtarget"}'), False) == []


def test_hls_content_is_recognised_only_in_successful_answers_to_anonymous_viewers() -> None:
    assert looks_like_hls(b"#EXTM3U\n#EXT-X-VERSION:3") == "an HLS playlist"
    assert looks_like_hls(SEGMENT) == "an MPEG-TS segment"
    assert looks_like_hls(POSTER) is None
    ledger = Ledger(fingerprints({}, []), {}, "vtarget")
    assert ledger.leaks_in(RawResponse(200, [], b"#EXTM3U\n"), anonymous=True) == [
        "an HLS playlist"
    ]
    assert ledger.leaks_in(RawResponse(200, [], b"#EXTM3U\n"), anonymous=False) == []
    assert ledger.leaks_in(RawResponse(403, [], b"#EXTM3U\n"), anonymous=True) == []


def test_every_family_has_shapes_for_every_kind_of_private_path() -> None:
    for path in ("/hls/vt/180p/seg_00000.ts", "/drm/vt/key", "/live/ch/90p/1.ts"):
        shapes = every_shape(path, "vt", "vo", "127.0.0.1:1", "cdn.test")
        assert {s.family for s in shapes} == set(FAMILIES), path
        assert all(" " not in s.target and "\r" not in s.target for s in shapes)
        assert any(s.foreign for s in shapes)


def test_the_report_renders_the_figures_a_summary_holds() -> None:
    summary = {
        "requests": 12, "connections": 3, "private_objects": 2, "live_channel": True,
        "private_leaks": 1, "server_errors": 0, "processes": 2, "processes_serving": 2,
        "smuggling": {"edge a": "400, closed", "edge b": "200, kept open"},
        "findings": ["leak on edge: 'GET /x' -> 200: /hls/t/seg.ts"],
    }  # fmt: skip
    text = render(summary, "3 passed", 1.0)
    assert "| hostile requests sent | 12 |" in text
    assert "| answers carrying private bytes or metadata | 1 |" in text
    assert "edge b: 200, kept open" in text and "GET /x" in text
