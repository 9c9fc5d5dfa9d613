"""The demo login: cookies for one stream and a limited time, accepted by an edge's verifier."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from starlette.requests import Request

from portal.login import MAX_LOGIN_BYTES, login_router, signer_from_state
from streaming import keys
from streaming.config import Distribution
from streaming.errors import AccessDenied, ConfigError
from streaming.http import install_error_handler
from streaming.signing import SignedRequest, Verifier, credentials
from tests.access import key_group, key_id, private_key, ring, signer
from tests.factories import distribution
from tests.limits import Untouched

pytestmark = pytest.mark.anyio
NOW = 1_800_000_000
VERIFIER = Verifier(ring(key_group("viewers", "alice")))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def portal(dist: Distribution | None = None, **kw: object) -> httpx.AsyncClient:
    app = FastAPI()
    install_error_handler(app)
    app.include_router(
        login_router(dist or distribution(), signer("alice"), clock=lambda: NOW, **kw)
    )  # type: ignore[arg-type]
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8300"
    )


def edge_accepts(cookies: httpx.Cookies, url: str, now: float = NOW) -> str:
    """What an edge trusting `viewers` says to these cookies for `url`."""
    try:
        VERIFIER.verify(
            SignedRequest(url, "127.0.0.1", credentials({}, dict(cookies))), ("viewers",), now
        )
    except AccessDenied as exc:
        return exc.reason
    return "ok"


async def test_video_login_cookies_open_playlists_segments_and_key_of_that_video_only() -> None:
    """Cookies from POST /api/login cover /hls/<id>/* and /drm/<id>/key on any edge,
    nothing else.
    """
    async with portal() as client:
        response = await client.post("/api/login", json={"video": "v0123456789abcdef"})
    assert response.status_code == 200, response.text
    assert response.json()["expires"] == NOW + 3600
    set_cookie = response.headers.get_list("set-cookie")
    assert all("HttpOnly" in c and "SameSite=lax" in c and "Path=/" in c for c in set_cookie)
    jar = response.cookies
    for url in ("http://127.0.0.1:8201/hls/v0123456789abcdef/master.m3u8",
                "http://127.0.0.1:8202/hls/v0123456789abcdef/720p/seg_00001.ts",
                "http://127.0.0.1:8203/drm/v0123456789abcdef/key"):  # fmt: skip
        assert edge_accepts(jar, url) == "ok", url
    assert (
        edge_accepts(jar, "http://127.0.0.1:8201/hls/vfedcba9876543210/master.m3u8")
        == "resource_not_covered"
    )
    assert (
        edge_accepts(jar, "http://127.0.0.1:8201/hls/v0123456789abcdef/master.m3u8", NOW + 3600)
        == "expired"
    )


async def test_live_login_covers_the_channel_and_unknown_channels_are_404() -> None:
    """A live login signs /live/<channel>/*; a channel the distribution lacks is a 404."""
    dist = distribution(live_channels=[{"name": "news"}])
    async with portal(dist, ttl=60) as client:
        ok = await client.post("/api/login", json={"live": "news", "ttl": 100000})
        missing = await client.post("/api/login", json={"live": "sports"})
    assert ok.json()["expires"] == NOW + 60  # never longer than the portal's limit
    assert edge_accepts(ok.cookies, "http://127.0.0.1:8201/live/news/720p/index.m3u8") == "ok"
    assert missing.status_code == 404


async def test_bad_login_requests_are_4xx_with_reasons() -> None:
    """Both or neither stream, a malformed id or an entitlement refusal never yield cookies."""

    class Nobody:
        async def allowed(self, request: Request, stream: str) -> bool:
            return False

    async with portal() as client:
        both = await client.post("/api/login", json={"video": "v0123456789abcdef", "live": "x"})
        bad_id = await client.post("/api/login", json={"video": "../etc"})
    async with portal(entitlements=Nobody()) as client:
        refused = await client.post("/api/login", json={"video": "v0123456789abcdef"})
    assert (both.status_code, bad_id.status_code) == (400, 400)
    assert (refused.status_code, refused.json()["reason"]) == (403, "not_entitled")
    assert not refused.headers.get_list("set-cookie")


async def test_malformed_login_bodies_are_400_with_the_reason() -> None:
    """Broken JSON, a wrong type, a huge ttl: the project's 400 with what is wrong, no cookies."""
    async with portal() as client:
        broken = await client.post("/api/login", content=b'{"video": ')
        typed = await client.post("/api/login", json={"video": ["v0123456789abcdef"]})
        huge = await client.post("/api/login", json={"video": "v0123456789abcdef", "ttl": 10**40})
    for answer, reason in ((broken, "invalid login: Invalid JSON"), (typed, "video"),
                           (huge, "ttl")):  # fmt: skip
        assert answer.status_code == 400 and reason in answer.json()["detail"], answer.text
        assert answer.json()["error"] == "bad_request"
        assert not answer.headers.get_list("set-cookie")


async def test_login_and_logout_bodies_are_bounded() -> None:
    """Public, so strictly bounded: 413 by Content-Length and when a chunked body runs over."""
    async with portal() as client:
        declared = await client.post("/api/login", content=b" " * (MAX_LOGIN_BYTES + 1))
        chunked = await client.post("/api/login", content=Untouched(b" " * (MAX_LOGIN_BYTES + 1)))
        logout = await client.post("/api/logout", content=Untouched(b"x" * 5000))
        after = await client.post("/api/login", json={"video": "v0123456789abcdef"})
    assert declared.status_code == chunked.status_code == logout.status_code == 413
    assert f"limit of {MAX_LOGIN_BYTES} bytes" in declared.json()["detail"]
    assert after.status_code == 200


async def test_logout_expires_the_cookies() -> None:
    """POST /api/logout answers Set-Cookie headers that delete every CloudFront-* cookie."""
    async with portal() as client:
        response = await client.post("/api/logout")
    assert response.status_code == 204
    assert any(
        c.startswith("CloudFront-Policy=") and "Max-Age=0" in c
        for c in response.headers.get_list("set-cookie")
    )


def test_signer_comes_from_the_demo_state(tmp_path: Path) -> None:
    """The state's signing section (key id, private key path, hash) builds the portal's signer."""
    pem = tmp_path / "demo.pem"
    keys.write_private_key(private_key("alice"), pem)
    signer_ = signer_from_state(
        {"signing": {"key_pair_id": key_id("alice"), "private_key": str(pem), "hash": "SHA256"}}
    )
    assert (
        signer_ is not None and signer_.hash == "SHA256" and signer_.key_pair_id == key_id("alice")
    )
    assert signer_from_state({}) is None
    with pytest.raises(ConfigError, match="signing.private_key"):
        signer_from_state({"signing": {"key_pair_id": "K"}})


def test_without_a_demo_state_the_portal_signs_with_the_key_beside_the_public_one(
    tmp_path: Path,
) -> None:
    """docker-compose's layout: `secrets/viewers.pub.pem` with `viewers.pem` beside it."""
    from cli.keys import generate_pair
    from portal.login import signer_from_key_groups

    public, private = tmp_path / "viewers.pub.pem", tmp_path / "viewers.pem"
    generate_pair(private, public)
    group = {"id": "viewers", "keys": [{"id": "KCOMPOSE", "public_key": str(public)}]}
    dist = distribution(key_groups=[group])
    made = signer_from_key_groups(dist)
    assert made is not None and made.key_pair_id == "KCOMPOSE"
    private.unlink()
    assert signer_from_key_groups(dist) is None  # no private key: login stays off
