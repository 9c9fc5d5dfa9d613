"""HTTPS through real processes: HTTP/2 edges with local-CA certificates, protocol policies,
Host checks, and an edge that reaches its origin over verified TLS."""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cli.certs import issue_for
from procs.supervisor import Supervisor, cli_argv, free_port
from streaming.config import parse
from tests.factories import distribution_doc, write_config
from tests.helpers import AUTH

pytestmark = pytest.mark.e2e


def trust(ca: str) -> ssl.SSLContext:
    """A client context that trusts only the local CA."""
    return ssl.create_default_context(cafile=ca)


def wait_ok(url: str, ca: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, verify=trust(ca), timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError(f"{url} not healthy")


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory, clip: Path) -> Iterator[dict[str, str]]:
    """An https:// origin with OAC and an edge serving HTTP and HTTPS, one video uploaded."""
    tmp = tmp_path_factory.mktemp("https")
    doc = distribution_doc(domain_names=["cdn.demo.test", "*.cdn.demo.test"])
    origin_port, https_port = free_port(), free_port()
    doc["origins"][0].update(
        url=f"https://127.0.0.1:{origin_port}", access_secret="tls-origin-secret"
    )
    doc["edges"][0]["https_port"] = https_port
    doc["behaviors"] = [
        {
            "path_pattern": "/hls/*.m3u8",
            "target": "all",
            "viewer_protocol_policy": "redirect-to-https",
        },
        {"path_pattern": "/hls/*", "target": "all", "viewer_protocol_policy": "https-only"},
        {"path_pattern": "*", "target": "all"},
    ]
    doc["tls"] = issue_for(parse({**doc, "tls": {"cert_file": "x", "key_file": "x"}}), tmp / "tls")
    config = write_config(tmp / "distribution.toml", doc)
    dist = parse(doc)
    origin, edge = dist.origins[0], dist.edges[0]
    ca = doc["tls"]["ca_file"]
    with Supervisor(tmp / "logs") as sup:
        sup.start(
            "origin",
            cli_argv("origin", "--config", str(config), "--region", origin.region,
                     "--data", str(tmp / "data")),
            f"{origin.url}/healthz",
        )  # fmt: skip
        wait_ok(f"{origin.url}/healthz", ca)
        sup.wait_healthy(sup.start(
            "edge",
            cli_argv("edge", "--config", str(config), "--pop", edge.pop,
                     "--cache-dir", str(tmp / "cache")),
            f"{edge.url}/healthz",
        ))  # fmt: skip
        with clip.open("rb") as fh:
            video = httpx.post(
                f"{origin.url}/videos",
                files={"file": fh},
                headers=AUTH,
                verify=trust(ca),
                timeout=30,
            ).json()["id"]
        deadline = time.monotonic() + 60
        while (
            httpx.get(f"{origin.url}/videos/{video}", headers=AUTH, verify=trust(ca)).json()[
                "state"
            ]
            != "ready"
        ):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        yield {"ca": ca, "http": edge.url, "https": f"https://127.0.0.1:{https_port}",
               "origin": origin.url, "video": video, "https_port": str(https_port)}  # fmt: skip


def test_edge_serves_http2_over_tls_from_a_tls_origin(tls: dict[str, str]) -> None:
    """HTTP/2 with a certificate the local CA signed; the edge fetched the file over
    verified TLS.
    """
    with httpx.Client(http2=True, verify=trust(tls["ca"]), timeout=10) as client:
        master = client.get(f"{tls['https']}/hls/{tls['video']}/master.m3u8")
        again = client.get(
            f"{tls['https']}/hls/{tls['video']}/master.m3u8", headers={"host": "eu.cdn.demo.test"}
        )
    assert master.status_code == 200 and master.http_version == "HTTP/2"
    assert master.text.startswith("#EXTM3U") and master.headers["x-cache"] == "Miss from iad"
    assert again.status_code == 200 and again.headers["x-cache"] == "Hit from iad"


def test_viewer_protocol_policies_on_the_plain_port(tls: dict[str, str]) -> None:
    """redirect-to-https sends GET to the HTTPS port with 301; https-only refuses with 403."""
    master = httpx.get(f"{tls['http']}/hls/{tls['video']}/master.m3u8?x=1", timeout=10)
    assert master.status_code == 301
    assert (
        master.headers["location"]
        == f"https://127.0.0.1:{tls['https_port']}/hls/{tls['video']}/master.m3u8?x=1"
    )
    segment = httpx.get(f"{tls['http']}/hls/{tls['video']}/poster.jpg", timeout=10)
    assert (segment.status_code, segment.json()["reason"]) == (403, "https_required")


def test_unknown_host_is_refused_and_the_origin_wants_the_edge(tls: dict[str, str]) -> None:
    """A Host outside domain_names gets 421; the TLS origin still refuses unsigned viewers."""
    with httpx.Client(http2=True, verify=trust(tls["ca"]), timeout=10) as client:
        foreign = client.get(
            f"{tls['https']}/hls/{tls['video']}/master.m3u8", headers={"host": "evil.test"}
        )
        direct = client.get(f"{tls['origin']}/hls/{tls['video']}/master.m3u8")
    assert (foreign.status_code, foreign.json()["reason"]) == (421, "unknown_host")
    assert (direct.status_code, direct.json()["reason"]) == (403, "unsigned")
