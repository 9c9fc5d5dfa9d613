"""Steering answers browsers like the edges do: the same CORS headers, the same preflights."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from steering.app import create_app
from tests.access import key_group
from tests.factories import distribution

pytestmark = pytest.mark.anyio
PLAYER, EVIL = "http://player.test", "http://evil.test"
MASTER = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=900000\n360p/index.m3u8\n"
MASTER_PATH = "/hls/v0123456789abcdef/master.m3u8"
ROUTES = (f"/steer{MASTER_PATH}", MASTER_PATH, "/steering.json", "/edges")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pop(request: httpx.Request) -> httpx.Response:
    """Every POP: healthy, and the master of any video."""
    if request.url.path == "/healthz":
        return httpx.Response(200, json={"status": "ok"})
    return httpx.Response(
        200, text=MASTER, headers={"content-type": "application/vnd.apple.mpegurl"}
    )


@pytest.fixture
async def steering() -> AsyncIterator[httpx.AsyncClient]:
    """HLS behind the `viewers` keys, everything else public; CORS for the player's site."""
    dist = distribution(
        key_groups=[key_group("viewers", "alice")],
        behaviors=[
            {"path_pattern": "/hls/*", "target": "all", "trusted_key_groups": ["viewers"]},
            {"path_pattern": "*", "target": "all"},
        ],
        cors={"allowed_origins": [PLAYER]},
        steering={"url": "http://127.0.0.1:9"},
    )
    app = create_app(dist, transport=httpx.MockTransport(pop))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as client,
    ):
        yield client


@pytest.mark.parametrize("path", ROUTES)
async def test_an_allowed_origin_gets_the_edges_cors_headers(
    steering: httpx.AsyncClient, path: str
) -> None:
    """Origin echoed, credentials allowed (the content is private), Vary: Origin; others nothing."""
    allowed = await steering.get(path, headers={"origin": PLAYER})
    refused = await steering.get(path, headers={"origin": EVIL})
    assert allowed.status_code == refused.status_code
    assert allowed.status_code in (200, 302)
    assert allowed.headers["access-control-allow-origin"] == PLAYER
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "x-cache" in allowed.headers["access-control-expose-headers"]
    assert "access-control-allow-origin" not in refused.headers
    assert "access-control-allow-credentials" not in refused.headers
    assert "Origin" in allowed.headers["vary"] and "Origin" in refused.headers["vary"]


async def test_a_redirect_to_public_content_allows_no_credentials(
    steering: httpx.AsyncClient,
) -> None:
    """Like the POP would for that path: credentials only where a behavior has trusted keys."""
    answer = await steering.get("/steer/posters/v1.jpg", headers={"origin": PLAYER})
    assert answer.status_code == 302
    assert answer.headers["access-control-allow-origin"] == PLAYER
    assert "access-control-allow-credentials" not in answer.headers


async def test_preflights_are_answered_like_the_edges(steering: httpx.AsyncClient) -> None:
    """204 with methods, headers and max-age for an allowed origin; 204 without them otherwise."""
    ask = {"access-control-request-method": "GET", "access-control-request-headers": "range"}
    allowed = await steering.options("/steering.json", headers={"origin": PLAYER, **ask})
    refused = await steering.options(MASTER_PATH, headers={"origin": EVIL, **ask})
    assert allowed.status_code == refused.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == PLAYER
    assert "GET" in allowed.headers["access-control-allow-methods"]
    assert "range" in allowed.headers["access-control-allow-headers"]
    assert allowed.headers["access-control-max-age"] == "600"
    assert not any(name.startswith("access-control-") for name in refused.headers)
