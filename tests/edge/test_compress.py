"""CloudFront's compression rules: what qualifies, what the viewer accepts."""

from __future__ import annotations

import gzip

import brotli
import pytest

from edge.compress import compress, compressible_type, negotiate, qualifies

PLAYLIST = {"content-type": "application/vnd.apple.mpegurl"}


@pytest.mark.parametrize(("accept", "version", "chosen"), [
    ("gzip, deflate, br", "1.1", "br"), ("gzip", "1.1", "gzip"), ("br;q=0, gzip", "1.1", "gzip"),
    ("deflate", "1.1", None), ("identity", "1.1", None), ("", "1.1", None), ("*", "1.1", "br"),
    ("gzip, br", "1.0", None),  # HTTP/1.0: never compressed
])  # fmt: skip
def test_brotli_is_preferred_and_refusals_are_honoured(
    accept: str, version: str, chosen: str | None
) -> None:
    """br over gzip, q=0 refuses, other codings ignored, nothing for HTTP/1.0 viewers."""
    assert negotiate(accept, version) == chosen


@pytest.mark.parametrize(("status", "headers", "size", "ok"), [
    (200, PLAYLIST, 5000, True),
    (200, PLAYLIST, 999, False),                                   # below 1,000 bytes
    (200, PLAYLIST, 10_000_001, False),                            # above 10,000,000 bytes
    (200, {"content-type": "video/mp2t"}, 5000, False),            # media segments never
    (200, {"content-type": "video/mp4"}, 5000, False),
    (200, {"content-type": "text/vtt; charset=utf-8"}, 5000, True),
    (200, {"content-type": "application/json"}, 5000, True),
    (404, {"content-type": "text/html"}, 5000, True),
    (206, PLAYLIST, 5000, False), (500, {"content-type": "text/html"}, 5000, False),
    (200, {**PLAYLIST, "content-encoding": "gzip"}, 5000, False),  # already encoded
])  # fmt: skip
def test_which_objects_qualify(status: int, headers: dict[str, str], size: int, ok: bool) -> None:
    """Status 200/403/404, no Content-Encoding, 1,000..10,000,000 bytes, a listed type."""
    assert qualifies(status, headers, size, 1000, 10_000_000) is ok


def test_compressed_bodies_decode_to_the_original() -> None:
    """Both codings round-trip; playlists shrink."""
    body = b"#EXTM3U\n" + b"#EXTINF:4.0,\nseg.ts\n" * 200
    assert gzip.decompress(compress(body, "gzip")) == body
    assert brotli.decompress(compress(body, "br")) == body
    assert len(compress(body, "br")) < len(body) / 5
    assert compressible_type("font/woff2") and not compressible_type(None)
