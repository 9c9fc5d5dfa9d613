"""Filling the cache from an origin: fetch → stream to viewers → verify → decide TTL → store.

An object is committed only when its whole body arrived, matches Content-Length and the
origin's digest (when one is sent), and was not invalidated while it was being received. A
truncated or corrupt body is never cached; the viewers streaming it see their connection cut.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from edge.cache import Entry
from edge.cache.tiers import TieredCache
from edge.cacheability import decide, live_target, shareable
from edge.collapse import Fill, Head
from edge.metrics import EdgeMetrics
from edge.origins import OriginRequest, OriginResponse, Origins
from streaming.config import Behavior, EdgeSettings
from streaming.errors import OriginError, StreamingError
from streaming.hls import Kind

log = logging.getLogger("edge.fill")

# (status, headers) → (status, headers): the origin-response edge function, if any.
ResponseHook = Callable[[int, dict[str, str]], tuple[int, dict[str, str]]]
# The origin-request edge function: a new request, or a generated (status, headers, body).
RequestHook = Callable[[OriginRequest], OriginRequest | tuple[int, dict[str, str], bytes]]
REFRESHED_HEADERS = ("cache-control", "expires", "etag", "last-modified")


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
        request = plan.request
        try:
            if plan.on_request is not None:
                outcome = plan.on_request(request)
                if isinstance(outcome, tuple):
                    self._generated(fill, *outcome)
                    return
                request = outcome
            response = await self.origins.open(request)
        except StreamingError as exc:
            fill.finish(exc)
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

    def _generated(self, fill: Fill, status: int, headers: dict[str, str], body: bytes) -> None:
        """An origin-request function answered: stream its response, never cache it."""
        headers = {**headers, "content-length": str(len(body))}
        fill.begin(
            Head(status, headers, len(body), "", shareable=False), in_memory=True, spool=None
        )
        if body:
            fill.append(body)
        fill.finish()

    async def _receive(self, fill: Fill, plan: Plan, response: OriginResponse) -> None:
        now = self.clock()
        elapsed = time.monotonic() - response.started
        self.metrics.origin_latency.labels(response.origin.id).observe(elapsed)
        self.metrics.origin_fetches.labels(response.origin.id, str(response.status)).inc()
        previous = plan.previous
        if response.status == 304 and previous is not None:
            self._refresh(previous, response.headers, plan, now)
            fill.refreshed(previous)
            return
        status, headers = response.status, response.kept_headers()
        if plan.on_response is not None:
            status, headers = plan.on_response(status, headers)
        length = response.length
        in_memory = self.cache.holds_in_memory(length)
        spool = None if in_memory else self.cache.disk.spool()
        # CloudFront caches even private/no-store answers for a MinTTL > 0 (behind access control).
        shared = shareable(headers) or plan.behavior.ttl.min_ttl > 0
        fill.begin(Head(status, headers, length, response.origin.region, shared), in_memory, spool)
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
        self._store(fill, plan, status, headers, response.origin.region, now)
        fill.finish()

    def _store(
        self, fill: Fill, plan: Plan, status: int, headers: dict[str, str], region: str, now: float
    ) -> None:
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
            status, headers, body or b"", plan.kind, plan.behavior.ttl, now,
            error_minimum=self.error_ttls.get(status), target=self.live.get(plan.path),
            max_stale=self.settings.max_stale,
        )  # fmt: skip
        if freshness.ttl <= 0 or fill.received > self.settings.max_object_bytes:
            return
        head = fill.head.result()
        shared = isinstance(head, Head) and head.shareable
        if not shared or self.invalidated_since(plan.generation, plan.path):
            return
        entry = Entry(
            plan.key, plan.path, status, headers, fill.received, now, freshness.ttl,
            freshness.swr, freshness.sie, region, body=body,
        )  # fmt: skip
        if self.cache.commit(entry, None if body is not None else fill.spool):
            fill.entry = entry

    def _refresh(self, entry: Entry, headers: dict[str, str], plan: Plan, now: float) -> None:
        """A 304: the copy is current; take the new validators and freshness (RefreshHit)."""
        for name in REFRESHED_HEADERS:
            if name in headers:
                entry.headers[name] = headers[name]
        body = entry.body
        if body is None and plan.kind in (Kind.MASTER, Kind.MEDIA_PLAYLIST):
            body = self.cache.disk.read(entry)  # the playlist decides its own TTL
        freshness = decide(
            entry.status, entry.headers, body or b"", plan.kind, plan.behavior.ttl, now,
            target=self.live.get(plan.path), max_stale=self.settings.max_stale,
        )  # fmt: skip
        entry.stored_at, entry.ttl = now, freshness.ttl
        entry.swr, entry.sie, entry.backoff_until = freshness.swr, freshness.sie, 0.0
        self.cache.refresh(entry)


def conditional(entry: Entry | None) -> dict[str, str]:
    """Validators to send when refreshing `entry` (nothing for error entries)."""
    return entry.validators if entry is not None and entry.status == 200 else {}


def backoff(entry: Entry, now: float, seconds: float) -> None:
    """After a failed refresh, serve the stale copy without asking the origin for a while."""
    entry.backoff_until = now + seconds
