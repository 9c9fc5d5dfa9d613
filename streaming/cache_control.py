"""Parsing and writing of Cache-Control, Age, Expires and HTTP dates, strictly (RFC 9111, 9110).

Strict because a cache that reads a malformed value generously stores what the origin did not
mean to share: a directive value is a token or a quoted string (a `max-age` inside a quoted
string is no directive), delta-seconds are digits only, the first occurrence of a directive
wins (RFC 9111 §4.2.1), and an HTTP date is one of the three formats of RFC 9110 §5.6.7 — any
other date means "already expired".
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime
from email.utils import format_datetime

_MONTHS = {m: i for i, m in enumerate(calendar.month_abbr) if m}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_LONG_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_TIME = r"(\d{2}):(\d{2}):(\d{2})"
_MONTH = r"([A-Z][a-z]{2})"
_IMF = re.compile(rf"({'|'.join(_DAYS)}), (\d{{2}}) {_MONTH} (\d{{4}}) {_TIME} GMT")
_RFC850 = re.compile(rf"({'|'.join(_LONG_DAYS)}), (\d{{2}})-{_MONTH}-(\d{{2}}) {_TIME} GMT")
_ASCTIME = re.compile(rf"({'|'.join(_DAYS)}) {_MONTH} ([ \d]\d) {_TIME} (\d{{4}})")
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_DIGITS = re.compile(r"\d+")
MAX_DELTA = 2**31  # RFC 9111 §1.2.2: larger delta-seconds are taken as this


def parse(header: str | None) -> dict[str, str | None]:
    """Cache-Control directives by lower-case name: their value (unquoted) or None.

    The first occurrence of a directive wins; a malformed member is skipped, and so is a
    directive whose value is neither a token nor a quoted string (`max-age='1'`)."""
    directives: dict[str, str | None] = {}
    if not header:
        return directives
    for member in _members(header):
        name, eq, value = member.partition("=")
        name = name.lower()
        if not name or not _TOKEN.fullmatch(name) or name in directives:
            continue
        if not eq:
            directives[name] = None
        elif _TOKEN.fullmatch(value):
            directives[name] = value
        elif len(value) >= 2 and value[0] == value[-1] == '"':
            directives[name] = re.sub(r"\\(.)", r"\1", value[1:-1])
    return directives


def _members(header: str) -> list[str]:
    """Split a list header on commas outside quoted strings."""
    members: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for ch in header:
        if escaped:
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            members.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    members.append("".join(current).strip())
    return [m for m in members if m]


def seconds(directives: dict[str, str | None], name: str) -> float | None:
    """A directive's delta-seconds (digits only), or None when absent or malformed."""
    raw = directives.get(name)
    if raw is None or not _DIGITS.fullmatch(raw):
        return None
    return float(min(int(raw), MAX_DELTA))


def parse_age(value: str | None) -> float | None:
    """The Age in seconds, None when absent or malformed: RFC 9111 §5.1 keeps the first member
    of a list and ignores a field that is not a non-negative integer."""
    if value is None:
        return None
    first = value.split(",", 1)[0].strip()
    if not _DIGITS.fullmatch(first):
        return None
    return float(min(int(first), MAX_DELTA))


_SF_KEY = r"[a-z*][a-z0-9_\-.*]*"
_SF_ITEM = "|".join((  # RFC 8941 bare items: integer/decimal, string, token, bytes, boolean
    r"-?\d{1,15}(?:\.\d{1,3})?",
    r'"(?:[^"\\\x00-\x1f\x7f]|\\["\\])*"',
    r"[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*",
    r":[A-Za-z0-9+/=]*:",
    r"\?[01]",
))
_SF_ITEM = f"(?:{_SF_ITEM})"
_SF_MEMBER = re.compile(rf"({_SF_KEY})(?:=({_SF_ITEM}))?((?:;\s*{_SF_KEY}(?:={_SF_ITEM})?)*)")
_INTEGER_DIRECTIVES = ("max-age", "s-maxage", "stale-while-revalidate", "stale-if-error")


def parse_targeted(value: str) -> dict[str, str | None] | None:
    """A targeted cache field (`CDN-Cache-Control`, RFC 9213) as directives, or None when it is
    not a valid Structured Field Dictionary (RFC 8941) or gives a known directive a value of the
    wrong type: such a field is ignored as a whole. Parameters are dropped."""
    directives: dict[str, str | None] = {}
    for member in value.split(","):  # SF strings in cache directives hold no commas in practice
        member = member.strip(" \t")
        match = _SF_MEMBER.fullmatch(member)
        if match is None:
            return None
        name, item = match.group(1), match.group(2)
        if name in _INTEGER_DIRECTIVES and (item is None or not re.fullmatch(r"\d{1,15}", item)):
            return None
        if item is not None and item.startswith('"'):
            item = item[1:-1]
        directives.setdefault(name, None if item in (None, "?1") else item)
    return directives


def http_date(timestamp: float) -> str:
    """An RFC 9110 IMF-fixdate for a POSIX timestamp."""
    return format_datetime(datetime.fromtimestamp(timestamp, UTC), usegmt=True)


def parse_http_date(value: str | None) -> float | None:
    """A POSIX timestamp from an IMF-fixdate, rfc850 or asctime date; None when absent or
    malformed (callers treat a malformed Expires as a time in the past)."""
    if not value:
        return None
    value = value.strip()
    if match := _IMF.fullmatch(value):
        _, day, month, year, hh, mm, ss = match.groups()
    elif match := _RFC850.fullmatch(value):
        _, day, month, yy, hh, mm, ss = match.groups()
        year = _rfc850_year(int(yy))
    elif match := _ASCTIME.fullmatch(value):
        _, month, day, hh, mm, ss, year = match.groups()
    else:
        return None
    if month not in _MONTHS:
        return None
    try:
        when = datetime(int(year), _MONTHS[month], int(day), int(hh), int(mm), int(ss), tzinfo=UTC)
    except ValueError:
        return None
    return when.timestamp()


def _rfc850_year(yy: int) -> str:
    """RFC 9110 §5.6.7: a two-digit year more than 50 years in the future is in the past."""
    now = datetime.now(UTC).year
    year = now - now % 100 + yy
    return str(year - 100 if year > now + 50 else year)
