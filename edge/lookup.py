"""Lookup: a fresh hit, a stale hit (while-revalidate, if-error), or a collapsed fill.

The cached path of the pipeline after the cache key is known. An expired copy is served when
a 304 revalidates it (RefreshHit), while a background refresh runs (stale-while-revalidate), or
when the origin fails within its stale-if-error bound; otherwise viewers wait on the one fill
for the key and stream its body as it arrives.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from edge import vary
from edge.cache import Entry
from edge.cache.tiers import TieredCache
from edge.cache_key import cache_key
from edge.classify import Classified
from edge.collapse import Collapser
from edge.compress import Compression
from edge.deliver import error_reply, from_entry, from_fill, hit, plain, prepared, vary_with
from edge.failover import Origins
from edge.fill import Fill, Filler, Plan, backoff, conditional
from edge.functions import Event
from edge.functions.hooks import Hooks
from edge.invalidation import Invalidator
from edge.metrics import EdgeMetrics
from edge.origin_request import for_fill
from edge.relay import relay
from edge.types import Refreshed, Reply, Result
from edge.viewer import Viewer
from streaming.errors import OriginError, RangeNotSatisfiable, StreamingError

log = logging.getLogger("edge.lookup")

R_HIT = Result.REFRESH_HIT  # an expired copy served: revalidated, while-revalidate, if-error
VIEWER_REQUEST, VIEWER_RESPONSE = Event.VIEWER_REQUEST, Event.VIEWER_RESPONSE


class Lookup:
    """Answers cacheable requests of one POP from its tiers and its in-flight fills."""

    def __init__(
        self, pop: str, cache: TieredCache, origins: Origins, filler: Filler,
        invalidator: Invalidator, compression: Compression, metrics: EdgeMetrics,
        clock: Callable[[], float],
    ) -> None:  # fmt: skip
        self.pop, self.cache, self.origins, self.filler = pop, cache, origins, filler
        self.invalidator, self.compression = invalidator, compression
        self.metrics, self.clock = metrics, clock
        self.collapser = Collapser()

    async def serve(self, viewer: Viewer, classified: Classified, hooks: Hooks) -> Reply:
        """Lookup, then a fresh hit, a stale hit, or a (collapsed) fill."""
        v = viewer
        key = cache_key(v.method, v.path, v.query, v.headers, classified.behavior.cache_key)
        now = self.clock()
        entry = self.cache.get(key)
        if entry is not None and vary.is_marker(entry):  # the variant this viewer selects
            key = vary.secondary_key(key, vary.names(entry.headers), viewer.headers)
            entry = self.cache.get(key)
        if entry is not None:
            if entry.fresh(now):
                entry.hits += 1
                return self._fresh_hit(viewer, classified, entry, hooks, now)
            if entry.within_swr(now):
                if self.collapser.get(key) is None:  # refresh in the background, nobody waits
                    self._start_fill(viewer, classified, key, entry, hooks)[0].release()
                self.metrics.stale.labels("while-revalidate").inc()
                detail = "StaleWhileRevalidate"
                return self._from_entry(viewer, classified, entry, R_HIT, detail, now)
            if now < entry.backoff_until and entry.within_sie(now):
                self.metrics.stale.labels("if-error").inc()
                return self._from_entry(viewer, classified, entry, R_HIT, "StaleIfError", now)
        fill, joined = self._start_fill(viewer, classified, key, entry, hooks)
        if joined:
            self.metrics.collapsed.inc()
        reply: Reply | None = None
        try:
            reply = await self._from_fill(viewer, classified, entry, fill, joined, hooks, now)
            return reply
        finally:
            if reply is None or not reads(reply, fill):
                fill.release()  # this viewer will not stream the fill's body

    async def _from_fill(
        self, viewer: Viewer, classified: Classified, entry: Entry | None, fill: Fill, joined: bool,
        hooks: Hooks, now: float,
    ) -> Reply:  # fmt: skip
        """Answer from an in-flight fill: its body as it streams, a refreshed or stale copy."""
        v = viewer
        try:
            head = await fill.wait_head()
        except StreamingError as exc:
            if entry is not None and entry.within_sie(now) and isinstance(exc, OriginError):
                return self._stale_on_error(viewer, classified, entry, exc, now)
            raise
        if isinstance(head, Refreshed):
            now = self.clock()
            if not head.revalidated:  # a sibling worker's fill: a hit for this viewer
                return self._from_entry(viewer, classified, head.entry, Result.HIT, "Hit", now)
            return self._from_entry(viewer, classified, head.entry, R_HIT, "RefreshHit", now)
        if head.status >= 500 and entry is not None and entry.within_sie(now):
            failed = OriginError(f"origin answered {head.status}")
            return self._stale_on_error(viewer, classified, entry, failed, now)
        varied = vary.names(head.headers)
        if joined and (not head.shareable or not vary.matches(varied, fill.selecting, v.headers)):
            # A private answer, or another variant, is never shared: this viewer fetches itself.
            request = for_fill(viewer, classified)
            return await relay(self.origins, viewer, request, None, hooks)
        collapsed = joined or fill.following  # another viewer's fetch, here or in a sibling
        result = Result.HIT if collapsed else Result.MISS
        behavior = classified.behavior
        if self.compression.applies(viewer, behavior, head.status, head.headers, head.length):
            await fill.wait_done()  # a compressed copy needs the whole (small, text) body
            if fill.error is not None:
                raise fill.error
            if fill.entry is not None:
                now = self.clock()
                return self._from_entry(viewer, classified, fill.entry, result, result.value, now)
        headers = dict(head.headers)
        if self.compression.varies(behavior, head.status, head.headers, head.length):
            headers["vary"] = vary_with(headers.get("vary"), "Accept-Encoding")
        try:
            reply = from_fill(viewer, fill, head, headers)
        except RangeNotSatisfiable as exc:
            reply = error_reply(self.pop, viewer, exc)
        reply.result, reply.detail = result, result.value
        reply.origin_region, reply.age = head.origin_region, int(head.age)
        reply.cached_path, reply.collapsed = True, collapsed
        reply.fwd_status = None if collapsed else head.status
        return reply

    def _start_fill(
        self, viewer: Viewer, classified: Classified, key: str, previous: Entry | None, hooks: Hooks
    ) -> tuple[Fill, bool]:
        request = for_fill(viewer, classified)
        request.headers.update(conditional(previous))
        plan = Plan(
            key, viewer.path, classified.kind, classified.behavior, request, previous,
            self.invalidator.generation, hooks.origin_request(), hooks.origin_response(),
            selecting=viewer.headers, authorization="authorization" in viewer.headers,
        )  # fmt: skip
        # A request with credentials the origin sees fetches on its own: another viewer's
        # answer may be for them only (RFC 9111 §3.5 decides whether it is stored).
        together = key if "authorization" not in request.headers else f"{key}|{viewer.request_id}"
        fill, joined = self.collapser.join(
            together, viewer.path, lambda fill: self.filler.produce(fill, plan)
        )
        if not joined:
            fill.selecting = viewer.headers  # whom its answer fits, if it varies
        return fill, joined

    def _fresh_hit(
        self, viewer: Viewer, classified: Classified, entry: Entry, hooks: Hooks, now: float
    ) -> Reply:
        """A fresh hit; a plain GET of a 200 entry, with no viewer function to change it, is
        answered with the entry's precomputed head (edge.deliver.prepare) or makes it."""
        functions = hooks.functions
        if (
            entry.status != 200 or not plain(viewer)
            or (functions and (functions.get(VIEWER_REQUEST) or functions.get(VIEWER_RESPONSE)))
        ):  # fmt: skip
            return self._from_entry(viewer, classified, entry, Result.HIT, "Hit", now)
        variant = (classified.route.index, viewer.headers.get("origin"))  # CORS answers vary
        head = prepared(entry, variant)
        if head is not None:
            return hit(entry, head, now)
        reply = self._from_entry(viewer, classified, entry, Result.HIT, "Hit", now)
        behavior = classified.behavior
        if not self.compression.varies(behavior, entry.status, entry.headers, entry.size):
            reply.prepare = (entry, variant)  # the pipeline makes the head once decorated
        return reply

    def _from_entry(
        self, viewer: Viewer, classified: Classified, entry: Entry, result: Result, detail: str,
        now: float,
    ) -> Reply:  # fmt: skip
        extra: dict[str, str] = {}
        encoded: tuple[str, bytes] | None = None
        behavior = classified.behavior
        if self.compression.varies(behavior, entry.status, entry.headers, entry.size):
            extra["vary"] = vary_with(entry.headers.get("vary"), "Accept-Encoding")
            if self.compression.applies(viewer, behavior, entry.status, entry.headers, entry.size):
                encoded = self.compression.variant(entry, viewer)
        try:
            reply = from_entry(viewer, entry, extra, encoded)
        except RangeNotSatisfiable as exc:
            reply = error_reply(self.pop, viewer, exc)
            reply.headers.update(extra)
        reply.result, reply.detail = result, detail
        reply.origin_region, reply.age = entry.origin_region, entry.age(now)
        reply.cached_path, reply.ttl_left = True, entry.ttl - entry.current_age(now)
        if detail in ("Miss", "RefreshHit"):  # this request's fetch stored or updated it
            reply.stored, reply.fwd_status = True, entry.status if detail == "Miss" else 304
        return reply

    def _stale_on_error(
        self, viewer: Viewer, classified: Classified, entry: Entry, exc: StreamingError, now: float
    ) -> Reply:
        """stale-if-error: the origin failed and the expired copy is within its bound."""
        log.warning("serving stale %s: %s", entry.path, exc.detail)
        backoff(entry, now, classified.behavior.ttl.error_ttl)  # CloudFront retries after this
        self.cache.refresh(entry)  # on disk, so the sibling workers back off as well
        self.metrics.stale.labels("if-error").inc()
        return self._from_entry(viewer, classified, entry, Result.REFRESH_HIT, "StaleIfError", now)


def reads(reply: Reply, fill: Fill) -> bool:
    """Whether the reply's body streams from `fill` (then sending it releases the fill)."""
    return isinstance(reply.body, tuple) and reply.body[0] is fill
