"""The portal application: pages, the JSON API they use, the telemetry collector, demo controls.

The pages are static HTML in one shared layout (portal.pages) loading plain ES modules, no build
step; hls.js is served from the directory npm installed it into, never from a public CDN. Admin
routes (uploads, demo controls) check the token in a dependency before anything else; every body
is read with a limit, after that check (`streaming.bodies`): FastAPI would decode a pydantic body
parameter first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
from fastapi import Depends, FastAPI
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.staticfiles import StaticFiles

from portal import pages, uploads
from portal.catalog import Catalog
from portal.edges import edge_stats
from portal.login import login_router, signer_from_key_groups, signer_from_state
from portal.playback import playback
from portal.processes import DemoProcesses, Restarter, load_state
from portal.steer import steer
from portal.telemetry import MAX_BEACON_BYTES, PlayerMetrics, parse_beacon
from streaming.admin import admin_guard
from streaming.bodies import NO_BODY, bounded, read_body
from streaming.config import Distribution
from streaming.errors import BadRequest, NotFound
from streaming.http import install_error_handler

ACTIONS = ("kill", "pause", "restore")
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the file, as the origin allows


def create_app(
    dist: Distribution,
    vendor_dir: Path,
    state_path: Path | None = None,
    restarter: Restarter | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """Build the portal; `vendor_dir` holds hls.js, `state_path` enables the demo controls."""
    client = httpx.AsyncClient(transport=transport, follow_redirects=False)
    catalog = Catalog(dist, client)
    metrics = PlayerMetrics(tuple(e.pop for e in dist.pops))
    demo = DemoProcesses(state_path, restarter) if state_path is not None else None
    # The demo writes its signing key into the state file before it starts the portal;
    # elsewhere (docker-compose) the key lies beside the key group's public key.
    if state_path is not None:
        signer = signer_from_state(load_state(state_path))
    else:
        signer = signer_from_key_groups(dist)
    admin = [Depends(admin_guard(dist.admin_token))]
    upload_limit = dist.origin.max_upload_bytes + MULTIPART_OVERHEAD

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await client.aclose()
        if restarter is not None:
            # The server re-raises SIGTERM once the app has shut down, killing the process before
            # any code after it runs: processes restored by the demo controls are stopped here.
            await anyio.to_thread.run_sync(restarter.close)

    app = FastAPI(
        title="portal", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    install_error_handler(app)
    app.mount("/static", StaticFiles(directory=pages.WEB / "static"), name="static")
    app.mount("/vendor/hls", StaticFiles(directory=vendor_dir), name="hls")
    # Shaka Player for the DASH page, installed by npm beside hls.js (node_modules/*/dist).
    shaka = vendor_dir.parent.parent / "shaka-player" / "dist"
    app.mount("/vendor/shaka", StaticFiles(directory=shaka, check_dir=False), name="shaka")
    for route, (name, title) in pages.PAGES.items():
        page = pages.endpoint(pages.render(name, title))
        app.add_api_route(route, page, methods=["GET"], include_in_schema=False)
    if signer is not None:
        app.include_router(login_router(dist, signer))

    @app.get("/healthz")
    async def healthz() -> dict[str, object]:
        return {"status": "ok", "role": "portal"}

    @app.get("/api/config")
    async def config() -> dict[str, Any]:
        return {
            "name": dist.name,
            "edges": [{"pop": e.pop, "region": e.region, "url": e.viewer_url} for e in dist.pops],
            "origins": [{"region": o.region, "url": o.url} for o in dist.origins],
            "live": [
                {
                    "channel": c.name,
                    "path": f"/live/{c.name}/master.m3u8",
                    "low_latency": c.low_latency,
                }
                for c in dist.live_channels
            ],
            "login": {"url": "/api/login"} if signer is not None else None,
            "controls": demo is not None,
        }

    @app.get("/api/playback")
    async def stream(video: str | None = None, live: str | None = None) -> dict[str, object]:
        return playback(dist, video, live)

    @app.get("/api/steer")
    async def steering(region: str | None = None) -> dict[str, Any]:
        return await steer(dist, client, region)

    @app.get("/api/edges")
    async def edges() -> dict[str, Any]:
        return {"edges": await edge_stats(dist, client)}

    @app.get("/api/library")
    async def library() -> dict[str, Any]:
        return {"videos": await catalog.videos()}

    @app.get("/api/videos/{video_id}")
    async def video(video_id: str) -> dict[str, Any]:
        return await catalog.video(video_id)

    @app.post("/api/videos", dependencies=admin)
    async def upload(request: Request) -> JSONResponse:
        # Streamed through, never read here: the limit is checked as the origin is fed.
        body = bounded(request, upload_limit, "upload")
        origin = await catalog.upload_target()
        return await uploads.forward(body, client, origin, dist.admin_token)

    @app.post("/api/telemetry", status_code=204)
    async def telemetry(request: Request) -> Response:
        metrics.record(parse_beacon(await read_body(request, MAX_BEACON_BYTES, "beacon")))
        return Response(status_code=204)

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/api/demo/processes")
    async def processes() -> dict[str, Any]:
        return {"processes": _controls(demo).list()}

    @app.post("/api/demo/processes/{name}/{action}", dependencies=admin)
    async def control(name: str, action: str, request: Request) -> dict[str, Any]:
        await read_body(request, NO_BODY)  # takes no body; a client still may not send a large one
        if action not in ACTIONS:
            raise BadRequest(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
        status = await _controls(demo).act(name, action)  # type: ignore[arg-type]
        return {"name": name, "status": status.value}

    return app


def _controls(demo: DemoProcesses | None) -> DemoProcesses:
    if demo is None:
        raise NotFound("demo controls are off: start the portal with --state (streaming demo does)")
    return demo
