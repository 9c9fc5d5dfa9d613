"""The origin fetch stage's per-edge cap on concurrent origin fetches."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from edge.origins import OriginRequest, Origins
from streaming.config import parse
from streaming.errors import Unavailable
from tests.factories import distribution_doc


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
