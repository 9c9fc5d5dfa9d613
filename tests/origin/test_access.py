"""Origin access control middleware: viewer content only for edge-signed requests."""

from __future__ import annotations

import time

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from origin.access import OriginAccess
from streaming import origin_access
from streaming.config import Secret

pytestmark = pytest.mark.anyio
SECRET = Secret("origin-secret")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def client(secret: Secret | None) -> httpx.AsyncClient:
    async def ok(request: object) -> PlainTextResponse:
        return PlainTextResponse("ok")

    paths = [
        "/hls/{p:path}",
        "/live/{p:path}",
        "/drm/{p:path}",
        "/thumbnails/{p:path}",
        "/healthz",
        "/videos",
    ]
    app = Starlette(routes=[Route(p, ok) for p in paths])
    wrapped = OriginAccess(app, secret)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=wrapped), base_url="http://origin")


@pytest.mark.parametrize(
    "path", ["/hls/v1/master.m3u8", "/live/news/1.ts", "/drm/v1/key", "/thumbnails/v1/t.jpg"]
)
async def test_viewer_content_needs_an_edge_signature(path: str) -> None:
    """Unsigned requests for content paths are 403 `unsigned`; the same request signed is served."""
    async with client(SECRET) as c:
        unsigned = await c.get(path + "?x=1")
        signed = await c.get(
            path + "?x=1",
            headers=origin_access.sign(SECRET, "GET", path + "?x=1", "iad", time.time()),
        )
        replayed_elsewhere = await c.get(
            path, headers=origin_access.sign(SECRET, "GET", path + "?x=1", "iad", time.time())
        )
    assert (unsigned.status_code, unsigned.json()["reason"]) == (403, "unsigned")
    assert signed.status_code == 200
    assert (replayed_elsewhere.status_code, replayed_elsewhere.json()["reason"]) == (
        403,
        "bad_signature",
    )


async def test_health_and_api_stay_open_and_no_secret_means_open() -> None:
    """/healthz and the job API keep their own checks; an origin without a secret serves anyone."""
    async with client(SECRET) as c:
        assert (await c.get("/healthz")).status_code == 200
        assert (await c.get("/videos")).status_code == 200
    async with client(None) as c:
        assert (await c.get("/hls/v1/master.m3u8")).status_code == 200


async def test_stale_signatures_are_refused() -> None:
    """A signature older than the skew window is 403 `stale` (a captured request cannot be replayed
    later).
    """
    async with client(SECRET) as c:
        old = origin_access.sign(SECRET, "GET", "/hls/a.ts", "iad", time.time() - 3600)
        response = await c.get("/hls/a.ts", headers=old)
    assert (response.status_code, response.json()["reason"]) == (403, "stale")
