"""`streaming control`: the control plane (invalidations recorded durably, fanned out to edges)."""

from __future__ import annotations

from pathlib import Path

from cli.serve import _run, check_exposure
from streaming import config as config_module
from streaming.errors import ConfigError


def serve_control(path: Path, host: str | None, port: int | None, data: Path | None) -> None:
    """Load the config and serve its [control] section."""
    from control.app import create_app

    dist = config_module.load(path)
    if dist.control is None:
        raise ConfigError(f'{path}: no [control] section (url = "http://127.0.0.1:8300")')
    check_exposure(dist, host or dist.control.host)
    _run(create_app(dist, data), host or dist.control.host, port or dist.control.port)
