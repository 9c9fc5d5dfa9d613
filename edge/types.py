"""The edge's response values, shared by the stages that make, change, log and send them.

A leaf of the edge package: it holds types only, so the pipeline, delivery, relay, access log
and edge functions can all speak of a `Reply` without importing each other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from edge.cache import Entry

if TYPE_CHECKING:
    from edge.fill import Fill


@dataclass(frozen=True, slots=True)
class Head:
    """The origin's status line and headers, known before the body."""

    status: int
    headers: dict[str, str]
    length: int | None
    origin_region: str
    shareable: bool  # False for private/no-store answers: waiters fetch for themselves
    age: float = 0.0  # its corrected initial age (upstream Age and Date; RFC 9111 §4.2.3)


@dataclass(frozen=True, slots=True)
class Refreshed:
    """The origin answered 304: the cached entry is current again (`revalidated`), or a sibling
    worker stored the entry while this one waited for the key's lease (not revalidated)."""

    entry: Entry
    revalidated: bool = True


class Result(StrEnum):
    """The `x-edge-result-type` vocabulary of CloudFront logs, shown in X-Cache."""

    HIT = "Hit"
    MISS = "Miss"
    REFRESH_HIT = "RefreshHit"
    ERROR = "Error"
    FUNCTION = "FunctionGeneratedResponse"


class Stream:
    """A body relayed from an origin as it arrives (pass-through behaviors); closed once."""

    def __init__(self, chunks: AsyncIterator[bytes], close: Callable[[], Awaitable[None]]) -> None:
        self.chunks, self._close = chunks, close

    async def close(self) -> None:
        await self._close()


Body = bytes | memoryview | tuple[str, int, int] | tuple["Fill", int, int | None] | Stream

# Headers a fresh hit's precomputed head leaves out: they change with every request or second.
PER_REQUEST = ("age", "x-request-id", "cache-status")


@dataclass(slots=True, eq=False)
class Prepared:
    """A fresh hit's response head, decorated and encoded once per cache entry and variant
    (edge.deliver.prepare), so a plain GET hit sends it without rebuilding it. It holds a copy
    of what it was made from: when a refresh (a 304) changes the entry's headers in place, or
    its size or status, it no longer `fits` and is made again."""

    status: int
    size: int
    region: str
    snapshot: dict[str, str]  # the entry's headers as they were
    headers: dict[str, str]  # the viewer's headers without PER_REQUEST ones; never changed
    raw: list[tuple[bytes, bytes]]  # the same, encoded
    cache_status: str  # this cache's Cache-Status up to its ttl value
    head_bytes: int  # the access log's measure of `headers` (edge.access_log)

    def fits(self, entry: Entry) -> bool:
        return (
            entry.headers == self.snapshot and entry.size == self.size
            and entry.status == self.status and entry.origin_region == self.region
        )  # fmt: skip


@dataclass(slots=True)
class Reply:
    """Everything about a response before it is sent; `detail` goes to the access log."""

    status: int
    headers: dict[str, str]
    body: Body = b""
    result: Result = Result.MISS
    detail: str = ""
    range: tuple[int, int] | None = None
    cookies: list[str] = field(default_factory=list)  # Set-Cookie values (pass-through only)
    sent: int = field(default=0)
    origin_region: str = ""  # the region that answered (X-Origin-Region)
    age: int | None = None  # seconds the answer spent in a cache (Age)
    # For Cache-Status (edge.cache_status): what the cache did.
    cached_path: bool = False  # looked up in the cache (not a pass-through or a refusal)
    collapsed: bool = False  # joined another viewer's fill
    stored: bool = False  # the answer was stored by this request
    fwd_status: int | None = None  # the status the origin answered, when it was asked
    ttl_left: float | None = None  # freshness left (negative: served stale)
    # The lean hit path (edge.deliver.prepare): the precomputed head this reply is sent with,
    # or the entry and variant to make one for after this reply is decorated.
    prepared: Prepared | None = None
    prepare: tuple[Entry, tuple[int, str | None]] | None = None
    head_bytes: int = -1  # set when sent with a precomputed head (edge.access_log)
