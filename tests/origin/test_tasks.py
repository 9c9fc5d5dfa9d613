"""origin.tasks and origin.task_worker in one process: a job split into plan, audio, chunks and
publish runs on two workers sharing the embedded (SQLite) engine, and a task that keeps
failing dead-letters its job with the reason."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
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


@pytest.fixture(scope="module")
def long_source(ffmpeg: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 s: still packaging when a test stops or deletes its job."""
    out = tmp_path_factory.mktemp("tasks") / "long.mp4"
    return asyncio.run(make_clip(ffmpeg, out, seconds=60, width=640, height=360))


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


@dataclass
class Queued:
    """A job queued on the embedded engine: its upload, the store, and workers built on them."""

    engine: Engine
    store: FileStore
    uploads: Path
    recipe: Recipe
    tmp: Path

    def worker(self, name: str, *, inside: bool = False) -> TaskWorker:
        """A worker with its own scratch directory; `inside`: as the origin runs it, whole
        jobs packaging into the store's directory (the origin's work directory)."""
        runner = JobRunner(
            self.engine, self.store, LocalSources(self.uploads), self.recipe,
            self.tmp / f"scratch-{name}", work=self.store if inside else None,
        )  # fmt: skip
        return TaskWorker(self.engine, runner, name, poll=0.1)


async def queued(
    ffmpeg: str, tmp_path: Path, job: str, upload: bytes, spec: dict[str, object],
    *, chunked: bool = True, visibility_timeout: float = 5, max_attempts: int = 3,
) -> Queued:  # fmt: skip
    """Queue `job`'s plan task, as the origin's dispatcher does."""
    settings = QueueSettings(visibility_timeout=visibility_timeout, max_attempts=max_attempts)
    engine = open_engine(settings, tmp_path)
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / f"{job}.upload").write_bytes(upload)
    recipe = Recipe(ffmpeg, segment_duration=2.0, chunk_seconds=4.0, ladder=LADDER,
                    chunked=chunked)  # fmt: skip
    await engine.ledger.update(job, {"state": "queued", "spec": json.dumps(spec)})
    await engine.queue.put([Task(job, Kind.PLAN)])
    return Queued(engine, FileStore(tmp_path / "hls"), uploads, recipe, tmp_path)


async def progress_past(engine: Engine, job: str, field: str, value: float) -> None:
    """Wait (at most 30 s) until the ledger's `field` of `job` is past `value`."""
    for _ in range(300):
        fields = await engine.ledger.read(job)
        if float(fields.get(field, "0")) > value:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{field} of {job} never passed {value}: {fields}")


async def test_two_workers_share_one_job_and_publish_a_whole_vod(
    ffmpeg: str, source: Path, tmp_path: Path
) -> None:
    q = await queued(ffmpeg, tmp_path, "vid1", source.read_bytes(), {"size": 1})
    engine, store, workers = q.engine, q.store, [q.worker("a"), q.worker("b")]
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
    q = await queued(ffmpeg, tmp_path, "bad1", b"this is not a video", {}, max_attempts=2)
    engine = q.engine
    await run_until(engine, "bad1", [q.worker("a")], "failed")
    error = (await engine.ledger.read("bad1"))["error"]
    assert error.startswith("plan failed after 2 attempts: ")
    assert len(await engine.queue.dead_letters()) == 1


async def test_an_aes_128_job_encrypts_every_part_with_one_key_in_the_store(
    ffmpeg: str, source: Path, tmp_path: Path
) -> None:
    q = await queued(ffmpeg, tmp_path, "aes1", source.read_bytes(), {"encryption": "aes-128"})
    store = q.store
    await run_until(q.engine, "aes1", [q.worker("a")], "ready")

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
    spec = {"size": 1, "container": "ts"}
    q = await queued(ffmpeg, tmp_path, "vid2", source.read_bytes(), spec, chunked=False)
    engine, store, worker = q.engine, q.store, q.worker("a")
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
    assert not (worker.runner.scratch / "vid2").exists(), "the worker dropped its scratch files"


async def test_a_deleted_whole_job_stops_its_ffmpeg_at_once_and_writes_nothing_more(
    ffmpeg: str, long_source: Path, tmp_path: Path
) -> None:
    """Deleting a video that packages in this process: TaskWorker.cancel kills its ffmpeg and
    returns once it is dead; the task is acknowledged, never retried."""
    q = await queued(ffmpeg, tmp_path, "vid3", long_source.read_bytes(), {}, chunked=False,
                     visibility_timeout=30)  # fmt: skip
    engine, worker = q.engine, q.worker("a", inside=True)
    await worker.start()
    try:
        await progress_past(engine, "vid3", "progress:whole", 0.02)
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
    ffmpeg: str, long_source: Path, tmp_path: Path
) -> None:
    """A worker stopped mid-task (a SIGTERMed packager) hands its lease back: another takes the
    task now, long before the 30 s visibility timeout."""
    q = await queued(ffmpeg, tmp_path, "vid4", long_source.read_bytes(), {}, chunked=False,
                     visibility_timeout=30)  # fmt: skip
    a, b = q.worker("a"), q.worker("b")
    await a.start()
    try:
        await progress_past(q.engine, "vid4", "progress:whole", 0.02)
        await a.stop()
        await b.start()
        for _ in range(100):  # 10 s
            record = json.loads((await q.engine.ledger.read("vid4")).get("whole", "{}"))
            if record.get("worker") == "b":
                break
            await asyncio.sleep(0.1)
        assert record == {"state": "running", "worker": "b"}, record
    finally:
        await a.stop()
        await b.stop()
