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
from tests.origin.test_worker import ffmpeg_pids_under

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


async def test_a_whole_job_packages_in_one_process_and_publishes_the_manifest_last(
    ffmpeg: str, source: Path, tmp_path: Path
) -> None:
    """Without chunking (the embedded default) the plan queues one `whole` task: the ladder in
    one ffmpeg process with the audio muxed in and 1 s startup segments (fMP4 whole jobs:
    tests/origin/test_dispatch.py)."""
    engine = open_engine(QueueSettings(visibility_timeout=5), tmp_path)
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "vid2.upload").write_bytes(source.read_bytes())
    store = FileStore(tmp_path / "hls")
    recipe = Recipe(ffmpeg, segment_duration=2.0, chunk_seconds=4.0, ladder=LADDER, chunked=False)
    worker = TaskWorker(
        engine, JobRunner(engine, store, LocalSources(uploads), recipe, tmp_path / "s"), "a",
        poll=0.1,
    )  # fmt: skip
    spec = {"size": 1, "container": "ts"}
    await engine.ledger.update("vid2", {"state": "queued", "spec": json.dumps(spec)})
    await engine.queue.put([Task("vid2", Kind.PLAN)])
    await run_until(engine, "vid2", [worker], "ready")

    fields = await engine.ledger.read("vid2")
    assert json.loads(fields["whole"])["state"] == "done" and fields["count"] == "0"
    master = m3u8.loads((store.work_dir("vid2") / "master.m3u8").read_text())
    assert not master.media, "the audio is muxed into the rung"
    durations = playlist_seconds(store, "vid2", str(master.playlists[0].uri))
    assert durations[0] == pytest.approx(1.0, abs=0.05), "startup segments for a fast start"
    assert sum(durations) == pytest.approx(12.0, abs=0.1)
    manifest = json.loads((store.work_dir("vid2") / "video.json").read_text())
    assert manifest["container"] == "ts" and manifest["duration"] == pytest.approx(12, abs=0.1)
    assert worker.stats.media_seconds == pytest.approx(12.0, abs=0.1)
    assert not (tmp_path / "s" / "vid2").exists(), "the worker dropped its scratch files"


async def test_a_deleted_whole_job_stops_its_ffmpeg_at_once_and_writes_nothing_more(
    ffmpeg: str, tmp_path: Path
) -> None:
    """Deleting a video that packages in this process: TaskWorker.cancel kills its ffmpeg and
    returns once it is dead; the task is acknowledged, never retried."""
    long = await make_clip(ffmpeg, tmp_path / "long.mp4", seconds=60, width=640, height=360)
    engine = open_engine(QueueSettings(visibility_timeout=30), tmp_path)
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "vid3.upload").write_bytes(long.read_bytes())
    work = FileStore(tmp_path / "hls")
    recipe = Recipe(ffmpeg, segment_duration=2.0, chunk_seconds=4.0, ladder=LADDER, chunked=False)
    runner = JobRunner(engine, work, LocalSources(uploads), recipe, tmp_path / "s", work=work)
    worker = TaskWorker(engine, runner, "a", poll=0.1)
    await engine.ledger.update("vid3", {"state": "queued", "spec": json.dumps({"size": 1})})
    await engine.queue.put([Task("vid3", Kind.PLAN)])
    await worker.start()
    try:
        for _ in range(300):
            fields = await engine.ledger.read("vid3")
            if float(fields.get("progress:whole", "0")) > 0.02:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"the whole task never got going: {fields}")
        assert ffmpeg_pids_under(tmp_path), "packaging into the work directory"
        await engine.ledger.update("vid3", {"state": "deleted"})
        await worker.cancel("vid3")
        assert not ffmpeg_pids_under(tmp_path), "cancel returns once its ffmpeg is gone"
        await asyncio.sleep(0.5)
        assert (await engine.queue.depth()).queued == 0 and worker.stats.failed == {}
        assert not (await engine.queue.depth()).running, "acknowledged, not handed back"
    finally:
        await worker.stop()


async def test_a_stopping_worker_gives_its_task_back_to_another_at_once(
    ffmpeg: str, tmp_path: Path
) -> None:
    """A worker stopped mid-task (a SIGTERMed packager) hands its lease back: another takes the
    task now, long before the 30 s visibility timeout."""
    long = await make_clip(ffmpeg, tmp_path / "long.mp4", seconds=60, width=640, height=360)
    engine = open_engine(QueueSettings(visibility_timeout=30), tmp_path)
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "vid4.upload").write_bytes(long.read_bytes())
    store = FileStore(tmp_path / "hls")
    recipe = Recipe(ffmpeg, segment_duration=2.0, chunk_seconds=4.0, ladder=LADDER, chunked=False)
    a, b = (
        TaskWorker(engine, JobRunner(engine, store, LocalSources(uploads), recipe, tmp_path / n),
                   n, poll=0.1)
        for n in ("a", "b")
    )  # fmt: skip
    await engine.ledger.update("vid4", {"state": "queued", "spec": json.dumps({"size": 1})})
    await engine.queue.put([Task("vid4", Kind.PLAN)])
    await a.start()
    try:
        for _ in range(300):
            if float((await engine.ledger.read("vid4")).get("progress:whole", "0")) > 0.02:
                break
            await asyncio.sleep(0.1)
        await a.stop()
        await b.start()
        for _ in range(100):  # 10 s
            record = json.loads((await engine.ledger.read("vid4")).get("whole", "{}"))
            if record.get("worker") == "b":
                break
            await asyncio.sleep(0.1)
        assert record == {"state": "running", "worker": "b"}, record
    finally:
        await a.stop()
        await b.stop()
