"""Run one origin or edge under uvicorn (uvloop + httptools)."""

from __future__ import annotations

import logging
from pathlib import Path

import uvicorn

from streaming import config as config_module
from streaming.cli.supervisor import port_free
from streaming.errors import ConfigError


def _run(app: object, host: str, port: int) -> None:
    if not port_free(host, port):
        raise ConfigError(f"port {port} on {host} is already in use")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    uvicorn.run(
        app,  # type: ignore[arg-type]
        host=host, port=port, loop="uvloop", http="httptools",
        log_level="warning", access_log=False, timeout_graceful_shutdown=3,
    )  # fmt: skip


def serve_origin(path: Path, region: str, host: str, port: int | None, data: Path | None) -> None:
    """Load the config and serve the origin for `region`."""
    from origin.app import create_app

    dist = config_module.load(path)
    origin = dist.origin_by_region(region)
    _run(create_app(dist, region, data), host, port or origin.port)


def serve_edge(
    path: Path, pop: str, host: str, port: int | None, cache_dir: Path | None,
    access_log: str | None = None,
) -> None:  # fmt: skip
    """Load the config and serve the edge POP `pop` with its disk tier under `cache_dir`."""
    from edge.app import create_app

    dist = config_module.load(path)
    edge = dist.edge_by_pop(pop)
    _run(create_app(dist, pop, cache_dir=cache_dir, access_log=access_log), host, port or edge.port)
