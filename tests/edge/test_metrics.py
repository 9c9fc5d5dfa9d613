"""GET /metrics on a real edge: every series matches the requests the test made."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.edge.stack import (
    WORKERS,
    Answer,
    EdgeStack,
    ScriptedOrigin,
    edge_doc,
    edge_stack,
)

pytestmark = pytest.mark.e2e
SEGMENT = {"content-type": "video/mp2t", "cache-control": "max-age=600"}


@pytest.fixture
def stack(origin: ScriptedOrigin, tmp_path: object) -> Iterator[EdgeStack]:
    doc = edge_doc(origin.url)
    doc["edge"] = {"memory_cache_bytes": 64 * 1024, "memory_object_bytes": 32 * 1024,
                   "disk_cache_bytes": 8 * 1024 * 1024}  # fmt: skip
    with edge_stack(tmp_path, doc) as s:  # type: ignore[arg-type]
        yield s


def test_request_byte_and_ratio_series_match_the_requests_made(
    stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """1 miss + 3 hits of 1,000 bytes and one 404: counts, bytes and both hit ratios agree."""
    origin.route("/healthz", Answer(headers={"content-type": "application/json"}, body=b"{}"))
    origin.route("/m/a.ts", Answer(headers=SEGMENT, body=b"a" * 1000))
    origin.route("/m/missing.ts", Answer(404, {"content-type": "text/plain"}, b"no"))
    for _ in range(4):
        httpx.get(stack.url() + "/m/a.ts")
    httpx.get(stack.url() + "/m/missing.ts")
    assert stack.sample("edge_requests_total", behavior="*", status="200", result="Miss") == 1
    assert stack.sample("edge_requests_total", behavior="*", status="200", result="Hit") == 3
    assert stack.sample("edge_requests_total", status="404", result="Error") == 1
    assert stack.sample("edge_bytes_sent_total", result="Hit") == 3000
    assert stack.sample("edge_bytes_sent_total", result="Miss") == 1000
    assert stack.sample("edge_cache_hit_ratio", basis="requests") == pytest.approx(0.75)
    assert stack.sample("edge_cache_hit_ratio", basis="bytes") == pytest.approx(0.75)
    assert stack.sample("edge_origin_fetches_total", origin="primary", status="200") == 1
    assert stack.sample("edge_origin_fetches_total", origin="primary", status="404") == 1
    assert stack.sample("edge_origin_fetch_seconds_count", origin="primary") == 2
    # the object and the cached 404, in the memory tier of each worker that served them
    assert 2 <= stack.sample("edge_cache_objects", tier="memory") <= 2 * WORKERS
    assert stack.sample("edge_cache_bytes", tier="disk") == 1002
    assert stack.sample("edge_origin_state", origin="primary", state="up") == 1
    assert stack.sample("edge_origin_state", origin="primary", state="down") == 0


def test_collapsed_waiters_stale_serves_and_evictions_are_counted(
    stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """10 concurrent viewers → 9 collapsed; a stale-while-revalidate serve; memory evictions."""
    origin.route("/m/slow.ts", Answer(headers=SEGMENT, body=b"s" * 2000, delay=0.3))

    async def together() -> None:
        async with httpx.AsyncClient() as client:
            await asyncio.gather(*(client.get(stack.url() + "/m/slow.ts") for _ in range(10)))

    asyncio.run(together())
    assert stack.sample("edge_collapsed_waiters_total") == 9
    swr = {
        "content-type": "application/json",
        "cache-control": "max-age=1, stale-while-revalidate=10",
    }
    origin.route("/m/swr.json", Answer(headers=swr, body=b"{}"))
    httpx.get(stack.url() + "/m/swr.json")
    time.sleep(1.1)
    assert httpx.get(stack.url() + "/m/swr.json").headers["x-cache"] == "RefreshHit from iad"
    assert stack.sample("edge_stale_served_total", reason="while-revalidate") == 1
    for number in range(3 * WORKERS):  # enough to overflow the memory tier of every worker
        origin.route(f"/m/e{number}.ts", Answer(headers=SEGMENT, body=b"e" * 30_000))
        with httpx.Client() as fresh:  # a new connection: any worker
            fresh.get(stack.url() + f"/m/e{number}.ts")
    assert stack.sample("edge_cache_evictions_total", tier="memory") >= 1
    assert stack.sample("edge_cache_bytes", tier="memory") <= 64 * 1024 * WORKERS
    assert stack.sample("edge_cache_capacity_bytes", tier="disk") == 8 * 1024 * 1024
