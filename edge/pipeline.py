"""The edge request lifecycle; the only module that knows the order of the stages.

    path normal form (edge.boundary) → classify → allowed method → CORS preflight →
    authorize (edge.authorize; edge.shield.admit on the shield) → viewer-request function →
    boundary (a rewritten path) →
        cacheable: cache key → lookup → fresh / stale / collapsed fill (edge.lookup; edge.fill
                   runs the origin functions → cacheability → store)
        otherwise: pass-through to the origin (edge.relay)
            → a successful unsafe method drops what it changed (edge.invalidation)
    → viewer-response function → custom error page (edge.error_pages) → response headers policy
    (edge.response_headers) → CORS → Cache-Status (edge.cache_status) → send (edge.deliver)
    → log and count.

Every path the request reaches after the one it was authorized for passes `edge.boundary`: a
rewritten lookup here, every origin request in `Origins.open`, an error page in its stage.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from starlette.types import Receive, Scope, Send

from edge import cache_status, shield
from edge.access_log import AccessLog
from edge.authorize import Authorizer, ViewerFacts
from edge.boundary import Boundary, check_path
from edge.cache.tiers import TieredCache
from edge.cache_key import cache_key
from edge.classify import Classified, classify, routes
from edge.compress import Compression
from edge.cors import Cors
from edge.deliver import (
    PATHSEND,
    discard,
    edge_headers,
    error_reply,
    finish,
    prepare,
    send_reply,
    vary_with,
)
from edge.error_pages import ErrorPages
from edge.failover import Origins
from edge.fill import Filler
from edge.functions import FunctionResponse, load
from edge.functions.hooks import Hooks, Where, country_source
from edge.invalidation import Invalidator, unsafe_targets
from edge.lookup import Lookup
from edge.metrics import EdgeMetrics
from edge.origin_request import for_relay
from edge.pop_fill import PopFills
from edge.relay import relay
from edge.response_headers import ViewerHeaders
from edge.types import Reply, Result
from edge.viewer import Viewer
from streaming.config import Distribution, Edge
from streaming.errors import MethodNotAllowed, StreamingError

log = logging.getLogger("edge.pipeline")

CACHED_METHODS = frozenset({"GET", "HEAD"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
CLASSIFY_MEMO = 16384  # paths whose classification is remembered, each of at most
MEMO_PATH_CHARS = 1024  # characters


class Pipeline:
    """Serves viewer requests for one POP."""

    def __init__(
        self, dist: Distribution, edge: Edge, cache: TieredCache, origins: Origins,
        metrics: EdgeMetrics, access_log: AccessLog, invalidator: Invalidator,
        clock: Callable[[], float] = time.time, pop: PopFills | None = None,
    ) -> None:  # fmt: skip
        self.dist, self.edge, self.origins = dist, edge, origins
        self.metrics, self.access_log, self.invalidator = metrics, access_log, invalidator
        self.clock = clock
        self.routes = routes(dist.behaviors)
        self._classified: dict[str, Classified] = {}  # path → behavior and kind, see _classify
        self.boundary = Boundary(self.routes, self._classify)
        origins.guard = self.boundary.check_request
        self.functions = {r.index: load(r.behavior) for r in self.routes}
        self.where = Where(dist.name, edge.pop, edge.region)
        error_ttls: dict[int, float] = {
            c.error_code: c.error_caching_min_ttl for c in dist.custom_error_responses
        }
        filler = Filler(
            cache, origins, dist.edge, metrics, invalidator.invalidated_since, error_ttls, clock,
            pop,
        )  # fmt: skip
        compression = Compression(dist.edge, cache.memory)
        self.lookup = Lookup(
            edge.pop, cache, origins, filler, invalidator, compression, metrics, clock
        )
        self.collapser = self.lookup.collapser
        self.error_pages = ErrorPages(
            dist.custom_error_responses, self.boundary, self.lookup, self.where, metrics
        )
        self.cors = Cors(dist.cors)
        self.viewer_headers = ViewerHeaders(dist.edge)
        self.cache_name = f"{edge.pop}.streaming-cdn"  # this cache in Cache-Status
        self.authorizer = Authorizer(dist, edge, clock)
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
            reply = error_reply(self.edge.pop, viewer, exc)
        raw = None
        if reply.prepared is not None:  # the lean hit path: decorated when its head was made
            raw = finish(reply, viewer.request_id)
        else:
            if self.error_pages.applies(reply):
                reply = await self.error_pages.replace(viewer, classified, reply)
            self._decorate(viewer, classified, reply)
            if reply.prepare is not None:
                prepare(reply)
        first_byte = time.monotonic() - viewer.started
        try:
            await send_reply(send, reply, raw, PATHSEND in scope.get("extensions", ()))
        except (StreamingError, OSError) as exc:
            # The body broke after the headers went out: returning without finishing the
            # response makes the server cut the connection, so the viewer sees it incomplete.
            log.warning("response for %s cut after %d bytes: %s", viewer.path, reply.sent, exc)
            reply.detail = "OriginReadError"
        finally:
            await discard(reply)
            self._account(viewer, classified, reply, first_byte)

    def _classify(self, path: str) -> Classified:
        """classify(), remembered per path: players repeat the same few paths; the memo is
        bounded, so a scan of random paths cannot grow it."""
        classified = self._classified.get(path)
        if classified is None:
            classified = classify(path, self.routes)
            if len(path) <= MEMO_PATH_CHARS:  # nor can long ones make it large
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
            reply = await self.lookup.serve(viewer, classified, hooks)
        else:
            request = for_relay(viewer, classified)
            reply = await relay(self.origins, viewer, request, receive, hooks)
            if viewer.method not in SAFE_METHODS and 200 <= reply.status < 400:
                self._forget(viewer, reply)
        if reply.status < 400:
            hooks.viewer_response(reply)
        return reply

    def _generated(self, viewer: Viewer, response: FunctionResponse) -> Reply:
        headers = {**response.headers, "content-length": str(len(response.body))}
        body = b"" if viewer.method == "HEAD" else response.body
        return Reply(response.status, headers, body, Result.FUNCTION, "FunctionGeneratedResponse")

    def _redirect(self, viewer: Viewer, status: int, location: str) -> Reply:
        """The viewer protocol policy's redirect to HTTPS (a `Redirect` in CloudFront's logs)."""
        headers = {"location": location, "content-length": "0"}
        return Reply(status, headers, b"", Result.MISS, "Redirect")

    def _forget(self, viewer: Viewer, reply: Reply) -> None:
        """RFC 9111 §4.4: the answers stored for what an unsafe request changed."""
        host = viewer.headers.get("host", "")
        for path, query in unsafe_targets(viewer.path, viewer.query, host, reply.headers):
            policy = self._classify(path).behavior.cache_key
            self.invalidator.forget(cache_key("GET", path, query, viewer.headers, policy), path)

    def _decorate(self, viewer: Viewer, classified: Classified, reply: Reply) -> None:
        """The response headers policy, CORS on every response (errors too), the edge's headers
        (X-Cache: Error for any status >= 400) and Cache-Status."""
        self.viewer_headers.apply(reply.headers, classified.behavior.response_headers)
        if self.cors.enabled:
            vary = vary_with(reply.headers.get("vary"), "Origin")
            reply.headers.update(self.cors.headers(viewer.origin, classified.behavior))
            reply.headers["vary"] = vary
        if reply.status >= 400 and reply.result is not Result.FUNCTION:
            reply.result = Result.ERROR
        # The edge's own headers, set once from what the reply carries.
        pop = self.edge.pop
        reply.headers.update(
            edge_headers(pop, reply.result, viewer, reply.origin_region, reply.age)
        )
        if reply.detail == "Redirect":  # CloudFront logs it as a Miss, shows it as a Redirect
            reply.headers["x-cache"] = f"Redirect from {pop}"
        upstream = reply.headers.get("cache-status")
        reply.headers["cache-status"] = cache_status.header(upstream, self.cache_name, reply)

    def _account(
        self, viewer: Viewer, classified: Classified, reply: Reply, first_byte: float
    ) -> None:
        behavior = classified.behavior
        cached = behavior.ttl.caching and viewer.method in CACHED_METHODS
        result = reply.result.value
        self.metrics.observe(behavior.path_pattern, reply.status, result, reply.sent, cached)
        if self.access_log.enabled:
            now = time.monotonic()
            self.access_log.log(viewer, reply, self.edge.pop, self.dist.name, first_byte, now)
