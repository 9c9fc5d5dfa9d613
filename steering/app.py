"""The steering service: redirect a viewer to the nearest healthy POP, or hand players pathways.

The steered master is fetched from a POP with the viewer's credentials (steering.credentials),
so private videos play through it, and a POP's refusal reaches the viewer as the POP said it.
Every response carries the edges' CORS headers (steering.cors).
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlencode

import httpx
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from steering.choose import healthy_first, rank, viewer_region
from steering.cors import SteeringCors
from steering.credentials import upstream
from steering.manifest import reload_uri, steered_master, steering_manifest
from steering.monitor import Monitor
from streaming import paths
from streaming.config import Distribution, Edge
from streaming.errors import ConfigError, OriginError, Unavailable
from streaming.geoip import MaxMindCountries
from streaming.http import install_error_handler

# What a POP's refusal keeps on its way to the viewer: its body's type, where it came from, and
# what a client acts on (a redirect's target, when to retry).
RELAYED = frozenset({"content-type", "x-cache", "x-edge-location", "x-request-id", "location",
                     "retry-after"})  # fmt: skip


def create_app(dist: Distribution, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """Build the steering service of `dist`; `transport` lets tests reach POPs in-process."""
    settings = dist.steering
    if settings is None:
        raise ConfigError("steering: the distribution has no [steering] section")
    # POPs over HTTPS are verified against the distribution's CA (the demo's local one).
    verify = ssl.create_default_context(cafile=dist.tls.ca_file) if dist.tls.ca_file else True
    client = httpx.AsyncClient(
        transport=transport, timeout=httpx.Timeout(2.0, connect=0.5), verify=verify
    )
    monitor = Monitor(dist.pops, settings, client)
    geoip = (
        MaxMindCountries(settings.geoip_database, "steering.geoip_database")
        if settings.geoip_database
        else None
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await monitor.check_once()
        monitor.start()
        yield
        await monitor.close()
        await client.aclose()

    app = FastAPI(title="steering", lifespan=lifespan, docs_url=None, redoc_url=None)
    install_error_handler(app)
    app.add_middleware(SteeringCors, dist=dist)
    app.state.monitor = monitor

    def candidates(request: Request) -> tuple[str | None, list[Edge]]:
        ip_country = geoip.country(request.client.host, {}) if geoip and request.client else None
        region = viewer_region(request.query_params, request.headers, settings, ip_country)
        return region, healthy_first(rank(dist.pops, region, settings), monitor.is_up)

    def nearest(request: Request) -> tuple[str | None, Edge]:
        region, edges = candidates(request)
        if not edges:
            raise Unavailable("no healthy edge POP right now")
        return region, edges[0]

    @app.get("/healthz")
    async def healthz() -> dict[str, object]:
        return {"status": "ok", "role": "steering", "pops": monitor.snapshot()}

    @app.get("/edges")
    async def edges(request: Request) -> dict[str, object]:
        """Healthy POPs for the viewer, nearest first (what a DNS answer would carry)."""
        region, found = candidates(request)
        return {
            "region": region,
            "edges": [{"pop": e.pop, "region": e.region, "url": e.viewer_url} for e in found],
        }

    @app.get("/steer/{path:path}")
    async def steer(path: str, request: Request) -> Response:
        """302 to the same path on the nearest healthy POP; 503 when every POP is down."""
        _, edge = nearest(request)
        query = urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "region"])
        location = f"{edge.viewer_url}/{path}" + (f"?{query}" if query else "")
        return RedirectResponse(location, status_code=302, headers={"Cache-Control": "no-store"})

    @app.get("/steering.json")
    async def manifest(request: Request) -> JSONResponse:
        """The HLS Content Steering manifest: only healthy POPs, nearest first."""
        region, found = candidates(request)
        body = steering_manifest(found, settings.manifest_ttl, reload_uri(settings.url, region))
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    @app.get("/hls/{video_id}/master.m3u8")
    async def master(video_id: str, request: Request) -> Response:
        """The master from the nearest healthy POP, one pathway per healthy POP."""
        region, found = candidates(request)
        if not found:
            raise Unavailable("no healthy edge POP right now")
        path = f"/hls/{paths.video_id(video_id)}/master.m3u8"
        peer = request.client.host if request.client else None
        viewer = upstream(dist, path, request.headers, request.url.query, peer)
        url = found[0].viewer_url + path + (f"?{viewer.query}" if viewer.query else "")
        try:
            answer = await client.get(url, headers=viewer.headers)
        except httpx.HTTPError as exc:
            raise OriginError(f"POP {found[0].pop} failed ({type(exc).__name__})") from None
        if answer.status_code != 200:
            relayed = {k: v for k, v in answer.headers.items() if k in RELAYED}
            return Response(
                answer.content, status_code=answer.status_code,
                headers={**relayed, "cache-control": "no-store"},
            )  # fmt: skip
        text = steered_master(answer.text, path, found, reload_uri(settings.url, region))
        return Response(
            text, media_type="application/vnd.apple.mpegurl", headers={"Cache-Control": "no-store"}
        )

    return app
