"""The S3 backend on a real SeaweedFS: ranged reads, a shared bucket, direct uploads, deletes."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
import m3u8
import pytest

from cli.upload import upload_file
from origin.store import MANIFEST_NAME
from origin.store.s3 import S3Store
from streaming.config import StorageSettings
from streaming.errors import NotFound
from tests.factories import TOKEN, distribution_doc
from tests.helpers import AUTH, wait_state
from tests.origin.conftest import OriginFactory, RunningOrigin, origin_processes
from tests.origin.seaweed import SeaweedFS
from tests.origin.test_routes import settle, upload

pytestmark = pytest.mark.anyio


def prefix() -> str:
    return f"t-{uuid.uuid4().hex[:12]}/"


def s3_doc(server: SeaweedFS, name: str, **origin: Any) -> dict[str, Any]:
    return {
        "regions": ("us-east", "eu-west"),
        "origin": {"segment_duration": 2.0, "storage": server.storage(name), **origin},
    }


async def every_path(o: RunningOrigin, video_id: str) -> list[str]:
    """Master, media playlists, segments, thumbnails and VTT of a ready video."""
    base = f"/hls/{video_id}"
    found = [
        f"{base}/master.m3u8",
        f"{base}/poster.jpg",
        f"{base}/thumbnails.jpg",
        f"{base}/thumbnails.vtt",
    ]
    master = m3u8.loads((await o.client.get(found[0])).text)
    for variant in master.playlists:
        found.append(f"{base}/{variant.uri}")
        media = m3u8.loads((await o.client.get(found[-1])).text)
        found += [f"{base}/{variant.uri.rsplit('/', 1)[0]}/{s.uri}" for s in media.segments]
    return found


async def test_store_reads_byte_ranges_with_ranged_gets(
    s3_server: SeaweedFS, tmp_path: Path
) -> None:
    """read(start, end) is one GetObject with Range, returning exactly those bytes; stat, delete."""
    store = S3Store(StorageSettings.model_validate(s3_server.storage(prefix())))
    await store.ensure_bucket()
    local = tmp_path / "v-range"
    (local / "360p").mkdir(parents=True)
    payload = bytes(range(256)) * 4096  # 1 MiB
    (local / "360p" / "seg_00000.ts").write_bytes(payload)
    (local / MANIFEST_NAME).write_text("{}")
    await store.publish("vrange", local)

    ranges: list[str | None] = []
    store.client.meta.events.register(
        "before-call.s3.GetObject",
        lambda params, **_: ranges.append(params["headers"].get("Range")),
    )
    chunks = [c async for c in store.read("vrange", "360p/seg_00000.ts", 1000, 1999)]
    assert b"".join(chunks) == payload[1000:2000]
    assert ranges == ["bytes=1000-1999"]

    stat = await store.stat("vrange", "360p/seg_00000.ts")
    assert stat.size == len(payload) and stat.etag.startswith('"')
    assert await store.files("vrange") == ["360p/seg_00000.ts", MANIFEST_NAME]
    await store.delete("vrange")
    assert await store.files("vrange") == []
    with pytest.raises(NotFound):
        await store.stat("vrange", "360p/seg_00000.ts")


async def test_regions_sharing_a_bucket_serve_identical_bytes_without_replicating(
    origin_app: OriginFactory, s3_server: SeaweedFS, clip: Path
) -> None:
    """A video packaged in us-east is ready in eu-west from the same bucket, byte for byte."""
    doc = s3_doc(s3_server, prefix())
    async with origin_app("us-east", **doc) as east, origin_app("eu-west", **doc) as west:
        video_id = (await upload(east, clip)).json()["id"]
        assert (await settle(east, video_id))["state"] == "ready"
        assert not east.ctx.work.work_dir(video_id).exists(), (
            "published to the bucket, not kept locally"
        )
        assert (await west.client.get(f"/videos/{video_id}", headers=AUTH)).json()[
            "state"
        ] == "ready"
        for path in await every_path(east, video_id):
            a, b = await east.client.get(path), await west.client.get(path)
            assert a.status_code == b.status_code == 200, path
            assert a.content == b.content and a.headers["etag"] == b.headers["etag"], path
        part = await west.client.get(
            f"/hls/{video_id}/thumbnails.jpg", headers={"range": "bytes=0-99"}
        )
        assert part.status_code == 206 and len(part.content) == 100
        assert not list((west.ctx.root / "staging").glob("*")), "nothing was replicated"

        assert (await east.client.delete(f"/videos/{video_id}", headers=AUTH)).status_code == 204
        assert await east.ctx.store.files(video_id) == []


async def test_direct_upload_goes_to_the_bucket_then_complete_packages_it(
    origin_app: OriginFactory, s3_server: SeaweedFS, clip: Path
) -> None:
    """POST /videos/uploads → PUT to the pre-signed URL → POST complete → ready; origin bypassed."""
    async with origin_app(**s3_doc(s3_server, prefix())) as o:
        offer = (await o.client.post("/videos/uploads?filename=clip.mp4", headers=AUTH)).json()
        video_id = offer["id"]
        assert offer["method"] == "PUT" and offer["expires_in"] == 60
        assert (
            await o.client.post(offer["complete_url"], headers=AUTH)
        ).status_code == 409  # nothing yet
        async with httpx.AsyncClient() as direct:
            put = await direct.put(offer["upload_url"], content=clip.read_bytes())
        assert put.status_code == 200
        assert not o.ctx.pool.source(video_id).exists()
        accepted = await o.client.post(offer["complete_url"], headers=AUTH)
        assert accepted.status_code == 202
        assert (await settle(o, video_id))["state"] == "ready"
        assert (await o.client.get(f"/hls/{video_id}/master.m3u8")).status_code == 200
        assert (await o.client.post(offer["complete_url"], headers=AUTH)).status_code == 409
        assert await o.ctx.uploads.upload_size(video_id) == clip.stat().st_size  # type: ignore[union-attr]


async def test_oversized_direct_upload_is_refused_at_complete(
    origin_app: OriginFactory, s3_server: SeaweedFS, clip: Path
) -> None:
    """A direct upload over max_upload_bytes gets 413 on complete and is deleted from the bucket."""
    async with origin_app(**s3_doc(s3_server, prefix(), max_upload_bytes=10_000)) as o:
        offer = (await o.client.post("/videos/uploads", headers=AUTH)).json()
        async with httpx.AsyncClient() as direct:
            assert (
                await direct.put(offer["upload_url"], content=clip.read_bytes())
            ).status_code == 200
        refused = await o.client.post(offer["complete_url"], headers=AUTH)
        assert refused.status_code == 413
        assert await o.ctx.uploads.upload_size(offer["id"]) is None  # type: ignore[union-attr]
        assert (await o.client.get(f"/videos/{offer['id']}", headers=AUTH)).json()[
            "state"
        ] == "failed"


def test_streaming_upload_uses_the_presigned_url_when_offered(
    s3_server: SeaweedFS, clip: Path, tmp_path: Path
) -> None:
    """`streaming upload --wait` against an S3 origin process uploads straight to the bucket."""
    doc = distribution_doc(origin={"segment_duration": 2.0, "storage": s3_server.storage(prefix())})
    url = doc["origins"][0]["url"]
    with origin_processes(tmp_path, doc):
        video_id = upload_file(clip, url, TOKEN, wait=True)
        assert wait_state(url, video_id)["state"] == "ready"
    uploads = tmp_path / "origin" / "us-east" / "uploads"
    leftovers = list(uploads.glob("*")) if uploads.exists() else []
    assert leftovers == [], "the file went to the bucket, not through the origin"
    store = S3Store(StorageSettings.model_validate(doc["origin"]["storage"]))
    assert asyncio.run(store.upload_size(video_id)) == clip.stat().st_size
