"""The edge application: a lean ASGI entry that sends viewer paths to the pipeline."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from edge.cache.memory import MemoryCache
from edge.origin_auth import OriginSigning
from edge.origins import Origins
from edge.pipeline import Pipeline
from streaming.config import Distribution
from streaming.http import install_error_handler

CONTROL_PREFIXES = ("/healthz", "/metrics", "/admin/")


class EdgeApp:
    """Control paths go to a FastAPI app; everything else is a viewer request."""

    def __init__(self, control: FastAPI, pipeline: Pipeline) -> None:
        self.control, self.pipeline = control, pipeline

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIXES):
            await self.control(scope, receive, send)
            return
        response = await self.pipeline.handle(Request(scope, receive))
        await response(scope, receive, send)


def create_app(
    dist: Distribution, pop: str, transport: httpx.AsyncBaseTransport | None = None
) -> EdgeApp:
    """Build the edge for `pop`; `transport` lets tests put an origin app in-process."""
    edge = dist.edge_by_pop(pop)
    client = httpx.AsyncClient(
        transport=transport,
        auth=OriginSigning(dist, edge),  # origin access control: every origin request is signed
        limits=httpx.Limits(max_connections=dist.edge.max_origin_fetches),
        follow_redirects=False,
    )
    cache = MemoryCache(dist.edge.memory_cache_bytes)
    pipeline = Pipeline(dist, edge, cache, Origins(dist, edge, client))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await client.aclose()

    control = FastAPI(title=f"edge {pop}", lifespan=lifespan, docs_url=None, redoc_url=None)
    install_error_handler(control)

    @control.get("/healthz")
    async def healthz() -> dict[str, object]:
        return {
            "status": "ok", "role": "edge", "pop": edge.pop, "region": edge.region,
            "cache": {"objects": len(cache), "bytes": cache.used},
        }  # fmt: skip

    return EdgeApp(control, pipeline)
