"""origin.tasks and origin.task_worker in one process: a job split into plan, audio, chunks and
publish runs on two workers sharing the embedded (SQLite) engine, and a task that keeps
failing dead-letters its job with the reason."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import m3u8
import pytest

from media.packager import KEY_FILE
from media.samples import make_clip
from origin.queue import Engine, Kind, Task, open_engine
from origin.store.fs import FileStore
from origin.task_worker import TaskWorker
from origin.tasks import JobFields, JobRunner, LocalSources, Recipe
from streaming.config import LadderRung, QueueSettings
from tests.media.readback import decrypt, probe_segment

pytestmark = pytest.mark.anyio
LADDER = (LadderRung(short_side=240, video_kbps=300, audio_kbps=64),)


@pytest.fixture(scope="module")
def source(ffmpeg: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tasks") / "clip.mp4"
    return asyncio.run(make_clip(ffmpeg, out, seconds=12, width=426, height=240))


def playlist_seconds(store: FileStore, video_id: str, relpath: str) -> list[float]:
    """Durations of a media playlist's segments, each segment read back by libavformat."""
    path = store.work_dir(video_id) / relpath
    media = m3u8.loads(path.read_text())
    for segment in media.segments:
        probed = probe_segment(path.parent / str(segment.uri))
        assert probed.has_video or probed.has_audio
    assert media.is_endlist and media.playlist_type == "vod"
    return [float(s.duration) for s in media.segments]


async def run_until(engine: Engine, job: str, workers: list[TaskWorker], state: str) -> None:
    for worker in workers:
        await worker.start()
    try:
        for _ in range(600):
            if (await engine.ledger.read(job)).get(JobFields.STATE) == state:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"job {job} never became {state}: {await engine.ledger.read(job)}")
    finally:
        for worker in workers:
            await worker.stop()


async def test_two_workers_share_one_job_and_publish_a_whole_vod(
    ffmpeg: str, source: Path, tmp_path: Path
) -> None:
    engine = open_engine(QueueSettings(visibility_timeout=5), tmp_path)
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "vid1.upload").write_bytes(source.read_bytes())
    store = FileStore(tmp_path / "hls")
    recipe = Recipe(ffmpeg, segment_duration=2.0, chunk_seconds=4.0, ladder=LADDER)
    workers = [
        TaskWorker(
            engine,
            JobRunner(engine, store, LocalSources(uploads), recipe, tmp_path / f"scratch-{name}"),
            name,
            poll=0.1,
        )  # fmt: skip
        for name in ("a", "b")
    ]
    await engine.ledger.update("vid1", {"state": "queued", "spec": json.dumps({"size": 1})})
    await engine.queue.put([Task("vid1", Kind.PLAN)])
    await run_until(engine, "vid1", workers, "ready")

    fields = await engine.ledger.read("vid1")
    assert fields["count"] == "3"
    done_by = {json.loads(fields[f"chunk:{i}"])["worker"] for i in range(3)}
    assert done_by == {"a", "b"}, "both workers encoded chunks"
    master = m3u8.loads((store.work_dir("vid1") / "master.m3u8").read_text())
    video = playlist_seconds(store, "vid1", str(master.playlists[0].uri))
    audio = playlist_seconds(store, "vid1", str(master.media[0].uri))
    assert sum(video) == pytest.approx(12.0, abs=0.1)
    assert sum(audio) == pytest.approx(12.0, abs=0.2)
    manifest = json.loads((store.work_dir("vid1") / "video.json").read_text())
    assert manifest["id"] == "vid1" and manifest["duration"] == pytest.approx(12.0, abs=0.1)
    assert not list(store.work_dir("vid1").rglob("_private")), "no result file is servable"
    assert (store.work_dir("vid1") / "poster.jpg").is_file()
    assert (store.work_dir("vid1") / "thumbnails.vtt").is_file()
    assert (await engine.queue.depth()).queued == 0
    for worker in workers:  # the sources and scratch files of a finished job go
        await worker.runner.sweep()
        assert not (worker.runner.scratch / "vid1").exists()


async def test_a_task_failing_every_attempt_fails_its_job_with_the_reason(
    ffmpeg: str, tmp_path: Path
) -> None:
    engine = open_engine(QueueSettings(visibility_timeout=5, max_attempts=2), tmp_path)
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "bad1.upload").write_bytes(b"this is not a video")
    recipe = Recipe(ffmpeg, segment_duration=2.0, chunk_seconds=4.0, ladder=LADDER)
    runner = JobRunner(
        engine, FileStore(tmp_path / "hls"), LocalSources(uploads), recipe, tmp_path / "s"
    )
    await engine.ledger.update("bad1", {"state": "queued", "spec": "{}"})
    await engine.queue.put([Task("bad1", Kind.PLAN)])
    await run_until(engine, "bad1", [TaskWorker(engine, runner, "a", poll=0.1)], "failed")
    error = (await engine.ledger.read("bad1"))["error"]
    assert error.startswith("plan failed after 2 attempts: ")
    assert len(await engine.queue.dead_letters()) == 1


async def test_an_aes_128_job_encrypts_every_part_with_one_key_in_the_store(
    ffmpeg: str, source: Path, tmp_path: Path
) -> None:
    engine = open_engine(QueueSettings(visibility_timeout=5), tmp_path)
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "aes1.upload").write_bytes(source.read_bytes())
    store = FileStore(tmp_path / "hls")
    recipe = Recipe(ffmpeg, segment_duration=2.0, chunk_seconds=4.0, ladder=LADDER)
    runner = JobRunner(engine, store, LocalSources(uploads), recipe, tmp_path / "s")
    spec = json.dumps({"encryption": "aes-128"})
    await engine.ledger.update("aes1", {"state": "queued", "spec": spec})
    await engine.queue.put([Task("aes1", Kind.PLAN)])
    await run_until(engine, "aes1", [TaskWorker(engine, runner, "a", poll=0.1)], "ready")

    root = store.work_dir("aes1")
    key = (root / KEY_FILE).read_bytes()
    assert len(key) == 16
    master = m3u8.loads((root / "master.m3u8").read_text())
    for uri in [str(master.playlists[0].uri), str(master.media[0].uri)]:
        media = m3u8.loads((root / uri).read_text())
        assert media.keys[0] is not None and media.keys[0].uri == "/drm/aes1/key"
        segment = media.segments[-1]
        data = (root / uri).parent.joinpath(str(segment.uri)).read_bytes()
        number = int(str(segment.uri).removeprefix("seg_").removesuffix(".ts"))
        iv = number.to_bytes(16, "big")
        assert data[:1] != b"\x47", "encrypted: no TS sync byte"
        probed = probe_segment(decrypt(data, key, iv))
        assert probed.has_video if uri == str(master.playlists[0].uri) else probed.has_audio
