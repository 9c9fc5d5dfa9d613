"""docker-compose.yml describes the demo topology with commands the CLI really has.

No Docker engine runs here, so the structure is checked instead: services, ports, mounted
config, and every command parsed by the real CLI.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from streaming.cli import app
from streaming.config import Distribution, load

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
    assert {f"origin-{o.region}" for o in dist.origins} | {
        f"edge-{e.pop}" for e in dist.edges
    } <= set(services)
    assert len(dist.origins) == 2 and len(dist.edges) == 3
    for origin in dist.origins:
        assert origin.url == f"http://origin-{origin.region}:{origin.port}"


def expected_port(dist: Distribution, command: str, params: dict[str, Any]) -> int:
    """The port the distribution file gives the role this command runs."""
    if command == "origin":
        return dist.origin_by_region(params["region"]).port
    if command == "edge":
        return dist.edge_by_pop(params["pop"]).port
    section = {"control": dist.control, "steering": dist.steering, "portal": dist.portal}[command]
    assert section is not None, f"the config has no [{command}] section"
    return int(section.port)


def test_commands_parse_with_the_real_cli_and_match_ports(compose: dict[str, Any]) -> None:
    """Each service command is accepted by `streaming`, names a known role and
    publishes its port.
    """
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    roles = set()
    for name, service in compose["services"].items():
        dist = load(mounted_config(service))
        argv = service["command"]
        sub = commands.get(argv[0])
        assert sub is not None, f"{name}: unknown command {argv[0]}"
        params = sub.make_context(argv[0], list(argv[1:])).params
        assert params["config"] == Path("/config/distribution.toml")
        port = expected_port(dist, argv[0], params)
        assert params["port"] == port, name
        assert service["ports"] == [f"{port}:{port}"], name
        assert params["host"] == "0.0.0.0", name
        roles.add(argv[0])
    assert roles == {"origin", "edge", "control", "steering", "portal"}


def test_dockerfile_copies_every_installed_package() -> None:
    """The image copies each package pyproject.toml installs, and hls.js for the portal."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    ]
    for package in packages:
        assert f"COPY {package} ./{package}" in dockerfile, package
    assert "npm ci" in dockerfile
    assert 'ENTRYPOINT ["streaming"]' in dockerfile
