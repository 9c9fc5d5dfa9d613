"""The distribution an experiment runs: every origin behind a fault proxy, short TTLs, one group.

Origins listen on private ports; the distribution file names the proxies' ports, so every edge
(and every health check) reaches an origin through the proxy the timeline can break.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from experiments.scenario import Scenario

GROUP = "all"
LIVE_CHANNEL = "exp"
SHIELD_POP = "shield"


@dataclass(frozen=True)
class Plan:
    """The distribution document plus where each origin really listens."""

    doc: dict[str, Any]
    origin_ports: dict[str, int]  # region -> port the origin process binds
    proxy_ports: dict[str, int]  # region -> port in the distribution (the fault proxy)

    @property
    def master_path_live(self) -> str:
        return f"/live/{LIVE_CHANNEL}/master.m3u8"


def plan(scenario: Scenario, token: str, port: Callable[[], int]) -> Plan:
    """Build the document for `scenario`, taking free loopback ports from `port()`."""
    topo = scenario.topology
    origin_ports = {region: port() for region in topo.regions}
    proxy_ports = (
        {region: port() for region in topo.regions} if topo.proxies else dict(origin_ports)
    )
    ttl = {
        "min_ttl": 0,
        "default_ttl": topo.cache_ttl,
        "max_ttl": topo.cache_ttl,
        "segment_ttl": topo.cache_ttl,
        "manifest_ttl": topo.cache_ttl,
        # Stale copies would hide the failover this experiment is measuring.
        "stale_while_revalidate": 0,
        "stale_if_error": 0,
    }
    edges: list[dict[str, Any]] = [
        {"pop": pop, "region": region, "port": port()} for pop, region in topo.pops
    ]
    if topo.shield is not None:
        edges.append({"pop": SHIELD_POP, "region": topo.shield, "port": port(), "role": "shield"})
    doc: dict[str, Any] = {
        "name": scenario.name,
        "admin_token": token,
        "origins": [
            {"id": region, "region": region, "url": f"http://127.0.0.1:{proxy_ports[region]}"}
            for region in topo.regions
        ],
        "origin_groups": [
            {"id": GROUP, "members": list(topo.regions), **topo.group}
        ],
        "edges": edges,
        "behaviors": [
            {"path_pattern": "/hls/*", "target": GROUP, "ttl": ttl},
            {"path_pattern": "/live/*", "target": GROUP, "ttl": ttl},
            {"path_pattern": "*", "target": GROUP, "ttl": ttl},
        ],
        "origin": {"segment_duration": topo.segment_duration},
        "portal": {"port": port()},
    }
    if scenario.viewers.content == "live":
        doc["live_channels"] = [
            {
                "name": LIVE_CHANNEL,
                "segment_duration": max(1, round(topo.segment_duration)),
                "heights": [180],
                "window": 6,
            }
        ]
    if topo.steering:
        doc["steering"] = {
            "url": f"http://127.0.0.1:{port()}",
            "check_interval": 0.25,
            "unhealthy_checks": 2,
            "healthy_checks": 2,
        }
    return Plan(doc, origin_ports, proxy_ports)

