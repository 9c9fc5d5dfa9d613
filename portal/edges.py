"""Each POP's own view of its cache, read from its Prometheus /metrics (all viewers, not one).

The overlay's bars show what this player saw; these figures show what the edge served to
everyone, so a viewer can compare the two. A POP that does not answer is reported down.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from streaming.config import Distribution, Edge

METRICS_TIMEOUT = httpx.Timeout(1.0, connect=0.5)


def parse_edge_metrics(text: str) -> dict[str, float]:
    """Hit ratio by requests and bytes, and requests served, from an edge's exposition text."""
    found = {"hit_ratio_requests": 0.0, "hit_ratio_bytes": 0.0, "requests": 0.0}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "edge_cache_hit_ratio":
                found[f"hit_ratio_{sample.labels.get('basis', 'requests')}"] = sample.value
            elif sample.name == "edge_requests_total":
                found["requests"] += sample.value
    return found


async def _one(client: httpx.AsyncClient, edge: Edge) -> dict[str, Any]:
    try:
        answer = await client.get(f"{edge.url}/metrics", timeout=METRICS_TIMEOUT)
        answer.raise_for_status()
        return {"pop": edge.pop, "up": True, **parse_edge_metrics(answer.text)}
    except (httpx.HTTPError, ValueError):
        return {"pop": edge.pop, "up": False}


async def edge_stats(dist: Distribution, client: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Every POP's cache figures, asked concurrently."""
    return list(await asyncio.gather(*(_one(client, e) for e in dist.pops)))
