"""Edge functions: typed Python hooks per behavior for the four CloudFront events.

    viewer-request   every request, before the cache; may rewrite the URI/headers or answer
    origin-request   on a miss, before the origin fetch; may rewrite the URI/headers or answer
    origin-response  on a miss, before caching; may change status and headers (which are cached)
    viewer-response  every response below 400, before it is sent; may change status and headers

A request hook returns the (possibly changed) `FunctionRequest` or a `FunctionResponse`, which
short-circuits. Hooks receive an explicit `Context`; they never see the cache or the network.
A hook that raises, or returns something else, fails only its own request with a 502.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from streaming.config import Behavior, EdgeFunctionRef, OptionValue
from streaming.errors import ConfigError, EdgeFunctionError

log = logging.getLogger("edge.functions")


class Event(StrEnum):
    VIEWER_REQUEST = "viewer-request"
    ORIGIN_REQUEST = "origin-request"
    ORIGIN_RESPONSE = "origin-response"
    VIEWER_RESPONSE = "viewer-response"


@dataclass(slots=True)
class FunctionRequest:
    """The request as a function sees it; `method` is read-only, `uri` must start with `/`."""

    method: str
    uri: str
    querystring: str
    headers: dict[str, str]  # lower-case names


@dataclass(slots=True)
class FunctionResponse:
    """A response a function generates, or the status and headers of one it may change."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class Context:
    """What a function may know besides the request: where and for whom it runs."""

    event: Event
    distribution: str
    pop: str
    region: str
    request_id: str
    behavior: str  # the path pattern of the matched behavior
    viewer_ip: str
    viewer_country: str | None
    options: Mapping[str, OptionValue]


RequestHook = Callable[[Context, FunctionRequest], "FunctionRequest | FunctionResponse"]
ResponseHook = Callable[[Context, FunctionRequest, FunctionResponse], FunctionResponse]
Hook = RequestHook | ResponseHook


@dataclass(frozen=True, slots=True)
class Bound:
    """A loaded function with its configured options."""

    name: str
    hook: Hook
    options: Mapping[str, OptionValue]


@dataclass(frozen=True, slots=True)
class BehaviorFunctions:
    """The functions of one behavior, resolved once at start."""

    hooks: Mapping[Event, Bound] = field(default_factory=dict)

    def get(self, event: Event) -> Bound | None:
        return self.hooks.get(event)

    def __bool__(self) -> bool:
        return bool(self.hooks)


def resolve(ref: EdgeFunctionRef) -> Hook:
    """A built-in by name, or `package.module:callable`; unknown names fail at start."""
    from edge.functions.builtin import BUILTINS

    if ref.name in BUILTINS:
        hook, events = BUILTINS[ref.name]
        if ref.event not in events:
            allowed = ", ".join(sorted(events))
            raise ConfigError(f"edge function {ref.name!r} runs on {allowed}, not {ref.event}")
        return hook
    module_name, _, attr = ref.name.partition(":")
    if not attr:
        known = ", ".join(sorted(BUILTINS))
        raise ConfigError(
            f"edge function {ref.name!r}: not built in ({known}) nor 'module:callable'"
        )
    try:
        hook = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"edge function {ref.name!r} cannot be loaded: {exc}") from None
    if not callable(hook):
        raise ConfigError(f"edge function {ref.name!r} is not callable")
    return hook  # type: ignore[no-any-return]


def load(behavior: Behavior) -> BehaviorFunctions:
    return BehaviorFunctions(
        {Event(ref.event): Bound(ref.name, resolve(ref), ref.options) for ref in behavior.functions}
    )


def run_request(
    bound: Bound, ctx: Context, request: FunctionRequest
) -> FunctionRequest | FunctionResponse:
    """Run a viewer-/origin-request hook; any failure becomes EdgeFunctionError (502)."""
    result = _call(bound, ctx, request)
    if isinstance(result, FunctionRequest):
        if not result.uri.startswith("/") or result.method != request.method:
            raise _invalid(
                bound, ctx, "a request must keep its method and have a URI starting with /"
            )
        return result
    if isinstance(result, FunctionResponse):
        return _checked(bound, ctx, result)
    raise _invalid(bound, ctx, f"returned {type(result).__name__}")


def run_response(
    bound: Bound, ctx: Context, request: FunctionRequest, response: FunctionResponse
) -> FunctionResponse:
    """Run an origin-/viewer-response hook; any failure becomes EdgeFunctionError (502)."""
    result = _call(bound, ctx, request, response)
    if not isinstance(result, FunctionResponse):
        raise _invalid(bound, ctx, f"returned {type(result).__name__}, not a FunctionResponse")
    return _checked(bound, ctx, result)


def _call(bound: Bound, ctx: Context, *args: object) -> object:
    """Call the hook; whatever it raises is logged and becomes EdgeFunctionError (502)."""
    try:
        return bound.hook(ctx, *args)  # type: ignore[call-arg, arg-type]
    except Exception as exc:
        log.exception(
            "edge function %s failed on %s (request %s)",
            bound.name,
            ctx.event.value,
            ctx.request_id,
        )
        raise EdgeFunctionError(
            f"edge function {bound.name} failed: {type(exc).__name__}"
        ) from None


# Headers a function may not set, as CloudFront forbids X-Cache, Via and hop-by-hop ones.
READ_ONLY_HEADERS = frozenset({
    "x-cache", "via", "x-edge-location", "x-request-id", "connection", "keep-alive",
    "transfer-encoding", "upgrade", "content-length",
})  # fmt: skip


def _checked(bound: Bound, ctx: Context, response: FunctionResponse) -> FunctionResponse:
    if not 200 <= response.status <= 599:
        raise _invalid(bound, ctx, f"status {response.status} is not a valid HTTP status")
    response.headers = {k.lower(): str(v) for k, v in response.headers.items()}
    if bad := READ_ONLY_HEADERS & response.headers.keys():
        raise _invalid(bound, ctx, f"may not set {', '.join(sorted(bad))}")
    return response


def _invalid(bound: Bound, ctx: Context, why: str) -> EdgeFunctionError:
    log.error(
        "edge function %s on %s %s (request %s)", bound.name, ctx.event.value, why, ctx.request_id
    )
    return EdgeFunctionError(f"edge function {bound.name} {why}")
