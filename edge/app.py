"""The edge application: a lean ASGI entry that sends viewer paths straight to the pipeline.

Control paths (/healthz, /metrics, /admin/...) go to a small FastAPI app; everything else is a
viewer request handled on the raw ASGI channel, with no framework in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
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
from edge.forwarded import ViewerAddress
from edge.invalidation import ControlSync, Invalidator
from edge.metrics import CONTENT_TYPE, EdgeMetrics
from edge.origin_auth import OriginSigning, origin_verify
from edge.pipeline import Pipeline
from streaming import admin
from streaming.config import Distribution
from streaming.http import install_error_handler

CONTROL_PREFIXES = ("/healthz", "/metrics", "/admin/")

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
) -> EdgeApp:
    """Build the edge for `pop`; `transport` lets tests put an origin app in-process.

    The disk tier lives in `cache_dir` (default `<edge.cache_dir>/<pop>`); `access_log`
    overrides the configured target ("-" for stdout, "" for none).
    """
    edge = dist.edge_by_pop(pop)
    settings = dist.edge
    root = cache_dir or Path(settings.cache_dir) / pop
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

    metrics = EdgeMetrics(pop, snapshot)
    invalidator = Invalidator(cache, root / "invalidation.seq", metrics)
    pipeline = Pipeline(dist, edge, cache, origins, metrics, log, invalidator)
    for finding in reachable(dist.behaviors):  # refused per request; said once at start
        logger.warning("%s", finding)
    pipeline_ref.append(pipeline)
    sync = None
    if dist.control is not None:
        sync = ControlSync(dist.control, dist.admin_token, pop, invalidator, client)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks: list[asyncio.Task[None]] = [asyncio.create_task(_flush_forever(log))]
        origins.checker.start()  # active /healthz checks of every origin (and the shield)
        if sync is not None:
            await sync.try_sync()  # catch up on invalidations missed while down, before serving
            tasks.append(asyncio.create_task(sync.run()))
        yield
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
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
        }  # fmt: skip

    @control.get("/metrics")
    async def metrics_endpoint() -> Response:
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
        return {"removed": removed}

    return EdgeApp(control, pipeline, ViewerAddress(dist, edge))


async def _flush_forever(log: AccessLog) -> None:
    while True:
        await asyncio.sleep(0.5)
        with contextlib.suppress(OSError):
            log.flush()
