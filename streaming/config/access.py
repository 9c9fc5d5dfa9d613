"""Access-control settings: key groups, geo restriction, TLS, firewall rules."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from streaming.config._base import Identifier, _Model


def _cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError(f"{value[:64]!r} is not an IP address or CIDR") from None
    return value


Cidr = Annotated[str, AfterValidator(_cidr)]


class PublicKey(_Model):
    """A trusted signing key: PEM text, or the path of a PEM file (relative to the config file)."""

    id: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]
    public_key: Annotated[str, Field(min_length=1)]


class KeyGroup(_Model):
    id: Identifier
    keys: Annotated[tuple[PublicKey, ...], Field(min_length=1)]


class GeoRestriction(_Model):
    """Country allow/deny list; the country comes from a MaxMind DB or a trusted proxy header
    (honoured only from `trusted_proxies`). In allow mode an unknown country is refused unless
    `allow_unknown`; in deny mode it is served."""

    mode: Literal["none", "allow", "deny"] = "none"
    countries: tuple[Annotated[str, Field(pattern=r"^[A-Z]{2}$")], ...] = ()
    database: str = ""  # a GeoLite2-Country / GeoIP2 .mmdb file (relative to the config file)
    country_header: str = ""  # e.g. CloudFront-Viewer-Country, set by a front proxy you trust
    allow_unknown: bool = False  # allow mode: serve viewers whose country is not known

    @model_validator(mode="after")
    def _has_source(self) -> GeoRestriction:
        if self.mode != "none" and not (self.database or self.country_header):
            raise ValueError("geo_restriction needs a database or a country_header")
        return self


class Certificate(_Model):
    """Another certificate for the edges' HTTPS port, served to viewers whose SNI it covers."""

    cert_file: Annotated[str, Field(min_length=1)]
    key_file: Annotated[str, Field(min_length=1)]


# CloudFront's security policies (minimum protocol and ciphers) that OpenSSL 3 still offers.
SecurityPolicyName = Literal[
    "TLSv1.2_2018", "TLSv1.2_2019", "TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025"
]


class TlsSettings(_Model):
    """Certificates from `streaming certs` (paths relative to the config file), and how the
    HTTPS ports speak: CloudFront's security policy and HTTP versions."""

    cert_file: str = ""  # the default certificate: edges' https_port, https:// origins, portal
    key_file: str = ""
    ca_file: str = ""  # the CA edges trust for https:// origins (else the system's)
    # More certificates by SNI: each is served for the names in its SANs; other names and
    # clients without SNI get cert_file.
    certificates: tuple[Certificate, ...] = ()
    security_policy: SecurityPolicyName = "TLSv1.2_2021"
    # "http2and3" adds HTTP/3 (QUIC) on each edge's https_port number over UDP (Alt-Svc: h3).
    http_version: Literal["http1.1", "http2", "http2and3"] = "http2and3"


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
