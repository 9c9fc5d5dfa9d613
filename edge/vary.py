"""Vary as secondary cache keys (RFC 9111 §4.1).

A response with `Vary: Foo` is stored under its primary key plus the request's `Foo` value,
and a small marker under the primary key names the headers, so the next lookup knows which
request headers select its variant. `Vary: *` is never stored (edge.cacheability).
`Accept-Encoding` is left out of the selection: the edge always asks origins for the identity
encoding and compresses itself, so every viewer matches that one stored response (as
CloudFront normalises Accept-Encoding).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from edge.cache import Entry

MARKER_STATUS = 0  # an Entry with this status is a marker, not a response
NOT_SELECTING = frozenset({"accept-encoding"})
_SPACE = re.compile(r"\s*,\s*|\s+")


def names(headers: Mapping[str, str]) -> tuple[str, ...]:
    """The request headers a response varies on (sorted, lower-case, selection-relevant)."""
    listed = {n.strip().lower() for n in headers.get("vary", "").split(",") if n.strip()}
    return tuple(sorted(listed - NOT_SELECTING))


def selected(varied: tuple[str, ...], request: Mapping[str, str]) -> dict[str, str]:
    """The request's values of the varied headers, normalised (whitespace, list separators)."""
    return {n: _SPACE.sub(" ", request[n].strip()) for n in varied if n in request}


SEPARATOR = "|vary:"


def secondary_key(key: str, varied: tuple[str, ...], request: Mapping[str, str]) -> str:
    values = selected(varied, request)
    return key + SEPARATOR + "&".join(f"{n}={values.get(n, '')!r}" for n in varied)


def primary_key(key: str) -> str:
    """The primary key of a primary or secondary key."""
    return key.split(SEPARATOR, 1)[0]


def matches(varied: tuple[str, ...], a: Mapping[str, str], b: Mapping[str, str]) -> bool:
    """Whether two requests select the same variant."""
    return selected(varied, a) == selected(varied, b)


def marker(key: str, path: str, varied: tuple[str, ...], now: float, lifetime: float) -> Entry:
    """The entry under the primary key that says which headers select the variants."""
    return Entry(key, path, MARKER_STATUS, {"vary": ", ".join(varied)}, 0, now, lifetime, body=b"")


def is_marker(entry: Entry) -> bool:
    return entry.status == MARKER_STATUS
