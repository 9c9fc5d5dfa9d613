"""`streaming edge --workers N`: N processes on one port that behave as one POP.

Each request here goes on a connection of its own, so the kernel spreads them over the workers
(SO_REUSEPORT); a POP-wide behavior must then hold whichever worker answers.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from procs.supervisor import free_port
from tests.edge.stack import (
    AUTH,
    Answer,
    EdgeStack,
    ScriptedOrigin,
    edge_doc,
    edge_stack,
    wait_for,
)
from tests.h3client import h3_connect
from tests.tls import tls_section, trust

pytestmark = pytest.mark.e2e

SEGMENT = {"content-type": "video/mp2t", "cache-control": "max-age=600"}
BIG = bytes(range(256)) * 8192  # 2 MiB: streamed through the disk tier's spool file


def fresh_get(url: str, **kwargs: object) -> httpx.Response:
    """One request on a new connection (any worker may take it)."""
    with httpx.Client(timeout=10) as client:
        return client.get(url, **kwargs)  # type: ignore[arg-type]


def worker_pids(stack: EdgeStack, expected: int) -> set[int]:
    """The PIDs of the POP's workers, as /healthz on new connections reports them."""
    pids: set[int] = set()
    deadline = time.monotonic() + 10
    while len(pids) < expected and time.monotonic() < deadline:
        worker = fresh_get(stack.url() + "/healthz").json()["worker"]
        assert worker["count"] == expected
        pids.add(worker["pid"])
    return pids


@pytest.fixture
def pop(
    request: pytest.FixtureRequest, origin: ScriptedOrigin, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[EdgeStack]:  # fmt: skip
    """An edge of `request.param` workers (2 by default) in front of the scripted origin."""
    workers = getattr(request, "param", 2)
    monkeypatch.setenv("STREAMING_EDGE_WORKERS", str(workers))
    origin.route("/healthz", Answer(headers={"content-type": "application/json"}, body=b"{}"))
    doc = edge_doc(origin.url)
    doc["behaviors"].insert(0, {
        "path_pattern": "/limited/*", "target": "all", "rate_limit": {"rate": 0.001, "burst": 5},
    })  # fmt: skip
    with edge_stack(tmp_path, doc) as stack:
        stack.workers = workers  # type: ignore[attr-defined]
        yield stack


def test_every_worker_serves_the_one_port(pop: EdgeStack) -> None:
    assert len(worker_pids(pop, 2)) == 2


@pytest.mark.parametrize("pop", [2, 4], indirect=True)
def test_a_flash_crowd_fetches_each_object_once_per_pop(
    pop: EdgeStack, origin: ScriptedOrigin
) -> None:
    """60 viewers on 60 connections ask for a slow 2 MiB segment and a small playlist at once:
    one origin request each, every body byte-exact, one Miss."""
    slug = f"crowd{pop.workers}"  # type: ignore[attr-defined]
    origin.route(
        f"/{slug}/big.ts", Answer(200, SEGMENT, BIG, delay=0.3, gap=0.02, chunk=128 * 1024)
    )
    playlist = b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nbig.ts\n" * 20
    origin.route(
        f"/{slug}/index.m3u8",
        Answer(200, {"content-type": "application/vnd.apple.mpegurl"}, playlist, delay=0.3),
    )

    async def crowd(path: str) -> list[httpx.Response]:
        async def one() -> httpx.Response:
            async with httpx.AsyncClient(timeout=20) as client:
                return await client.get(pop.url() + path)

        return await asyncio.gather(*(one() for _ in range(60)))

    for path, body in ((f"/{slug}/big.ts", BIG), (f"/{slug}/index.m3u8", playlist)):
        answers = asyncio.run(crowd(path))
        assert all(a.status_code == 200 and a.content == body for a in answers)
        assert origin.count(path) == 1
        assert [a.headers["x-cache"] for a in answers].count("Miss from iad") == 1


def test_a_leader_killed_mid_body_leaves_no_lock_and_nothing_half_stored(
    pop: EdgeStack, origin: ScriptedOrigin
) -> None:
    """SIGKILL the worker that fetches: its viewer's response is cut, the key is not locked,
    the next request fetches again and gets the whole body."""
    path = "/killed/big.ts"
    origin.route(path, Answer(200, SEGMENT, BIG, gap=0.05, chunk=64 * 1024))  # about 1.6 s

    async def slow_get() -> int:
        async with httpx.AsyncClient(timeout=20) as client:
            try:
                return len((await client.get(pop.url() + path)).content)
            except httpx.HTTPError:
                return -1

    async def kill_the_leader() -> int:
        task = asyncio.create_task(slow_get())
        lease = pop.cache_dir() / "workers" / "fills.lock"
        holder = None
        deadline = time.monotonic() + 5
        while holder is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            # the lease is taken before the origin hears of it: kill once the body flows
            holder = lock_holder(lease) if origin.count(path) == 1 else None
        assert holder is not None, "no worker holds a lease while fetching"
        await asyncio.sleep(0.2)
        os.kill(holder, signal.SIGKILL)
        return await task

    got = asyncio.run(kill_the_leader())
    assert got != len(BIG)  # cut: never a complete-looking body
    assert len(worker_pids(pop, 2)) == 2  # the parent replaced the killed worker
    again = fresh_get(pop.url() + path)
    assert again.status_code == 200 and again.content == BIG
    assert origin.count(path) == 2


def lock_holder(lease: Path) -> int | None:
    """The PID holding a POSIX lock on `lease`, from /proc/locks."""
    if not lease.exists():
        return None
    inode = lease.stat().st_ino
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        # "1: POSIX  ADVISORY  WRITE 1234 08:01:5678 0 0"
        if len(fields) >= 6 and fields[1] == "POSIX" and fields[5].endswith(f":{inode}"):
            return int(fields[4])
    return None


def test_a_cache_clear_reaches_every_worker(pop: EdgeStack, origin: ScriptedOrigin) -> None:
    """Warm copies in every worker's memory tier; after one clear, no worker serves v1."""
    path = "/clear/obj.ts"
    origin.route(path, Answer(200, SEGMENT, b"v1"))
    for _ in range(12):
        assert fresh_get(pop.url() + path).content == b"v1"
    origin.route(path, Answer(200, SEGMENT, b"v2"))
    httpx.post(pop.url() + "/admin/cache/clear", headers=AUTH, timeout=5).raise_for_status()
    time.sleep(0.2)  # the siblings read their mailbox
    assert {fresh_get(pop.url() + path).content for _ in range(12)} == {b"v2"}


def test_a_rate_limit_is_one_budget_for_the_pop(pop: EdgeStack, origin: ScriptedOrigin) -> None:
    origin.route("/limited/x.ts", Answer(200, SEGMENT, b"x"))
    statuses = [fresh_get(pop.url() + "/limited/x.ts").status_code for _ in range(12)]
    assert statuses.count(200) == 5 and statuses.count(429) == 7


def test_metrics_count_the_requests_of_every_worker(pop: EdgeStack, origin: ScriptedOrigin) -> None:
    origin.route("/counted/a.ts", Answer(200, SEGMENT, b"a" * 100))
    for _ in range(10):
        fresh_get(pop.url() + "/counted/a.ts")
    # scraped from whichever worker answers: the POP's totals
    for _ in range(3):
        assert pop.sample("edge_requests_total", behavior="*") == 10
        assert pop.sample("edge_bytes_sent_total", behavior="*") == 1000
        assert pop.sample("edge_origin_fetches_total", status="200") == 1


def test_origin_health_is_the_same_in_every_worker(pop: EdgeStack, origin: ScriptedOrigin) -> None:
    """One worker runs the active checks; every worker's breaker follows its transitions."""
    origin.route("/healthz", Answer(503, {"content-type": "text/plain"}, b"sick"))

    def states() -> set[str]:
        return {
            fresh_get(pop.url() + "/healthz").json()["origins"]["primary"]["state"]
            for _ in range(10)
        }

    assert wait_for(lambda: states() == {"down"}, timeout=10)


def test_an_https_edge_runs_its_workers_on_tcp_and_quic(
    origin: ScriptedOrigin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """hypercorn in every worker: TLS connections reach both, a fill over HTTP/2 in one is a
    hit over HTTP/3 (whichever worker the QUIC connection lands on)."""
    monkeypatch.setenv("STREAMING_EDGE_WORKERS", "2")
    origin.route("/healthz", Answer(headers={"content-type": "application/json"}, body=b"{}"))
    origin.route("/tls/seg.ts", Answer(200, SEGMENT, b"s" * 5000))
    doc = edge_doc(origin.url)
    https_port = free_port()
    doc["edges"][0]["https_port"] = https_port
    doc["tls"] = tls_section(tmp_path / "pki")
    ca = doc["tls"]["ca_file"]
    with edge_stack(tmp_path, doc):
        url = f"https://127.0.0.1:{https_port}"
        pids: set[int] = set()
        deadline = time.monotonic() + 10
        while len(pids) < 2 and time.monotonic() < deadline:
            with httpx.Client(http2=True, verify=trust(ca), timeout=10) as client:
                pids.add(client.get(url + "/healthz").json()["worker"]["pid"])
        assert len(pids) == 2
        with httpx.Client(http2=True, verify=trust(ca), timeout=10) as client:
            assert client.get(url + "/tls/seg.ts").headers["x-cache"] == "Miss from iad"

        async def over_h3() -> tuple[str, int, str]:
            async with h3_connect("127.0.0.1", https_port, ca, "localhost") as h3:
                got = await h3.get(f"localhost:{https_port}", "/tls/seg.ts")
                return h3.alpn, got.status, got.headers["x-cache"]

        assert asyncio.run(over_h3()) == ("h3", 200, "Hit from iad")
        assert origin.count("/tls/seg.ts") == 1
