"""One real topology (an origin, two edges) shared by the load generator's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import Topology, distribution_doc, running_topology
from tests.helpers import upload, wait_state


@pytest.fixture(scope="module")
def edges(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    doc = distribution_doc(pops=(("iad", "us-east"), ("fra", "us-east")))
    with running_topology(tmp_path_factory.mktemp("loadtest"), doc) as topo:
        yield topo


@pytest.fixture
def cold_video(edges: Topology, clip: Path) -> list[str]:
    """A freshly uploaded video (cold in every edge): its master URL on each edge."""
    origin = edges.origin_url("us-east")
    master = str(wait_state(origin, upload(origin, clip))["master_path"])
    return [edges.edge_url(pop) + master for pop in ("iad", "fra")]
