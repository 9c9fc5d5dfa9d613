"""Edge compression with CloudFront's rules: gzip or brotli for playlists and text, never media.

An object qualifies when its behavior compresses, it is cached, it carries no
Content-Encoding, its size is within the configured range (CloudFront: 1,000..10,000,000
bytes), its status is 200/403/404 and its type is on the list. Brotli wins when the viewer
accepts both. Every response of a compressible type says `Vary: Accept-Encoding`.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping

import brotli

from edge.cache import Entry
from edge.cache.memory import MemoryCache
from edge.viewer import Viewer
from streaming.config import Behavior, EdgeSettings

COMPRESSIBLE_STATUS = frozenset({200, 403, 404})
_EXACT_TYPES = frozenset({
    "application/vnd.apple.mpegurl", "application/x-mpegurl", "vnd.apple.mpegurl",
    "audio/mpegurl", "application/dash+xml", "application/json", "application/javascript",
    "application/x-javascript", "application/xml", "application/xhtml+xml", "application/rss+xml",
    "application/ld+json", "application/manifest+json", "image/svg+xml", "image/x-icon",
    "image/vnd.microsoft.icon", "application/vnd.ms-fontobject", "application/x-font-ttf",
    "application/font-woff", "application/wasm",
})  # fmt: skip
ENCODINGS = ("br", "gzip")


def compressible_type(content_type: str | None) -> bool:
    """True for the text-like content types CloudFront compresses (media segments never)."""
    if not content_type:
        return False
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime.startswith(("text/", "font/")) or mime in _EXACT_TYPES


def negotiate(accept_encoding: str | None, http_version: str) -> str | None:
    """`br` or `gzip` from the viewer's Accept-Encoding (q=0 refuses), None for HTTP/1.0."""
    if not accept_encoding or http_version == "1.0":
        return None
    accepted: set[str] = set()
    for item in accept_encoding.lower().split(","):
        name, _, params = item.strip().partition(";")
        q = params.strip()
        if q.startswith("q=") and _is_zero(q[2:]):
            continue
        accepted.add(name.strip())
    return next((enc for enc in ENCODINGS if enc in accepted or "*" in accepted), None)


def _is_zero(value: str) -> bool:
    try:
        return float(value) == 0
    except ValueError:
        return False


def qualifies(
    status: int, headers: Mapping[str, str], size: int, min_bytes: int, max_bytes: int
) -> bool:
    """Whether an object may be served compressed (the behavior must compress and cache it)."""
    return (
        status in COMPRESSIBLE_STATUS
        and "content-encoding" not in headers
        and min_bytes <= size <= max_bytes
        and compressible_type(headers.get("content-type"))
    )


def compress(body: bytes, encoding: str) -> bytes:
    """Compress once per cached object; the result is kept next to the identity body."""
    if encoding == "br":
        return bytes(brotli.compress(body, quality=5))
    return gzip.compress(body, compresslevel=6, mtime=0)


class Compression:
    """The POP's compression decisions for one response, and the compressed copies it keeps."""

    def __init__(self, settings: EdgeSettings, memory: MemoryCache) -> None:
        self.settings, self.memory = settings, memory

    def varies(
        self, behavior: Behavior, status: int, headers: Mapping[str, str], size: int | None
    ) -> bool:
        """Whether the response must say `Vary: Accept-Encoding`: only one the edge may serve
        compressed to some viewers (its size known and in range, its type and status right)."""
        s = self.settings
        return (
            behavior.compress and size is not None
            and qualifies(status, headers, size, s.compress_min_bytes, s.compress_max_bytes)
        )  # fmt: skip

    def applies(
        self, viewer: Viewer, behavior: Behavior, status: int, headers: Mapping[str, str],
        size: int | None,
    ) -> bool:  # fmt: skip
        """Whether this viewer gets a compressed copy of this object."""
        s = self.settings
        return (
            behavior.compress and size is not None and viewer.range is None
            and negotiate(viewer.headers.get("accept-encoding"), viewer.http_version) is not None
            and qualifies(status, headers, size, s.compress_min_bytes, s.compress_max_bytes)
        )  # fmt: skip

    def variant(self, entry: Entry, viewer: Viewer) -> tuple[str, bytes] | None:
        """The compressed copy for this viewer, made once per entry and encoding and charged to
        the memory tier; objects too large for memory go out uncompressed (best effort, as in
        CloudFront) rather than being read whole into memory."""
        encoding = negotiate(viewer.headers.get("accept-encoding"), viewer.http_version)
        if encoding is None or entry.body is None:
            return None
        data = entry.variants.get(encoding)
        if data is None:
            data = entry.variants[encoding] = compress(entry.body, encoding)
            self.memory.recharge(entry)
        return encoding, data
