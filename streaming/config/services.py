"""The supporting services of a distribution: control plane, steering, portal, pricing."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from streaming.config._base import Identifier, _Listens, _Model


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
    address in `geoip_database` (a MaxMind-format .mmdb, path relative to the config file).
    POPs in that region come first, then the regions in `nearest[region]`, then every other POP.
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
    """The demo web portal (library, player, upload page, demo controls) run by `streaming demo`."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8300
    # HTTPS with the [tls] default certificate; `port` then only redirects (and answers /healthz).
    https_port: Annotated[int, Field(ge=1, le=65535)] | None = None

    @property
    def url(self) -> str:
        """The plain-HTTP listener (health checks)."""
        return f"http://{self.host}:{self.port}"

    @property
    def viewer_url(self) -> str:
        """Where browsers open the portal: the HTTPS port when there is one."""
        if self.https_port is None:
            return self.url
        return f"https://{self.host}:{self.https_port}"
