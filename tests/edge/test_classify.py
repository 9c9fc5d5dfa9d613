"""Behavior matching with CloudFront's path-pattern semantics."""

from __future__ import annotations

import pytest

from edge.classify import classify, compile_pattern, routes
from streaming.config import Behavior
from streaming.hls import Kind


@pytest.mark.parametrize(("pattern", "path", "matches"), [
    ("images/*.jpg", "/images/a.jpg", True),
    ("images/*.jpg", "/images/a/b/c.jpg", True),      # * crosses /
    ("/images/*.jpg", "/images/a.jpg", True),          # a leading / means the same
    ("*.jpg", "/LOGO.JPG", False),                     # case-sensitive
    ("*.doc*", "/a.docx", True),
    ("*.doc?", "/a.doc", False),                       # ? is exactly one character
    ("*.doc?", "/a.docm", True),
    ("/hls/*.m3u8", "/hls/v1/master.m3u8", True),
    ("/hls/*.m3u8", "/hls/v1/seg.ts", False),
    ("/a+b/(x)", "/a+b/(x)", True),                   # regex characters are literal
    ("/a+b/(x)", "/aab/x", False),
    ("*", "/anything", True),
])  # fmt: skip
def test_pattern_semantics(pattern: str, path: str, matches: bool) -> None:
    """`*` any run (crossing `/`), `?` one character, case-sensitive, everything else literal."""
    assert bool(compile_pattern(pattern).fullmatch(path)) is matches


def test_first_matching_behavior_wins_and_the_kind_comes_from_the_path() -> None:
    """Order decides, the default `*` catches the rest; the HLS kind is known before fetching."""
    table = routes((
        Behavior(path_pattern="/hls/*/poster.jpg", target="o"),
        Behavior(path_pattern="*.m3u8", target="o"),
        Behavior(path_pattern="/hls/*", target="o"),
        Behavior(path_pattern="*", target="o"),
    ))  # fmt: skip
    assert classify("/hls/v1/poster.jpg", table).route.index == 0
    master = classify("/hls/v1/master.m3u8", table)
    assert master.route.index == 1 and master.kind is Kind.MASTER
    assert classify("/hls/v1/720p/index.m3u8", table).kind is Kind.MEDIA_PLAYLIST
    segment = classify("/hls/v1/720p/seg_00001.ts", table)
    assert segment.route.index == 2 and segment.kind is Kind.SEGMENT
    assert classify("/drm/v1/key", table).route.index == 3
