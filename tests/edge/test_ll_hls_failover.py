"""A held LL-HLS request in the fetch stage (edge/failover.py) against real sockets: it waits its
hold timeout, not the response timeout, and neither its waiting nor the origin's 503 after its
bounded hold is a failing origin: no failover, no circuit breaker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from edge.failover import Origins
from edge.health import State
from edge.origins import OriginRequest
from streaming.config import parse
from streaming.errors import OriginTimeout
from tests.edge.origin_stub import Behaviour, StubOrigin, stub_origins
from tests.factories import distribution_doc

PLAYLIST = b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n"
# Held requests may wait 1.5 s; anything else 0.3 s. One failure opens the circuit.
GROUP = {
    "connect_timeout": 0.3, "response_timeout": 0.3, "ll_hold_timeout": 1.5, "order": "pinned",
    "health": {"failure_threshold": 1, "check_interval": 0},
}  # fmt: skip


def origins_for(stubs: list[StubOrigin]) -> Origins:
    doc = distribution_doc(regions=("us-east", "eu-west"))
    doc["origins"] = [
        {"id": r, "region": r, "url": s.url}
        for r, s in zip(("us-east", "eu-west"), stubs, strict=True)
    ]
    doc["origin_groups"] = [{"id": "all", "members": ["us-east", "eu-west"], **GROUP}]
    dist = parse(doc)
    return Origins(dist, dist.edge_by_pop("iad"), httpx.AsyncClient())


async def fetch(origins: Origins, held: bool) -> tuple[int, bytes, str]:
    request = OriginRequest(
        "all", "GET", "/live/demo/180p.m3u8", "_HLS_msn=10&_HLS_part=2", {}, held=held
    )
    response = await origins.open(request)
    try:
        body = b"".join([chunk async for chunk in response.chunks()])
    finally:
        await response.aclose()
    return response.status, body, response.origin.region


def run(primary: Behaviour, test: Callable[[Origins, list[StubOrigin]], Awaitable[None]]) -> None:
    async def main() -> None:
        async with stub_origins(primary, Behaviour(body=b"secondary")) as stubs:
            origins = origins_for(stubs)
            try:
                await asyncio.wait_for(test(origins, stubs), timeout=20)
            finally:
                await origins._client.aclose()

    asyncio.run(main())


def failed(origins: Origins, origin: str) -> Any:
    return origins.health.snapshot()[origin]["failed"]


def test_a_held_request_waits_past_the_response_timeout_and_the_origin_stays_up() -> None:
    """The origin holds the blocking reload 0.8 s (> the 0.3 s response timeout): its answer
    comes from it, nobody fails over, its circuit stays closed."""

    async def check(origins: Origins, stubs: list[StubOrigin]) -> None:
        assert await fetch(origins, held=True) == (200, PLAYLIST, "us-east")
        assert origins.health.state("us-east") is State.UP
        assert failed(origins, "us-east") == 0
        assert not stubs[1].requests
        # The same wait on a request nobody holds is a slow origin: it fails over.
        assert (await fetch(origins, held=False))[2] == "eu-west"
        assert origins.health.state("us-east") is State.DOWN

    run(Behaviour(body=PLAYLIST, ttfb=0.8), check)


def test_the_origins_503_after_its_bounded_hold_is_its_answer_not_a_failure() -> None:
    """503 ends the origin's bounded wait: passed on (the player asks again), no failover."""

    async def check(origins: Origins, stubs: list[StubOrigin]) -> None:
        assert await fetch(origins, held=True) == (503, b"not yet", "us-east")
        assert origins.health.state("us-east") is State.UP
        assert not stubs[1].requests

    run(Behaviour(status=503, body=b"not yet", ttfb=0.4), check)


def test_a_hold_past_the_hold_timeout_times_out_without_failing_over_or_opening_the_circuit() -> (
    None
):
    async def check(origins: Origins, stubs: list[StubOrigin]) -> None:
        started = time.monotonic()
        with pytest.raises(OriginTimeout):
            await fetch(origins, held=True)
        assert 1.4 < time.monotonic() - started < 3
        assert origins.health.state("us-east") is State.UP
        assert not stubs[1].requests

    run(Behaviour(body=PLAYLIST, ttfb=5), check)
