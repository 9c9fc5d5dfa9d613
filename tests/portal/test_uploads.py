"""Uploads from the browser stream through the portal to a healthy origin with the admin token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from portal.app import MULTIPART_OVERHEAD, create_app
from streaming.config import Distribution
from tests.factories import TOKEN, distribution
from tests.limits import Untouched, chunks
from tests.portal.conftest import portal_client

pytestmark = pytest.mark.anyio
AUTH = {"authorization": f"Bearer {TOKEN}"}
DIST = distribution(regions=("us-east", "eu-west"))


class FakeOrigin:
    """Records what reaches `POST /videos` and answers like the real origin."""

    def __init__(self, status: int = 202, down: bool = False) -> None:
        self.status, self.down = status, down
        self.received: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("refused", request=request)
        if request.url.path == "/healthz":
            return httpx.Response(200, json={"status": "ok"})
        request.read()
        self.received.append(request)
        if self.status != 202:
            return httpx.Response(
                self.status, json={"error": "payload_too_large", "detail": "too big"}
            )
        return httpx.Response(
            202, json={"id": "vdddddddddddddddd", "status_url": "/videos/vdddddddddddddddd"}
        )


def app_with(
    us: FakeOrigin, eu: FakeOrigin, tmp_path: Path, dist: Distribution = DIST
) -> httpx.AsyncClient:
    us_url = dist.origins[0].url

    def route(request: httpx.Request) -> httpx.Response:
        return us(request) if str(request.url).startswith(us_url) else eu(request)

    return portal_client(create_app(dist, tmp_path, transport=httpx.MockTransport(route)))


async def test_upload_is_forwarded_with_the_admin_token(tmp_path: Path) -> None:
    """The multipart body arrives intact at the origin, which gets the bearer token; 202 relayed."""
    us, eu = FakeOrigin(), FakeOrigin()
    async with app_with(us, eu, tmp_path) as client:
        answer = await client.post(
            "/api/videos", files={"file": ("clip.mp4", b"\x00video" * 1000)}, headers=AUTH
        )
    assert answer.status_code == 202
    assert answer.json() == {
        "id": "vdddddddddddddddd",
        "status_url": "/api/videos/vdddddddddddddddd",
        "region": "us-east",
    }
    (sent,) = us.received
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert b"\x00video" * 1000 in sent.content and b'filename="clip.mp4"' in sent.content
    assert eu.received == []


async def test_a_dead_primary_sends_the_upload_to_the_next_region(tmp_path: Path) -> None:
    """The first healthy origin takes the upload; the answer names its region."""
    us, eu = FakeOrigin(down=True), FakeOrigin()
    async with app_with(us, eu, tmp_path) as client:
        answer = await client.post("/api/videos", files={"file": ("c.mp4", b"x")}, headers=AUTH)
    assert answer.status_code == 202 and answer.json()["region"] == "eu-west"


@pytest.mark.parametrize(
    ("kwargs", "status", "reason"),
    [
        ({"files": {"file": ("c.mp4", b"x")}}, 401, "admin token is required"),
        (
            {"files": {"file": ("c.mp4", b"x")}, "headers": {"authorization": "Bearer wrong"}},
            403,
            "not valid",
        ),
        (
            {"content": b"raw", "headers": {**AUTH, "content-type": "video/mp4"}},
            400,
            "multipart/form-data",
        ),
    ],
)
async def test_bad_uploads_are_refused_before_any_origin_sees_them(
    tmp_path: Path, kwargs: dict[str, object], status: int, reason: str
) -> None:
    """No token, a wrong token, or a non-multipart body: a clear 4xx, nothing forwarded."""
    us, eu = FakeOrigin(), FakeOrigin()
    async with app_with(us, eu, tmp_path) as client:
        answer = await client.post("/api/videos", **kwargs)  # type: ignore[arg-type]
    assert answer.status_code == status and reason in answer.json()["detail"]
    assert us.received == eu.received == []


async def test_origin_refusals_are_relayed(tmp_path: Path) -> None:
    """An origin's 413 reaches the browser with the origin's reason."""
    async with app_with(FakeOrigin(status=413), FakeOrigin(), tmp_path) as client:
        answer = await client.post("/api/videos", files={"file": ("c.mp4", b"x")}, headers=AUTH)
    assert answer.status_code == 413 and answer.json()["detail"] == "too big"


async def test_no_origin_reachable_is_a_503(tmp_path: Path) -> None:
    """With every region down the upload is refused at once with a reason."""
    async with app_with(FakeOrigin(down=True), FakeOrigin(down=True), tmp_path) as client:
        answer = await client.post("/api/videos", files={"file": ("c.mp4", b"x")}, headers=AUTH)
    assert answer.status_code == 503 and "no origin is reachable" in answer.json()["detail"]


@pytest.mark.parametrize("token", [None, "Bearer wrong"])
async def test_an_upload_without_the_token_is_never_read(tmp_path: Path, token: str | None) -> None:
    """The token is checked before a byte of the body is asked for; nothing reaches an origin."""
    us, eu = FakeOrigin(), FakeOrigin()
    body = Untouched(b"--x\r\nnot really multipart")
    headers = {"content-type": "multipart/form-data; boundary=x"}
    if token:
        headers["authorization"] = token
    async with app_with(us, eu, tmp_path) as client:
        answer = await client.post("/api/videos", content=body, headers=headers)
    assert answer.status_code == (403 if token else 401)
    assert not body.read and us.received == eu.received == []


async def test_an_upload_over_the_origins_limit_is_413_declared_or_chunked(
    tmp_path: Path,
) -> None:
    """Beyond the origin's max_upload_bytes (plus multipart framing): refused by Content-Length
    before any origin is asked, and cut off by counting when the body is chunked."""
    dist = distribution(regions=("us-east", "eu-west"), origin={"max_upload_bytes": 1000})
    limit = 1000 + MULTIPART_OVERHEAD
    us, eu = FakeOrigin(), FakeOrigin()
    multipart = {**AUTH, "content-type": "multipart/form-data; boundary=x"}
    async with app_with(us, eu, tmp_path, dist) as client:
        declared = await client.post("/api/videos", content=b"x" * (limit + 1), headers=multipart)
        streamed = await client.post("/api/videos", content=_aiter(limit + 1), headers=multipart)
        fits = await client.post("/api/videos", files={"file": ("c.mp4", b"x")}, headers=AUTH)
    assert declared.status_code == streamed.status_code == 413
    assert f"limit of {limit} bytes" in declared.json()["detail"]
    assert fits.status_code == 202
    assert len(us.received) == 1  # only the upload that fits reached an origin


async def _aiter(total: int) -> AsyncIterator[bytes]:
    for chunk in chunks(total, 16 * 1024):
        yield chunk
