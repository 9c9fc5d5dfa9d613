"""The distribution file: one declarative TOML document describing the whole topology.

Parsed once at start into frozen pydantic models and passed explicitly; each component receives
only its slice (`Distribution.origin`, `Distribution.edge`, a `Behavior`, ...). An invalid file
raises `ConfigError` naming the field and the reason.
"""

from __future__ import annotations

import ipaddress
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationError,
    model_validator,
)

from streaming.errors import ConfigError

GiB = 1024**3
MiB = 1024**2


class Secret:
    """A string that never shows itself in reprs, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _to_secret(value: object) -> Secret:
    if isinstance(value, Secret):
        return value
    if not isinstance(value, str) or not value:
        raise ValueError("must be a non-empty string")
    return Secret(value)


SecretStr = Annotated[Secret, PlainValidator(_to_secret), PlainSerializer(lambda s: s.reveal())]
Identifier = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Listens:
    """Host and port of a service addressed by its `url` (scheme://host[:port])."""

    url: str

    @property
    def host(self) -> str:
        return self.url.split("://", 1)[1].rsplit(":", 1)[0]

    @property
    def port(self) -> int:
        authority = self.url.split("://", 1)[1]
        if ":" in authority:
            return int(authority.rsplit(":", 1)[1])
        return 443 if self.url.startswith("https") else 80


class Origin(_Model, _Listens):
    """One regional origin, like a CloudFront origin (an S3 bucket or a custom HTTP origin)."""

    id: Identifier
    region: Identifier
    url: Annotated[str, Field(pattern=r"^https?://[^/\s]+$")]
    # Origin access control: edges sign requests with this secret; None leaves the origin open.
    access_secret: SecretStr | None = None


class HealthPolicy(_Model):
    """When an origin counts as down and when it gets traffic again (see docs/failover.md).

    Passive: `failure_threshold` consecutive failed requests open the circuit. Active: a GET of
    `check_path` every `check_interval` seconds (0 disables); `unhealthy_checks` failures in a row
    mark it down. A down origin is skipped with no timeout paid; after `recovery_checks` healthy
    checks in a row (or `open_seconds` without active checks) it is half-open: single real requests
    probe it, and `probe_successes` successes in a row close it (0: traffic moves back at once).
    """

    failure_threshold: Annotated[int, Field(ge=1, le=100)] = 3
    check_path: Annotated[str, Field(pattern=r"^/[^\s?#]*$")] = "/healthz"
    check_interval: Annotated[float, Field(ge=0, le=300)] = 1.0
    check_timeout: Annotated[float, Field(gt=0, le=30)] = 0.5
    unhealthy_checks: Annotated[int, Field(ge=1, le=100)] = 2
    recovery_checks: Annotated[int, Field(ge=1, le=100)] = 2
    open_seconds: Annotated[float, Field(gt=0, le=3600)] = 5.0
    probe_successes: Annotated[int, Field(ge=0, le=100)] = 2


FAILOVER_STATUS_CHOICES = frozenset({400, 403, 404, 416, 500, 502, 503, 504})


class OriginGroup(_Model):
    """Ordered origins with failover criteria; edges order members nearest-first unless pinned.

    Timeouts default well under one segment duration so a failover stays invisible to players
    (CloudFront's 3 attempts x 10 s would stall every viewer for 30 s).
    """

    id: Identifier
    members: Annotated[tuple[Identifier, ...], Field(min_length=1)]
    order: Literal["nearest", "pinned"] = "nearest"
    failover_status_codes: tuple[int, ...] = (500, 502, 503, 504)
    connect_timeout: Annotated[float, Field(gt=0, le=10)] = 0.5
    # Time to first byte and the longest idle gap between body chunks (CloudFront's read timeout).
    response_timeout: Annotated[float, Field(gt=0, le=120)] = 1.0
    attempts: Annotated[int, Field(ge=1, le=3)] = 1  # connection attempts per member
    health: HealthPolicy = HealthPolicy()

    @model_validator(mode="after")
    def _status_codes(self) -> OriginGroup:
        if unknown := set(self.failover_status_codes) - FAILOVER_STATUS_CHOICES:
            allowed = ", ".join(str(c) for c in sorted(FAILOVER_STATUS_CHOICES))
            raise ValueError(f"failover_status_codes: {sorted(unknown)} not in {allowed}")
        return self


class Edge(_Model):
    """One edge POP (point of presence)."""

    pop: Identifier
    region: Identifier
    port: Annotated[int, Field(ge=1, le=65535)]
    host: str = "127.0.0.1"
    # A `shield` is the Origin Shield tier: POPs send their misses to it instead of the origins.
    role: Literal["pop", "shield"] = "pop"
    https_port: Annotated[int, Field(ge=1, le=65535)] | None = None  # HTTPS + HTTP/2 (needs [tls])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


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


class CacheKeyPolicy(_Model):
    """What besides the path goes into the cache key: an allow-list, never identity."""

    query_strings: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _no_identity(self) -> CacheKeyPolicy:
        banned = {"authorization", "cookie"}
        if banned & {h.lower() for h in self.headers}:
            raise ValueError("Authorization and Cookie can never be part of the cache key")
        return self


Method = Literal["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
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


class Behavior(_Model):
    """An ordered cache behavior: a path pattern routed to an origin or group with a TTL policy."""

    path_pattern: Annotated[str, Field(min_length=1, max_length=255)]
    target: Identifier
    ttl: TTLPolicy = TTLPolicy()
    cache_key: CacheKeyPolicy = CacheKeyPolicy()
    allowed_methods: tuple[Method, ...] = ("GET", "HEAD", "OPTIONS")
    trusted_key_groups: tuple[Identifier, ...] = ()
    jwt_bearer: bool = False  # also accept `Authorization: Bearer <JWT>` signed by a trusted key
    rate_limit: RateLimit | None = None
    viewer_protocol_policy: Literal["allow-all", "redirect-to-https", "https-only"] = "allow-all"
    compress: bool = True
    # Origin request policy: viewer headers sent to the origin but never part of the cache key.
    forward_headers: tuple[str, ...] = ()
    functions: tuple[EdgeFunctionRef, ...] = ()

    @model_validator(mode="after")
    def _forwarding(self) -> Behavior:
        forwarded = {h.lower() for h in self.forward_headers}
        if self.ttl.caching and forwarded & {"authorization", "cookie", "*"}:
            raise ValueError(
                "forward_headers: a caching behavior may not forward Authorization, Cookie or '*' "
                "(one viewer's response would be served to others); set max_ttl = 0"
            )
        events = [f.event for f in self.functions]
        if len(events) != len(set(events)):
            raise ValueError("functions: at most one function per event, as in CloudFront")
        return self


class PublicKey(_Model):
    """A trusted signing key: PEM text, or the path of a PEM file (relative to the config file)."""

    id: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]
    public_key: Annotated[str, Field(min_length=1)]


class KeyGroup(_Model):
    id: Identifier
    keys: Annotated[tuple[PublicKey, ...], Field(min_length=1)]


class GeoRestriction(_Model):
    """Country allow/deny list; the country comes from a MaxMind DB or a trusted proxy header."""

    mode: Literal["none", "allow", "deny"] = "none"
    countries: tuple[Annotated[str, Field(pattern=r"^[A-Z]{2}$")], ...] = ()
    database: str = ""  # a GeoLite2-Country / GeoIP2 .mmdb file (relative to the config file)
    country_header: str = ""  # e.g. CloudFront-Viewer-Country, set by a front proxy you trust

    @model_validator(mode="after")
    def _has_source(self) -> GeoRestriction:
        if self.mode != "none" and not (self.database or self.country_header):
            raise ValueError("geo_restriction needs a database or a country_header")
        return self


class TlsSettings(_Model):
    """Certificates from `streaming certs` (paths relative to the config file)."""

    cert_file: str = ""  # served by edges with an https_port, and by https:// origins
    key_file: str = ""
    ca_file: str = ""  # the CA edges trust for https:// origins (else the system's)


class Firewall(_Model):
    """WAF-style rules for viewers: denied addresses and paths, request size limits."""

    deny_cidrs: tuple[str, ...] = ()
    deny_paths: tuple[Annotated[str, Field(min_length=1, max_length=255)], ...] = ()
    max_url_bytes: Annotated[int, Field(ge=256)] = 8192
    max_header_bytes: Annotated[int, Field(ge=1024)] = 20480

    @model_validator(mode="after")
    def _cidrs(self) -> Firewall:
        for i, cidr in enumerate(self.deny_cidrs):
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ValueError(f"deny_cidrs.{i}: {cidr!r} is not an IP address or CIDR") from None
        return self


class StorageSettings(_Model):
    """Where an origin keeps packaged output: local disk (default) or S3-compatible storage.

    With `s3`, origins that name the same bucket share it: a video packaged by one region is
    served by every region without replication.
    """

    backend: Literal["fs", "s3"] = "fs"
    bucket: str = ""
    endpoint_url: str = ""
    region_name: str = "us-east-1"
    prefix: Annotated[str, Field(pattern=r"^([A-Za-z0-9_-]+/)*$")] = ""
    access_key_id: SecretStr | None = None
    secret_access_key: SecretStr | None = None
    # Lifetime of the pre-signed PUT URL handed out by POST /videos/uploads.
    presign_expiry: Annotated[int, Field(ge=10, le=3600)] = 300

    @model_validator(mode="after")
    def _bucket_for_s3(self) -> StorageSettings:
        if self.backend == "s3" and not self.bucket:
            raise ValueError("bucket is required when backend = 's3'")
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("access_key_id and secret_access_key go together")
        return self


class LiveChannel(_Model):
    """A 24/7 channel each origin packages in real time, named by the wall clock.

    Segment numbers are floor(epoch / segment_duration), so regional origins running the same
    channel independently publish the same names and media sequence numbers.
    """

    name: Identifier
    # "testsrc" (a test pattern with a tone), a video file, or an uploaded video id; looped.
    source: Annotated[str, Field(min_length=1)] = "testsrc"
    segment_duration: Annotated[int, Field(ge=1, le=10)] = 2
    window: Annotated[int, Field(ge=6, le=900)] = 10  # Apple: a live playlist holds >= 6
    heights: Annotated[tuple[Annotated[int, Field(ge=90, le=1080)], ...], Field(min_length=1)] = (
        360,
        180,
    )
    frame_rate: Annotated[int, Field(ge=10, le=60)] = 25


class OriginSettings(_Model):
    """Settings shared by every regional origin server."""

    data_dir: str = ".data/origin"
    segment_duration: Annotated[float, Field(gt=0.5, le=20)] = 4.0
    max_upload_bytes: Annotated[int, Field(gt=0)] = 2 * GiB
    workers: Annotated[int, Field(ge=1, le=16)] = 1
    ffmpeg: str = ""
    # Default for uploads that do not ask (POST /videos?encryption=aes-128 overrides per video).
    encryption: Literal["none", "aes-128"] = "none"
    storage: StorageSettings = StorageSettings()


class EdgeSettings(_Model):
    """Settings shared by every edge POP (each POP caches under `<cache_dir>/<pop>`)."""

    cache_dir: str = ".data/edge"
    memory_cache_bytes: Annotated[int, Field(ge=0)] = 256 * MiB
    # Objects up to this size are held whole in memory; larger ones only stream via the disk.
    memory_object_bytes: Annotated[int, Field(ge=0)] = 8 * MiB
    disk_cache_bytes: Annotated[int, Field(ge=0)] = 4 * GiB
    max_object_bytes: Annotated[int, Field(gt=0)] = 64 * MiB
    max_origin_fetches: Annotated[int, Field(ge=1)] = 64
    max_stale: Annotated[float, Field(ge=0)] = 3600  # bound on any stale-* window
    compress_min_bytes: Annotated[int, Field(ge=0)] = 1000  # CloudFront's range
    compress_max_bytes: Annotated[int, Field(gt=0)] = 10_000_000
    access_log: str = ""  # "" off, "-" stdout, else a file path (JSON lines)


class CustomErrorResponse(_Model):
    """Per status: serve a page (fetched through the behaviors) and cache the error this long."""

    error_code: Literal[400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504]
    response_page_path: Annotated[str, Field(pattern=r"^(/[^?#\s]*)?$")] = ""
    response_code: Annotated[int, Field(ge=200, le=599)] | None = None
    error_caching_min_ttl: Annotated[float, Field(ge=0)] = 10


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


class ControlSettings(_Model, _Listens):
    """The control plane: records invalidations durably and fans them out to every edge."""

    url: Annotated[str, Field(pattern=r"^https?://[^/\s]+$")]
    data_dir: str = ".data/control"
    poll_interval: Annotated[float, Field(gt=0)] = 2.0


class Pricing(_Model):
    """The price table `streaming report` bills with (defaults: CloudFront's first tier, USD)."""

    currency: str = "USD"
    egress_per_gb: dict[str, float] = {
        "us-east": 0.085, "us-west": 0.085, "eu-west": 0.085, "eu-central": 0.085,
        "ap-southeast": 0.114, "ap-northeast": 0.114, "sa-east": 0.110, "*": 0.085,
    }  # fmt: skip
    per_10k_requests: Annotated[float, Field(ge=0)] = 0.0100
    invalidation_per_path: Annotated[float, Field(ge=0)] = 0.005
    free_invalidation_paths: Annotated[int, Field(ge=0)] = 1000


class SteeringSettings(_Model, _Listens):
    """Regional steering, the demo's stand-in for DNS/anycast: viewers → nearest healthy POP.

    A viewer's region comes from `?region=`, the `X-Viewer-Region` header, or a country mapped
    through `countries`: the `CloudFront-Viewer-Country` header, else the country of the client
    address in `geoip_database` (a MaxMind-format .mmdb, path relative to the config file). POPs in that region come
    first, then the regions listed in `nearest[region]`, then every other POP.
    """

    url: Annotated[str, Field(pattern=r"^https?://[^/\s]+$")]
    check_interval: Annotated[float, Field(gt=0, le=60)] = 1.0
    check_timeout: Annotated[float, Field(gt=0, le=30)] = 0.5
    unhealthy_checks: Annotated[int, Field(ge=1, le=100)] = 2
    healthy_checks: Annotated[int, Field(ge=1, le=100)] = 2
    nearest: dict[Identifier, tuple[Identifier, ...]] = {}
    countries: dict[Annotated[str, Field(pattern=r"^[A-Z]{2}$")], Identifier] = {}
    manifest_ttl: Annotated[int, Field(ge=1, le=86400)] = 10  # HLS Content Steering reload
    geoip_database: str = ""


class PortalSettings(_Model):
    """The demo web portal (library, player, upload page, demo controls) that `streaming demo` runs."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8300

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


class Distribution(_Model):
    """The whole topology, like one CloudFront distribution plus its origins and POPs."""

    name: Identifier = "demo"
    admin_token: SecretStr
    domain_names: tuple[str, ...] = ()
    origins: Annotated[tuple[Origin, ...], Field(min_length=1)]
    origin_groups: tuple[OriginGroup, ...] = ()
    edges: Annotated[tuple[Edge, ...], Field(min_length=1)]
    behaviors: Annotated[tuple[Behavior, ...], Field(min_length=1)]
    key_groups: tuple[KeyGroup, ...] = ()
    geo_restriction: GeoRestriction = GeoRestriction()
    firewall: Firewall = Firewall()
    tls: TlsSettings = TlsSettings()
    origin: OriginSettings = OriginSettings()
    edge: EdgeSettings = EdgeSettings()
    live_channels: tuple[LiveChannel, ...] = ()
    portal: PortalSettings = PortalSettings()
    default_root_object: Annotated[str, Field(max_length=255, pattern=r"^([^/].*)?$")] = ""
    custom_error_responses: tuple[CustomErrorResponse, ...] = ()
    cors: CorsSettings = CorsSettings()
    control: ControlSettings | None = None
    steering: SteeringSettings | None = None
    pricing: Pricing = Pricing()

    @model_validator(mode="after")
    def _tls_files(self) -> Distribution:
        https = [e.pop for e in self.edges if e.https_port] + [
            o.id for o in self.origins if o.url.startswith("https:")
        ]
        if https and not (self.tls.cert_file and self.tls.key_file):
            raise ValueError(
                f"tls: cert_file and key_file are needed for HTTPS on {', '.join(https)}; run `streaming certs`"
            )
        return self

    @model_validator(mode="after")
    def _references(self) -> Distribution:
        _unique("origins", [o.id for o in self.origins])
        _unique("origin_groups", [g.id for g in self.origin_groups])
        _unique("edges", [e.pop for e in self.edges])
        if len([e for e in self.edges if e.role == "shield"]) > 1:
            raise ValueError("edges: at most one edge may have role = 'shield'")
        if not any(e.role == "pop" for e in self.edges):
            raise ValueError("edges: at least one edge must be a POP (role = 'pop')")
        _unique("key_groups", [k.id for k in self.key_groups])
        _unique("live_channels", [c.name for c in self.live_channels])
        origin_ids = {o.id for o in self.origins}
        if clash := origin_ids & {g.id for g in self.origin_groups}:
            raise ValueError(f"origin and origin group ids collide: {sorted(clash)}")
        for i, group in enumerate(self.origin_groups):
            for member in group.members:
                if member not in origin_ids:
                    raise ValueError(f"origin_groups.{i}.members: unknown origin {member!r}")
        targets = origin_ids | {g.id for g in self.origin_groups}
        key_groups = {k.id for k in self.key_groups}
        for i, behavior in enumerate(self.behaviors):
            if behavior.target not in targets:
                raise ValueError(
                    f"behaviors.{i}.target: unknown origin or group {behavior.target!r}"
                )
            for kg in behavior.trusted_key_groups:
                if kg not in key_groups:
                    raise ValueError(f"behaviors.{i}.trusted_key_groups: unknown key group {kg!r}")
        if self.behaviors[-1].path_pattern != "*":
            raise ValueError("behaviors: the last behavior must be the default, path_pattern = '*'")
        _unique("custom_error_responses", [str(c.error_code) for c in self.custom_error_responses])
        return self

    def origin_by_region(self, region: str) -> Origin:
        """Return the origin serving `region`, or raise ConfigError listing the known regions."""
        for origin in self.origins:
            if origin.region == region:
                return origin
        known = ", ".join(o.region for o in self.origins)
        raise ConfigError(f"unknown region {region!r}; the distribution has: {known}")

    def edge_by_pop(self, pop: str) -> Edge:
        """Return the edge POP named `pop`, or raise ConfigError listing the known POPs."""
        for edge in self.edges:
            if edge.pop == pop:
                return edge
        known = ", ".join(e.pop for e in self.edges)
        raise ConfigError(f"unknown POP {pop!r}; the distribution has: {known}")

    @property
    def pops(self) -> tuple[Edge, ...]:
        """The viewer-facing edges (every edge but the shield)."""
        return tuple(e for e in self.edges if e.role == "pop")

    @property
    def shield(self) -> Edge | None:
        return next((e for e in self.edges if e.role == "shield"), None)

    def origin_by_id(self, origin_id: str) -> Origin:
        return next(o for o in self.origins if o.id == origin_id)

    def group_members(self, target: str) -> tuple[Origin, ...]:
        """The origins behind a behavior target (an origin id or a group id), config order."""
        for group in self.origin_groups:
            if group.id == target:
                return tuple(self.origin_by_id(m) for m in group.members)
        return (self.origin_by_id(target),)

    def group(self, target: str) -> OriginGroup | None:
        return next((g for g in self.origin_groups if g.id == target), None)


def _unique(field: str, values: list[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{field}: duplicate id {value!r}")
        seen.add(value)


def parse(data: dict[str, object]) -> Distribution:
    """Validate a decoded distribution document, turning pydantic's report into one line."""
    try:
        return Distribution.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "distribution"
        message = str(first["msg"]).removeprefix("Value error, ")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(f"{where}: {message}{more}") from None


def load(path: str | Path) -> Distribution:
    """Read and validate the distribution file at `path`."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {file}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {file}: {exc.strerror}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    return parse(_resolve_files(data, file.parent))


def _resolve_files(data: dict[str, object], base: Path) -> dict[str, object]:
    """Make key and database paths relative to the config file absolute (PEM text is kept)."""
    for group in data.get("key_groups") or ():  # type: ignore[attr-defined]
        for key in group.get("keys") or () if isinstance(group, dict) else ():
            value = key.get("public_key") if isinstance(key, dict) else None
            if isinstance(value, str) and value and not value.lstrip().startswith("-----BEGIN"):
                key["public_key"] = str((base / value).resolve())
    tls = data.get("tls")
    if isinstance(tls, dict):
        for field in ("cert_file", "key_file", "ca_file"):
            if isinstance(tls.get(field), str) and tls[field]:
                tls[field] = str((base / tls[field]).resolve())
    steering = data.get("steering")
    if isinstance(steering, dict) and isinstance(steering.get("geoip_database"), str):
        if steering["geoip_database"]:
            steering["geoip_database"] = str((base / steering["geoip_database"]).resolve())
    geo = data.get("geo_restriction")
    if isinstance(geo, dict) and isinstance(geo.get("database"), str) and geo["database"]:
        geo["database"] = str((base / geo["database"]).resolve())
    return data
