"""The Origin Shield tier with real processes: misses from three POPs collapse into one origin
request, viewers cannot use the shield directly, and POPs go to the origins when it dies."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from procs.supervisor import free_port
from tests.factories import Topology, distribution_doc, running_topology
from tests.helpers import hls_paths, upload, wait_state

POPS = ("iad", "fra", "sin")


@pytest.fixture
def shielded(tmp_path: Path) -> Iterator[Topology]:
    doc = distribution_doc(pops=(("iad", "us-east"), ("fra", "eu-west"), ("sin", "ap-southeast")))
    doc["edges"].append(
        {"pop": "shield", "region": "us-east", "port": free_port(), "role": "shield"}
    )
    with running_topology(tmp_path, doc) as topo:
        yield topo


def _sent(base: str, origin_id: str) -> int:
    """Requests an edge has sent to `origin_id` (its own health counters)."""
    info = httpx.get(f"{base}/healthz", timeout=2).json()["origins"][origin_id]
    return int(info["ok"]) + int(info["failed"])


def test_shield_collapses_misses_from_every_pop_and_pops_bypass_it_when_it_dies(
    shielded: Topology, clip: Path
) -> None:
    """15 concurrent cold requests over 3 POPs → 1 origin request; a dead shield costs no error."""
    origin = shielded.origin_url("us-east")
    master = str(wait_state(origin, upload(origin, clip))["master_path"])
    segments = [p for p in hls_paths(origin, master) if p.endswith((".ts", ".m4s"))]
    assert len(segments) >= 2
    shield = shielded.edge_url("shield")
    before = _sent(shield, "us-east")

    def get(pop: str) -> httpx.Response:
        return httpx.get(shielded.edge_url(pop) + segments[0], timeout=10)

    with ThreadPoolExecutor(15) as pool:
        responses = list(pool.map(get, [pop for pop in POPS for _ in range(5)]))
    expected = httpx.get(origin + segments[0], timeout=10).content
    assert all(r.status_code == 200 and r.content == expected for r in responses)
    assert all(r.headers["x-origin-region"] == "us-east" for r in responses)
    assert _sent(shield, "us-east") - before == 1
    assert all(_sent(shielded.edge_url(pop), "shield") == 1 for pop in POPS)
    assert all(_sent(shielded.edge_url(pop), "us-east") == 0 for pop in POPS)

    unsigned = httpx.get(shield + segments[0], timeout=5)
    assert unsigned.status_code == 403 and unsigned.json()["error"] == "access_denied"

    shielded.supervisor.stop(shielded.child("edge-shield"))
    for pop in POPS:
        response = httpx.get(shielded.edge_url(pop) + segments[1], timeout=10)
        assert response.status_code == 200, response.text
        assert response.content == httpx.get(origin + segments[1], timeout=10).content
        assert _sent(shielded.edge_url(pop), "us-east") == 1
