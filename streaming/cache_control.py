"""Parsing and writing of Cache-Control, Expires and HTTP dates."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime


def parse(header: str | None) -> dict[str, str | None]:
    """Split a Cache-Control value into lower-case directives (value or None)."""
    directives: dict[str, str | None] = {}
    if not header:
        return directives
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name:
            directives[name.lower()] = value.strip('"') if value else None
    return directives


def seconds(directives: dict[str, str | None], name: str) -> float | None:
    """A directive's delta-seconds, or None when absent or malformed."""
    raw = directives.get(name)
    if raw is None:
        return None
    try:
        return max(0.0, float(int(raw)))
    except ValueError:
        return None


def http_date(timestamp: float) -> str:
    """An RFC 9110 IMF-fixdate for a POSIX timestamp."""
    return format_datetime(datetime.fromtimestamp(timestamp, UTC), usegmt=True)


def parse_http_date(value: str | None) -> float | None:
    """A POSIX timestamp from an HTTP date, or None when absent or malformed."""
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
