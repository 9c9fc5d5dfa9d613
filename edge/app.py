"""The edge application: a lean ASGI entry that sends viewer paths straight to the pipeline.

Control paths (/healthz, /metrics, /admin/...) go to a small FastAPI app; everything else is a
viewer request handled on the raw ASGI channel, with no framework in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path

import httpx
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from edge.access_log import AccessLog
from edge.boundary import reachable
from edge.cache.disk import DiskCache
from edge.cache.memory import MemoryCache
from edge.cache.tiers import TieredCache
from edge.failover import Origins
from edge.fill import LiveTargets
from edge.forwarded import ViewerAddress
from edge.health import State, Transition
from edge.invalidation import ControlSync, Invalidator, applied_sequence
from edge.metrics import CONTENT_TYPE, EdgeMetrics
from edge.origin_auth import OriginSigning, origin_verify
from edge.pipeline import Pipeline
from edge.pop_fill import PopFills
from edge.ratelimit import SharedRateLimiter
from edge.worker import Siblings, Worker
from streaming import admin
from streaming.config import Distribution
from streaming.http import install_error_handler

CONTROL_PREFIXES = ("/healthz", "/metrics", "/admin/")
PUBLISH_WAIT = 0.05  # seconds a scrape waits for the sibling workers to publish

logger = logging.getLogger("edge.app")


class EdgeApp:
    """Control paths go to a FastAPI app; everything else is a viewer request, whose client
    address is resolved (trusted proxies, edge.forwarded) before the pipeline sees it."""

    def __init__(self, control: FastAPI, pipeline: Pipeline, address: ViewerAddress) -> None:
        self.control, self.pipeline, self.address = control, pipeline, address

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIXES):
            await self.control(scope, receive, send)
            return
        await self.pipeline(self.address.scope(scope), receive, send)


def create_app(
    dist: Distribution,
    pop: str,
    transport: httpx.AsyncBaseTransport | None = None,
    cache_dir: Path | None = None,
    access_log: str | None = None,
    worker: Worker | None = None,
) -> EdgeApp:
    """Build the edge for `pop`; `transport` lets tests put an origin app in-process.

    The disk tier lives in `cache_dir` (default `<edge.cache_dir>/<pop>`); `access_log`
    overrides the configured target ("-" for stdout, "" for none); `worker` says which of the
    POP's worker processes this is (edge.worker), when there are several.
    """
    edge = dist.edge_by_pop(pop)
    settings = dist.edge
    root = cache_dir or Path(settings.cache_dir) / pop
    worker = worker or Worker(root=root)
    client = httpx.AsyncClient(
        transport=transport,
        auth=OriginSigning(dist, edge),  # origin access control: every origin request is signed
        verify=origin_verify(
            dist.tls
        ),  # origin protocol policy: https:// origins checked against the CA
        limits=httpx.Limits(max_connections=settings.max_origin_fetches),
        follow_redirects=False,
    )
    # One client serves every viewer: a cookie one origin answer set must never ride along on
    # the next viewer's request, so its jar accepts nothing.
    client.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    applied = applied_sequence(root / "invalidation.seq")  # before the disk index loads
    cache = TieredCache(
        MemoryCache(settings.memory_cache_bytes), DiskCache(root, settings.disk_cache_bytes),
        settings.memory_object_bytes,
    )  # fmt: skip
    origins = Origins(dist, edge, client)
    log = AccessLog(settings.access_log if access_log is None else access_log)
    pipeline_ref: list[Pipeline] = []

    def snapshot() -> dict[str, object]:
        p = pipeline_ref[0]
        return {
            "cache": cache.stats(), "in_flight": origins.in_flight, "fills": len(p.collapser),
            "sequence": p.invalidator.sequence, "origins": origins.health.snapshot(),
        }  # fmt: skip

    shared_metrics = worker.directory / "metrics" if worker.shared else None
    metrics = EdgeMetrics(pop, snapshot, shared_metrics, worker.index)
    invalidator = Invalidator(cache, root / "invalidation.seq", metrics, applied)
    siblings = Siblings(worker)
    pop_fills = None
    if worker.shared:
        pop_fills = PopFills.open(worker.directory, cache.disk.tmp)
    pipeline = Pipeline(dist, edge, cache, origins, metrics, log, invalidator, pop=pop_fills)
    if worker.shared:
        pipeline.authorizer.limiter = SharedRateLimiter(worker.directory / "ratelimit.bin")
        _as_one_pop(siblings, cache, invalidator, origins, metrics, pipeline.lookup.filler.live)
    for finding in reachable(dist.behaviors):  # refused per request; said once at start
        logger.warning("%s", finding)
    pipeline_ref.append(pipeline)
    sync = None
    if dist.control is not None:
        sync = ControlSync(dist.control, dist.admin_token, pop, invalidator, client)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks: list[asyncio.Task[None]] = [asyncio.create_task(_flush_forever(log))]
        siblings.start()
        if worker.shared:
            tasks.append(asyncio.create_task(_publish_forever(metrics)))
        if worker.leads:  # once per POP: the siblings adopt its breakers' transitions
            origins.checker.start()  # active /healthz checks of every origin (and the shield)
        if sync is not None:
            # Every worker catches up on invalidations missed while down before it serves (a
            # sibling that served first would answer from the stale shared disk); one polls on.
            await sync.try_sync()
            if worker.leads:
                tasks.append(asyncio.create_task(sync.run()))
        yield
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        siblings.close()
        await origins.checker.close()
        await pipeline.collapser.drain()
        log.close()
        await client.aclose()

    control = FastAPI(title=f"edge {pop}", lifespan=lifespan, docs_url=None, redoc_url=None)
    install_error_handler(control)

    def require_admin(request: Request) -> None:
        admin.require_admin(request, dist.admin_token)

    @control.get("/healthz")
    async def healthz() -> dict[str, object]:
        return {
            "status": "ok", "role": "edge", "pop": edge.pop, "region": edge.region,
            "cache": cache.stats(), "invalidation_sequence": invalidator.sequence,
            "tier": edge.role, "origins": origins.health.snapshot(),
            "worker": {"index": worker.index, "count": worker.count, "pid": os.getpid()},
        }  # fmt: skip

    @control.get("/metrics")
    async def metrics_endpoint() -> Response:
        if worker.shared:  # the siblings publish their scrape-time values now
            siblings.tell("publish")
            await asyncio.sleep(PUBLISH_WAIT)
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @control.post("/admin/invalidations/sync")
    async def sync_now(request: Request) -> dict[str, object]:
        """The control plane's nudge: pull and apply new invalidations now."""
        require_admin(request)
        if sync is None:
            return {"sequence": invalidator.sequence, "control": None}
        await sync.sync()
        return {"sequence": invalidator.sequence}

    @control.post("/admin/cache/clear")
    async def clear(request: Request) -> dict[str, object]:
        """Drop every cached object of this POP (a local tool; use invalidations in general)."""
        require_admin(request)
        removed = cache.invalidate(lambda _entry: True)
        siblings.tell("clear")
        return {"removed": removed}

    return EdgeApp(control, pipeline, ViewerAddress(dist, edge))


def _as_one_pop(
    siblings: Siblings, cache: TieredCache, invalidator: Invalidator, origins: Origins,
    metrics: EdgeMetrics, live: LiveTargets,
) -> None:  # fmt: skip
    """Wire this worker to its siblings: what one applies or learns, the others do too."""
    cache.disk.shared = True
    cache.disk.on_change = lambda event, key: siblings.tell("disk", event=event, key=key)
    siblings.on("disk", lambda m: cache.noticed(str(m["event"]), str(m["key"])))
    invalidator.on_apply = lambda kind, fields: siblings.tell(kind, **fields)
    siblings.on(
        "invalidate", lambda m: invalidator.apply(list(m["paths"]), m["sequence"], announce=False)
    )
    siblings.on("forget", lambda m: invalidator.forget(m["key"], m["path"], announce=False))
    siblings.on("clear", lambda _m: cache.invalidate(lambda _entry: True))
    health = origins.health

    def moved(t: Transition) -> None:
        siblings.tell("health", origin=t.origin, state=t.new.value, reason=t.reason)

    health.on_move = moved
    siblings.on("health", lambda m: health.adopt(m["origin"], State(m["state"]), m["reason"]))
    siblings.on("publish", lambda _m: metrics.publish())
    live.on_note = lambda path, target: siblings.tell("live", path=path, target=target)
    siblings.on("live", lambda m: live.note(str(m["path"]), float(m["target"]), announce=False))


async def _publish_forever(metrics: EdgeMetrics) -> None:
    """A sibling scraped between nudges still sees this worker's values of the last second."""
    while True:
        metrics.publish()
        await asyncio.sleep(1.0)


async def _flush_forever(log: AccessLog) -> None:
    while True:
        await asyncio.sleep(0.5)
        with contextlib.suppress(OSError):
            log.flush()
