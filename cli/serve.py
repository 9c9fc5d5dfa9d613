"""Run one origin under uvicorn (uvloop + httptools), or one edge under granian or uvicorn."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import uvicorn

from procs.supervisor import port_free
from procs.workers import reuseport_socket, run_workers
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
            '(`{ file = "secrets/admin-token" }`) and run `streaming secrets --config FILE`'
        )


def _run(
    app: object, host: str, port: int, server: str = "uvicorn", shared_port: bool = False
) -> None:
    """Serve `app`; `shared_port` when sibling worker processes listen on the same port (the
    parent checked it was free before forking them)."""
    if server not in SERVERS:
        raise ConfigError(f"--server: expected one of {', '.join(SERVERS)}, not {server!r}")
    if not shared_port and not port_free(host, port):
        raise ConfigError(f"port {port} on {host} is already in use")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if server == "granian":
        _run_granian(app, host, port)  # granian binds with SO_REUSEPORT on Linux by itself
        return
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=host, port=port, loop="uvloop", http="httptools",
        log_level="warning", access_log=False, timeout_graceful_shutdown=3,
    )  # fmt: skip
    sockets = [reuseport_socket(host, port)] if shared_port else None
    uvicorn.Server(config).run(sockets=sockets)


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
    access_log: str | None = None, server: str = "granian", workers: int | None = None,
) -> None:  # fmt: skip
    """Load the config and serve the edge POP `pop` with its disk tier under `cache_dir`:
    in this process, or in `workers` forked processes that share the port and act as one POP."""
    from edge.app import create_app
    from edge.worker import Worker

    dist = config_module.load(path)
    check_exposure(dist, host)
    edge = dist.edge_by_pop(pop)
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers: expected at least 1, not {workers}")
    bind = port or edge.port
    count = workers or dist.edge.workers or os.cpu_count() or 1
    tls = edge.https_port is not None  # HTTPS (HTTP/2, HTTP/3) beside plain HTTP: hypercorn
    if tls:
        from cli.https import check_edge_tls, serve_edge_tls
    if count == 1:
        app = create_app(dist, pop, cache_dir=cache_dir, access_log=access_log)
        if tls:
            serve_edge_tls(app, dist, edge, host, bind)
        else:
            _run(app, host, bind, server)
        return
    if tls:
        check_edge_tls(dist, edge, host, bind)
    elif not port_free(host, bind):
        raise ConfigError(f"port {bind} on {host} is already in use")
    root = cache_dir or Path(dist.edge.cache_dir) / pop
    Worker.prepare(root)

    def work(index: int) -> None:
        worker = Worker(index, count, root)
        app = create_app(dist, pop, cache_dir=cache_dir, access_log=access_log, worker=worker)
        if tls:
            serve_edge_tls(app, dist, edge, host, bind, workers=count)
        else:
            _run(app, host, bind, server, shared_port=True)

    run_workers(count, work)
