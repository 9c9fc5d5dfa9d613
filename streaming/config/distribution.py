"""The whole distribution document, and how it is read and validated."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, model_validator

from streaming.config._base import Identifier, SecretStr, _Model
from streaming.config.access import Cidr, Firewall, GeoRestriction, KeyGroup, TlsSettings
from streaming.config.edges import Behavior, CorsSettings, CustomErrorResponse, Edge, EdgeSettings
from streaming.config.origins import (
    LiveChannel,
    Origin,
    OriginGroup,
    OriginSettings,
    StorageSettings,
)
from streaming.config.services import ControlSettings, PortalSettings, Pricing, SteeringSettings
from streaming.errors import ConfigError


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
    trusted_proxies: tuple[Cidr, ...] = ()  # peers whose X-Forwarded-For and geo header count
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
        if self.portal.https_port is not None:
            https.append("the portal")
        if https and not (self.tls.cert_file and self.tls.key_file):
            raise ValueError(
                f"tls: cert_file and key_file are needed for HTTPS on {', '.join(https)};"
                " run `streaming certs`"
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

    @model_validator(mode="after")
    def _cors_credentials(self) -> Distribution:
        """CloudFront refuses "allow any origin" together with credentials: any site could read
        a signed-in viewer's private content from its browser."""
        private = [b.path_pattern for b in self.behaviors if b.trusted_key_groups]
        if "*" in self.cors.allowed_origins and private:
            raise ValueError(
                "cors.allowed_origins: '*' with credentials (behaviors "
                f"{', '.join(private[:3])} trust key groups) would let any site read private "
                "content with a viewer's cookies; list the player origins instead"
            )
        return self

    @model_validator(mode="after")
    def _replication(self) -> Distribution:
        """The replication mode must fit where each region stores its videos."""
        mode = self.origin.replication.mode
        stores = [self.storage_of(o) for o in self.origins]
        if mode in ("storage", "none") and any(s.backend != "s3" for s in stores):
            raise ValueError(
                f"origin.replication.mode: {mode!r} leaves copying to the storage, so every "
                "origin needs backend = 's3' (use 'origin' to copy between local disks)"
            )
        buckets = {(s.endpoint_url, s.bucket, s.prefix) for s in stores}
        if mode == "none" and len(buckets) > 1:
            raise ValueError(
                "origin.replication.mode: 'none' copies nothing, so every origin must name the "
                "same bucket (endpoint_url, bucket, prefix); use 'storage' or 'origin'"
            )
        one_bucket = len(buckets) == 1 and all(s.backend == "s3" for s in stores)
        if mode == "origin" and len(self.origins) > 1 and one_bucket:
            raise ValueError(
                "origin.replication.mode: 'origin' would copy every video onto itself: every "
                "origin names the same bucket; use 'none' (or 'auto')"
            )
        return self

    def storage_of(self, origin: Origin) -> StorageSettings:
        """Where `origin` keeps its videos: its own storage table, else `origin.storage`."""
        return origin.storage or self.origin.storage

    @property
    def replication_mode(self) -> Literal["origin", "storage", "none"]:
        """The configured mode, with "auto" resolved: nothing to copy on one shared bucket."""
        mode = self.origin.replication.mode
        if mode != "auto":
            return mode
        stores = [self.storage_of(o) for o in self.origins]
        buckets = {(s.endpoint_url, s.bucket, s.prefix) for s in stores}
        shared = len(buckets) == 1 and all(s.backend == "s3" for s in stores)
        return "none" if shared else "origin"

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


def first_error(exc: ValidationError, root: str = "", *, count_rest: bool = False) -> str:
    """pydantic's first error as one line, `field.path: reason` (`root: reason` for the whole
    document, just the reason when `root` is empty); `count_rest` adds how many more there are."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or root
    message = str(first["msg"]).removeprefix("Value error, ")  # our validators' ValueErrors
    more = f" (and {exc.error_count() - 1} more)" if count_rest and exc.error_count() > 1 else ""
    return f"{where}: {message}{more}" if where else f"{message}{more}"


def parse(data: dict[str, object]) -> Distribution:
    """Validate a decoded distribution document, turning pydantic's report into one line."""
    try:
        return Distribution.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(first_error(exc, "distribution", count_rest=True)) from None


def load(path: str | Path) -> Distribution:
    """Read and validate the distribution file at `path`."""
    return parse(read_document(path))


def read_document(path: str | Path) -> dict[str, object]:
    """The distribution file as a TOML document with its file references resolved (paths
    made absolute, secret files read), so a derived document can be written anywhere."""
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
    return _resolve_files(data, file.parent)


def _read_secret(holder: object, field: str, base: Path, where: str) -> None:
    """Replace `{ file = "path" }` (relative to the config file) with the file's content."""
    if not isinstance(holder, dict) or not isinstance(holder.get(field), dict):
        return
    ref = holder[field]
    if set(ref) != {"file"} or not isinstance(ref["file"], str) or not ref["file"]:
        raise ConfigError(f"{where}: a secret is a string or {{ file = \"path\" }}")
    path = (base / ref["file"]).resolve()
    try:
        value = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ConfigError(
            f"{where}: secret file {path} not found; `streaming secrets --config FILE` creates "
            "every secret file a config names"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read secret file {path}: {exc.strerror}") from None
    if not value:
        raise ConfigError(f"{where}: secret file {path} is empty")
    holder[field] = value


def _resolve_files(data: dict[str, object], base: Path) -> dict[str, object]:
    """Make key and database paths relative to the config file absolute (PEM text is kept),
    and read secrets given as files."""
    _read_secret(data, "admin_token", base, "admin_token")
    origins = data.get("origins")
    for i, origin in enumerate(origins if isinstance(origins, list) else ()):
        _read_secret(origin, "access_secret", base, f"origins.{i}.access_secret")
        own = origin.get("storage") if isinstance(origin, dict) else None
        for field in ("access_key_id", "secret_access_key"):
            _read_secret(own, field, base, f"origins.{i}.storage.{field}")
    settings = data.get("origin")
    storage = settings.get("storage") if isinstance(settings, dict) else None
    for field in ("access_key_id", "secret_access_key"):
        _read_secret(storage, field, base, f"origin.storage.{field}")
    for group in data.get("key_groups") or ():  # type: ignore[attr-defined]
        for key in group.get("keys") or () if isinstance(group, dict) else ():
            value = key.get("public_key") if isinstance(key, dict) else None
            if isinstance(value, str) and value and not value.lstrip().startswith("-----BEGIN"):
                key["public_key"] = str((base / value).resolve())
    tls = data.get("tls")
    if isinstance(tls, dict):
        extra = tls.get("certificates")
        sni = [c for c in extra if isinstance(c, dict)] if isinstance(extra, list) else []
        for holder in (tls, *sni):
            for field in ("cert_file", "key_file", "ca_file"):
                if isinstance(holder.get(field), str) and holder[field]:
                    holder[field] = str((base / holder[field]).resolve())
    steering = data.get("steering")
    database = steering.get("geoip_database") if isinstance(steering, dict) else None
    if isinstance(steering, dict) and isinstance(database, str) and database:
        steering["geoip_database"] = str((base / database).resolve())
    geo = data.get("geo_restriction")
    if isinstance(geo, dict) and isinstance(geo.get("database"), str) and geo["database"]:
        geo["database"] = str((base / geo["database"]).resolve())
    return data
