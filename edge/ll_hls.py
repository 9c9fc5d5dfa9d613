"""Low-Latency HLS at the edge: which requests are held by the origin, and what keys them.

draft-pantos-hls-rfc8216bis §6.2.5: a player asks for the playlist that will hold part P of
segment M (`_HLS_msn=M&_HLS_part=P`, optionally `_HLS_skip=YES|v2` for a delta update) and the
origin holds the request until it exists; the preload-hinted part (`<rung>/<N>.<P>.m4s`, named
from the wall clock by the origin) is held the same way. For the edge this means:

- the three `_HLS_*` directives are part of a playlist's cache key and reach the origin whatever
  the behavior's query-string allow-list says (each answers a different playlist), and only for
  playlists: on other objects they keep the behavior's rules;
- a held request waits up to the hold timeout, not the origin's short response timeout, and its
  waiting is never a sign of a slow origin (edge.failover);
- a blocking answer never changes (it holds at least the part it was asked for), so it is kept
  long; the plain playlist changes every part, so it lives a fraction of PART-TARGET; an error
  answer to a held request is kept only for a moment, since the part is due any time.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from streaming.hls import Kind, is_part

DIRECTIVES = ("_HLS_msn", "_HLS_part", "_HLS_skip")
BLOCKING = ("_HLS_msn", "_HLS_part")
_PART_TARGET = re.compile(rb"#EXT-X-PART-INF:(?:[^\n]*?,)?PART-TARGET=([0-9.]+)")
HELD_ERROR_TTL = 0.5  # seconds an error answer to a held request is kept (the part is due)
PLAYLIST_FRACTION = 0.5  # of PART-TARGET: how long a plain LL playlist stays fresh


def directives(query: str) -> list[tuple[str, str]]:
    """The `_HLS_*` directives of a query string, sorted so equal requests share a key."""
    if "_HLS_" not in query:
        return []
    return sorted((k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k in DIRECTIVES)


def is_playlist(kind: Kind) -> bool:
    return kind in (Kind.MASTER, Kind.MEDIA_PLAYLIST)


def blocking(kind: Kind, query: str) -> bool:
    """A blocking playlist reload: the origin holds it until the asked part exists."""
    return is_playlist(kind) and any(k in BLOCKING for k, _ in directives(query))


def held(kind: Kind, path: str, query: str) -> bool:
    """Whether the origin may hold this request (a blocking reload or a part request)."""
    return blocking(kind, query) or (kind is Kind.SEGMENT and is_part(path))


def part_target(body: bytes) -> float | None:
    """EXT-X-PART-INF's PART-TARGET of a media playlist body, None for a classic playlist."""
    match = _PART_TARGET.search(body)
    if match is None:
        return None
    try:
        value = float(match.group(1))
    except ValueError:
        return None
    return value if value > 0 else None
