"""The fault proxy: each fault is visible on the wire exactly as a broken network would show it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from experiments.faultproxy import FaultProxy
from procs.supervisor import free_port

BODY = bytes(range(256)) * 1024  # 256 KiB, several proxy chunks


async def _upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A minimal keep-alive HTTP/1.1 server answering every request with BODY."""
    try:
        while await reader.readuntil(b"\r\n\r\n"):
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(BODY)}\r\n\r\n".encode()
            writer.write(head + BODY)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


@asynccontextmanager
async def proxied() -> AsyncIterator[tuple[FaultProxy, httpx.AsyncClient]]:
    upstream_port = free_port()
    server = await asyncio.start_server(_upstream, "127.0.0.1", upstream_port)
    proxy = FaultProxy("test", ("127.0.0.1", free_port()), ("127.0.0.1", upstream_port))
    await proxy.start()
    client = httpx.AsyncClient(base_url=proxy.url, timeout=httpx.Timeout(2.0, connect=1.0))
    try:
        yield proxy, client
    finally:
        await client.aclose()
        await proxy.close()
        server.close()


def run(test: Callable[[FaultProxy, httpx.AsyncClient], Awaitable[None]]) -> None:
    async def main() -> None:
        async with proxied() as (proxy, client):
            await asyncio.wait_for(test(proxy, client), timeout=15)

    asyncio.run(main())


def test_healthy_proxy_forwards_bytes_unchanged() -> None:
    """Without a fault the client gets the upstream's exact body, over a reused connection."""

    async def check(proxy: FaultProxy, client: httpx.AsyncClient) -> None:
        for _ in range(3):
            assert (await client.get("/x")).content == BODY
        assert proxy.stats.connections == 1
        assert proxy.stats.bytes_down >= 3 * len(BODY)
        assert proxy.state == "healthy"

    run(check)


def test_delay_postpones_the_first_response_byte() -> None:
    """delay(s) adds at least s seconds before the response starts, and heal removes it."""

    async def check(proxy: FaultProxy, client: httpx.AsyncClient) -> None:
        proxy.delay(0.4)
        started = time.monotonic()
        async with client.stream("GET", "/x") as response:
            ttfb = time.monotonic() - started
            assert (await response.aread()) == BODY
        assert ttfb >= 0.4
        await proxy.heal()
        started = time.monotonic()
        await client.get("/x")
        assert time.monotonic() - started < 0.3

    run(check)


def test_refuse_makes_connects_fail_until_healed() -> None:
    """refuse() closes the listener (connection refused); heal() listens again on the same port."""

    async def check(proxy: FaultProxy, client: httpx.AsyncClient) -> None:
        await proxy.refuse()
        fresh = httpx.AsyncClient(base_url=proxy.url, timeout=1.0)
        with pytest.raises(httpx.ConnectError):
            await fresh.get("/x")
        await proxy.heal()
        assert (await fresh.get("/x")).content == BODY
        await fresh.aclose()

    run(check)


def test_drop_resets_open_and_new_connections() -> None:
    """drop() resets a keep-alive connection in use and every later one; heal() restores service."""

    async def check(proxy: FaultProxy, client: httpx.AsyncClient) -> None:
        assert (await client.get("/x")).status_code == 200
        proxy.drop()
        for _ in range(2):
            with pytest.raises(httpx.TransportError):
                await client.get("/x")
        assert proxy.stats.reset >= 2
        await proxy.heal()
        assert (await client.get("/x")).content == BODY

    run(check)


def test_truncate_cuts_the_body_and_the_client_sees_it_short() -> None:
    """truncate(n) delivers n bytes then resets: the client cannot mistake it for a whole body."""

    async def check(proxy: FaultProxy, client: httpx.AsyncClient) -> None:
        proxy.truncate(100_000)
        received = bytearray()
        with pytest.raises(httpx.TransportError):
            async with client.stream("GET", "/x") as response:
                async for chunk in response.aiter_raw():
                    received += chunk
        assert 0 < len(received) < len(BODY)
        assert bytes(received) == BODY[: len(received)]
        assert proxy.stats.truncated == 1

    run(check)


def test_pause_stalls_the_response_until_healed() -> None:
    """pause() forwards nothing (a read timeout); after heal() the same proxy answers again."""

    async def check(proxy: FaultProxy, client: httpx.AsyncClient) -> None:
        proxy.pause()
        assert proxy.state == "paused"
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/x", timeout=httpx.Timeout(0.5, connect=0.5))
        await proxy.heal()
        assert (await client.get("/x")).content == BODY

    run(check)
