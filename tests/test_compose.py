"""docker-compose.yml describes the demo topology with commands the CLI really has.

No Docker engine runs here, so the structure is checked instead: services, ports, mounted
config, and every command parsed by the real CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from streaming.cli import app
from streaming.config import load

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def mounted_config(service: dict[str, Any]) -> Path:
    for volume in service["volumes"]:
        source, target, *_ = volume.split(":")
        if target == "/config/distribution.toml":
            return ROOT / source
    raise AssertionError("no distribution file mounted")


def test_every_origin_and_edge_of_the_config_is_a_service(compose: dict[str, Any]) -> None:
    """Two origins and three edges, each a service named after its region or POP."""
    services = compose["services"]
    dist = load(mounted_config(services["edge-iad"]))
    assert {f"origin-{o.region}" for o in dist.origins} | {f"edge-{e.pop}" for e in dist.edges} <= set(services)
    assert len(dist.origins) == 2 and len(dist.edges) == 3
    for origin in dist.origins:
        assert origin.url == f"http://origin-{origin.region}:{origin.port}"


def test_commands_parse_with_the_real_cli_and_match_ports(compose: dict[str, Any]) -> None:
    """Each service command is accepted by `streaming`, names a known role and publishes its port."""
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    for name, service in compose["services"].items():
        dist = load(mounted_config(service))
        argv = service["command"]
        sub = commands.get(argv[0])
        assert sub is not None, f"{name}: unknown command {argv[0]}"
        params = sub.make_context(argv[0], list(argv[1:])).params
        assert params["config"] == Path("/config/distribution.toml")
        if argv[0] == "origin":
            expected_port = dist.origin_by_region(params["region"]).port
        else:
            expected_port = dist.edge_by_pop(params["pop"]).port
        assert params["port"] == expected_port
        assert service["ports"] == [f"{expected_port}:{expected_port}"]
        assert params["host"] == "0.0.0.0"


def test_dockerfile_installs_every_package_it_runs() -> None:
    """The image copies each top-level package and installs the console script."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("streaming", "origin", "edge", "media"):
        assert f"COPY {package} ./{package}" in dockerfile
    assert 'ENTRYPOINT ["streaming"]' in dockerfile
