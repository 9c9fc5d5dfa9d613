"""Edge POPs and cache behaviors: TTL policies, cache keys, functions, rate limits."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from streaming.config._base import GiB, Identifier, MiB, _Model


class Edge(_Model):
    """One edge POP (point of presence)."""

    pop: Identifier
    region: Identifier
    port: Annotated[int, Field(ge=1, le=65535)]
    host: str = "127.0.0.1"
    # A `shield` is the Origin Shield tier: POPs send their misses to it instead of the origins.
    role: Literal["pop", "shield"] = "pop"
    # HTTPS + HTTP/2 on TCP, HTTP/3 on UDP with the same number (needs [tls]).
    https_port: Annotated[int, Field(ge=1, le=65535)] | None = None

    @property
    def url(self) -> str:
        """The plain-HTTP listener: health checks, /metrics, the edge's own callers."""
        return f"http://{self.host}:{self.port}"

    @property
    def viewer_url(self) -> str:
        """Where viewers are sent: the HTTPS port when there is one."""
        if self.https_port is None:
            return self.url
        return f"https://{self.host}:{self.https_port}"


class TTLPolicy(_Model):
    """CloudFront cache-policy TTLs plus the HLS-aware overrides.

    `manifest_ttl`/`segment_ttl` of None means: follow the origin's Cache-Control, clamped by
    min/max; live playlists are never cached longer than half their target duration.
    """

    min_ttl: Annotated[float, Field(ge=0)] = 0
    default_ttl: Annotated[float, Field(ge=0)] = 86400
    max_ttl: Annotated[float, Field(ge=0)] = 31536000
    manifest_ttl: Annotated[float, Field(ge=0)] | None = None
    segment_ttl: Annotated[float, Field(ge=0)] | None = None
    error_ttl: Annotated[float, Field(ge=0)] = 10
    # Used when the origin sends no stale-while-revalidate / stale-if-error directive.
    stale_while_revalidate: Annotated[float, Field(ge=0)] = 0
    stale_if_error: Annotated[float, Field(ge=0)] = 60

    @property
    def caching(self) -> bool:
        """False for a CachingDisabled-style policy (max_ttl 0): pass every request through."""
        return self.max_ttl > 0

    @model_validator(mode="after")
    def _ordered(self) -> TTLPolicy:
        if not self.min_ttl <= self.max_ttl:
            raise ValueError("min_ttl must not exceed max_ttl")
        return self


def _all(value: object) -> object:
    """`"all"` is written as a string; inside, it is the one-element list `("*",)`."""
    return ("*",) if value == "all" else value


AllOrNames = Annotated[tuple[str, ...], BeforeValidator(_all)]


class CacheKeyPolicy(_Model):
    """What besides the path goes into the cache key: an allow-list, never identity.

    `query_strings = "all"` keys on the whole query string as sent (signing parameters removed).
    """

    query_strings: AllOrNames = ()
    headers: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _no_identity(self) -> CacheKeyPolicy:
        banned = {"authorization", "cookie"}
        if banned & {h.lower() for h in self.headers}:
            raise ValueError("Authorization and Cookie can never be part of the cache key")
        return self


Method = Literal["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
# Any RFC 9110 token (extension methods such as M-SEARCH); only GET and HEAD are ever cached.
MethodToken = Annotated[str, Field(pattern=r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,32}$")]
FunctionEvent = Literal["viewer-request", "origin-request", "origin-response", "viewer-response"]
OptionValue = str | int | float | bool | list[str] | dict[str, str]


class EdgeFunctionRef(_Model):
    """One edge function on a behavior: a built-in name or `package.module:callable`."""

    event: FunctionEvent
    name: Annotated[str, Field(min_length=1, max_length=200)]
    options: dict[str, OptionValue] = {}


class RateLimit(_Model):
    """A per-client-IP token bucket: `rate` requests per second, bursts up to `burst`."""

    rate: Annotated[float, Field(gt=0)]
    burst: Annotated[int, Field(ge=1)] = 10


class ResponseHeadersPolicy(_Model):
    """CloudFront's response headers policy: what viewers get besides the origin's headers.

    Applied to every response of the behavior, errors too, after the origin's headers and
    before the edge's own (X-Cache, Via, Age, Cache-Status), which it cannot change.
    """

    remove: tuple[str, ...] = ()  # origin headers viewers never see (e.g. "server")
    add: dict[str, str] = {}  # set only when the origin did not send the header
    override: dict[str, str] = {}  # set whatever the origin sent
    security_headers: bool = False  # HSTS, nosniff, frame, referrer policies (if absent)

    @model_validator(mode="after")
    def _names(self) -> ResponseHeadersPolicy:
        for name in (*self.remove, *self.add, *self.override):
            if not re.fullmatch(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+", name):
                raise ValueError(f"{name[:40]!r} is not a header name")
            if name.lower() in EDGE_OWNED:
                raise ValueError(f"{name!r} is set by the edge itself")
        return self


# Headers the edge sets on every response; a policy cannot change them.
EDGE_OWNED = frozenset({
    "x-cache", "via", "age", "cache-status", "x-edge-location", "x-request-id",
    "x-origin-region", "content-length", "content-range", "transfer-encoding", "connection",
})  # fmt: skip


class Behavior(_Model):
    """An ordered cache behavior: a path pattern routed to an origin or group with a TTL policy."""

    path_pattern: Annotated[str, Field(min_length=1, max_length=255)]
    target: Identifier
    ttl: TTLPolicy = TTLPolicy()
    cache_key: CacheKeyPolicy = CacheKeyPolicy()
    allowed_methods: tuple[MethodToken, ...] = ("GET", "HEAD", "OPTIONS")
    trusted_key_groups: tuple[Identifier, ...] = ()
    jwt_bearer: bool = False  # also accept `Authorization: Bearer <JWT>` signed by a trusted key
    rate_limit: RateLimit | None = None
    viewer_protocol_policy: Literal["allow-all", "redirect-to-https", "https-only"] = "allow-all"
    compress: bool = True
    # Origin request policy: viewer headers sent to the origin but never part of the cache key.
    # "all": every viewer header; on a caching behavior every one but Cookie, conditionals and
    # Range (the edge's own), Authorization only ever sharing answers RFC 9111 §3.5 allows.
    forward_headers: AllOrNames = ()
    functions: tuple[EdgeFunctionRef, ...] = ()
    response_headers: ResponseHeadersPolicy = ResponseHeadersPolicy()

    @model_validator(mode="after")
    def _forwarding(self) -> Behavior:
        forwarded = {h.lower() for h in self.forward_headers}
        if self.ttl.caching and forwarded & {"authorization", "cookie"}:
            raise ValueError(
                "forward_headers: a caching behavior may not name Authorization or Cookie "
                "(one viewer's response would be served to others); set max_ttl = 0, or "
                '"all" for Authorization under RFC 9111 §3.5'
            )
        if "*" in forwarded and len(forwarded) > 1:
            raise ValueError('forward_headers: "all" stands alone')
        events = [f.event for f in self.functions]
        if len(events) != len(set(events)):
            raise ValueError("functions: at most one function per event, as in CloudFront")
        return self


class EdgeSettings(_Model):
    """Settings shared by every edge POP (each POP caches under `<cache_dir>/<pop>`).

    A request body bound for an origin (pass-through behaviors) is spooled to a temporary file
    and hashed before it is sent, so the origin request's signature covers it: at most
    `max_request_body_bytes` (413 past it, on Content-Length before a byte is read).
    """

    cache_dir: str = ".data/edge"
    # Processes per POP on one port (`streaming edge --workers`); 0: one per CPU core. They
    # share the disk tier and collapse misses together; each has its own memory tier.
    workers: Annotated[int, Field(ge=0, le=256)] = 0
    memory_cache_bytes: Annotated[int, Field(ge=0)] = 256 * MiB
    # Objects up to this size are held whole in memory; larger ones only stream via the disk.
    memory_object_bytes: Annotated[int, Field(ge=0)] = 8 * MiB
    disk_cache_bytes: Annotated[int, Field(ge=0)] = 4 * GiB
    max_object_bytes: Annotated[int, Field(gt=0)] = 64 * MiB
    max_origin_fetches: Annotated[int, Field(ge=1)] = 64
    # A group sets its own timeouts; these apply to a behavior targeting one origin (the response
    # timeout also bounds the wait for a fetch slot, as a group's does).
    origin_connect_timeout: Annotated[
        float, Field(gt=0, le=10, description="connect timeout to a single-origin target")
    ] = 2.0
    origin_response_timeout: Annotated[
        float,
        Field(gt=0, le=120, description="first-byte and idle timeout of a single-origin target"),
    ] = 10.0
    # LL-HLS: the origin holds a blocking playlist reload or a part request until it exists
    # (edge.ll_hls); waiting that long is not a slow origin.
    origin_ll_hold_timeout: Annotated[
        float, Field(gt=0, le=120, description="first-byte timeout of a held LL-HLS request")
    ] = 10.0
    max_stale: Annotated[float, Field(ge=0)] = 3600  # bound on any stale-* window
    compress_min_bytes: Annotated[int, Field(ge=0)] = 1000  # CloudFront's range
    compress_max_bytes: Annotated[int, Field(gt=0)] = 10_000_000
    access_log: str = ""  # "" off, "-" stdout, else a file path (JSON lines)
    # RFC 9213 targeted cache directives this edge obeys before Cache-Control (first present
    # wins); stripped from responses to viewers unless forward_cdn_cache_control.
    cdn_cache_control: tuple[str, ...] = (
        "streaming-cdn-cache-control", "cdn-cache-control", "surrogate-control",
    )  # fmt: skip
    forward_cdn_cache_control: bool = False
    # As large as the origin's default upload limit, so uploads through `/videos*` still fit.
    max_request_body_bytes: Annotated[
        int, Field(gt=0, description="bound on a viewer request body forwarded to an origin")
    ] = 2 * GiB


class CustomErrorResponse(_Model):
    """Per status: serve a page (fetched through the behaviors) and cache the error this long."""

    error_code: Literal[400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504]
    response_page_path: Annotated[str, Field(pattern=r"^(/[^?#\s]*)?$")] = ""
    response_code: Annotated[int, Field(ge=200, le=599)] | None = None
    error_caching_min_ttl: Annotated[float, Field(ge=0)] = 10


_WEB_ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-\[\]:]+")


class CorsSettings(_Model):
    """CORS for browser players; credentials are allowed on paths behind trusted key groups."""

    allowed_origins: tuple[str, ...] = ()  # "*" allows any origin (echoed, never a literal *)
    allowed_methods: tuple[Method, ...] = ("GET", "HEAD", "OPTIONS")
    allowed_headers: tuple[str, ...] = ("range", "content-type", "authorization")
    expose_headers: tuple[str, ...] = (
        "content-length", "content-range", "age", "x-cache", "x-edge-location", "x-request-id",
        "x-origin-region",
    )  # fmt: skip
    max_age: Annotated[int, Field(ge=0)] = 600

    @model_validator(mode="after")
    def _origins(self) -> CorsSettings:
        for i, origin in enumerate(self.allowed_origins):
            if origin != "*" and not _WEB_ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"allowed_origins.{i}: {origin[:80]!r} is not a web origin "
                    "(scheme://host[:port], no path) or '*'"
                )
        return self
