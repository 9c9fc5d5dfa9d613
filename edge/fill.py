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
from edge.pop_fill import Announcement, Follower, Outcome, PopFills, open_spool
from edge.types import Head, Refreshed
from streaming.config import Behavior, EdgeSettings
from streaming.errors import OriginError, StreamingError
from streaming.hls import Kind

READ_CHUNK = 256 * 1024
POLL_WAIT = 0.005  # seconds before looking again at a sibling's announcement

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
        self.leading = False  # this worker fetches for its sibling workers too (edge.pop_fill)
        self.following = False  # a sibling worker fetches it: every viewer here is collapsed
        self._changed = asyncio.Event()

    # -- producer side -------------------------------------------------------------------
    def begin(self, head: Head, in_memory: bool, spool: tuple[Path, int] | None) -> None:
        """Headers arrived: buffer the body in memory, in a spool file, or both."""
        self._chunks = [] if in_memory else None
        if spool is not None:
            self.spool, self._fd = spool
        self.head.set_result(head)

    def follow(self, head: Head, fd: int) -> None:
        """Headers arrived in a sibling worker: read its spool file through `fd`."""
        self._fd, self.following = fd, True
        self.head.set_result(head)

    def advance(self, size: int) -> None:
        """The sibling's spool file grew to `size` bytes."""
        self.received = size
        self._notify()

    def refreshed(self, entry: Entry, revalidated: bool = True) -> None:
        self.head.set_result(Refreshed(entry, revalidated))
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
            if self.spool is not None:  # committed, it was renamed into the disk tier
                self.spool.unlink(missing_ok=True)  # if not, nobody will read it again


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
        # Told (path, target) of each playlist this worker saw: its sibling workers note it too.
        self.on_note: Callable[[str, float], None] | None = None

    def get(self, path: str) -> float | None:
        return self._targets.get(path.rsplit("/", 1)[0])

    def note(self, path: str, target: float, announce: bool = True) -> None:
        if announce and self.on_note is not None and self.get(path) != target:
            self.on_note(path, target)
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
        clock: Callable[[], float] = time.time, pop: PopFills | None = None,
    ) -> None:  # fmt: skip
        self.cache, self.origins, self.settings, self.metrics = cache, origins, settings, metrics
        self.pop = pop  # the POP's other workers, when there are any
        self.error_ttls = error_ttls or {}  # custom error responses' caching TTL per status
        self.invalidated_since = invalidated_since
        self.clock = clock
        self.live = LiveTargets()

    async def produce(self, fill: Fill, plan: Plan) -> None:
        """Fill from the origin, or from the sibling worker that holds the key's lease."""
        if self.pop is None:
            await self._fetch(fill, plan)
            return
        slot = self.pop.leases.take(fill.key)
        if slot is None:
            follower = self.pop.follower(fill.key)
            outcome = Outcome.OWN
            try:
                outcome = await self._follow(fill, plan, follower)
            finally:
                if outcome is not Outcome.LEAD:
                    follower.give_back()  # a lease taken while following is not kept
            if outcome is Outcome.OWN:
                await self._fetch(fill, plan)  # for this worker's viewers only: not announced
            if outcome is not Outcome.LEAD:
                return
            assert follower.slot is not None
            slot = follower.slot
        try:
            await self._lead(fill, plan)
        finally:
            self.pop.leases.give_back(slot)

    async def _lead(self, fill: Fill, plan: Plan) -> None:
        """Holding the lease: fetch and announce, unless what a sibling worker stored (or
        learnt) meanwhile already answers."""
        assert self.pop is not None
        announcements = self.pop.announcements
        announcements.begin(fill.key)
        if fill.key == plan.key and self._sibling_answered(fill, plan):
            return
        fill.leading = True
        try:
            await self._fetch(fill, plan)
        finally:
            error = fill.error.detail if fill.error is not None else ""
            announcements.end(
                fill.key, fill.error is None, fill.entry is not None, fill.received, error
            )

    def _sibling_answered(self, fill: Fill, plan: Plan) -> bool:
        """A fresher copy a sibling stored while this worker waited for the lease, or the
        backoff it started when the origin failed to refresh this very copy."""
        assert self.pop is not None
        stored = self.cache.disk.peek(plan.key)
        if stored is None or vary.is_marker(stored):
            return False
        now, previous = self.clock(), plan.previous
        if stored.fresh(now) and (previous is None or stored.stored_at > previous.stored_at):
            found = self.cache.reload(plan.key)
            if found is None:
                return False
            self.pop.announcements.refreshed(fill.key)
            fill.refreshed(found, revalidated=False)
            return True
        backing_off = now < stored.backoff_until
        if (
            previous is not None
            and previous.file == stored.file
            and backing_off
            and previous.within_sie(now)
        ):
            previous.backoff_until = stored.backoff_until  # served stale: within stale-if-error
            error = OriginError("the origin failed a sibling worker's refresh moments ago")
            self.pop.announcements.end(fill.key, False, False, 0, error.detail)
            fill.finish(error)
            return True
        return False

    async def _follow(self, fill: Fill, plan: Plan, follower: Follower) -> Outcome:
        """Serve a sibling worker's fill of this key: its stored entry, or its spool file as
        it grows. LEAD when the sibling went away before answering, OWN when its answer is
        not for sharing (private, another variant, not stored)."""
        timeouts = self.origins.timeouts(plan.request)  # a held request waits its hold
        wait = 2 * (max(timeouts.connect, self.settings.origin_connect_timeout) + max(
            timeouts.response, self.settings.origin_response_timeout
        ))  # fmt: skip
        deadline = time.monotonic() + wait
        while True:
            found = await follower.announced(max(0.0, deadline - time.monotonic()))
            if isinstance(found, Outcome):
                return found
            end, head = found.end, found.head
            if end is not None and not end.get("ok") and head is None:
                fill.finish(OriginError(str(end.get("error") or "the origin fetch failed")))
                return Outcome.FOLLOWED  # the sibling already tried every origin
            if head is not None and not self._shares(head, found, plan):
                return Outcome.OWN
            if found.refreshed or end is not None:  # a 304, or a body already whole
                if end is not None and not end.get("committed"):
                    return Outcome.OWN
                entry = self._stored(plan)
                if entry is None:
                    return Outcome.OWN
                if not entry.fresh(self.clock()):  # the previous fill's word: wait for this one
                    await asyncio.sleep(POLL_WAIT)
                    continue
                fill.refreshed(entry, revalidated=found.refreshed)
                self.metrics.collapsed.inc()
                return Outcome.FOLLOWED
            fd = open_spool(found.spool)
            if head is None or fd is None:  # committed in between: the next look says so
                await asyncio.sleep(POLL_WAIT)
                continue
            fill.follow(head, fd)
            self.metrics.collapsed.inc()
            await self._stream_sibling(fill, plan, follower, found, fd)
            return Outcome.FOLLOWED

    @staticmethod
    def _shares(head: Head, found: Announcement, plan: Plan) -> bool:
        """Whether the sibling's answer fits this worker's viewer: shareable, same variant."""
        varied = vary.names(head.headers)
        return head.shareable and (
            not varied or vary.matches(varied, found.selecting, plan.selecting)
        )

    def _stored(self, plan: Plan) -> Entry | None:
        """What a sibling stored for the plan's key (the variant this viewer selects)."""
        entry = self.cache.reload(plan.key)
        if entry is not None and vary.is_marker(entry):
            entry = self.cache.reload(
                vary.secondary_key(plan.key, vary.names(entry.headers), plan.selecting)
            )
        return entry

    async def _stream_sibling(
        self, fill: Fill, plan: Plan, follower: Follower, found: Announcement, fd: int
    ) -> None:
        while True:
            size, ended, gone = await follower.grow(fd, fill.received, found.id)
            if size > fill.received:
                fill.advance(size)
            if gone:  # only the disk tier can say whether this version was stored whole
                entry = self._stored(plan)
                if entry is not None and _same_file(entry, fd):
                    fill.advance(entry.size)
                    fill.entry = entry
                    fill.finish()
                else:
                    fill.finish(OriginError(f"the worker filling {plan.path} stopped"))
                return
            if ended is not None:
                assert ended.end is not None
                if not ended.end.get("ok"):
                    fill.finish(OriginError(str(ended.end.get("error") or "sibling fill failed")))
                    return
                fill.advance(int(ended.end.get("size", size)))
                if ended.end.get("committed"):
                    fill.entry = self._stored(plan)
                fill.finish()
                return

    async def _fetch(self, fill: Fill, plan: Plan) -> None:
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
            if fill.leading and self.pop is not None:
                self.pop.announcements.refreshed(fill.key)
            fill.refreshed(previous)
            return
        status, headers = response.status, dict(response.headers)
        if plan.on_response is not None:
            status, headers = plan.on_response(status, headers)
        length = response.length
        in_memory = self.cache.holds_in_memory(length)
        # Sibling workers follow the body through a file, however small it is.
        spool = None if in_memory and not fill.leading else self.cache.disk.spool()
        # CloudFront caches even private/no-store answers for a MinTTL > 0 (behind access control).
        targeted = self.settings.cdn_cache_control
        shared = shareable(headers, targeted) or plan.behavior.ttl.min_ttl > 0
        age = initial_age(headers, exchange)
        head = Head(status, headers, length, response.origin.region, shared, age)
        fill.begin(head, in_memory, spool)
        if fill.leading and self.pop is not None:
            selecting = vary.selected(vary.names(headers), fill.selecting)
            self.pop.announcements.head(fill.key, head, fill.spool, selecting)
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
            held=plan.request.held,
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
        if self.cache.commit(entry, fill.spool):
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
            targeted=self.settings.cdn_cache_control, held=plan.request.held,
        )  # fmt: skip
        entry.stored_at, entry.ttl = exchange.response_time, freshness.ttl
        entry.initial_age = freshness.age
        entry.swr, entry.sie, entry.backoff_until = freshness.swr, freshness.sie, 0.0
        self.cache.refresh(entry)


def _same_file(entry: Entry, fd: int) -> bool:
    """Whether the stored entry's body is the very file behind `fd` (a sibling's spool)."""
    try:
        return entry.file is not None and os.stat(entry.file).st_ino == os.fstat(fd).st_ino
    except OSError:
        return False


def conditional(entry: Entry | None) -> dict[str, str]:
    """Validators to send when refreshing `entry` (nothing for error entries)."""
    return entry.validators if entry is not None and entry.status == 200 else {}


def backoff(entry: Entry, now: float, seconds: float) -> None:
    """After a failed refresh, serve the stale copy without asking the origin for a while."""
    entry.backoff_until = now + seconds
