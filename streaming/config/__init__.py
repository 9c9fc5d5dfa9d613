"""The distribution file: one declarative TOML document describing the whole topology.

Parsed once at start into frozen pydantic models and passed explicitly; each component receives
only its slice (`Distribution.origin`, `Distribution.edge`, a `Behavior`, ...). An invalid file
raises `ConfigError` naming the field and the reason.
"""

from __future__ import annotations

from streaming.config._base import GiB, Identifier, MiB, Secret, SecretStr
from streaming.config.access import Firewall, GeoRestriction, KeyGroup, PublicKey, TlsSettings
from streaming.config.distribution import Distribution, first_error, load, parse, read_document
from streaming.config.edges import (
    Behavior,
    CacheKeyPolicy,
    CorsSettings,
    CustomErrorResponse,
    Edge,
    EdgeFunctionRef,
    EdgeSettings,
    FunctionEvent,
    Method,
    OptionValue,
    RateLimit,
    ResponseHeadersPolicy,
    TTLPolicy,
)
from streaming.config.origins import (
    DEFAULT_LADDER,
    FAILOVER_STATUS_CHOICES,
    HealthPolicy,
    LadderRung,
    LiveChannel,
    Origin,
    OriginGroup,
    OriginSettings,
    QueueSettings,
    ReplicationSettings,
    StorageSettings,
)
from streaming.config.services import ControlSettings, PortalSettings, Pricing, SteeringSettings

__all__ = [
    "Behavior",
    "CacheKeyPolicy",
    "ControlSettings",
    "CorsSettings",
    "CustomErrorResponse",
    "DEFAULT_LADDER",
    "Distribution",
    "Edge",
    "EdgeFunctionRef",
    "EdgeSettings",
    "FAILOVER_STATUS_CHOICES",
    "Firewall",
    "first_error",
    "FunctionEvent",
    "GeoRestriction",
    "GiB",
    "HealthPolicy",
    "Identifier",
    "KeyGroup",
    "LadderRung",
    "LiveChannel",
    "Method",
    "MiB",
    "OptionValue",
    "Origin",
    "OriginGroup",
    "OriginSettings",
    "PortalSettings",
    "Pricing",
    "PublicKey",
    "RateLimit",
    "QueueSettings",
    "ReplicationSettings",
    "ResponseHeadersPolicy",
    "Secret",
    "SecretStr",
    "SteeringSettings",
    "StorageSettings",
    "TTLPolicy",
    "TlsSettings",
    "load",
    "parse",
    "read_document",
]
