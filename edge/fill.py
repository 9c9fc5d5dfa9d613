"""Filling the cache from an origin: fetch → stream to viewers → verify → decide TTL → store.

An object is committed only when its whole body arrived, matches Content-Length and the
origin's digest (when one is sent), and was not invalidated while it was being received. A
truncated or corrupt body is never cached; the viewers streaming it see their connection cut.

A `Fill` is an object being received. Viewers read it from any offset while it grows: from
the chunk list when the body is small enough for memory, else from the spool file through
`os.pread` on a shared descriptor. The last chunk is held back until the fill is verified
(length and digest), so a viewer never receives a complete-looking response for a body the
cache rejected. `Filler` produces fills.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from edge import vary
from edge.cache import Entry
from edge.cache.tiers import TieredCache
from edge.cacheability import Exchange, decide, initial_age, live_target, shareable, withheld
from edge.failover import Origins
from edge.metrics import EdgeMetrics
from edge.origins import OriginRequest, OriginResponse
from edge.types import Head, Refreshed
from streaming.config import Behavior, EdgeSettings
from streaming.errors import OriginError, StreamingError
from streaming.hls import Kind

READ_CHUNK = 256 * 1024

log = logging.getLogger("edge.fill")

# (status, headers) → (status, headers): the origin-response edge function, if any.
ResponseHook = Callable[[int, dict[str, str]], tuple[int, dict[str, str]]]
# The origin-request edge function: a new request, or a generated (status, headers, body).
RequestHook = Callable[[OriginRequest], OriginRequest | tuple[int, dict[str, str], bytes]]


@dataclass(frozen=True, slots=True)
class Generated:
    """The origin-request function answered itself: this goes to the viewer, never the cache."""

    status: int
    headers: dict[str, str]  # with its Content-Length
    body: bytes


async def open_origin(
    origins: Origins, request: OriginRequest, hook: RequestHook | None
) -> OriginResponse | Generated:
    """The origin-request function (if any), then the origin: the one place its result is read,
    for fills and pass-through alike."""
    if hook is not None:
        outcome = hook(request)
        if isinstance(outcome, tuple):
            status, headers, body = outcome
            return Generated(status, {**headers, "content-length": str(len(body))}, body)
        request = outcome
    return await origins.open(request)


# RFC 9111 §3.2: a 304 updates every stored header it carries, but these.
NOT_REFRESHED = frozenset({
    "content-length", "content-encoding", "content-range", "content-md5", "etag",
})  # fmt: skip


@dataclass(slots=True)
class Plan:
    """What one fill needs to know, prepared by the pipeline."""

    key: str
    path: str
    kind: Kind
    behavior: Behavior
    request: OriginRequest
    previous: Entry | None  # an expired copy being revalidated
    generation: int  # the invalidation generation when the fill started
    on_request: RequestHook | None = None
    on_response: ResponseHook | None = None
    selecting: dict[str, str] = field(default_factory=dict)  # the viewer's headers (Vary)
    authorization: bool = False  # the viewer's request carried Authorization (RFC 9111 §3.5)


class Fill:
    """One origin response being received; many viewers may stream it at once."""

    def __init__(self, key: str, path: str) -> None:
        self.key, self.path = key, path
        self.head: asyncio.Future[Head | Refreshed] = asyncio.get_running_loop().create_future()
        self.received = 0
        self.done = False
        self.error: StreamingError | None = None
        self.entry: Entry | None = None  # set when the complete body was committed
        self._chunks: list[bytes] | None = None
        self._fd: int | None = None
        self.spool: Path | None = None
        self._holders = 0  # viewers that may still read the body (see hold/release)
        self.selecting: dict[str, str] = {}  # the first viewer's headers: whom a Vary answer fits
        self._changed = asyncio.Event()

    # -- producer side -------------------------------------------------------------------
    def begin(self, head: Head, in_memory: bool, spool: tuple[Path, int] | None) -> None:
        """Headers arrived: buffer the body in memory, in a spool file, or both."""
        self._chunks = [] if in_memory else None
        if spool is not None:
            self.spool, self._fd = spool
        self.head.set_result(head)

    def refreshed(self, entry: Entry) -> None:
        self.head.set_result(Refreshed(entry))
        self.done = True

    def append(self, chunk: bytes) -> None:
        if self._chunks is not None:
            self._chunks.append(chunk)
        if self._fd is not None:
            os.write(self._fd, chunk)
        self.received += len(chunk)
        self._notify()

    def body(self) -> bytes | None:
        """The whole body when it was buffered in memory."""
        return b"".join(self._chunks) if self._chunks is not None else None

    def finish(self, error: StreamingError | None = None) -> None:
        """The body ended (or broke): release waiting readers."""
        if not self.head.done():
            self.head.set_exception(error or OriginError("origin closed before answering"))
            self.head.exception()  # retrieved here so an unobserved failure is not logged
        self.error = error
        self.done = True
        self._notify()
        self._maybe_close()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # -- consumer side -------------------------------------------------------------------
    async def wait_head(self) -> Head | Refreshed:
        return await asyncio.shield(self.head)

    async def wait_done(self) -> None:
        while not self.done:
            await self._changed.wait()

    async def stream(self, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Bytes [start, end] (inclusive) as they arrive; raises OriginError if the fill breaks."""
        head = self.head.result()
        assert isinstance(head, Head)
        pos = start
        while end is None or pos <= end:
            limit = self.received if end is None else min(self.received, end + 1)
            verified = self.done and self.error is None
            if not verified and head.length is not None and self.received >= head.length:
                limit = min(limit, head.length - 1)  # the last byte waits for verification
            if pos < limit:
                data = self._read(pos, limit)
                pos += len(data)
                yield data
                continue
            if self.done:
                if self.error is not None:
                    raise self.error
                return
            await self._changed.wait()

    def hold(self) -> None:
        """A viewer got this fill: keep its spool readable until it calls `release`."""
        self._holders += 1

    def release(self) -> None:
        self._holders -= 1
        self._maybe_close()

    def _read(self, start: int, stop: int) -> bytes:
        if self._chunks is not None:
            return _slice(self._chunks, start, stop)
        assert self._fd is not None
        return os.pread(self._fd, min(stop - start, READ_CHUNK), start)

    def _maybe_close(self) -> None:
        if self.done and self._holders <= 0 and self._fd is not None:
            os.close(self._fd)
            self._fd = None
            if self.entry is None and self.spool is not None:
                self.spool.unlink(missing_ok=True)  # not committed: nobody will read it again


def _slice(chunks: list[bytes], start: int, stop: int) -> bytes:
    """Bytes [start, stop) of a chunk list, copying only when a range spans chunks."""
    offset = 0
    parts: list[bytes] = []
    for chunk in chunks:
        end = offset + len(chunk)
        if end > start and offset < stop:
            lo, hi = max(start - offset, 0), min(stop - offset, len(chunk))
            parts.append(chunk if (lo, hi) == (0, len(chunk)) else chunk[lo:hi])
        if end >= stop:
            break
        offset = end
    return parts[0] if len(parts) == 1 else b"".join(parts)


class LiveTargets:
    """Target durations of live playlists seen, by directory (bounds a live segment's 404 TTL)."""

    def __init__(self, limit: int = 10_000) -> None:
        self._targets: OrderedDict[str, float] = OrderedDict()
        self._limit = limit

    def get(self, path: str) -> float | None:
        return self._targets.get(path.rsplit("/", 1)[0])

    def note(self, path: str, target: float) -> None:
        directory = path.rsplit("/", 1)[0]
        self._targets[directory] = target
        self._targets.move_to_end(directory)
        if len(self._targets) > self._limit:
            self._targets.popitem(last=False)


class Digest:
    """The origin's sha-256/sha-512 digest (RFC 9530 Content-/Repr-Digest or legacy Digest)."""

    def __init__(self, headers: dict[str, str]) -> None:
        self.expected: bytes | None = None
        self._hash: hashlib._Hash | None = None
        for name in ("content-digest", "repr-digest", "digest"):
            value = headers.get(name)
            if value and self._parse(value):
                break

    def _parse(self, value: str) -> bool:
        for item in value.split(","):
            algorithm, _, encoded = item.strip().partition("=")
            algorithm = algorithm.strip().lower()
            if algorithm not in ("sha-256", "sha-512"):
                continue
            try:
                self.expected = base64.b64decode(encoded.strip().strip(":"), validate=True)
            except ValueError:
                return False
            self._hash = hashlib.new(algorithm.replace("-", ""))
            return True
        return False

    def update(self, chunk: bytes) -> None:
        if self._hash is not None:
            self._hash.update(chunk)

    def matches(self) -> bool:
        return self._hash is None or self._hash.digest() == self.expected


class Filler:
    """Runs fills; shared by every request of one edge."""

    def __init__(
        self, cache: TieredCache, origins: Origins, settings: EdgeSettings, metrics: EdgeMetrics,
        invalidated_since: Callable[[int, str], bool], error_ttls: dict[int, float] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:  # fmt: skip
        self.cache, self.origins, self.settings, self.metrics = cache, origins, settings, metrics
        self.error_ttls = error_ttls or {}  # custom error responses' caching TTL per status
        self.invalidated_since = invalidated_since
        self.clock = clock
        self.live = LiveTargets()

    async def produce(self, fill: Fill, plan: Plan) -> None:
        """Fetch the object, stream it into `fill`, and commit it when complete and cacheable."""
        try:
            response = await open_origin(self.origins, plan.request, plan.on_request)
        except StreamingError as exc:
            fill.finish(exc)
            return
        if isinstance(response, Generated):
            self._generated(fill, response)
            return
        try:
            await self._receive(fill, plan, response)
        except StreamingError as exc:
            if isinstance(exc, OriginError) and fill.head.done():
                self.metrics.rejected.labels("truncated").inc()
                log.warning(
                    "fill of %s broke after %d bytes: %s", plan.path, fill.received, exc.detail
                )
            fill.finish(exc)
        finally:
            await response.aclose()

    def _generated(self, fill: Fill, answer: Generated) -> None:
        """An origin-request function answered: stream its response, never cache it."""
        head = Head(answer.status, answer.headers, len(answer.body), "", shareable=False)
        fill.begin(head, in_memory=True, spool=None)
        if answer.body:
            fill.append(answer.body)
        fill.finish()

    async def _receive(self, fill: Fill, plan: Plan, response: OriginResponse) -> None:
        now = self.clock()
        elapsed = time.monotonic() - response.started
        self.metrics.origin_latency.labels(response.origin.id).observe(elapsed)
        self.metrics.origin_fetches.labels(response.origin.id, str(response.status)).inc()
        exchange = Exchange(plan.authorization, now - elapsed, now)
        previous = plan.previous
        if response.status == 304 and previous is not None:
            self._refresh(previous, response.headers, plan, exchange)
            fill.refreshed(previous)
            return
        status, headers = response.status, dict(response.headers)
        if plan.on_response is not None:
            status, headers = plan.on_response(status, headers)
        length = response.length
        in_memory = self.cache.holds_in_memory(length)
        spool = None if in_memory else self.cache.disk.spool()
        # CloudFront caches even private/no-store answers for a MinTTL > 0 (behind access control).
        targeted = self.settings.cdn_cache_control
        shared = shareable(headers, targeted) or plan.behavior.ttl.min_ttl > 0
        age = initial_age(headers, exchange)
        head = Head(status, headers, length, response.origin.region, shared, age)
        fill.begin(head, in_memory, spool)
        digest = Digest(headers)
        async for chunk in response.chunks():
            fill.append(chunk)
            digest.update(chunk)
        if length is not None and fill.received != length:
            self.metrics.rejected.labels("length").inc()
            raise OriginError(f"origin sent {fill.received} of {length} bytes for {plan.path}")
        if not digest.matches():
            self.metrics.rejected.labels("digest").inc()
            raise OriginError(f"origin body for {plan.path} does not match its digest")
        self._store(fill, plan, status, headers, response.origin.region, exchange)
        fill.finish()

    def _store(
        self, fill: Fill, plan: Plan, status: int, headers: dict[str, str], region: str,
        exchange: Exchange,
    ) -> None:  # fmt: skip
        now = exchange.response_time
        body = fill.body()
        target = (
            live_target(body) if body is not None and plan.kind is Kind.MEDIA_PLAYLIST else None
        )
        if target is not None:
            self.live.note(plan.path, target)
        previous = plan.previous
        if status >= 500 and previous is not None and previous.within_sie(now):
            return  # keep the stale copy to serve while the origin errs
        freshness = decide(
            status, headers, body or b"", plan.kind, plan.behavior.ttl, exchange,
            error_minimum=self.error_ttls.get(status), target=self.live.get(plan.path),
            max_stale=self.settings.max_stale, targeted=self.settings.cdn_cache_control,
        )  # fmt: skip
        if not freshness.store or fill.received > self.settings.max_object_bytes:
            return
        head = fill.head.result()
        shared = isinstance(head, Head) and head.shareable
        if not shared or self.invalidated_since(plan.generation, plan.path):
            return
        key, varied = plan.key, vary.names(headers)
        if varied:  # stored under a secondary key; a marker under the primary one names it
            primary = vary.primary_key(key)
            key = vary.secondary_key(primary, varied, plan.selecting)
            lifetime = freshness.ttl + max(freshness.swr, freshness.sie)
            self.cache.commit(vary.marker(primary, plan.path, varied, now, lifetime), None)
        if hidden := withheld(headers, self.settings.cdn_cache_control):
            headers = {k: v for k, v in headers.items() if k not in hidden}
        entry = Entry(
            key, plan.path, status, headers, fill.received, now, freshness.ttl,
            freshness.swr, freshness.sie, region, body=body, initial_age=freshness.age,
        )  # fmt: skip
        if self.cache.commit(entry, None if body is not None else fill.spool):
            fill.entry = entry

    def _refresh(
        self, entry: Entry, headers: dict[str, str], plan: Plan, exchange: Exchange
    ) -> None:
        """A 304: the copy is current; every header the 304 carries replaces the stored one
        (RFC 9111 §4.3.4), and freshness is decided again (RefreshHit)."""
        entry.headers.update({k: v for k, v in headers.items() if k not in NOT_REFRESHED})
        body = entry.body
        if body is None and plan.kind in (Kind.MASTER, Kind.MEDIA_PLAYLIST):
            body = self.cache.disk.read(entry)  # the playlist decides its own TTL
        freshness = decide(
            entry.status, entry.headers, body or b"", plan.kind, plan.behavior.ttl, exchange,
            target=self.live.get(plan.path), max_stale=self.settings.max_stale,
            targeted=self.settings.cdn_cache_control,
        )  # fmt: skip
        entry.stored_at, entry.ttl = exchange.response_time, freshness.ttl
        entry.initial_age = freshness.age
        entry.swr, entry.sie, entry.backoff_until = freshness.swr, freshness.sie, 0.0
        self.cache.refresh(entry)


def conditional(entry: Entry | None) -> dict[str, str]:
    """Validators to send when refreshing `entry` (nothing for error entries)."""
    return entry.validators if entry is not None and entry.status == 200 else {}


def backoff(entry: Entry, now: float, seconds: float) -> None:
    """After a failed refresh, serve the stale copy without asking the origin for a while."""
    entry.backoff_until = now + seconds
