"""A distribution's server processes started under a supervisor: one naming, one start order.

`streaming demo` and `streaming experiment` start the same topology; each role's argv, child name
and health URL are decided here once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from procs.supervisor import Child, Supervisor, cli_argv
from streaming.config import Distribution, Edge, Origin


def child_name(kind: str, name: str) -> str:
    """The supervised child of an `origin` (by region), an `edge` (by POP) or the `shield`."""
    return {"origin": f"origin-{name}", "edge": f"edge-{name}", "shield": "edge-shield"}[kind]


@dataclass(frozen=True)
class Topology:
    """The children started for the distribution's origins and edges, in config order."""

    origins: list[tuple[Origin, Child]]
    edges: list[tuple[Edge, Child]]


def start_topology(
    sup: Supervisor,
    config: Path,
    dist: Distribution,
    data: Path,
    *,
    origin_ports: Mapping[str, int] | None = None,
    access_logs: bool = False,
    timeout: float = 30.0,
) -> Topology:
    """Start every origin, the control plane, every edge and steering; return once all are healthy.

    `origin_ports` (by region) makes each origin listen on a loopback port of its own instead of
    its configured URL, for an experiment that puts a fault proxy there.
    """
    started: list[Child] = []
    origins = []
    for o in dist.origins:
        port = [] if origin_ports is None else ["--port", str(origin_ports[o.region])]
        argv = cli_argv(
            "origin", "--config", str(config), "--region", o.region, *port,
            "--data", str(data / "origin" / o.region),
        )  # fmt: skip
        url = o.url if origin_ports is None else f"http://127.0.0.1:{origin_ports[o.region]}"
        origins.append((o, sup.start(child_name("origin", o.region), argv, f"{url}/healthz")))
    started += [child for _, child in origins]
    if dist.control is not None:  # before the edges: they pull invalidations on start
        argv = cli_argv("control", "--config", str(config), "--data", str(data / "control"))
        started.append(sup.start("control", argv, f"{dist.control.url}/healthz"))
    edges = []
    for e in dist.edges:
        log = ["--access-log", str(data / "edge" / e.pop / "access.log")] if access_logs else []
        argv = cli_argv(
            "edge", "--config", str(config), "--pop", e.pop,
            "--cache-dir", str(data / "edge" / e.pop), *log,
        )  # fmt: skip
        edges.append((e, sup.start(child_name("edge", e.pop), argv, f"{e.url}/healthz")))
    started += [child for _, child in edges]
    if dist.steering is not None:  # viewers' way in: the nearest healthy POP
        argv = cli_argv("steering", "--config", str(config))
        started.append(sup.start("steering", argv, f"{dist.steering.url}/healthz"))
    for child in started:
        sup.wait_healthy(child, timeout)
    return Topology(origins, edges)
