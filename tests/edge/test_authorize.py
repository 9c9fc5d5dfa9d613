"""Access control in the edge pipeline: checked before the cache, stripped before the origin."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from edge.app import create_app
from streaming import bearer, origin_access
from streaming.config import Secret
from streaming.errors import AccessDenied
from streaming.http import error_response
from streaming.policy import Policy
from tests.access import key_group, key_id, private_key, signer
from tests.factories import distribution

pytestmark = pytest.mark.anyio
SECRET = "origin-secret-for-tests"
CACHE_DIR = Path(".")  # set per test by the cache_dir fixture


class Origin:
    """An in-process ASGI origin that records what the edge sends and enforces the OAC signature."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, Headers]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        query = scope["query_string"].decode()
        self.seen.append((scope["method"], query, headers))
        target = scope["raw_path"].decode() + (f"?{query}" if query else "")
        try:
            origin_access.verify(Secret(SECRET), scope["method"], target, headers, time.time())
        except AccessDenied as exc:
            await error_response(exc)(scope, receive, send)
            return
        m3u8 = scope["path"].endswith(".m3u8")
        body = b"#EXTM3U\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-ENDLIST\n" if m3u8 else b"TS" * 100
        kind = "application/vnd.apple.mpegurl" if m3u8 else "video/mp2t"
        await Response(body, headers={"content-type": kind, "cache-control": "max-age=60"})(
            scope, receive, send
        )


def private_doc(**behavior: Any) -> dict[str, Any]:
    """A distribution whose /hls/* content needs keys of the `viewers` group; the rest is public."""
    dist = distribution(
        domain_names=["cdn.test", "*.cdn.test"],
        key_groups=[key_group("viewers", "alice", "bob")],
        behaviors=[
            {
                "path_pattern": "/hls/*",
                "target": "all",
                "trusted_key_groups": ["viewers"],
                **behavior,
            },
            {"path_pattern": "*", "target": "all"},
        ],
    )
    doc = dist.model_dump(mode="json")
    doc["origins"][0]["access_secret"] = SECRET
    return doc


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def origin() -> Origin:
    return Origin()


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: Path) -> None:
    """Every edge of a test keeps its disk tier under the test's tmp_path, never in the repo."""
    global CACHE_DIR
    CACHE_DIR = tmp_path / "edge-cache"


async def edge_client(
    doc: dict[str, Any], origin: Origin, base: str = "http://cdn.test"
) -> httpx.AsyncClient:
    from streaming.config import parse

    doc["edge"] = {**doc.get("edge", {}), "cache_dir": str(CACHE_DIR)}

    app = create_app(parse(doc), "iad", transport=httpx.ASGITransport(app=origin))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base)  # type: ignore[arg-type]


@pytest.fixture
async def client(origin: Origin) -> AsyncIterator[httpx.AsyncClient]:
    async with await edge_client(private_doc(), origin) as c:
        yield c


def hls_cookies(video: str = "v1", ttl: int = 600, name: str = "alice") -> dict[str, str]:
    """A Cookie header carrying custom-policy cookies for every file of `video`."""
    cookies = signer(name).cookies(Policy(f"http://cdn.test/hls/{video}/*", int(time.time()) + ttl))
    return as_header(cookies)


def as_header(cookies: dict[str, str]) -> dict[str, str]:
    return {"cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}


async def test_cookies_open_every_file_of_their_video_only(client: httpx.AsyncClient) -> None:
    """Custom-policy cookies for /hls/v1/* cover master, media playlist, segments and key only."""
    cookies = hls_cookies()
    for path in (
        "/hls/v1/master.m3u8",
        "/hls/v1/720p/index.m3u8",
        "/hls/v1/720p/seg_00001.ts",
        "/hls/v1/key.bin",
    ):
        response = await client.get(path, headers=cookies)
        assert response.status_code == 200, (path, response.text)
    outside = await client.get("/hls/v2/master.m3u8", headers=cookies)
    assert outside.status_code == 403
    assert outside.json()["reason"] == "resource_not_covered"
    assert outside.headers["x-cache"] == "Error from iad"


async def test_no_credentials_is_403_even_when_the_object_is_cached(
    client: httpx.AsyncClient,
) -> None:
    """Authorization runs before the cache lookup: a cached object is not served to an anonymous
    viewer.
    """
    assert (await client.get("/hls/v1/master.m3u8", headers=hls_cookies())).status_code == 200
    anonymous = await client.get("/hls/v1/master.m3u8")
    assert anonymous.status_code == 403 and anonymous.json()["reason"] == "missing"
    assert anonymous.headers["x-cache"] == "Error from iad"


async def test_signing_params_never_reach_origin_nor_split_the_cache(
    client: httpx.AsyncClient, origin: Origin
) -> None:
    """Two differently signed URLs for one object: one origin fetch without signing params, then a
    Hit.
    """
    first = signer("alice").signed_url(
        "http://cdn.test/hls/v1/a.ts?lang=en", expires=int(time.time()) + 60
    )
    second = signer("bob").signed_url(
        "http://cdn.test/hls/v1/a.ts?lang=en", expires=int(time.time()) + 90
    )
    one = await client.get(first.removeprefix("http://cdn.test"))
    two = await client.get(
        second.removeprefix("http://cdn.test"),
        headers={"authorization": "Bearer x", **hls_cookies()},
    )
    assert (one.status_code, two.status_code) == (200, 200)
    assert two.headers["x-cache"] == "Hit from iad"
    assert len(origin.seen) == 1
    _, query, headers = origin.seen[0]
    assert "Signature" not in query and "Key-Pair-Id" not in query and "Expires" not in query
    assert "cookie" not in headers and "authorization" not in headers
    assert headers["x-cdn-edge"] == "iad"


async def test_public_behaviors_need_no_credentials(client: httpx.AsyncClient) -> None:
    """Paths outside a restricted behavior are served to anyone."""
    assert (await client.get("/thumbnails/v1/poster.jpg")).status_code == 200


async def test_host_outside_the_domain_names_is_refused(origin: Origin) -> None:
    """Configured domain names (and wildcards) and the edge's own address are served; others get
    421 Misdirected Request (the viewer's connection reached a server not serving that name)."""
    doc = private_doc()
    for base, status in [
        ("http://cdn.test", 200), ("http://eu.cdn.test", 200), ("http://127.0.0.1:8201", 200),
        ("http://localhost", 200), ("http://evil.test", 421), ("http://cdn.test.evil", 421),
    ]:  # fmt: skip
        async with await edge_client(doc, origin, base) as c:
            response = await c.get("/thumbnails/x.jpg")
            assert response.status_code == status, base
    async with await edge_client(doc, origin, "http://evil.test") as c:
        assert (await c.get("/thumbnails/x.jpg")).json()["reason"] == "unknown_host"


async def test_viewer_protocol_policy_redirects_or_refuses_plain_http(origin: Origin) -> None:
    """redirect-to-https: 301 for GET/HEAD, 307 otherwise; https-only: 403 over HTTP, 200 over
    HTTPS.
    """
    async with await edge_client(
        private_doc(
            viewer_protocol_policy="redirect-to-https",
            allowed_methods=["GET", "HEAD", "OPTIONS", "POST"],
        ),
        origin,
    ) as c:
        get = await c.get("/hls/v1/master.m3u8?x=1")
        assert (get.status_code, get.headers["location"]) == (
            301,
            "https://cdn.test/hls/v1/master.m3u8?x=1",
        )
        assert get.headers["x-cache"] == "Redirect from iad"
        assert (await c.post("/hls/v1/master.m3u8")).status_code == 307
    async with await edge_client(private_doc(viewer_protocol_policy="https-only"), origin) as c:
        refused = await c.get("/hls/v1/master.m3u8")
        assert (refused.status_code, refused.json()["reason"]) == (403, "https_required")
    async with await edge_client(
        private_doc(viewer_protocol_policy="https-only"), origin, "https://cdn.test"
    ) as c:
        cookies = as_header(
            signer("alice").cookies(Policy("https://cdn.test/hls/v1/*", int(time.time()) + 60))
        )
        assert (await c.get("/hls/v1/master.m3u8", headers=cookies)).status_code == 200


async def test_rate_limit_answers_429_with_retry_after(origin: Origin) -> None:
    """Past the burst, a client gets 429 with Retry-After, and the origin is not bothered."""
    async with await edge_client(private_doc(rate_limit={"rate": 0.2, "burst": 3}), origin) as c:
        cookies = hls_cookies()
        statuses = [
            (await c.get("/hls/v1/master.m3u8", headers=cookies)).status_code for _ in range(5)
        ]
        limited = await c.get("/hls/v1/master.m3u8", headers=cookies)
    assert statuses == [200, 200, 200, 429, 429]
    assert limited.headers["retry-after"] == "5" and limited.headers["x-cache"] == "Error from iad"
    assert len(origin.seen) == 1


async def test_jwt_bearer_is_an_alternative_on_opted_in_behaviors(origin: Origin) -> None:
    """With jwt_bearer, an RS256 token from a trusted key opens the content; a forged one is 403."""
    token = bearer.issue(
        private_key("alice"), key_id("alice"), int(time.time()) + 60, "*://cdn.test/hls/*"
    )
    forged = bearer.issue(private_key("mallory"), key_id("alice"), int(time.time()) + 60)
    async with await edge_client(private_doc(jwt_bearer=True), origin) as c:
        assert (
            await c.get("/hls/v1/a.ts", headers={"authorization": f"Bearer {token}"})
        ).status_code == 200
        bad = await c.get("/hls/v1/a.ts", headers={"authorization": f"Bearer {forged}"})
        assert (bad.status_code, bad.json()["reason"]) == (403, "bad_signature")
    async with await edge_client(private_doc(), origin) as c:
        assert (
            await c.get("/hls/v1/a.ts", headers={"authorization": f"Bearer {token}"})
        ).status_code == 403


async def test_oversized_url_and_headers_get_414_and_431(client: httpx.AsyncClient) -> None:
    """The request-size limits answer before any other work."""
    assert (await client.get("/hls/v1/" + "a" * 9000)).status_code == 414
    assert (await client.get("/hls/v1/a.ts", headers={"x-big": "b" * 21000})).status_code == 431


async def test_geo_and_firewall_rules_refuse_with_reasons(origin: Origin) -> None:
    """A deny-listed country (header from a trusted proxy) and a denied path are 403 with their
    reasons; without trusted proxies the header is not believed."""
    doc = private_doc()
    doc["geo_restriction"] = {
        "mode": "deny",
        "countries": ["US"],
        "country_header": "CloudFront-Viewer-Country",
    }
    doc["firewall"] = {"deny_paths": ["*.php"]}
    doc["trusted_proxies"] = ["127.0.0.1/32"]  # httpx's ASGITransport peer
    async with await edge_client(doc, origin) as c:
        geo = await c.get("/thumbnails/x.jpg", headers={"cloudfront-viewer-country": "US"})
        waf = await c.get("/index.php")
        ok = await c.get("/thumbnails/x.jpg", headers={"cloudfront-viewer-country": "DE"})
    assert (geo.status_code, geo.json()["reason"]) == (403, "geo_blocked")
    assert (waf.status_code, waf.json()["reason"]) == (403, "path_denied")
    assert ok.status_code == 200
    doc["trusted_proxies"] = []
    async with await edge_client(doc, origin) as c:
        spoofed = await c.get("/thumbnails/x.jpg", headers={"cloudfront-viewer-country": "US"})
    assert spoofed.status_code == 200
