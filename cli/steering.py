"""`streaming steering`: the regional steering service (nearest healthy POP for each viewer)."""

from __future__ import annotations

from pathlib import Path

from cli.serve import _run, check_exposure
from streaming import config as config_module
from streaming.errors import ConfigError


def serve_steering(path: Path, host: str | None, port: int | None) -> None:
    """Load the config and serve its [steering] section."""
    from steering.app import create_app

    dist = config_module.load(path)
    if dist.steering is None:
        raise ConfigError(f'{path}: no [steering] section (url = "http://127.0.0.1:8400")')
    check_exposure(dist, host or dist.steering.host)
    _run(create_app(dist), host or dist.steering.host, port or dist.steering.port)
