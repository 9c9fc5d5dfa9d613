"""Edge functions: the shipped ones, the runner's failure rules, and hooks in a real edge."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from edge.functions import (
    Bound,
    Context,
    Event,
    FunctionRequest,
    FunctionResponse,
    load,
    resolve,
    run_request,
    run_response,
)
from edge.functions.builtin import country_redirect, index_rewrite, security_headers, strip_prefix
from streaming.config import Behavior, EdgeFunctionRef
from streaming.errors import ConfigError, EdgeFunctionError
from tests.edge.stack import (
    Answer,
    EdgeStack,
    ScriptedOrigin,
    edge_doc,
    edge_stack,
)


def ctx(event: Event = Event.VIEWER_REQUEST, country: str | None = None, **options: Any) -> Context:
    return Context(event, "demo", "iad", "us-east", "req-1", "*", "127.0.0.1", country, options)


def request(uri: str = "/", query: str = "") -> FunctionRequest:
    return FunctionRequest("GET", uri, query, {"host": "cdn.test"})


def test_security_headers_adds_the_defaults_and_honours_options() -> None:
    """HSTS, nosniff, frame and referrer policy by default; options override or remove."""
    out = security_headers(
        ctx(Event.VIEWER_RESPONSE), request(), FunctionResponse(200, {"content-type": "text/html"})
    )
    assert out.headers["strict-transport-security"].startswith("max-age=63072000")
    assert (
        out.headers["x-content-type-options"] == "nosniff"
        and out.headers["x-frame-options"] == "DENY"
    )
    tuned = security_headers(
        ctx(Event.VIEWER_RESPONSE, x_frame_options="",
            content_security_policy="default-src 'self'"),
        request(), FunctionResponse(200, {}),
    )  # fmt: skip
    assert "x-frame-options" not in tuned.headers
    assert tuned.headers["content-security-policy"] == "default-src 'self'"


@pytest.mark.parametrize(("uri", "rewritten"), [
    ("/", "/index.html"), ("/docs/", "/docs/index.html"), ("/docs", "/docs/index.html"),
    ("/docs/page.html", "/docs/page.html"), ("/hls/v1/master.m3u8", "/hls/v1/master.m3u8"),
])  # fmt: skip
def test_index_rewrite_appends_the_index_to_directories(uri: str, rewritten: str) -> None:
    """Directory-looking URIs get index.html; files are left alone."""
    assert index_rewrite(ctx(), request(uri)).uri == rewritten


def test_country_redirect_sends_listed_countries_away_and_lets_others_pass() -> None:
    """DE viewers get a 302 to the prefix + URI + query; FR and unknown countries pass."""
    options = {"to": {"DE": "https://de.cdn.test/"}}
    out = country_redirect(ctx(country="DE", **options), request("/hls/v1/master.m3u8", "a=1"))
    assert isinstance(out, FunctionResponse) and out.status == 302
    assert out.headers["location"] == "https://de.cdn.test/hls/v1/master.m3u8?a=1"
    assert isinstance(country_redirect(ctx(country="FR", **options), request()), FunctionRequest)
    assert isinstance(country_redirect(ctx(country=None, **options), request()), FunctionRequest)


def test_strip_prefix_removes_only_a_whole_leading_segment() -> None:
    """`/api/videos` → `/videos`; `/apiary` is not under `/api`."""
    assert (
        strip_prefix(ctx(Event.ORIGIN_REQUEST, prefix="/api"), request("/api/videos")).uri
        == "/videos"
    )
    assert strip_prefix(ctx(Event.ORIGIN_REQUEST, prefix="/api"), request("/api")).uri == "/"
    assert (
        strip_prefix(ctx(Event.ORIGIN_REQUEST, prefix="/api"), request("/apiary")).uri == "/apiary"
    )


def boom(ctx: Context, request: FunctionRequest) -> FunctionRequest:
    raise ValueError("bug")


def wrong_type(ctx: Context, request: FunctionRequest) -> str:
    return "not a request"


def sets_x_cache(
    ctx: Context, request: FunctionRequest, response: FunctionResponse
) -> FunctionResponse:
    response.headers["X-Cache"] = "Hit from nowhere"
    return response


def test_a_raising_or_misbehaving_function_becomes_a_502_error() -> None:
    """Exceptions, wrong return types and forbidden headers all raise EdgeFunctionError (502)."""
    with pytest.raises(EdgeFunctionError) as raised:
        run_request(Bound("boom", boom, {}), ctx(), request())
    assert raised.value.status_code == 502 and "ValueError" in raised.value.detail
    with pytest.raises(EdgeFunctionError):
        run_request(Bound("wrong", wrong_type, {}), ctx(), request())  # type: ignore[arg-type]
    with pytest.raises(EdgeFunctionError, match="x-cache"):
        run_response(
            Bound("xc", sets_x_cache, {}),
            ctx(Event.VIEWER_RESPONSE),
            request(),
            FunctionResponse(200),
        )


def test_functions_resolve_at_start_with_clear_errors() -> None:
    """Built-ins by name, custom ones by module:callable; a wrong event or name fails to start."""
    assert resolve(EdgeFunctionRef(event="viewer-request", name="index-rewrite")) is index_rewrite
    assert (
        resolve(EdgeFunctionRef(event="viewer-request", name="tests.edge.test_functions:boom"))
        is boom
    )
    with pytest.raises(ConfigError, match="viewer-response"):
        resolve(EdgeFunctionRef(event="viewer-request", name="security-headers"))
    with pytest.raises(ConfigError, match="not built in"):
        resolve(EdgeFunctionRef(event="viewer-request", name="no-such-function"))
    with pytest.raises(ConfigError, match="cannot be loaded"):
        resolve(EdgeFunctionRef(event="viewer-request", name="tests.nowhere:fn"))
    behavior = Behavior(
        path_pattern="*",
        target="x",
        functions=(EdgeFunctionRef(event="viewer-request", name="index-rewrite"),),
    )
    assert (
        load(behavior).get(Event.VIEWER_REQUEST) is not None
        and load(behavior).get(Event.VIEWER_RESPONSE) is None
    )


def test_one_function_per_event_per_behavior() -> None:
    """Like CloudFront, a behavior takes at most one function per event."""
    with pytest.raises(ValueError, match="one function per event"):
        Behavior(path_pattern="*", target="x", functions=(
            EdgeFunctionRef(event="viewer-request", name="index-rewrite"),
            EdgeFunctionRef(event="viewer-request", name="country-redirect"),
        ))  # fmt: skip


# -- in a real edge ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(origin: ScriptedOrigin, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeStack]:
    doc = edge_doc(origin.url)
    doc["behaviors"].insert(0, {"path_pattern": "/geo/*", "target": "all", "functions": [
        {"event": "viewer-request", "name": "country-redirect", "options": {"to": {"DE": "https://de.cdn.test"}}},
    ]})  # fmt: skip
    doc["behaviors"].insert(0, {"path_pattern": "/site/*", "target": "all", "functions": [
        {"event": "viewer-request", "name": "index-rewrite"},
    ]})  # fmt: skip
    doc["geo_restriction"] = {"country_header": "x-viewer-country"}
    doc["trusted_proxies"] = ["127.0.0.1/32"]  # the header counts only from a trusted proxy
    with edge_stack(tmp_path_factory.mktemp("functions"), doc) as s:
        yield s


@pytest.mark.e2e
def test_function_hooks_run_in_the_edge_and_a_raising_one_fails_only_its_request(
    stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """/fn/deny is answered by the function (FunctionGeneratedResponse), /fn/boom is a 502 and
    the edge keeps serving; origin-response marks are cached; security headers on every hit."""
    path = f"/fn/ok-{os.urandom(3).hex()}"
    origin.route(
        path,
        Answer(headers={"content-type": "text/plain", "cache-control": "max-age=60"}, body=b"ok"),
    )
    denied = httpx.get(stack.url() + "/fn/deny")
    assert denied.status_code == 403 and denied.content == b"denied by a function"
    assert denied.headers["x-cache"] == "FunctionGeneratedResponse from iad"
    broken = httpx.get(stack.url() + "/fn/boom")
    assert broken.status_code == 502 and broken.json()["error"] == "function_error"
    for expected in ("Miss from iad", "Hit from iad"):
        ok = httpx.get(stack.url() + path)
        assert ok.status_code == 200 and ok.headers["x-cache"] == expected
        assert ok.headers["x-origin-response-fn"] == "ran"
        assert ok.headers["x-content-type-options"] == "nosniff"
    assert origin.count("/fn/deny") == origin.count("/fn/boom") == 0
    assert stack.metrics()['edge_function_errors_total{event="viewer-request"}'] == 1


@pytest.mark.e2e
def test_index_rewrite_and_country_redirect_in_the_edge(
    stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """/site/docs/ reaches the origin as /site/docs/index.html; a DE viewer of /geo/*
    is sent away.
    """
    origin.route(
        "/site/docs/index.html", Answer(headers={"content-type": "text/html"}, body=b"<p>docs</p>")
    )
    assert httpx.get(stack.url() + "/site/docs/").content == b"<p>docs</p>"
    redirected = httpx.get(stack.url() + "/geo/v1/master.m3u8", headers={"x-viewer-country": "DE"})
    assert redirected.status_code == 302
    assert redirected.headers["location"] == "https://de.cdn.test/geo/v1/master.m3u8"
    origin.route(
        "/geo/v1/master.m3u8",
        Answer(headers={"content-type": "application/vnd.apple.mpegurl"}, body=b"#EXTM3U\n"),
    )
    assert (
        httpx.get(
            stack.url() + "/geo/v1/master.m3u8", headers={"x-viewer-country": "FR"}
        ).status_code
        == 200
    )
