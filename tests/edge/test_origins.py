"""The origin fetch stage: the per-edge cap on concurrent fetches, and one member's timeouts."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from edge.failover import Origins
from edge.origins import OriginRequest, Timeouts
from streaming.config import parse
from streaming.errors import OriginTimeout, Unavailable
from tests.edge.origin_stub import Behaviour, stub_origins
from tests.factories import distribution, distribution_doc


def origins(cap: int) -> Origins:
    doc = distribution_doc()
    doc["edge"] = {"max_origin_fetches": cap}
    doc["origin_groups"][0]["response_timeout"] = 0.2
    dist = parse(doc)
    client = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=b"ok"))
    )
    return Origins(dist, dist.edge_by_pop("iad"), client)


def test_fetches_beyond_the_cap_wait_for_a_slot_then_give_up_with_503() -> None:
    """With a cap of 2, a third fetch waits; it proceeds when one closes, else fails after the
    timeout.
    """

    async def run() -> None:
        edge = origins(2)
        request = OriginRequest("all", "GET", "/a.ts", "", {})
        first, second = await edge.open(request), await edge.open(request)
        assert edge.in_flight == 2
        with pytest.raises(Unavailable) as refused:
            await edge.open(request)
        assert refused.value.status_code == 503
        waiting = asyncio.ensure_future(edge.open(request))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        await first.aclose()
        third = await waiting
        assert edge.in_flight == 2
        for response in (second, third):
            await response.aclose()
        await response.aclose()  # closing twice releases once
        assert edge.in_flight == 0

    asyncio.run(run())


def test_a_single_origin_target_takes_its_timeouts_from_the_edge_settings() -> None:
    """A behavior that targets one origin (no group) waits edge.origin_response_timeout for the
    first byte: a 3 s answer costs 0.3 s and an OriginTimeout, not the whole 3 s."""

    async def run() -> None:
        async with stub_origins(Behaviour(body=b"late", ttfb=3)) as stubs:
            doc = distribution_doc()
            doc["origins"][0]["url"] = stubs[0].url
            doc["behaviors"] = [{"path_pattern": "*", "target": "us-east"}]
            doc["edge"] = {"origin_response_timeout": 0.3}
            dist = parse(doc)
            async with httpx.AsyncClient() as client:
                edge = Origins(dist, dist.edge_by_pop("iad"), client)
                started = time.monotonic()
                with pytest.raises(OriginTimeout):
                    await edge.open(OriginRequest("us-east", "GET", "/a.ts", "", {}))
                assert time.monotonic() - started < 1.5
                assert edge.in_flight == 0

    asyncio.run(run())


def test_timeouts_of_a_group_are_its_own_and_of_one_origin_the_edges() -> None:
    """The group's connect/response timeouts and attempts; without a group, the edge's defaults
    (2 s to connect, 10 s to answer, one attempt)."""
    dist = distribution()
    assert Timeouts.of(None, dist.edge) == Timeouts(2.0, 10.0, 1, 10.0)
    group = dist.origin_groups[0]
    assert Timeouts.of(group, dist.edge) == Timeouts(
        group.connect_timeout, group.response_timeout, group.attempts, group.ll_hold_timeout
    )
