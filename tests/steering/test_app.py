"""The steering service against real POP processes: nearest healthy POP, away from a dead one."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from procs.supervisor import free_port
from tests.factories import Topology, distribution_doc, running_topology, write_country_db


@pytest.fixture
def steered(tmp_path: Path) -> Iterator[Topology]:
    steering = {
        "url": f"http://127.0.0.1:{free_port()}",
        "check_interval": 0.2,
        "unhealthy_checks": 2,
        "healthy_checks": 1,
        "nearest": {"ap-southeast": ["eu-west"]},
        # Viewers without a region hint are located by address: loopback plays Germany here.
        "geoip_database": str(write_country_db(tmp_path / "geo.mmdb", {"127.0.0.0/8": "DE"})),
        "countries": {"DE": "eu-west"},
    }
    doc = distribution_doc(pops=(("iad", "us-east"), ("fra", "eu-west")), steering=steering)
    with running_topology(tmp_path, doc) as topo:
        yield topo


def _steer(base: str, region: str) -> httpx.Response:
    return httpx.get(f"{base}/steer/hls/abc/master.m3u8?region={region}&x=1", timeout=2)


def test_viewers_go_to_the_nearest_pop_and_away_from_a_dead_one(steered: Topology) -> None:
    """302 to the viewer's own region; once that POP dies to the next one; 503 when none is left."""
    assert steered.dist.steering is not None
    base = steered.dist.steering.url
    iad, fra = steered.edge_url("iad"), steered.edge_url("fra")
    deadline = time.monotonic() + 5  # the service may have checked the POPs before they were up
    while time.monotonic() < deadline and any(
        p["state"] != "up" for p in httpx.get(f"{base}/healthz").json()["pops"].values()
    ):
        time.sleep(0.1)
    response = _steer(base, "us-east")
    assert response.status_code == 302
    assert response.headers["location"] == f"{iad}/hls/abc/master.m3u8?x=1"
    assert _steer(base, "ap-southeast").headers["location"].startswith(fra)
    located = httpx.get(f"{base}/steer/hls/abc/master.m3u8", timeout=2)  # no hint: GeoIP
    assert located.headers["location"] == f"{fra}/hls/abc/master.m3u8"

    steered.supervisor.stop(steered.child("edge-iad"))
    deadline = time.monotonic() + 15  # the monitor notices within its interval, later when loaded
    while (
        _steer(base, "us-east").headers.get("location", "").startswith(iad)
        and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    assert _steer(base, "us-east").headers["location"].startswith(fra)
    assert httpx.get(f"{base}/steering.json?region=us-east").json()["PATHWAY-PRIORITY"] == ["fra"]
    assert [e["pop"] for e in httpx.get(f"{base}/edges?region=us-east").json()["edges"]] == ["fra"]

    steered.supervisor.stop(steered.child("edge-fra"))
    deadline = time.monotonic() + 15  # the monitor notices within its interval, later when loaded
    while _steer(base, "eu-west").status_code == 302 and time.monotonic() < deadline:
        time.sleep(0.1)
    final = _steer(base, "eu-west")
    assert final.status_code == 503 and final.json()["error"] == "unavailable"
