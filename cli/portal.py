"""`streaming portal`: the demo web portal, with demo controls when given the demo's state file."""

from __future__ import annotations

from pathlib import Path

from cli.serve import _run, check_exposure
from procs.supervisor import Supervisor
from streaming import config as config_module
from streaming.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
HLS_DIST = ROOT / "node_modules" / "hls.js" / "dist"
KEEP_PLAIN = frozenset({"/healthz"})  # the supervisor's health check stays on plain HTTP


class SupervisorRestarter:
    """Restarts processes the demo controls killed, as this portal's own supervised children."""

    def __init__(self, supervisor: Supervisor) -> None:
        self.supervisor = supervisor

    def restart(self, name: str, argv: list[str], health_url: str) -> int:
        child = self.supervisor.start(name, argv, health_url)
        self.supervisor.wait_healthy(child)
        return child.pid

    def close(self) -> None:
        self.supervisor.stop_all()


def hls_dist() -> Path:
    """Where npm installed hls.js; a clear error when the setup step has not run."""
    if not (HLS_DIST / "hls.mjs").is_file():
        raise ConfigError(f"hls.js is not installed in {HLS_DIST}: run `npm ci` (make does it)")
    return HLS_DIST


def serve_portal(path: Path, state: Path | None, host: str | None, port: int | None) -> None:
    """Load the config and serve the portal; children restarted by the controls die with it
    (stopped in the app's shutdown; the `with` covers a failed start)."""
    from portal.app import create_app

    dist = config_module.load(path)
    check_exposure(dist, host or dist.portal.host)
    logs = (state.parent if state is not None else Path(".demo")) / "logs"
    with Supervisor(logs) as supervisor:
        app = create_app(dist, hls_dist(), state, SupervisorRestarter(supervisor))
        if dist.portal.https_port is None:
            _run(app, host or dist.portal.host, port or dist.portal.port)
            return
        from cli.https import https_redirect, serve_tls

        https = https_redirect(app, dist.portal.https_port, dist.portal.host, KEEP_PLAIN)
        serve_tls(https, dist.tls, host or dist.portal.host, port or dist.portal.port,
                  dist.portal.https_port)  # fmt: skip
