"""Edge-wide hit ratios come from each POP's own /metrics; a silent POP is reported down."""

from __future__ import annotations

import httpx
import pytest

from edge.metrics import EdgeMetrics
from portal.edges import edge_stats, parse_edge_metrics
from tests.factories import distribution

pytestmark = pytest.mark.anyio
SNAPSHOT = {"cache": {}, "in_flight": 0, "fills": 0, "sequence": 0}


def exposition() -> str:
    """What a real edge renders after 3 hits (300 bytes) and 1 miss (100 bytes)."""
    metrics = EdgeMetrics("iad", lambda: SNAPSHOT)
    for _ in range(3):
        metrics.observe("/hls/*", 200, "Hit", 100, cached=True)
    metrics.observe("/hls/*", 200, "Miss", 100, cached=True)
    return metrics.render().decode()


def test_the_edges_own_exposition_is_understood() -> None:
    """Hit ratio by requests and bytes and the request count, as the edge itself computes them."""
    assert parse_edge_metrics(exposition()) == {
        "hit_ratio_requests": 0.75, "hit_ratio_bytes": 0.75, "requests": 4.0,
    }  # fmt: skip


async def test_every_pop_is_asked_and_a_dead_one_is_down() -> None:
    """One answer per POP; connection refused or garbage marks that POP down, not the page."""
    dist = distribution(pops=(("iad", "us-east"), ("fra", "eu-west"), ("sin", "ap-southeast")))
    iad, fra, _ = (e.url for e in dist.pops)

    def pops(request: httpx.Request) -> httpx.Response:
        if str(request.url).startswith(iad):
            return httpx.Response(200, text=exposition())
        if str(request.url).startswith(fra):
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, text="{not prometheus")

    async with httpx.AsyncClient(transport=httpx.MockTransport(pops)) as client:
        stats = await edge_stats(dist, client)
    assert [(s["pop"], s["up"]) for s in stats] == [("iad", True), ("fra", False), ("sin", False)]
    assert stats[0]["hit_ratio_requests"] == 0.75
