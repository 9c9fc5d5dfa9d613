"""Failover decisions for one origin request: which members to try, and resuming a broken body.

`candidates` walks a group's members in order, skipping the ones health knows are down (no
timeout paid) and claiming a half-open member's single probe slot; when every member is down
it falls back to trying them all, since answering 502 without asking anyone helps no viewer.

A body that breaks mid-way is resumed from the next member with `Range`, starting `OVERLAP`
bytes early: the resumed response is accepted only when it reports the same total length and
its first bytes equal the ones already received. Regional origins that encode independently
(live) would differ there, and the fill then aborts rather than splice two different files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from edge.health import Health
from streaming.config import Origin
from streaming.errors import OriginError

OVERLAP = 16 * 1024
RESUMABLE_METHODS = frozenset({"GET"})
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
# Validators of the broken response do not apply to another origin's copy.
DROPPED_ON_RESUME = frozenset({"if-none-match", "if-modified-since", "if-range", "range"})


def candidates(members: tuple[Origin, ...], health: Health) -> Iterator[Origin]:
    """Members to try, in order; admission is claimed lazily, one member at a time."""
    admitted = False
    for origin in members:
        if health.admit(origin.id):
            admitted = True
            yield origin
    if not admitted:
        yield from members


def health_failure(status: int) -> bool:
    """5xx says the origin is unwell; a 4xx failover (403/404) only says it lacks this object."""
    return status >= 500


def resume_headers(headers: dict[str, str], received: int, overlap: int) -> dict[str, str]:
    """The original request's headers asking for the rest of the body, `overlap` bytes early."""
    kept = {k: v for k, v in headers.items() if k.lower() not in DROPPED_ON_RESUME}
    kept["range"] = f"bytes={received - overlap}-"
    return kept


class Splice:
    """Checks a resumed response against what was already received, then passes the rest through.

    `start` is the byte offset the resumed body begins at (0 for a full 200 answer), `tail` the
    last bytes already received, ending at offset `received`.
    """

    def __init__(self, origin: str, received: int, tail: bytes, start: int) -> None:
        self._origin, self._tail = origin, tail
        self._skip = received - len(tail) - start  # bytes before the overlap (a 200 answer)
        self._pending = bytearray()

    @property
    def verified(self) -> bool:
        return self._skip <= 0 and not self._tail

    def feed(self, chunk: bytes) -> bytes:
        """Return the new bytes in `chunk` (after the overlap); raise if the overlap differs."""
        if self._skip > 0:
            dropped = min(self._skip, len(chunk))
            self._skip -= dropped
            chunk = chunk[dropped:]
        if self._tail:
            take = min(len(self._tail), len(chunk))
            if chunk[:take] != self._tail[:take]:
                raise OriginError(
                    f"origin {self._origin} has a different copy; cannot resume the body"
                )
            self._tail, chunk = self._tail[take:], chunk[take:]
        return chunk


def resume_start(
    origin: str,
    status: int,
    content_range: str | None,
    length: int | None,
    asked_from: int,
    total: int,
) -> int:
    """Where a resumed body starts: `asked_from` for a matching 206, 0 for a same-length 200."""
    if status == 206:
        match = _CONTENT_RANGE.match(content_range or "")
        if match and int(match.group(1)) == asked_from and int(match.group(3)) == total:
            return asked_from
        raise OriginError(
            f"origin {origin} answered the resume with {content_range!r}, not {asked_from}-/{total}"
        )
    if status == 200 and length == total:
        return 0
    raise OriginError(f"origin {origin} cannot resume the body (HTTP {status})")
