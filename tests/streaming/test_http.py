"""Range parsing, validators and the error mapping shared by origin and edge."""

from __future__ import annotations

import json

import pytest

from streaming.errors import NotFound, RangeNotSatisfiable
from streaming.http import error_response, etag_matches, parse_range


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 100, None),
        ("bytes=0-9", 100, (0, 9)),
        ("bytes=90-", 100, (90, 99)),
        ("bytes=-10", 100, (90, 99)),
        ("bytes=-500", 100, (0, 99)),
        ("bytes=50-500", 100, (50, 99)),
        ("bytes=0-1,5-6", 100, None),
        ("items=0-1", 100, None),
        ("bytes=9-1", 100, None),
    ],
)
def test_single_and_suffix_ranges_resolve(
    header: str | None, size: int, expected: tuple[int, int] | None
) -> None:
    """Single and suffix ranges resolve; multi-range and malformed fall back to the full body."""
    assert parse_range(header, size) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=200-300", "bytes=-0"])
def test_unsatisfiable_ranges_raise_416(header: str) -> None:
    """A range starting past the end is a 416 with Content-Range: bytes */size."""
    with pytest.raises(RangeNotSatisfiable) as info:
        parse_range(header, 100)
    response = error_response(info.value)
    assert response.status_code == 416
    assert response.headers["content-range"] == "bytes */100"


def test_etag_comparison_is_weak_and_accepts_lists() -> None:
    """If-None-Match matches weakly, in lists, and with `*`."""
    assert etag_matches('"a", W/"b"', '"b"')
    assert etag_matches("*", '"x"')
    assert not etag_matches('"a"', '"b"')
    assert not etag_matches(None, '"b"')


def test_errors_render_code_and_detail() -> None:
    """Every StreamingError becomes {"error": code, "detail": reason} with its status."""
    response = error_response(NotFound("no video v123"))
    assert response.status_code == 404
    assert json.loads(bytes(response.body)) == {"error": "not_found", "detail": "no video v123"}
