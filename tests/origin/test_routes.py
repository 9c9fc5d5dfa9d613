"""The admin API of one in-process origin with real ffmpeg: auth, limits, bad inputs, paths."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.helpers import AUTH
from tests.media import sources
from tests.origin.conftest import OriginFactory, RunningOrigin

pytestmark = pytest.mark.anyio


async def upload(o: RunningOrigin, file: Path, query: str = "") -> httpx.Response:
    return await o.client.post(
        f"/videos{query}", files={"file": (file.name, file.read_bytes())}, headers=AUTH
    )


async def settle(o: RunningOrigin, video_id: str, timeout: float = 30) -> dict[str, object]:
    """Wait until the job is ready or failed."""
    status: dict[str, object] = {}
    for _ in range(int(timeout / 0.05)):
        status = (await o.client.get(f"/videos/{video_id}", headers=AUTH)).json()
        if status["state"] in ("ready", "failed"):
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {video_id} did not settle: {status}")


async def test_upload_without_or_with_a_wrong_token_is_refused(
    origin_app: OriginFactory, clip: Path
) -> None:
    """No bearer → 401, a wrong one → 403; nothing is stored or queued."""
    async with origin_app() as o:
        files = {"file": ("c.mp4", clip.read_bytes())}
        missing = await o.client.post("/videos", files=files)
        wrong = await o.client.post(
            "/videos", files=files, headers={"authorization": "Bearer nope"}
        )
        assert (missing.status_code, missing.json()["error"]) == (401, "unauthorized")
        assert (wrong.status_code, wrong.json()["error"]) == (403, "forbidden")
        assert (await o.client.get("/videos", headers=AUTH)).json()["videos"] == []
        assert not list(o.ctx.pool.uploads_dir.glob("*"))


async def test_oversized_upload_gets_413_and_leaves_no_partial_file(
    origin_app: OriginFactory, clip: Path
) -> None:
    """Past max_upload_bytes the origin answers 413 and removes what it had written."""
    async with origin_app(origin={"segment_duration": 1.0, "max_upload_bytes": 50_000}) as o:
        response = await upload(o, clip)
        assert response.status_code == 413 and "limit" in response.json()["detail"]
        assert not [p for p in o.ctx.pool.uploads_dir.glob("*") if p.is_file()]
        assert (await o.client.get("/videos", headers=AUTH)).json()["videos"] == []


async def test_bad_inputs_fail_with_a_reason_and_the_origin_keeps_serving(
    origin_app: OriginFactory, bad_upload_files: dict[str, Path], clip: Path
) -> None:
    """Each non-video upload ends `failed` with a readable error; a good upload still packages."""
    async with origin_app() as o:
        ids = {}
        for kind, file in bad_upload_files.items():
            response = await upload(o, file)
            assert response.status_code == 202, kind
            ids[kind] = response.json()["id"]
        good = (await upload(o, clip)).json()["id"]
        for kind, video_id in ids.items():
            status = await settle(o, video_id)
            assert status["state"] == "failed", kind
            assert "video" in str(status["error"]) or "empty" in str(status["error"]), status
            assert (await o.client.get(f"/hls/{video_id}/master.m3u8")).status_code == 404
        assert (await settle(o, good))["state"] == "ready"
        assert (await o.client.get(f"/hls/{good}/master.m3u8")).status_code == 200


TRAVERSALS = [
    "/hls/{id}/..%2F..%2Fjobs.sqlite3",
    "/hls/{id}/%2e%2e/%2e%2e/jobs.sqlite3",
    "/hls/{id}/%2Fetc%2Fpasswd",
    "/hls/{id}//etc/passwd",
    "/hls/{id}/180p%2F..%2F..%2F..%2Fjobs.sqlite3",
    "/hls/{id}/_private/aes.key",
    "/hls/{id}/..%5C..%5Cjobs.sqlite3",
    "/hls/..%2Fjobs.sqlite3/master.m3u8",
    "/hls/%2Fetc/passwd",
    "/drm/..%2F..%2Fjobs.sqlite3/key",
    "/live/..%2F..%2Fjobs.sqlite3/master.m3u8",
    "/videos/..%2Fjobs.sqlite3",
]


async def test_path_traversal_is_rejected_everywhere(origin_app: OriginFactory, clip: Path) -> None:
    """Dot-dot, absolute, %2F-encoded and backslash paths never reach a file: 400 or 404."""
    async with origin_app() as o:
        video_id = (await upload(o, clip, "?encryption=aes-128")).json()["id"]
        assert (await settle(o, video_id))["state"] == "ready"
        for template in TRAVERSALS:
            path = template.format(id=video_id)
            response = await o.client.get(path, headers=AUTH)
            assert response.status_code in (400, 404), path
            assert b"SQLite" not in response.content and b"root:" not in response.content, path
        deleting = await o.client.request("DELETE", "/videos/..%2Fjobs.sqlite3", headers=AUTH)
        assert deleting.status_code in (400, 404)
        replica = await o.client.put(
            f"/replicas/{video_id}x/files/..%2F..%2Fevil", content=b"x", headers=AUTH
        )
        assert replica.status_code == 400
        assert (o.ctx.root / "jobs.sqlite3").exists()


async def test_delete_removes_the_video_and_its_files(
    origin_app: OriginFactory, clip: Path
) -> None:
    """DELETE /videos/{id} needs the admin token, then 204; its files and job are gone."""
    async with origin_app() as o:
        video_id = (await upload(o, clip)).json()["id"]
        await settle(o, video_id)
        assert (await o.client.delete(f"/videos/{video_id}")).status_code == 401
        assert (await o.client.delete(f"/videos/{video_id}", headers=AUTH)).status_code == 204
        assert (await o.client.get(f"/videos/{video_id}", headers=AUTH)).status_code == 404
        assert (await o.client.get(f"/hls/{video_id}/master.m3u8")).status_code == 404
        assert not o.ctx.work.work_dir(video_id).exists()
        assert not o.ctx.pool.source(video_id).exists()
        assert (await o.client.delete(f"/videos/{video_id}", headers=AUTH)).status_code == 404


async def test_direct_upload_is_not_offered_on_the_filesystem_backend(
    origin_app: OriginFactory,
) -> None:
    """POST /videos/uploads answers 404 with the reason, so clients fall back to POST /videos."""
    async with origin_app() as o:
        response = await o.client.post("/videos/uploads", headers=AUTH)
        assert response.status_code == 404 and "S3" in response.json()["detail"]


@pytest.fixture
def thirty_seconds(ffmpeg: str, tmp_path: Path) -> Path:
    return sources.clip(ffmpeg, tmp_path / "thirty.mp4", "640x360", seconds=30)


async def test_progress_rises_from_zero_to_one_while_packaging(
    origin_app: OriginFactory, thirty_seconds: Path
) -> None:
    """GET /videos/{id} reports progress strictly between 0 and 1 while packaging, then 1.0."""
    async with origin_app() as o:
        video_id = (await upload(o, thirty_seconds)).json()["id"]
        seen: list[float] = []
        for _ in range(600):
            status = (await o.client.get(f"/videos/{video_id}", headers=AUTH)).json()
            if status["state"] == "packaging":
                seen.append(float(status["progress"]))
            if status["state"] in ("ready", "failed"):
                break
            await asyncio.sleep(0.02)
        assert status["state"] == "ready" and status["progress"] == 1.0
        partial = [p for p in seen if 0 < p < 1]
        assert partial, seen
        assert partial == sorted(partial), "progress never goes backwards"
