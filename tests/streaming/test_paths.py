"""Ids and relative paths are validated before they can reach storage."""

from __future__ import annotations

import pytest

from streaming import paths
from streaming.errors import InvalidPath


def test_new_ids_are_valid_and_unique() -> None:
    """Generated video ids pass validation and do not repeat."""
    ids = {paths.new_video_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(paths.video_id(i) == i for i in ids)


@pytest.mark.parametrize("bad", ["", "..", "../x", "a/b", "/abs", "A" * 80, "x%2f..", "x\\y", "ab"])
def test_bad_video_ids_are_rejected(bad: str) -> None:
    """Traversal, separators, encodings and odd lengths are not ids."""
    with pytest.raises(InvalidPath):
        paths.video_id(bad)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "../etc/passwd",
        "/etc/passwd",
        "a/../../b",
        "a//b",
        "..",
        ".hidden",
        "a\\b",
        "a%2f..%2fb",
        "x/y/z",
    ],
)
def test_bad_relative_paths_are_rejected(bad: str) -> None:
    """Only plain names, at most two deep, pass."""
    with pytest.raises(InvalidPath):
        paths.relative_file(bad)


@pytest.mark.parametrize("good", ["master.m3u8", "720p/index.m3u8", "360p/seg_00001.ts"])
def test_packaged_paths_are_accepted(good: str) -> None:
    """What the packager writes is addressable."""
    assert paths.relative_file(good) == good
