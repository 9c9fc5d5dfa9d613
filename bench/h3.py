"""HTTP/3 against HTTP/2 from one client: the same hits over one connection of each protocol.

Each round fetches one cached object back to back (latency: one request in flight) and then
with `concurrency` streams in flight (throughput), bounded by a request count and a time
limit. The client is Python (aioquic for h3, httpx + h2 for h2) in this one process, so the
figures are for the pair, client included; rounds of the two protocols alternate.
"""

from __future__ import annotations

import asyncio
import ssl
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from tests.h3client import h3_connect

Fetch = Callable[[], Awaitable[int]]  # one GET of the object; returns the body size


@dataclass(frozen=True)
class Round:
    requests: int
    seconds: float
    bytes: int
    latencies_ms: tuple[float, ...]  # of the back-to-back requests only

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def mb_per_s(self) -> float:
        return self.bytes / self.seconds / 1e6 if self.seconds else 0.0


async def _sequential(fetch: Fetch, count: int, limit: float) -> Round:
    latencies: list[float] = []
    total = 0
    started = time.perf_counter()
    while len(latencies) < count and time.perf_counter() - started < limit:
        t = time.perf_counter()
        total += await fetch()
        latencies.append((time.perf_counter() - t) * 1000)
    return Round(len(latencies), time.perf_counter() - started, total, tuple(latencies))


async def _concurrent(fetch: Fetch, count: int, limit: float, concurrency: int) -> Round:
    done, total = 0, 0
    started = time.perf_counter()

    async def worker() -> None:
        nonlocal done, total
        while done < count and time.perf_counter() - started < limit:
            done += 1
            total += await fetch()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Round(done, time.perf_counter() - started, total, ())


async def h2_rounds(
    base: str, path: str, ca: ssl.SSLContext, count: int, limit: float, concurrency: int
) -> tuple[Round, Round]:
    """(back to back, concurrent) over one HTTP/2 connection."""
    limits = httpx.Limits(max_connections=1)
    async with httpx.AsyncClient(http2=True, verify=ca, limits=limits, timeout=30) as client:

        async def fetch() -> int:
            answer = await client.get(base + path)
            if answer.status_code != 200 or answer.http_version != "HTTP/2":
                raise SystemExit(f"bench: h2 {path}: {answer.status_code} {answer.http_version}")
            return len(answer.content)

        await fetch()  # connect and warm
        return (
            await _sequential(fetch, count, limit),
            await _concurrent(fetch, count, limit, concurrency),
        )


async def h3_rounds(
    host: str, port: int, path: str, ca_file: str, count: int, limit: float, concurrency: int
) -> tuple[Round, Round]:
    """(back to back, concurrent) over one QUIC connection."""
    async with h3_connect(host, port, ca_file) as client:
        authority = f"{host}:{port}"

        async def fetch() -> int:
            answer = await client.get(authority, path, timeout=30)
            if answer.status != 200:
                raise SystemExit(f"bench: h3 {path}: {answer.status}")
            return len(answer.body)

        await fetch()
        if client.alpn != "h3":
            raise SystemExit(f"bench: QUIC negotiated {client.alpn!r}, not h3")
        return (
            await _sequential(fetch, count, limit),
            await _concurrent(fetch, count, limit, concurrency),
        )


def summary(rounds: list[Round]) -> dict[str, float]:
    """min/median/max requests/s over rounds; MB/s and latency percentiles of all of them."""
    rates = [r.requests_per_s for r in rounds]
    latencies = sorted(x for r in rounds for x in r.latencies_ms)
    out = {
        "min_rps": min(rates),
        "median_rps": statistics.median(rates),
        "max_rps": max(rates),
        "median_mb_s": statistics.median(r.mb_per_s for r in rounds),
        "requests": sum(r.requests for r in rounds),
    }
    if latencies:
        out["p50_ms"] = latencies[len(latencies) // 2]
        out["p99_ms"] = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return out
