"""A behavior's edge functions bound to one viewer request: the pipeline's side of the hooks.

Translates between the pipeline's values (Viewer, OriginRequest, Reply) and the function
values (FunctionRequest, FunctionResponse), and counts failures per event.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.fill import RequestHook, ResponseHook
from edge.functions import (
    READ_ONLY_HEADERS,
    BehaviorFunctions,
    Bound,
    Context,
    Event,
    FunctionRequest,
    FunctionResponse,
    run_request,
    run_response,
)
from edge.geo import CountryLookup, HeaderCountries, MaxMindCountries
from edge.metrics import EdgeMetrics
from edge.origins import OriginRequest
from edge.types import Reply
from edge.viewer import Viewer
from streaming.config import GeoRestriction
from streaming.errors import EdgeFunctionError

# Headers a viewer-response function does not see and cannot change (CloudFront: read-only).
PROTECTED = READ_ONLY_HEADERS | {"age", "x-origin-region", "content-range"}


def country_source(settings: GeoRestriction) -> CountryLookup | None:
    """Where functions learn the viewer's country, also when geo restriction itself is off."""
    if settings.country_header:
        return HeaderCountries(settings.country_header)
    if settings.database:
        return MaxMindCountries(settings.database)
    return None


@dataclass(frozen=True, slots=True)
class Where:
    """The parts of a function's context that do not change per request."""

    distribution: str
    pop: str
    region: str


class Hooks:
    """Runs the four events for one request; a failing function raises EdgeFunctionError."""

    __slots__ = ("functions", "where", "viewer", "behavior", "metrics")

    def __init__(
        self, functions: BehaviorFunctions, where: Where, viewer: Viewer, behavior: str,
        metrics: EdgeMetrics,
    ) -> None:  # fmt: skip
        self.functions, self.where, self.viewer = functions, where, viewer
        self.behavior, self.metrics = behavior, metrics

    def _context(self, event: Event, bound: Bound) -> Context:
        w, v = self.where, self.viewer
        return Context(
            event, w.distribution, w.pop, w.region, v.request_id, self.behavior, v.client_ip,
            v.country, bound.options,
        )  # fmt: skip

    def _request(
        self, event: Event, bound: Bound, request: FunctionRequest
    ) -> FunctionRequest | FunctionResponse:
        try:
            return run_request(bound, self._context(event, bound), request)
        except EdgeFunctionError:
            self.metrics.function_errors.labels(event.value).inc()
            raise

    def _response(
        self, event: Event, bound: Bound, request: FunctionRequest, response: FunctionResponse
    ) -> FunctionResponse:
        try:
            return run_response(bound, self._context(event, bound), request, response)
        except EdgeFunctionError:
            self.metrics.function_errors.labels(event.value).inc()
            raise

    def _viewer_view(self) -> FunctionRequest:
        v = self.viewer
        return FunctionRequest(v.method, v.path, v.query, dict(v.headers))

    def viewer_request(self) -> FunctionResponse | None:
        """Rewrite the viewer request in place, or return the function's own response."""
        bound = self.functions.get(Event.VIEWER_REQUEST) if self.functions else None
        if bound is None:
            return None
        out = self._request(Event.VIEWER_REQUEST, bound, self._viewer_view())
        if isinstance(out, FunctionResponse):
            return out
        self.viewer.path, self.viewer.query, self.viewer.headers = (
            out.uri,
            out.querystring,
            out.headers,
        )
        return None

    def origin_request(self) -> RequestHook | None:
        bound = self.functions.get(Event.ORIGIN_REQUEST) if self.functions else None
        if bound is None:
            return None

        def hook(request: OriginRequest) -> OriginRequest | tuple[int, dict[str, str], bytes]:
            view = FunctionRequest(
                request.method, request.path, request.query, dict(request.headers)
            )
            out = self._request(Event.ORIGIN_REQUEST, bound, view)
            if isinstance(out, FunctionResponse):
                return out.status, out.headers, out.body
            request.path, request.query, request.headers = out.uri, out.querystring, out.headers
            return request

        return hook

    def origin_response(self) -> ResponseHook | None:
        bound = self.functions.get(Event.ORIGIN_RESPONSE) if self.functions else None
        if bound is None:
            return None

        def hook(status: int, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
            out = self._response(
                Event.ORIGIN_RESPONSE, bound, self._viewer_view(), FunctionResponse(status, headers)
            )
            return out.status, out.headers

        return hook

    def viewer_response(self, reply: Reply) -> None:
        """Let the function change status and headers; the edge's own headers stay as they are."""
        bound = self.functions.get(Event.VIEWER_RESPONSE) if self.functions else None
        if bound is None:
            return
        kept = {k: v for k, v in reply.headers.items() if k in PROTECTED}
        view = FunctionResponse(
            reply.status, {k: v for k, v in reply.headers.items() if k not in kept}
        )
        out = self._response(Event.VIEWER_RESPONSE, bound, self._viewer_view(), view)
        reply.status = out.status
        reply.headers = {**out.headers, **kept}
