"""Run one origin under uvicorn (uvloop + httptools), or one edge under granian or uvicorn."""

from __future__ import annotations

import logging
from pathlib import Path

import uvicorn

from procs.supervisor import port_free
from streaming import config as config_module
from streaming.config import Distribution
from streaming.errors import ConfigError
from streaming.secret_files import MIN_EXPOSED_LENGTH, is_loopback, weak_secrets

SERVERS = (
    "granian",
    "uvicorn",
)  # the edge runs granian by default: cheaper per hit (docs/performance.md)


def check_exposure(dist: Distribution, host: str) -> None:
    """Refuse to listen beyond loopback with the shipped demo secrets or guessable ones."""
    if is_loopback(host):
        return
    if weak := weak_secrets(dist):
        raise ConfigError(
            f"refusing to listen on {host}: {', '.join(weak)} hold a well-known demo value or "
            f"fewer than {MIN_EXPOSED_LENGTH} characters; name secret files in the config "
            "(`{ file = \"secrets/admin-token\" }`) and run `streaming secrets --config FILE`"
        )


def _run(app: object, host: str, port: int, server: str = "uvicorn") -> None:
    if server not in SERVERS:
        raise ConfigError(f"--server: expected one of {', '.join(SERVERS)}, not {server!r}")
    if not port_free(host, port):
        raise ConfigError(f"port {port} on {host} is already in use")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if server == "granian":
        _run_granian(app, host, port)
        return
    uvicorn.run(
        app,  # type: ignore[arg-type]
        host=host, port=port, loop="uvloop", http="httptools",
        log_level="warning", access_log=False, timeout_graceful_shutdown=3,
    )  # fmt: skip


def _run_granian(app: object, host: str, port: int) -> None:
    """granian's embedded ASGI server: Rust HTTP/1.1 I/O driving our app on this process's loop."""
    import asyncio
    import signal

    import uvloop
    from granian.constants import Interfaces
    from granian.server.embed import Server

    server = Server(
        app, address=host, port=port, interface=Interfaces.ASGI, backlog=1024, log_enabled=False
    )

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, server.stop)  # graceful: lifespan shutdown runs
        await server.serve()

    uvloop.run(main())


def serve_origin(path: Path, region: str, host: str, port: int | None, data: Path | None) -> None:
    """Load the config and serve the origin for `region`."""
    from origin.app import create_app

    dist = config_module.load(path)
    check_exposure(dist, host)
    origin = dist.origin_by_region(region)
    if origin.url.startswith("https:"):  # origin protocol policy: edges reach it over TLS
        from cli.https import serve_tls

        serve_tls(create_app(dist, region, data), dist.tls, host, None, port or origin.port)
        return
    _run(create_app(dist, region, data), host, port or origin.port)


def serve_edge(
    path: Path, pop: str, host: str, port: int | None, cache_dir: Path | None,
    access_log: str | None = None, server: str = "granian",
) -> None:  # fmt: skip
    """Load the config and serve the edge POP `pop` with its disk tier under `cache_dir`."""
    from edge.app import create_app

    dist = config_module.load(path)
    check_exposure(dist, host)
    edge = dist.edge_by_pop(pop)
    if edge.https_port is not None:  # HTTPS (HTTP/2, HTTP/3) beside plain HTTP, one app
        from cli.https import serve_edge_tls

        app = create_app(dist, pop, cache_dir=cache_dir, access_log=access_log)
        serve_edge_tls(app, dist, edge, host, port or edge.port)
        return
    app = create_app(dist, pop, cache_dir=cache_dir, access_log=access_log)
    _run(app, host, port or edge.port, server)
