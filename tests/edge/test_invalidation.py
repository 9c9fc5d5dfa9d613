"""Invalidation: path matching, applying to both tiers, and an edge that was down catching up."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from cli import app
from edge.cache import Entry
from edge.cache.disk import DiskCache
from edge.cache.memory import MemoryCache
from edge.cache.tiers import TieredCache
from edge.invalidation import Invalidator, applied_sequence, matcher
from edge.metrics import EdgeMetrics
from procs.supervisor import cli_argv, free_port
from streaming.errors import StreamingError
from tests.edge.stack import (
    AUTH,
    Answer,
    EdgeStack,
    ScriptedOrigin,
    edge_doc,
    edge_stack,
    wait_for,
)


def test_paths_match_exactly_or_by_trailing_wildcard() -> None:
    """`/a/b.ts` only itself; `/a/*` everything below; `/a*` also `/ab`; `/*` everything."""
    match = matcher(["/v/1/master.m3u8", "/v/2/*", "/img*"])
    assert (
        match("/v/1/master.m3u8") and not match("/v/1/master.m3u8x") and not match("/v/1/other.ts")
    )
    assert match("/v/2/a/b/seg.ts") and not match("/v/22/seg.ts")
    assert match("/img") and match("/img2/x.png") and not match("/images/x.png")
    assert matcher(["/*"])("/anything/at/all")


def entry(key: str, path: str, body: bytes = b"body") -> Entry:
    return Entry(key, path, 200, {"content-type": "video/mp2t"}, len(body), 0.0, 3600.0, body=body)


def test_apply_removes_from_both_tiers_and_remembers_the_sequence(tmp_path: Path) -> None:
    """Matching entries leave memory and disk; the last sequence survives a restart."""
    cache = TieredCache(MemoryCache(1 << 20), DiskCache(tmp_path, 1 << 20), 1 << 16)
    for key, path in (("a", "/v/1/a.ts"), ("b", "/v/1/b.ts?x"), ("c", "/v/2/c.ts")):
        cache.commit(entry(key, path.split("?")[0]), None)
    invalidator = Invalidator(cache, tmp_path / "seq", EdgeMetrics("iad", lambda: {}), 0)
    assert invalidator.apply(["/v/1/*"], sequence=7) == 2
    assert cache.get("a") is None and cache.get("b") is None and cache.get("c") is not None
    assert applied_sequence(tmp_path / "seq") == 7
    reopened = TieredCache(MemoryCache(1 << 20), DiskCache(tmp_path, 1 << 20), 1 << 16)
    assert reopened.get("a") is None and reopened.get("c") is not None


def test_a_fill_started_before_a_matching_invalidation_is_not_committed(tmp_path: Path) -> None:
    """invalidated_since tells the fill whose object was invalidated while it was in flight."""
    cache = TieredCache(MemoryCache(1 << 20), DiskCache(tmp_path, 1 << 20), 1 << 16)
    invalidator = Invalidator(cache, tmp_path / "seq", EdgeMetrics("iad", lambda: {}), 0)
    started = invalidator.generation
    invalidator.apply(["/v/1/*"])
    assert invalidator.invalidated_since(started, "/v/1/seg.ts")
    assert not invalidator.invalidated_since(started, "/v/2/seg.ts")
    assert not invalidator.invalidated_since(invalidator.generation, "/v/1/seg.ts")


# -- through the control plane, with real processes ----------------------------------------


@pytest.fixture(scope="module")
def stack(origin: ScriptedOrigin, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeStack]:
    doc = edge_doc(origin.url, pops=("iad", "fra"))
    doc["control"] = {"url": f"http://127.0.0.1:{free_port()}", "poll_interval": 0.5}
    with edge_stack(tmp_path_factory.mktemp("invalidation"), doc, control=True) as s:
        yield s


def status(stack: EdgeStack, batch_id: str) -> dict[str, object]:
    url = f"{stack.doc['control']['url']}/admin/invalidations/{batch_id}"
    return dict(httpx.get(url, headers=AUTH, timeout=5).json())


@pytest.mark.e2e
def test_invalidation_reaches_every_edge_and_one_that_was_down_when_it_returns(
    stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """fra is down when `/inv/*` is issued: iad drops its copy at once (InProgress for fra);
    fra applies it on its return (Completed) and serves a fresh Miss, not its stale disk copy."""
    origin.route(
        "/inv/a.ts",
        Answer(headers={"content-type": "video/mp2t", "cache-control": "max-age=3600"}, body=b"v1"),
    )
    origin.route(
        "/keep/b.ts",
        Answer(headers={"content-type": "video/mp2t", "cache-control": "max-age=3600"}, body=b"k"),
    )
    for pop in ("iad", "fra"):
        httpx.get(stack.url(pop) + "/inv/a.ts")
        httpx.get(stack.url(pop) + "/keep/b.ts")
    stack.stop_edge("fra")
    origin.route(
        "/inv/a.ts",
        Answer(headers={"content-type": "video/mp2t", "cache-control": "max-age=3600"}, body=b"v2"),
    )
    created = httpx.post(
        f"{stack.doc['control']['url']}/admin/invalidations",
        json={"paths": ["/inv/*"]},
        headers=AUTH,
    )
    assert created.status_code == 201
    batch_id = str(created.json()["id"])
    assert wait_for(
        lambda: status(stack, batch_id)["edges"] == {"iad": "Completed", "fra": "InProgress"}
    )
    assert status(stack, batch_id)["status"] == "InProgress"
    assert httpx.get(stack.url("iad") + "/inv/a.ts").content == b"v2"
    assert httpx.get(stack.url("iad") + "/keep/b.ts").headers["x-cache"] == "Hit from iad"
    stack.start_edge("fra")
    returned = httpx.get(stack.url("fra") + "/inv/a.ts")
    assert returned.content == b"v2" and returned.headers["x-cache"] == "Miss from fra"
    assert httpx.get(stack.url("fra") + "/keep/b.ts").headers["x-cache"] == "Hit from fra"
    assert wait_for(lambda: status(stack, batch_id)["status"] == "Completed")


@pytest.mark.e2e
def test_streaming_invalidate_command_waits_for_completion(
    stack: EdgeStack, origin: ScriptedOrigin
) -> None:
    """`streaming invalidate PATH --config FILE` creates the batch and reports it Completed."""
    origin.route(
        "/cli/x.ts",
        Answer(headers={"content-type": "video/mp2t", "cache-control": "max-age=3600"}, body=b"x"),
    )
    httpx.get(stack.url("iad") + "/cli/x.ts")
    done = subprocess.run(
        cli_argv("invalidate", "/cli/x.ts", "--config", str(stack.config), "--timeout", "10"),
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Completed" in done.stdout and "iad" in done.stdout and "fra" in done.stdout
    assert httpx.get(stack.url("iad") + "/cli/x.ts").headers["x-cache"] == "Miss from iad"
    bad = CliRunner().invoke(app, ["invalidate", "no-slash", "--config", str(stack.config)])
    assert isinstance(bad.exception, StreamingError) and "must start with /" in str(bad.exception)
