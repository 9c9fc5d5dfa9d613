"""Builders for distribution documents, configs and running topologies used across tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from procs.supervisor import Supervisor, cli_argv, free_port
from streaming.config import Distribution, parse

TOKEN = "test-admin-token"


def distribution_doc(
    regions: tuple[str, ...] = ("us-east",),
    pops: tuple[tuple[str, str], ...] = (("iad", "us-east"),),
    **overrides: Any,
) -> dict[str, Any]:
    """A valid distribution document on free loopback ports: one group over every origin."""
    doc: dict[str, Any] = {
        "name": "test",
        "admin_token": TOKEN,
        "origins": [
            {"id": r, "region": r, "url": f"http://127.0.0.1:{free_port()}"} for r in regions
        ],
        "origin_groups": [{"id": "all", "members": list(regions)}],
        "edges": [{"pop": p, "region": r, "port": free_port()} for p, r in pops],
        "behaviors": [
            {"path_pattern": "/hls/*.m3u8", "target": "all",
             "ttl": {"min_ttl": 0, "default_ttl": 2, "max_ttl": 86400}},
            {"path_pattern": "/hls/*", "target": "all"},
            {"path_pattern": "*", "target": "all"},
        ],
        "origin": {"segment_duration": 2.0},
        "portal": {"port": free_port()},
    }  # fmt: skip
    doc.update(overrides)
    return doc


def distribution(**kwargs: Any) -> Distribution:
    return parse(distribution_doc(**kwargs))


def write_config(path: Path, doc: dict[str, Any]) -> Path:
    path.write_bytes(tomli_w.dumps(doc).encode())
    return path


@dataclass
class Topology:
    """Real origin and edge processes started from one config file."""

    config: Path
    dist: Distribution
    supervisor: Supervisor

    def origin_url(self, region: str) -> str:
        return self.dist.origin_by_region(region).url

    def edge_url(self, pop: str) -> str:
        return self.dist.edge_by_pop(pop).url

    def child(self, name: str):  # type: ignore[no-untyped-def]
        return next(c for c in self.supervisor.children if c.name == name)


@contextmanager
def running_topology(tmp: Path, doc: dict[str, Any]) -> Iterator[Topology]:
    """Start every origin and edge of `doc` as uvicorn processes; always reap them."""
    config = write_config(tmp / "distribution.toml", doc)
    dist = parse(doc)
    with Supervisor(tmp / "logs") as sup:
        for o in dist.origins:
            argv = cli_argv("origin", "--config", str(config), "--region", o.region,
                            "--data", str(tmp / "origin" / o.region))  # fmt: skip
            sup.start(f"origin-{o.region}", argv, f"{o.url}/healthz")
        if dist.control is not None:
            argv = cli_argv("control", "--config", str(config), "--data", str(tmp / "control"))
            sup.start("control", argv, f"{dist.control.url}/healthz")
        for e in dist.edges:
            argv = cli_argv("edge", "--config", str(config), "--pop", e.pop,
                            "--cache-dir", str(tmp / "edge" / e.pop),
                            "--access-log", str(tmp / "edge" / e.pop / "access.log"))  # fmt: skip
            sup.start(f"edge-{e.pop}", argv, f"{e.url}/healthz")
        if dist.steering is not None:
            argv = cli_argv("steering", "--config", str(config))
            sup.start("steering", argv, f"{dist.steering.url}/healthz")
        for child in sup.children:
            sup.wait_healthy(child)
        yield Topology(config, dist, sup)


def write_country_db(path: Path, networks: dict[str, str]) -> Path:
    """A GeoLite2-Country-shaped .mmdb mapping each CIDR to an ISO code."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-Country")
    for cidr, code in networks.items():
        writer.insert_network(IPSet([cidr]), {"country": {"iso_code": code, "names": {"en": code}}})
    writer.to_db_file(str(path))
    return path
