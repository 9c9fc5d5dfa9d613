"""Replica intake in-process: deleted videos stay deleted, this region's own videos cannot be
overwritten, a staged copy must match the sender's digest, the packaging region can correct a
copy that differs."""

from __future__ import annotations

from pathlib import Path

import pytest

from origin.inventory import digest
from origin.store.fs import FileStore
from tests.helpers import AUTH
from tests.origin.conftest import OriginFactory, RunningOrigin
from tests.origin.test_routes import settle, upload

pytestmark = pytest.mark.anyio

VIDEO = "v0000000000000abc"
FILES = {"master.m3u8": b"#EXTM3U\n", "360p/index.m3u8": b"#EXTM3U\n#EXT-X-ENDLIST\n",
         "360p/seg_00000.ts": b"G" * 188, "video.json": b"{}"}  # fmt: skip


async def sent_digest(tmp: Path, files: dict[str, bytes]) -> str:
    """The digest a sender holding `files` would send."""
    for relpath, body in files.items():
        (tmp / "sender" / VIDEO / relpath).parent.mkdir(parents=True, exist_ok=True)
        (tmp / "sender" / VIDEO / relpath).write_bytes(body)
    return await digest(FileStore(tmp / "sender"), VIDEO)


async def push(o: RunningOrigin, files: dict[str, bytes], digest_: str) -> int:
    """Send `files` and commit them as eu-west would; the commit's status."""
    for relpath, body in files.items():
        put = await o.client.put(f"/replicas/{VIDEO}/files/{relpath}", content=body, headers=AUTH)
        assert put.status_code == 204, put.text
    commit = {"filename": "c.mp4", "size": 1, "files": sorted(files), "home": "eu-west",
              "digest": digest_}  # fmt: skip
    response = await o.client.post(f"/replicas/{VIDEO}/commit", json=commit, headers=AUTH)
    return response.status_code


async def test_a_deleted_video_is_never_accepted_again(origin_app: OriginFactory) -> None:
    """A peer's delete tombstones the id even when the copy never arrived: a late push is 410."""
    async with origin_app() as o:
        assert (await o.client.delete(f"/replicas/{VIDEO}", headers=AUTH)).status_code == 404
        late = await o.client.put(f"/replicas/{VIDEO}/files/master.m3u8", content=b"x",
                                  headers=AUTH)  # fmt: skip
        assert late.status_code == 410 and "deleted" in late.json()["detail"]
        commit = {"filename": "c", "size": 1, "files": []}
        late = await o.client.post(f"/replicas/{VIDEO}/commit", json=commit, headers=AUTH)
        assert late.status_code == 410
        inventory = (await o.client.get("/replicas", headers=AUTH)).json()
        assert inventory["tombstones"] == [VIDEO] and inventory["region"] == "us-east"
        unknown = await o.client.get("/replicas?from=mars", headers=AUTH)
        assert unknown.status_code == 400 and "mars" in unknown.json()["detail"]


async def test_a_peer_cannot_overwrite_a_video_this_region_packaged(
    origin_app: OriginFactory, clip: Path
) -> None:
    async with origin_app() as o:
        video_id = (await upload(o, clip)).json()["id"]
        assert (await settle(o, video_id))["state"] == "ready"
        put = await o.client.put(f"/replicas/{video_id}/files/master.m3u8", content=b"#EXTM3U\n",
                                 headers=AUTH)  # fmt: skip
        assert put.status_code == 409 and "this region's own" in put.json()["detail"]


async def test_a_staged_copy_must_match_the_senders_digest(
    origin_app: OriginFactory, tmp_path: Path
) -> None:
    """Files left by a push that was cut short are dropped; a staged set that still differs
    from what the sender holds is refused, and nothing is published."""
    async with origin_app() as o:
        stray = await o.client.put(f"/replicas/{VIDEO}/files/720p/seg_00000.ts", content=b"old",
                                   headers=AUTH)  # fmt: skip
        assert stray.status_code == 204
        assert await push(o, FILES, await sent_digest(tmp_path, FILES)) == 204
        assert sorted(await o.ctx.store.files(VIDEO)) == sorted(FILES), "the stray is dropped"
        job = o.ctx.jobs.get(VIDEO)
        assert (
            job is not None
            and job.home == "eu-west"
            and job.digest == await digest(o.ctx.store, VIDEO)
        )
        other = "v0000000000000abd"
        commit = {"filename": "c", "size": 1, "files": ["master.m3u8"], "digest": "0" * 64}
        await o.client.put(f"/replicas/{other}/files/master.m3u8", content=b"x", headers=AUTH)
        refused = await o.client.post(f"/replicas/{other}/commit", json=commit, headers=AUTH)
        assert refused.status_code == 409 and "digest" in refused.json()["detail"]
        assert o.ctx.jobs.get(other) is None and await o.ctx.store.files(other) == []


async def test_the_packaging_region_replaces_a_copy_that_differs(
    origin_app: OriginFactory, tmp_path: Path
) -> None:
    """A second push with another digest replaces the replica whole; the same one is a no-op."""
    async with origin_app() as o:
        assert await push(o, FILES, await sent_digest(tmp_path / "a", FILES)) == 204
        fixed = {**FILES, "360p/index.m3u8": b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-ENDLIST\n"}
        del fixed["360p/seg_00000.ts"]
        assert await push(o, fixed, await sent_digest(tmp_path / "b", fixed)) == 204
        assert sorted(await o.ctx.store.files(VIDEO)) == sorted(fixed)
        served = await o.client.get(f"/hls/{VIDEO}/360p/index.m3u8")
        assert served.content == fixed["360p/index.m3u8"]
        assert await push(o, fixed, await sent_digest(tmp_path / "b", fixed)) == 204
