"""docker-compose.yml describes the demo topology with commands the CLI really has.

No Docker engine runs here, so the structure is checked instead: services, ports, mounted
config, and every command parsed by the real CLI.
"""

from __future__ import annotations

import re
import shutil
import stat
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from cli import app
from cli.secrets import create_missing
from streaming.config import Distribution, load
from streaming.secret_files import DEMO_SECRETS

ROOT = Path(__file__).resolve().parents[1]
# Off-the-shelf servers the roles use; they read neither the distribution file nor a secret.
ENGINES = {"redis", "seaweedfs"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """/config as the containers see it: the mounted file, and the secrets volume filled by the
    `secrets` service's command on first start."""
    root = tmp_path_factory.mktemp("config")
    shutil.copy(ROOT / "config" / "compose.toml", root / "distribution.toml")
    create_missing(root / "distribution.toml")
    return root


def mounted_config(service: dict[str, Any], config_dir: Path) -> Path:
    for volume in service["volumes"]:
        source, target, *_ = volume.split(":")
        if target == "/config/distribution.toml":
            assert source == "./config/compose.toml"
            return config_dir / "distribution.toml"
    raise AssertionError("no distribution file mounted")


def test_no_secret_ships_with_compose(compose: dict[str, Any]) -> None:
    """Every secret of compose.toml is a file in the `secrets` volume, made by the `secrets`
    service, which every other service waits for and mounts read-only."""
    doc = tomllib.loads((ROOT / "config" / "compose.toml").read_text())
    assert set(doc["admin_token"]) == {"file"}
    assert all(set(o["access_secret"]) == {"file"} for o in doc["origins"])
    assert all(b.get("trusted_key_groups") for b in doc["behaviors"][-4:])  # private content
    text = "".join((ROOT / f).read_text() for f in ("docker-compose.yml", "config/compose.toml"))
    assert not DEMO_SECRETS & set(re.findall(r"[\w-]+", text))
    services = compose["services"]
    assert services["secrets"]["command"][0] == "secrets"
    assert "secrets:/config/secrets" in services["secrets"]["volumes"]
    for name, service in services.items():
        if name == "secrets" or name in ENGINES:
            continue
        assert "secrets:/config/secrets:ro" in service["volumes"], name
        wait = service["depends_on"]["secrets"]["condition"]
        assert wait == "service_completed_successfully", name


def test_the_secrets_service_fills_the_volume_once(config_dir: Path) -> None:
    """Rerunning it (every `docker compose up`) keeps what exists; private files are 0600."""
    before = {p.name: p.read_bytes() for p in (config_dir / "secrets").iterdir()}
    assert set(before) == {"admin-token", "origin-us-east", "origin-eu-west", "viewers.pem",
                           "viewers.pub.pem"}  # fmt: skip
    assert create_missing(config_dir / "distribution.toml") == []
    assert {p.name: p.read_bytes() for p in (config_dir / "secrets").iterdir()} == before
    for name in ("admin-token", "origin-us-east", "viewers.pem"):
        assert stat.S_IMODE((config_dir / "secrets" / name).stat().st_mode) == 0o600
    dist = load(config_dir / "distribution.toml")
    assert dist.admin_token.reveal() == before["admin-token"].decode().strip()
    assert len(dist.admin_token.reveal()) >= 32


def test_every_origin_and_edge_of_the_config_is_a_service(
    compose: dict[str, Any], config_dir: Path
) -> None:
    """Two origins and three edges, each a service named after its region or POP."""
    services = compose["services"]
    dist = load(mounted_config(services["edge-iad"], config_dir))
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


def test_commands_parse_with_the_real_cli_and_match_ports(
    compose: dict[str, Any], config_dir: Path
) -> None:
    """Each service command is accepted by `streaming`, names a known role and
    publishes its port.
    """
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    roles = set()
    for name, service in compose["services"].items():
        if name == "secrets":  # a one-shot command, no port (test_no_secret_ships_with_compose)
            continue
        if name in ENGINES:  # their own images and commands (test_the_packagers_...)
            continue
        dist = load(mounted_config(service, config_dir))
        argv = service["command"]
        sub = commands.get(argv[0])
        assert sub is not None, f"{name}: unknown command {argv[0]}"
        params = sub.make_context(argv[0], list(argv[1:])).params
        assert params["config"] == Path("/config/distribution.toml")
        roles.add(argv[0])
        if argv[0] == "packager":  # scaled: no published port (test_the_packagers_...)
            assert "ports" not in service and params["host"] == "0.0.0.0", name
            continue
        port = expected_port(dist, argv[0], params)
        assert params["port"] == port, name
        assert service["ports"] == [f"{port}:{port}"], name
        assert params["host"] == "0.0.0.0", name
    assert roles == {"origin", "edge", "control", "steering", "portal", "packager"}


def test_the_packagers_scale_on_redis_and_the_shared_bucket(
    compose: dict[str, Any], config_dir: Path
) -> None:
    """`docker compose up --scale packager=4`: workers with no fixed name or published port,
    after Redis (with its append-only file) and SeaweedFS, which the config names as the
    queue engine and the bucket of both origins."""
    services = compose["services"]
    packager = services["packager"]
    assert "container_name" not in packager and "ports" not in packager
    for name in ("packager", "origin-us-east", "origin-eu-west"):
        needs = services[name]["depends_on"]
        assert {"redis", "seaweedfs", "secrets"} <= set(needs), name
    redis = services["redis"]
    assert redis["command"][0] == "redis-server" and "--appendonly" in redis["command"]
    assert any(v.endswith(":/data") for v in redis["volumes"])
    assert "-s3" in services["seaweedfs"]["command"]
    dist = load(mounted_config(packager, config_dir))
    queue, storage = dist.origin.queue, dist.origin.storage
    assert queue.engine == "redis" and queue.url == "redis://redis:6379/0"
    assert storage.backend == "s3" and storage.endpoint_url == "http://seaweedfs:8333"
    assert all(dist.storage_of(o) == storage for o in dist.origins)


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
