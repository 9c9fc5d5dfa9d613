"""The edge request lifecycle; the only module that knows the order of the stages.

classify → authorize → cache key → lookup → fetch (collapsed, with failover) → cacheability
→ store → deliver.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

from edge.authorize import Authorizer, ViewerFacts, redirect_response
from edge.cache import Cache, Entry
from edge.cache_key import cache_key
from edge.cacheability import decide
from edge.classify import Classified, classify, routes
from edge.collapse import Collapser
from edge.deliver import Result, Viewer, deliver, edge_headers
from edge.origins import Origins
from streaming.config import Distribution, Edge
from streaming.errors import MethodNotAllowed, StreamingError
from streaming.http import error_response

log = logging.getLogger("edge.pipeline")

CACHED_METHODS = frozenset({"GET", "HEAD"})


class Pipeline:
    """Serves viewer requests for one POP."""

    def __init__(
        self,
        dist: Distribution,
        edge: Edge,
        cache: Cache,
        origins: Origins,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.edge, self.cache, self.origins, self.clock = edge, cache, origins, clock
        self.routes = routes(dist.behaviors)
        self.authorizer = Authorizer(dist, edge, clock)
        self.collapser: Collapser[Entry] = Collapser()

    async def handle(self, request: Request) -> Response:
        """Answer one viewer request; errors become a JSON body with `X-Cache: Error`."""
        try:
            return await self._handle(request)
        except StreamingError as exc:
            return error_response(exc, edge_headers(self.edge.pop, Result.ERROR, None, None))

    async def _handle(self, request: Request) -> Response:
        method = request.method
        path = request.url.path
        classified = classify(path, self.routes)
        behavior = classified.behavior
        if method not in behavior.allowed_methods:
            raise MethodNotAllowed(f"{method} is not allowed for {behavior.path_pattern}")
        access = self.authorizer.authorize(ViewerFacts.from_request(request), classified.route)
        if access.redirect is not None:
            return redirect_response(access.redirect, self.edge.pop)
        query = access.query  # signing parameters stripped: never in the cache key or to origin
        viewer = Viewer(
            method=method,
            range=request.headers.get("range"),
            if_none_match=request.headers.get("if-none-match"),
            if_modified_since=request.headers.get("if-modified-since"),
        )
        headers = dict(request.headers)
        key = cache_key(method, path, query, headers, behavior.cache_key)
        cached = self.cache.get(key)
        now = self.clock()
        if cached is not None and cached.fresh(now):
            cached.hits += 1
            return self._deliver(viewer, cached, Result.HIT, now)

        async def fill() -> Entry:
            return await self._fill(key, classified, method, path, query, headers)

        entry, joined = await self.collapser.run(key, fill)
        return self._deliver(viewer, entry, Result.HIT if joined else Result.MISS, self.clock())

    async def _fill(
        self, key: str, classified: Classified, method: str, path: str, query: str,
        headers: dict[str, str],
    ) -> Entry:  # fmt: skip
        """Fetch the whole object from the origins and store it if its TTL allows."""
        behavior = classified.behavior
        fetch_method = "GET" if method in CACHED_METHODS else method
        fetched = await self.origins.fetch(behavior.target, fetch_method, path, query, headers)
        now = self.clock()
        ttl = 0.0
        if method in CACHED_METHODS:
            ttl = decide(fetched.status, fetched.headers, fetched.body, classified.kind, behavior.ttl, now)
        entry = Entry(fetched.status, fetched.headers, fetched.body, now, ttl, fetched.origin.region)
        if ttl > 0:
            self.cache.put(key, entry)
        return entry

    def _deliver(self, viewer: Viewer, entry: Entry, result: Result, now: float) -> Response:
        age = entry.age(now) if result is Result.HIT else 0
        return deliver(viewer, entry, edge_headers(self.edge.pop, result, entry.origin_region, age))
