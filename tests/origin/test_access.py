"""Origin access control: one gate in front of every route of the real origin app, before any
body is read; signed bodies must match their digest, every body has a limit."""

from __future__ import annotations

import hashlib
import re
import tempfile
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import BaseRoute, Route

from origin.app import create_app
from streaming import origin_access
from streaming.config import Secret
from tests.factories import distribution
from tests.helpers import AUTH
from tests.limits import Untouched, chunks
from tests.origin.conftest import OriginFactory, RunningOrigin

pytestmark = pytest.mark.anyio
SECRET = "origin-test-secret"
VIDEO = "vaaaaaaaaaaaaaaaa"
READS = {"GET", "HEAD"}


def oac(secret: str | None = SECRET, **origin: Any) -> dict[str, Any]:
    """Distribution overrides: one origin with (or without) an OAC secret, origin settings."""
    entry: dict[str, Any] = {"id": "us-east", "region": "us-east", "url": "http://127.0.0.1:9"}
    if secret is not None:
        entry["access_secret"] = secret
    return {"origins": [entry], "origin": {"segment_duration": 2.0, **origin}}


def flat(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    """Every route, with included routers opened (FastAPI keeps them as one entry; the origin
    includes its routers without a prefix)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        yield from flat(inner.routes) if inner is not None else (route,)


def route_table() -> list[tuple[str, str, bool]]:
    """(method, path template, is content) for every route of the real app but /healthz."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(distribution(**oac()), "us-east", Path(tmp), package=lambda *a: None)  # type: ignore[arg-type, return-value]
        app.state.ctx.jobs.close()
    return sorted(
        (method, route.path, route.endpoint.__module__ == "origin.delivery")
        for route in flat(app.routes)
        if isinstance(route, Route) and route.path != "/healthz"
        for method in route.methods or ()
    )


ROUTES = route_table()
IDS = [f"{method} {path}" for method, path, _ in ROUTES]
BODY_ROUTES = [(m, p, c) for m, p, c in ROUTES if m not in READS]


def concrete(template: str) -> str:
    """A path for a route template: a well-formed video id for each parameter, a file name for
    a `:path` one (so only the gate, never path validation, decides)."""
    return re.sub(r"\{\w+(:path)?\}", lambda m: "master.m3u8" if m.group(1) else VIDEO, template)


def signature(
    method: str, path: str, body: bytes = b"", secret: str = SECRET, digest: str | None = None
) -> dict[str, str]:
    content_sha256 = digest or hashlib.sha256(body).hexdigest()
    return origin_access.sign(Secret(secret), method, path, "iad", time.time(), content_sha256)


def refused(response: httpx.Response, method: str) -> bool:
    """401/403 with the reason in the body (HEAD answers carry no body)."""
    if response.status_code not in (401, 403):
        return False
    return method == "HEAD" or bool(response.json()["detail"])


def test_the_route_table_is_the_whole_origin() -> None:
    """The parametrization below really covers content, metadata and API routes."""
    paths = {path for _, path, _ in ROUTES}
    assert {"/videos", "/videos/{video_id}", "/live", "/hls/{video_id}/{relpath:path}",
            "/replicas/{video_id}/commit"} <= paths  # fmt: skip


@pytest.mark.parametrize(("method", "template", "content"), ROUTES, ids=IDS)
async def test_every_route_refuses_a_caller_without_credentials(
    origin_app: OriginFactory, method: str, template: str, content: bool
) -> None:
    """No signature and no token: 401/403 with a reason on content, metadata and API alike."""
    async with origin_app(**oac()) as o:
        response = await o.client.request(method, concrete(template))
    assert refused(response, method), (response.status_code, response.text)
    if content and method == "GET":
        assert response.json()["reason"] == "unsigned"


@pytest.mark.parametrize(("method", "template", "content"), ROUTES, ids=IDS)
async def test_a_forged_signature_or_a_wrong_token_is_refused_everywhere(
    origin_app: OriginFactory, method: str, template: str, content: bool
) -> None:
    """A signature by another secret is 403 `bad_signature` even beside the admin token; a
    wrong token is 403."""
    path = concrete(template)
    async with origin_app(**oac()) as o:
        forged = await o.client.request(
            method, path, headers={**AUTH, **signature(method, path, secret="other")}
        )
        wrong = await o.client.request(method, path, headers={"authorization": "Bearer nope"})
    assert forged.status_code == 403 and refused(forged, method)
    if method != "HEAD":
        assert forged.json()["reason"] == "bad_signature"
    assert wrong.status_code == 403 and refused(wrong, method)


@pytest.mark.parametrize(("method", "template", "content"), ROUTES, ids=IDS)
async def test_the_admin_token_passes_the_gate_and_a_signature_only_opens_content_reads(
    origin_app: OriginFactory, method: str, template: str, content: bool
) -> None:
    """The admin token reaches every route; an edge signature alone reaches the content routes'
    GET/HEAD and nothing else (401: the API and every write need the token)."""
    path = concrete(template)
    async with origin_app(**oac()) as o:
        admin = await o.client.request(method, path, headers=AUTH)
        edge = await o.client.request(method, path, headers=signature(method, path))
    assert admin.status_code not in (401, 403), admin.text
    if content and method in READS:
        assert edge.status_code not in (401, 403), edge.text
    else:
        assert edge.status_code == 401 and refused(edge, method), edge.text


async def test_without_an_access_secret_content_is_open_but_the_api_is_not(
    origin_app: OriginFactory,
) -> None:
    """OAC off (no access_secret): content reads are served to anyone; the job API still
    answers only the admin token."""
    async with origin_app(**oac(secret=None)) as o:
        content = await o.client.get(f"/hls/{VIDEO}/master.m3u8")
        listing = await o.client.get("/videos")
        status = await o.client.get(f"/videos/{VIDEO}")
        with_token = await o.client.get("/videos", headers=AUTH)
    assert content.status_code == 404  # past the gate: there is no such video
    assert listing.status_code == status.status_code == 401
    assert with_token.status_code == 200 and with_token.json() == {"videos": []}


@pytest.mark.parametrize(("method", "template", "content"), BODY_ROUTES, ids=str)
async def test_an_unauthenticated_body_is_never_read(
    origin_app: OriginFactory, method: str, template: str, content: bool
) -> None:
    """A malformed body (that would be a 400/422 once parsed) without the token gets 401 and is
    never asked for, with or without a valid edge signature."""
    path = concrete(template)
    async with origin_app(**oac()) as o:
        anonymous, signed = Untouched(b'{"files": [nope'), Untouched(b'{"files": [nope')
        plain = await o.client.request(method, path, content=anonymous)
        edge = await o.client.request(
            method, path, content=signed, headers=signature(method, path, b'{"files": [nope')
        )
    assert (plain.status_code, plain.json()["error"]) == (401, "unauthorized")
    assert (edge.status_code, edge.json()["error"]) == (401, "unauthorized")
    assert not anonymous.read and not signed.read


async def chunked(total: int, size: int = 700) -> AsyncIterator[bytes]:
    """A body without Content-Length: only counting can bound it."""
    for chunk in chunks(total, size):
        yield chunk


def multipart(data: bytes) -> tuple[bytes, dict[str, str]]:
    """A multipart upload body and its Content-Type, as a client would send them."""
    request = httpx.Request("POST", "http://o/videos", files={"file": ("clip.mp4", data)})
    return request.read(), {"content-type": request.headers["content-type"]}


def staged(o: RunningOrigin) -> list[Path]:
    return [p for p in o.ctx.intake.staging.rglob("*") if p.is_file()]


async def test_a_signed_body_must_match_its_digest_or_nothing_is_stored(
    origin_app: OriginFactory, clip: Path
) -> None:
    """Signed uploads, replica files and commits whose body is not the signed one: 403
    `body_mismatch`, and no file, no job; the same requests with the right digest go through."""
    body, headers = multipart(clip.read_bytes())
    other = hashlib.sha256(b"another body").hexdigest()
    commit = b'{"filename": "a.mp4", "size": 1, "files": []}'
    file_path, commit_path = f"/replicas/{VIDEO}/files/seg.ts", f"/replicas/{VIDEO}/commit"
    async with origin_app(**oac()) as o:
        answers = [
            await o.client.post(
                "/videos",
                content=body,
                headers={**AUTH, **headers, **signature("POST", "/videos", digest=other)},
            ),  # fmt: skip
            await o.client.put(
                file_path,
                content=b"segment",
                headers={**AUTH, **signature("PUT", file_path, digest=other)},
            ),  # fmt: skip
            await o.client.post(
                commit_path,
                content=commit,
                headers={**AUTH, **signature("POST", commit_path, digest=other)},
            ),  # fmt: skip
        ]
        for answer in answers:
            assert (answer.status_code, answer.json()["reason"]) == (403, "body_mismatch")
        assert not [p for p in o.ctx.pool.uploads_dir.rglob("*") if p.is_file()]
        assert not staged(o) and o.ctx.jobs.list() == []
        upload = await o.client.post(
            "/videos",
            content=body,
            headers={**AUTH, **headers, **signature("POST", "/videos", body)},
        )
        replica = await o.client.put(
            file_path,
            content=b"segment",
            headers={**AUTH, **signature("PUT", file_path, b"segment")},
        )
        assert upload.status_code == 202 and replica.status_code == 204
        assert [p.read_bytes() for p in staged(o)] == [b"segment"]


async def test_bodies_over_their_limit_are_413_declared_or_chunked(
    origin_app: OriginFactory,
) -> None:
    """API bodies past max_api_body_bytes, replica files and uploads past max_upload_bytes, and
    any GET body: 413 with the limit, whether declared up front or counted as chunks arrive."""
    commit_path, file_path = f"/replicas/{VIDEO}/commit", f"/replicas/{VIDEO}/files/seg.ts"
    async with origin_app(**oac(max_api_body_bytes=1000, max_upload_bytes=2000)) as o:
        answers = {
            "declared commit": await o.client.post(commit_path, content=b"{" * 1001, headers=AUTH),
            "chunked commit": await o.client.post(commit_path, content=chunked(5000),
                                                  headers=AUTH),
            "chunked file": await o.client.put(file_path, content=chunked(5000), headers=AUTH),
            "declared upload": await o.client.post(
                "/videos", content=b"x" * (2000 + 65 * 1024),
                headers={**AUTH, "content-type": "multipart/form-data; boundary=b"},
            ),
            "a GET body": await o.client.request("GET", "/videos", content=b"x", headers=AUTH),
        }  # fmt: skip
        for what, answer in answers.items():
            assert answer.status_code == 413, (what, answer.text)
            assert "limit" in answer.json()["detail"], what
        assert not staged(o) and o.ctx.jobs.list() == []
        small = await o.client.post(
            commit_path, content=b'{"filename": "a", "size": 1, "files": ["x.ts"]}', headers=AUTH
        )
        assert small.status_code == 404  # within the limit: parsed, then "missing 1 file"


async def test_a_malformed_commit_from_the_admin_is_a_400_with_the_field(
    origin_app: OriginFactory,
) -> None:
    """Once authenticated, a body that does not parse is a 400 naming the problem (not a 422)."""
    async with origin_app(**oac()) as o:
        response = await o.client.post(
            f"/replicas/{VIDEO}/commit", content=b'{"filename": "a"}', headers=AUTH
        )
    assert response.status_code == 400 and "size" in response.json()["detail"]
