"""Run one packager worker (`streaming packager`): tasks from the queue engine, media on S3."""

from __future__ import annotations

from pathlib import Path

from cli.serve import _run, check_exposure
from streaming import config as config_module

DEFAULT_PORT = 8150  # /healthz and /metrics; `--port` for several workers on one host


def serve_packager(
    path: Path, host: str, port: int | None, data: Path | None, worker_id: str | None,
    concurrency: int,
) -> None:  # fmt: skip
    """Load the config and run a worker until SIGTERM (its leased tasks then go to others)."""
    from origin.packager_app import create_packager_app
    from origin.task_worker import default_worker_id

    dist = config_module.load(path)
    check_exposure(dist, host)
    root = data or Path(dist.origin.data_dir) / "packager"
    app = create_packager_app(dist, root, worker_id or default_worker_id(), concurrency)
    _run(app, host, port or DEFAULT_PORT)
