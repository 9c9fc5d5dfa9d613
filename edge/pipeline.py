"""The edge request lifecycle; the only module that knows the order of the stages.

classify → authorize → viewer-request function → boundary → cache key → lookup → fetch (collapsed,
streamed, with failover; `edge.fill` runs origin functions → cacheability → store) →
deliver → viewer-response function → custom error page → CORS → log and count.
Behaviors that do not cache go from the viewer-request function to `edge.relay`. Every path the
request reaches after the one it was authorized for passes `edge.boundary` (rewritten lookups
here, every origin request in `Origins.open`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from starlette.types import Receive, Scope, Send

from edge import shield
from edge.access_log import AccessLog, line
from edge.authorize import Authorizer, ViewerFacts
from edge.boundary import Boundary, check_path
from edge.cache import Entry
from edge.cache.tiers import TieredCache
from edge.cache_key import cache_key, forwarded_query
from edge.classify import Classified, classify, routes
from edge.collapse import Collapser
from edge.compress import compress, compressible_type, negotiate, qualifies
from edge.cors import Cors
from edge.deliver import edge_headers, from_entry, from_fill, send_reply
from edge.fill import Fill, Filler, Plan, backoff, conditional
from edge.functions import BehaviorFunctions, FunctionResponse, load
from edge.functions.hooks import Hooks, Where, country_source
from edge.invalidation import Invalidator
from edge.metrics import EdgeMetrics
from edge.origins import OriginRequest, Origins
from edge.relay import relay
from edge.types import Refreshed, Reply, Result, Stream
from edge.viewer import Viewer
from streaming.config import CustomErrorResponse, Distribution, Edge
from streaming.errors import (
    EdgeFunctionError,
    MethodNotAllowed,
    OriginError,
    RangeNotSatisfiable,
    StreamingError,
)
from streaming.http import error_response

log = logging.getLogger("edge.pipeline")

CACHED_METHODS = frozenset({"GET", "HEAD"})
# An expired copy served: revalidated by a 304, stale-while-revalidate or stale-if-error.
R_HIT = Result.REFRESH_HIT
# Viewer headers every cached fetch forwards; identity never (the cache key has no room for it).
FORWARDED_HEADERS = frozenset({"user-agent"})
NOT_FORWARDED = frozenset({"host", "connection", "content-length", "transfer-encoding"})
NO_FUNCTIONS = BehaviorFunctions()
CLASSIFY_MEMO = 16384  # paths whose classification is remembered


class Pipeline:
    """Serves viewer requests for one POP."""

    def __init__(
        self, dist: Distribution, edge: Edge, cache: TieredCache, origins: Origins,
        metrics: EdgeMetrics, access_log: AccessLog, invalidator: Invalidator,
        clock: Callable[[], float] = time.time,
    ) -> None:  # fmt: skip
        self.dist, self.edge, self.cache, self.origins = dist, edge, cache, origins
        self.metrics, self.access_log, self.invalidator = metrics, access_log, invalidator
        self.clock = clock
        self.routes = routes(dist.behaviors)
        self._classified: dict[str, Classified] = {}  # path → behavior and kind, see _classify
        self.boundary = Boundary(self.routes, self._classify)
        origins.guard = self.boundary.check_request
        self.functions = {r.index: load(r.behavior) for r in self.routes}
        self.where = Where(dist.name, edge.pop, edge.region)
        self.collapser = Collapser()
        error_ttls: dict[int, float] = {
            c.error_code: c.error_caching_min_ttl for c in dist.custom_error_responses
        }
        self.filler = Filler(
            cache, origins, dist.edge, metrics, invalidator.invalidated_since, error_ttls, clock
        )
        self.cors = Cors(dist.cors)
        self.authorizer = Authorizer(dist, edge, clock)
        self.error_pages: dict[int, CustomErrorResponse] = {
            c.error_code: c for c in dist.custom_error_responses if c.response_page_path
        }
        self.countries = self.authorizer.countries or country_source(dist.geo_restriction)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one viewer request, then log and count it."""
        viewer = Viewer.from_scope(scope)
        root = self.dist.default_root_object  # CloudFront: for `/` only, not subdirectories
        if root and viewer.path == "/":
            viewer.path = f"/{root}"
        classified = self._classify(viewer.path)
        try:
            check_path(viewer.path, scope.get("raw_path"))
            reply = await self._respond(viewer, classified, receive)
        except StreamingError as exc:
            reply = self._error(viewer, exc)
        if reply.status in self.error_pages and reply.result is not Result.FUNCTION:
            reply = await self._error_page(viewer, classified, reply)
        self._decorate(viewer, classified, reply)
        first_byte = time.monotonic() - viewer.started
        try:
            await send_reply(send, reply)
        except (StreamingError, OSError) as exc:
            # The body broke after the headers went out: returning without finishing the
            # response makes the server cut the connection, so the viewer sees it incomplete.
            log.warning("response for %s cut after %d bytes: %s", viewer.path, reply.sent, exc)
            reply.detail = "OriginReadError"
        finally:
            await _discard(reply)
            self._account(viewer, classified, reply, first_byte)

    def _classify(self, path: str) -> Classified:
        """classify(), remembered per path: players repeat the same few paths; the memo is
        bounded, so a scan of random paths cannot grow it."""
        classified = self._classified.get(path)
        if classified is None:
            classified = classify(path, self.routes)
            if len(self._classified) >= CLASSIFY_MEMO:
                self._classified.clear()
            self._classified[path] = classified
        return classified

    async def _respond(self, viewer: Viewer, classified: Classified, receive: Receive) -> Reply:
        behavior = classified.behavior
        if viewer.method not in behavior.allowed_methods:
            raise MethodNotAllowed(f"{viewer.method} is not allowed for {behavior.path_pattern}")
        asked = viewer.headers.get("access-control-request-method")
        if self.cors.is_preflight(viewer.method, viewer.origin, asked):
            headers = {**self.cors.preflight(viewer.origin, behavior), "content-length": "0"}
            headers.update(edge_headers(self.edge.pop, Result.HIT, viewer, "", None))
            return Reply(204, headers, b"", Result.HIT, "Preflight")
        # authorize (preflights carry no credentials): before functions, cache and origin.
        if self.edge.role == "shield":  # only POPs talk to the shield, and they already checked
            access = shield.admit(self.dist, ViewerFacts.of(viewer), self.clock())
        else:
            access = self.authorizer.authorize(ViewerFacts.of(viewer), classified.route)
        if access.redirect is not None:
            return self._redirect(viewer, *access.redirect)
        viewer.query = access.query  # signing parameters never reach the cache key or the origin
        functions = self.functions[classified.route.index]
        if functions and self.countries is not None:  # the functions' context knows the country
            viewer.country = self.countries.country(viewer.client_ip, viewer.headers)
        hooks = Hooks(functions, self.where, viewer, behavior.path_pattern, self.metrics)
        requested = viewer.path
        generated = hooks.viewer_request()
        if generated is not None:
            return self._generated(viewer, generated)
        if viewer.path != requested:  # the function moved the request to another path
            self.boundary.check(classified.route, viewer.path)
        if behavior.ttl.caching and viewer.method in CACHED_METHODS:
            reply = await self._cached(viewer, classified, hooks)
        else:
            request = self._origin_request(viewer, classified, pass_through=True)
            reply = await relay(self.origins, self.edge.pop, viewer, request, receive, hooks)
        if reply.status < 400:
            hooks.viewer_response(reply)
        return reply

    async def _cached(self, viewer: Viewer, classified: Classified, hooks: Hooks) -> Reply:
        """Lookup, then a fresh hit, a stale hit, or a (collapsed) fill."""
        behavior = classified.behavior
        v = viewer
        key = cache_key(v.method, v.path, v.query, v.headers, behavior.cache_key)
        now = self.clock()
        entry = self.cache.get(key)
        if entry is not None:
            if entry.fresh(now):
                entry.hits += 1
                return self._from_entry(viewer, classified, entry, Result.HIT, "Hit", now)
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
            if reply is None or not _reads(reply, fill):
                fill.release()  # this viewer will not stream the fill's body

    async def _from_fill(
        self, viewer: Viewer, classified: Classified, entry: Entry | None, fill: Fill, joined: bool,
        hooks: Hooks, now: float,
    ) -> Reply:  # fmt: skip
        """Answer from an in-flight fill: its body as it streams, a refreshed or stale copy."""
        try:
            head = await fill.wait_head()
        except StreamingError as exc:
            if entry is not None and entry.within_sie(now) and isinstance(exc, OriginError):
                return self._stale_on_error(viewer, classified, entry, exc, now)
            raise
        if isinstance(head, Refreshed):
            now = self.clock()
            return self._from_entry(viewer, classified, head.entry, R_HIT, "RefreshHit", now)
        if head.status >= 500 and entry is not None and entry.within_sie(now):
            failed = OriginError(f"origin answered {head.status}")
            return self._stale_on_error(viewer, classified, entry, failed, now)
        if joined and not head.shareable:
            # A private answer is never shared: this viewer fetches for itself.
            request = self._origin_request(viewer, classified, pass_through=False)
            return await relay(self.origins, self.edge.pop, viewer, request, None, hooks)
        result = Result.HIT if joined else Result.MISS
        if self._compressible(viewer, classified, head.status, head.headers, head.length):
            await fill.wait_done()  # a compressed copy needs the whole (small, text) body
            if fill.error is not None:
                raise fill.error
            if fill.entry is not None:
                now = self.clock()
                return self._from_entry(viewer, classified, fill.entry, result, result.value, now)
        ours = edge_headers(self.edge.pop, result, viewer, head.origin_region, 0)
        headers = {**head.headers, **ours}
        if self._varies(classified, head.headers):
            headers["vary"] = _vary(headers.get("vary"), "Accept-Encoding")
        try:
            reply = from_fill(viewer, fill, head, headers)
        except RangeNotSatisfiable as exc:
            reply = self._error(viewer, exc)
        reply.result, reply.detail = result, result.value
        return reply

    def _start_fill(
        self, viewer: Viewer, classified: Classified, key: str, previous: Entry | None, hooks: Hooks
    ) -> tuple[Fill, bool]:
        request = self._origin_request(viewer, classified, pass_through=False)
        request.headers.update(conditional(previous))
        plan = Plan(
            key, viewer.path, classified.kind, classified.behavior, request, previous,
            self.invalidator.generation, hooks.origin_request(), hooks.origin_response(),
        )  # fmt: skip
        return self.collapser.join(key, viewer.path, lambda fill: self.filler.produce(fill, plan))

    def _origin_request(
        self, viewer: Viewer, classified: Classified, pass_through: bool
    ) -> OriginRequest:
        """The origin request for a behavior: its forwarded headers and query strings only."""
        behavior = classified.behavior
        wanted = {h.lower() for h in behavior.forward_headers}
        if pass_through and "*" in wanted:
            headers = {k: v for k, v in viewer.headers.items() if k not in NOT_FORWARDED}
        else:
            wanted |= FORWARDED_HEADERS | {h.lower() for h in behavior.cache_key.headers}
            headers = {k: v for k, v in viewer.headers.items() if k in wanted}
        if not pass_through:
            headers["accept-encoding"] = "identity"  # the edge compresses; the cache keeps identity
        forwarded_for = viewer.headers.get("x-forwarded-for")
        ip = viewer.client_ip
        headers["x-forwarded-for"] = f"{forwarded_for}, {ip}" if forwarded_for else ip
        headers["x-edge-request-id"] = viewer.request_id
        query = viewer.query if pass_through else forwarded_query(viewer.query, behavior.cache_key)
        method = viewer.method if pass_through else "GET"  # HEAD fills the whole object too
        return OriginRequest(
            behavior.target, method, viewer.path, query, headers, accepted=classified.route
        )

    def _from_entry(
        self, viewer: Viewer, classified: Classified, entry: Entry, result: Result, detail: str,
        now: float,
    ) -> Reply:  # fmt: skip
        extra = edge_headers(self.edge.pop, result, viewer, entry.origin_region, entry.age(now))
        encoded: tuple[str, bytes] | None = None
        if self._varies(classified, entry.headers):
            extra["vary"] = _vary(entry.headers.get("vary"), "Accept-Encoding")
            if self._compressible(viewer, classified, entry.status, entry.headers, entry.size):
                encoded = self._variant(entry, viewer)
        try:
            reply = from_entry(viewer, entry, extra, encoded)
        except RangeNotSatisfiable as exc:
            reply = self._error(viewer, exc)
            reply.headers.update(extra)
        reply.result, reply.detail = result, detail
        return reply

    def _varies(self, classified: Classified, headers: dict[str, str]) -> bool:
        return classified.behavior.compress and compressible_type(headers.get("content-type"))

    def _compressible(
        self, viewer: Viewer, classified: Classified, status: int, headers: dict[str, str],
        size: int | None,
    ) -> bool:  # fmt: skip
        settings = self.dist.edge
        return (
            classified.behavior.compress and size is not None and viewer.range is None
            and negotiate(viewer.headers.get("accept-encoding"), viewer.http_version) is not None
            and qualifies(
                status, headers, size, settings.compress_min_bytes, settings.compress_max_bytes
            )
        )  # fmt: skip

    def _variant(self, entry: Entry, viewer: Viewer) -> tuple[str, bytes] | None:
        """The compressed copy for this viewer, made once per entry and encoding and charged to
        the memory tier; objects too large for memory go out uncompressed (best effort, as in
        CloudFront) rather than being read whole into memory."""
        encoding = negotiate(viewer.headers.get("accept-encoding"), viewer.http_version)
        if encoding is None or entry.body is None:
            return None
        data = entry.variants.get(encoding)
        if data is None:
            data = entry.variants[encoding] = compress(entry.body, encoding)
            self.cache.memory.recharge(entry)
        return encoding, data

    def _stale_on_error(
        self, viewer: Viewer, classified: Classified, entry: Entry, exc: StreamingError, now: float
    ) -> Reply:
        """stale-if-error: the origin failed and the expired copy is within its bound."""
        log.warning("serving stale %s: %s", entry.path, exc.detail)
        backoff(entry, now, classified.behavior.ttl.error_ttl)  # CloudFront retries after this
        self.metrics.stale.labels("if-error").inc()
        return self._from_entry(viewer, classified, entry, Result.REFRESH_HIT, "StaleIfError", now)

    def _generated(self, viewer: Viewer, response: FunctionResponse) -> Reply:
        headers = {**response.headers, "content-length": str(len(response.body))}
        headers.update(edge_headers(self.edge.pop, Result.FUNCTION, viewer, "", None))
        body = b"" if viewer.method == "HEAD" else response.body
        return Reply(response.status, headers, body, Result.FUNCTION, "FunctionGeneratedResponse")

    async def _error_page(self, viewer: Viewer, accepted: Classified, reply: Reply) -> Reply:
        """Custom error response: the configured page (fetched like any object), its status."""
        page = self.error_pages[reply.status]
        try:  # the page is served to this viewer: it must not need stricter credentials
            self.boundary.check(accepted.route, page.response_page_path)
        except StreamingError as exc:
            log.warning("custom error page %s refused: %s", page.response_page_path, exc.detail)
            return reply
        inner = Viewer(
            "HEAD" if viewer.method == "HEAD" else "GET", page.response_page_path, "",
            {k: v for k, v in viewer.headers.items() if k in ("accept-encoding", "user-agent")},
            viewer.client_ip, viewer.client_port, viewer.http_version, viewer.scheme,
            uri=page.response_page_path, request_id=viewer.request_id,
        )  # fmt: skip
        classified = classify(inner.path, self.routes)
        try:
            pattern = classified.behavior.path_pattern
            hooks = Hooks(NO_FUNCTIONS, self.where, inner, pattern, self.metrics)
            page_reply = await self._cached(inner, classified, hooks)
        except StreamingError as exc:
            log.warning("custom error page %s unavailable: %s", page.response_page_path, exc.detail)
            return reply
        if page_reply.status != 200:
            await _discard(page_reply)
            return reply
        await _discard(reply)
        page_reply.status = page.response_code or reply.status
        page_reply.headers["x-cache"] = reply.headers["x-cache"]
        page_reply.result, page_reply.detail = reply.result, reply.detail
        return page_reply

    def _decorate(self, viewer: Viewer, classified: Classified, reply: Reply) -> None:
        """CORS on every response (errors too), and X-Cache: Error for any status >= 400."""
        if self.cors.enabled:
            vary = _vary(reply.headers.get("vary"), "Origin")
            reply.headers.update(self.cors.headers(viewer.origin, classified.behavior))
            reply.headers["vary"] = vary
        if reply.status >= 400 and reply.result is not Result.FUNCTION:
            reply.result = Result.ERROR
            reply.headers["x-cache"] = f"{Result.ERROR.value} from {self.edge.pop}"

    def _redirect(self, viewer: Viewer, status: int, location: str) -> Reply:
        """The viewer protocol policy's redirect to HTTPS (a `Redirect` in CloudFront's logs)."""
        headers = edge_headers(self.edge.pop, Result.MISS, viewer, "", None)
        headers.update(
            {
                "location": location,
                "content-length": "0",
                "x-cache": f"Redirect from {self.edge.pop}",
            }
        )
        return Reply(status, headers, b"", Result.MISS, "Redirect")

    def _error(self, viewer: Viewer, exc: StreamingError) -> Reply:
        response = error_response(exc)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in response.raw_headers}
        headers.update(edge_headers(self.edge.pop, Result.ERROR, viewer, "", None))
        function_failed = isinstance(exc, EdgeFunctionError)
        detail = "FunctionExecutionError" if function_failed else type(exc).__name__
        body = b"" if viewer.method == "HEAD" else bytes(response.body)
        return Reply(exc.status_code, headers, body, Result.ERROR, detail)

    def _account(
        self, viewer: Viewer, classified: Classified, reply: Reply, first_byte: float
    ) -> None:
        behavior = classified.behavior
        cached = behavior.ttl.caching and viewer.method in CACHED_METHODS
        result = reply.result.value
        self.metrics.observe(behavior.path_pattern, reply.status, result, reply.sent, cached)
        if self.access_log.enabled:
            self.access_log.write(
                line(viewer, reply, self.edge.pop, self.dist.name, first_byte, time.monotonic())
            )


def _reads(reply: Reply, fill: Fill) -> bool:
    """Whether the reply's body streams from `fill` (then sending it releases the fill)."""
    return isinstance(reply.body, tuple) and reply.body[0] is fill


async def _discard(reply: Reply) -> None:
    """Let go of what a reply's body holds: a relayed origin response, a fill."""
    body = reply.body
    if isinstance(body, Stream):
        await body.close()
    elif isinstance(body, tuple) and isinstance(body[0], Fill):
        body[0].release()
        reply.body = b""


def _vary(current: str | None, name: str) -> str:
    """Add `name` to a Vary value once."""
    if not current:
        return name
    names = [v.strip().lower() for v in current.split(",")]
    return current if name.lower() in names else f"{current}, {name}"
