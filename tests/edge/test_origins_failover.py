"""Failover in the edge's fetch stage (edge/origins.py) against real sockets: every trigger,
mid-body resume, known-down members skipped without a timeout, and the circuit's recovery."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from edge.failover import Origins
from edge.health import State
from edge.origins import OriginRequest
from streaming.config import parse
from streaming.errors import OriginError
from tests.edge.origin_stub import Behaviour, StubOrigin, stub_origins
from tests.factories import distribution_doc

BODY = bytes(range(256)) * 1200  # 300 KiB: several reads
FAST = {"connect_timeout": 0.3, "response_timeout": 0.3, "order": "pinned"}


def origins_for(stubs: list[StubOrigin], **group: Any) -> Origins:
    doc = distribution_doc(regions=("us-east", "eu-west"))
    doc["origins"] = [
        {"id": r, "region": r, "url": s.url}
        for r, s in zip(("us-east", "eu-west"), stubs, strict=True)
    ]
    doc["origin_groups"] = [{"id": "all", "members": ["us-east", "eu-west"], **FAST, **group}]
    dist = parse(doc)
    return Origins(dist, dist.edge_by_pop("iad"), httpx.AsyncClient())


async def fetch(origins: Origins, method: str = "GET") -> tuple[int, bytes, str]:
    response = await origins.open(OriginRequest("all", method, "/hls/v/180p/seg_001.ts", "", {}))
    try:
        body = b"".join([chunk async for chunk in response.chunks()])
    finally:
        await response.aclose()
    return response.status, body, response.origin.region


def run(
    primary: Behaviour,
    secondary: Behaviour,
    test: Callable[[Origins, list[StubOrigin]], Awaitable[None]],
    **group: Any,
) -> None:
    async def main() -> None:
        async with stub_origins(primary, secondary) as stubs:
            origins = origins_for(stubs, **group)
            try:
                await asyncio.wait_for(test(origins, stubs), timeout=20)
            finally:
                await origins._client.aclose()

    asyncio.run(main())


def test_connection_refused_fails_over_to_the_secondary() -> None:
    """A primary with nothing listening: the secondary serves the whole body."""

    async def check(origins: Origins, stubs: list[StubOrigin]) -> None:
        stubs[0].port = 1  # nothing listens on port 1
        origins_ = origins_for(stubs)
        assert await fetch(origins_) == (200, BODY, "eu-west")
        assert origins_.health.snapshot()["us-east"]["failed"] == 1

    run(Behaviour(body=BODY), Behaviour(body=BODY), check)


def test_slow_first_byte_fails_over_within_the_response_timeout() -> None:
    """A primary that takes 3 s to answer costs one response timeout (0.3 s), not 3 s."""

    async def check(origins: Origins, stubs: list[StubOrigin]) -> None:
        started = time.monotonic()
        assert await fetch(origins) == (200, BODY, "eu-west")
        assert time.monotonic() - started < 1.5

    run(Behaviour(body=BODY, ttfb=3), Behaviour(body=BODY), check)


@pytest.mark.parametrize("fault", ["cut_after", "stall_after"])
def test_a_body_broken_mid_way_is_resumed_from_the_next_origin_with_range(fault: str) -> None:
    """Cut or stalled after 100 kB: the rest comes from the secondary via Range, byte-exact."""

    async def check(origins: Origins, stubs: list[StubOrigin]) -> None:
        status, body, _ = await fetch(origins)
        assert status == 200 and body == BODY
        resumed = stubs[1].requests[-1].lower()
        assert "range: bytes=" in resumed
        start = int(resumed.split("range: bytes=")[1].split("-")[0])
        assert 0 < start < 100_000

    run(Behaviour(body=BODY, **{fault: 100_000}), Behaviour(body=BODY), check)


def test_resume_from_an_origin_without_range_support_skips_what_was_sent() -> None:
    """A secondary that answers 200 to a Range request still yields one correct body."""

    async def check(origins: Origins, stubs: list[StubOrigin]) -> None:
        assert (await fetch(origins))[:2] == (200, BODY)

    run(Behaviour(body=BODY, cut_after=150_000), Behaviour(body=BODY, ranges=False), check)


def test_a_different_copy_on_the_next_origin_aborts_instead_of_splicing() -> None:
    """Same name, other bytes (an independent live encode): the body raises, never comes short."""

    async def check(origins: Origins, stubs: list[StubOrigin]) -> None:
        with pytest.raises(OriginError, match="different copy"):
            await fetch(origins)

    other = bytes(b ^ 0x5A for b in BODY)
    run(Behaviour(body=BODY, cut_after=100_000), Behaviour(body=other), check)


def test_configured_status_codes_fail_over_and_others_do_not() -> None:
    """503 fails over by default; 404 only once selected in failover_status_codes."""

    async def default(origins: Origins, stubs: list[StubOrigin]) -> None:
        assert (await fetch(origins))[2] == "eu-west"

    run(Behaviour(status=503, body=b"busy"), Behaviour(body=BODY), default)

    async def not_selected(origins: Origins, stubs: list[StubOrigin]) -> None:
        assert (await fetch(origins))[0] == 404

    run(Behaviour(status=404, body=b"nope"), Behaviour(body=BODY), not_selected)

    async def selected(origins: Origins, stubs: list[StubOrigin]) -> None:
        assert (await fetch(origins))[:2] == (200, BODY)
        assert origins.health.state("us-east") is State.UP  # a 404 is not the origin being unwell

    run(
        Behaviour(status=404, body=b"nope"),
        Behaviour(body=BODY),
        selected,
        failover_status_codes=[404, 503],
    )


def test_every_member_failing_returns_the_last_answer() -> None:
    """When the secondary also errs, its answer (not a made-up 502) reaches the viewer."""

    async def check(origins: Origins, stubs: list[StubOrigin]) -> None:
        assert (await fetch(origins))[:2] == (504, b"late")

    run(Behaviour(status=503, body=b"busy"), Behaviour(status=504, body=b"late"), check)


def test_post_is_never_failed_over() -> None:
    """Only GET/HEAD/OPTIONS fail over: a POST gets the primary's answer."""

    async def check(origins: Origins, stubs: list[StubOrigin]) -> None:
        assert (await fetch(origins, "POST"))[0] == 503
        assert not stubs[1].requests

    run(Behaviour(status=503, body=b"busy"), Behaviour(body=BODY), check)


def test_a_known_down_origin_is_skipped_without_paying_its_timeout() -> None:
    """After failure_threshold timeouts the primary is down: the next fill goes straight on."""

    async def check(origins: Origins, stubs: list[StubOrigin]) -> None:
        for _ in range(2):
            await fetch(origins)
        assert origins.health.state("us-east") is State.DOWN
        seen = len(stubs[0].requests)
        started = time.monotonic()
        assert (await fetch(origins))[2] == "eu-west"
        assert time.monotonic() - started < 0.2
        assert len(stubs[0].requests) == seen

    run(
        Behaviour(body=BODY, ttfb=3),
        Behaviour(body=BODY),
        check,
        health={"failure_threshold": 2, "check_interval": 0},
    )


def test_circuit_opens_half_opens_on_healthy_checks_and_closes_after_real_successes() -> None:
    """Down on failures; healthy checks make it half-open; two real probes bring traffic back."""
    health = {
        "failure_threshold": 1,
        "check_interval": 0.05,
        "unhealthy_checks": 1,
        "recovery_checks": 2,
        "probe_successes": 2,
    }

    async def check(origins: Origins, stubs: list[StubOrigin]) -> None:
        origins.checker.start()
        try:
            stubs[0].behaviour.status = 503
            assert (await fetch(origins))[2] == "eu-west"
            assert origins.health.state("us-east") is State.DOWN
            stubs[0].behaviour.status = 200
            while origins.health.state("us-east") is State.DOWN:
                await asyncio.sleep(0.02)
            assert origins.health.state("us-east") is State.HALF_OPEN
            assert (await fetch(origins))[2] == "us-east"  # probe 1
            assert origins.health.state("us-east") is State.HALF_OPEN
            assert (await fetch(origins))[2] == "us-east"  # probe 2 closes it
            assert origins.health.state("us-east") is State.UP
            states = [t.new for t in origins.health.transitions if t.origin == "us-east"]
            assert states == [State.DOWN, State.HALF_OPEN, State.UP]
        finally:
            await origins.checker.close()

    run(Behaviour(body=BODY), Behaviour(body=BODY), check, health=health)


def test_connection_attempts_retry_the_same_member_before_failing_over() -> None:
    """attempts = 2: a refused connect is tried twice on the primary, then the secondary answers."""
    tries: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        tries.append(request.url.host + str(request.url.port))
        if request.url.port == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, headers={"content-length": "2"}, stream=httpx.ByteStream(b"ok"))

    doc = distribution_doc(regions=("us-east", "eu-west"))
    doc["origins"] = [
        {"id": "us-east", "region": "us-east", "url": "http://127.0.0.1:1"},
        {"id": "eu-west", "region": "eu-west", "url": "http://127.0.0.1:2"},
    ]
    doc["origin_groups"] = [{"id": "all", "members": ["us-east", "eu-west"], **FAST, "attempts": 2}]
    dist = parse(doc)

    async def main() -> None:
        origins = Origins(
            dist, dist.edge_by_pop("iad"), httpx.AsyncClient(transport=httpx.MockTransport(handler))
        )
        assert await fetch(origins) == (200, b"ok", "eu-west")

    asyncio.run(main())
    assert tries == ["127.0.0.11", "127.0.0.11", "127.0.0.12"]


def test_connect_timeout_fails_over_within_the_connect_timeout() -> None:
    """A primary whose accept queue is full never completes the handshake: 0.3 s, then failover."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)  # never accepted: once the queue is full, SYNs are dropped
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)

    async def check(origins: Origins, stubs: list[StubOrigin]) -> None:
        stubs[0].port = port
        started = time.monotonic()
        origins_ = origins_for(stubs)
        assert await fetch(origins_) == (200, BODY, "eu-west")
        assert time.monotonic() - started < 2.0  # the 0.3 s connect timeout (+ slack for load)
        assert "ConnectTimeout" in str(origins_.health.snapshot()["us-east"]["last_error"])
        await origins_._client.aclose()

    try:
        run(Behaviour(body=BODY), Behaviour(body=BODY), check)
    finally:
        for sock in (*fillers, listener):
            sock.close()
