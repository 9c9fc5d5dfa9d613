"""Which POP a viewer should use: the steering service's answer, or the config's nearest POPs.

The browser asks the portal (same origin, no CORS), the portal asks the steering service, which
knows which POPs are healthy. Without a steering service, or when it does not answer, POPs in
the viewer's region come first, then the others in config order.
"""

from __future__ import annotations

from typing import Any

import httpx

from streaming.config import Distribution

STEERING_TIMEOUT = httpx.Timeout(1.0, connect=0.5)


def _by_config(dist: Distribution, region: str | None) -> list[dict[str, str]]:
    ranked = sorted(dist.pops, key=lambda e: e.region != region)
    return [{"pop": e.pop, "region": e.region, "url": e.url} for e in ranked]


async def steer(
    dist: Distribution, client: httpx.AsyncClient, region: str | None
) -> dict[str, Any]:
    """POPs for a viewer in `region`, best first, and who decided (`steering` or `config`)."""
    if dist.steering is not None:
        params = {"region": region} if region else {}
        try:
            answer = await client.get(
                f"{dist.steering.url}/edges", params=params, timeout=STEERING_TIMEOUT
            )
            if answer.status_code == 200 and answer.json().get("edges"):
                return {"source": "steering", "region": region, "edges": answer.json()["edges"]}
        except (httpx.HTTPError, ValueError):
            pass  # the steering service is down: the config still knows where POPs are
    return {"source": "config", "region": region, "edges": _by_config(dist, region)}
