"""origin.dispatch: an origin on a queue engine enqueues a job once, follows the workers'
ledger into its job table, and fails a job whose upload is gone (embedded engine, fake bucket);
an embedded origin with `chunked` runs the packagers' job code itself."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from media.samples import make_clip
from origin.dispatch import Dispatcher
from origin.jobs import JobStore, State
from origin.queue import Delivery, Kind, Task, open_engine
from streaming.config import QueueSettings
from tests.helpers import AUTH
from tests.origin.conftest import OriginFactory

pytestmark = pytest.mark.anyio


class Bucket:
    """Keeps what the origin puts for the workers, as the S3 store would."""

    def __init__(self) -> None:
        self.sources: dict[str, bytes] = {}

    async def put_upload(self, video_id: str, source: Path) -> None:
        self.sources[video_id] = source.read_bytes()

    async def delete_upload(self, video_id: str) -> None:
        self.sources.pop(video_id, None)


async def test_a_job_is_dispatched_once_and_followed_until_ready(tmp_path: Path) -> None:
    jobs, bucket = JobStore(tmp_path / "jobs.sqlite3"), Bucket()
    engine = open_engine(QueueSettings(), tmp_path)
    (tmp_path / "uploads").mkdir()
    (tmp_path / "uploads" / "v1.upload").write_bytes(b"source bytes")
    jobs.create("v1", "clip.mp4", 12, home="us-east")
    ready: list[str] = []

    async def on_ready(video_id: str) -> None:
        ready.append(video_id)

    dispatcher = Dispatcher(
        jobs, engine, tmp_path / "uploads", bucket, on_ready=on_ready, retain=0.5
    )
    await dispatcher.sync()
    await dispatcher.sync()  # dispatched already: no second plan task
    assert bucket.sources == {"v1": b"source bytes"}
    fields = await engine.ledger.read("v1")
    assert json.loads(fields["spec"])["filename"] == "clip.mp4"
    plan = await engine.queue.take("w1", 0)
    assert isinstance(plan, Delivery) and plan.task == Task("v1", Kind.PLAN)
    assert await engine.queue.take("w1", 0) is None

    await engine.ledger.update("v1", {"state": "packaging", "count": "2", "progress:0": "0.5"})
    await dispatcher.sync()
    job = jobs.get("v1")
    assert job is not None and job.state is State.PACKAGING and job.progress == 0.25
    assert [c["progress"] for c in await dispatcher.chunks("v1")] == [0.5, 0.0]

    await engine.ledger.update("v1", {"state": "ready"})
    await dispatcher.sync()
    job = jobs.get("v1")
    assert job is not None and job.state is State.READY and ready == ["v1"]
    assert not (tmp_path / "uploads" / "v1.upload").exists(), "the bucket keeps the original"
    assert len(await dispatcher.chunks("v1")) == 2, "the chunk list stays for a while"
    await asyncio.sleep(0.6)
    assert await engine.ledger.read("v1") == {}, "then the finished job's ledger expires"


async def test_a_job_whose_upload_is_gone_fails_with_the_reason(tmp_path: Path) -> None:
    jobs = JobStore(tmp_path / "jobs.sqlite3")
    engine = open_engine(QueueSettings(), tmp_path)
    jobs.create("v2", "clip.mp4", 12)
    dispatcher = Dispatcher(jobs, engine, tmp_path / "uploads", Bucket())
    await dispatcher.sync()
    job = jobs.get("v2")
    assert job is not None and job.state is State.FAILED and job.error == "the upload is missing"


async def settled(o: object, video_id: str) -> dict[str, object]:
    """GET /videos/{id} until the job is ready or failed (at most 60 s)."""
    client = o.client  # type: ignore[attr-defined]
    for _ in range(600):
        status: dict[str, object] = (await client.get(f"/videos/{video_id}", headers=AUTH)).json()
        if status["state"] in ("ready", "failed"):
            break
        await asyncio.sleep(0.1)
    return status


async def test_an_embedded_origin_with_chunked_runs_the_packagers_job_code(
    origin_app: OriginFactory, ffmpeg: str, tmp_path: Path
) -> None:
    """`[origin.queue] chunked = true` on the embedded engine: the origin's own workers run
    the tasks `streaming packager` runs, and serve the result from its store. An fMP4 upload,
    which the chunked path cannot make, is packaged whole by the same job code."""
    clip = await make_clip(ffmpeg, tmp_path / "c.mp4", seconds=8, width=426, height=240)
    settings = {
        "segment_duration": 2.0, "workers": 2, "queue": {"chunked": True, "chunk_seconds": 4},
        "ladder": [{"short_side": 240, "video_kbps": 300, "audio_kbps": 64}],
    }  # fmt: skip
    async with origin_app(origin=settings) as o:
        files = {"file": ("c.mp4", clip.read_bytes())}
        fmp4 = await o.client.post("/videos?container=fmp4", files=files, headers=AUTH)
        response = await o.client.post("/videos", files=files, headers=AUTH)
        video_id = response.json()["id"]
        status = await settled(o, video_id)
        assert status["state"] == "ready", status
        assert [c["state"] for c in status["chunks"]] == ["done", "done"]  # type: ignore[attr-defined]
        master = await o.client.get(f"/hls/{video_id}/master.m3u8", headers=AUTH)
        assert master.status_code == 200 and "#EXT-X-MEDIA:" in master.text
        media = await o.client.get(f"/hls/{video_id}/240p/index.m3u8", headers=AUTH)
        assert "#EXT-X-ENDLIST" in media.text and media.text.count("#EXTINF") == 4
        assert o.ctx.pool.source(video_id).exists(), "the embedded origin keeps its upload"

        whole_id = fmp4.json()["id"]
        whole = await settled(o, whole_id)
        assert whole["state"] == "ready" and "chunks" not in whole, whole
        media = await o.client.get(f"/hls/{whole_id}/240p/index.m3u8", headers=AUTH)
        assert "#EXT-X-MAP:" in media.text and "#EXT-X-ENDLIST" in media.text
        mpd = await o.client.get(f"/hls/{whole_id}/manifest.mpd", headers=AUTH)
        assert mpd.status_code == 200 and "<MPD" in mpd.text
