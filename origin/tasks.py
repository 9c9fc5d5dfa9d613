"""The job code: one video's packaging as tasks any worker may run (origin.queue delivers them).

    plan ──► whole (the ladder in one ffmpeg process, origin.whole_job; then the manifest)
         or
    plan ──► audio (once), thumbnails (once) ──┐
         └─► chunk 0..n-1 ─────────────────────┴─► (each in-order prefix: playlists grow)
                                                    ─► publish (VOD playlists, manifest)

The embedded default (an origin on its SQLite queue) runs this code in-process and packages
each upload whole; `[origin.queue] chunked`, and every queue engine, chunk TS uploads. A whole
task run inside the origin packages into the origin's work directory, where the video is
served as it grows; a packager worker's whole task publishes when done.

Every step is idempotent, because delivery is at-least-once. A chunk's or the audio's output is
encoded into a fresh scratch directory of this worker and put into the store only when whole;
its result (media.chunks.ChunkResult) is then recorded in the ledger, and that record is what
says the output is there. A task whose result is already recorded only re-runs the
publishing step. Playlists are rendered by media.chunks.stitch from the recorded results under
the job's publishing lock, so the playlists only ever grow, and each is replaced in one
object write (a reader never sees half a playlist). The manifest goes last: a store that holds
it holds the complete video.

The job's state lives in the ledger as string fields (`JobFields`); the origin reads them back
for GET /videos/{id}.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from media import chunks, ladder, packager
from media.packager import KEY_FILE, AesKey
from media.probe import MediaInfo, probe
from origin.queue import DeadLetter, Engine, Kind, Task
from origin.store import MANIFEST_NAME, Store
from origin.store.fs import FileStore
from origin.whole_job import PackageFn, ffmpeg_packager, key_uri, packs_whole
from streaming.config import LadderRung
from streaming.errors import NotFound, StreamingError
from streaming.hls import Container, Encryption

LOCK_SECONDS = 30.0  # a publishing step takes well under this; a killed holder's lock lapses
OVER = ("ready", "failed", "deleted")  # a job in one of these states runs no more tasks


class JobFields:
    """Names of the ledger fields of one job."""

    STATE, ERROR, INFO, COUNT, PUBLISHED, FINAL = (
        "state", "error", "info", "count", "published", "final",
    )  # fmt: skip
    SPEC = "spec"  # the origin's job record (filename, size, ...) for the manifest

    @staticmethod
    def step(kind: Kind, index: int = 0) -> str:
        return f"chunk:{index}" if kind is Kind.CHUNK else kind.value

    @staticmethod
    def progress(kind: Kind, index: int = 0) -> str:
        return f"progress:{index}" if kind is Kind.CHUNK else f"progress:{kind.value}"

    @staticmethod
    def result(kind: Kind, index: int = 0) -> str:
        return f"result:{index}" if kind is Kind.CHUNK else f"result:{kind.value}"


class Sources(Protocol):
    """Where uploads are: the bucket (origin.store.s3) or an origin's uploads directory."""

    async def download_upload(self, video_id: str, dest: Path) -> None: ...


class LocalSources:
    """Uploads in one directory (`<id>.upload`), for the embedded engine; a direct upload
    not fetched yet comes from the bucket (`direct`)."""

    def __init__(self, uploads_dir: Path, direct: Sources | None = None) -> None:
        self.uploads_dir, self._direct = uploads_dir, direct

    async def download_upload(self, video_id: str, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        local = self.uploads_dir / f"{video_id}.upload"
        if not local.exists() and self._direct is not None:
            await self._direct.download_upload(video_id, dest)
            return
        os.link(local, dest)


@dataclass(frozen=True, slots=True)
class Recipe:
    """How every job is packaged: the same on every worker, from the distribution file."""

    binary: str
    segment_duration: float
    chunk_seconds: float
    ladder: tuple[LadderRung, ...]
    chunked: bool = True  # TS uploads in chunks; False: every upload whole


@dataclass
class Step:
    """The task running now and how far it is, for the heartbeat to report."""

    task: Task
    worker: str
    progress: float = 0.0


async def add_files(store: Store, video_id: str, local_dir: Path) -> None:
    """Put every file of `local_dir` into the video's stored copy, each in one write, keeping
    what is there (Store.publish of the file store replaces the whole directory instead)."""
    if isinstance(store, FileStore):
        target = store.work_dir(video_id)
        for path in sorted(p for p in local_dir.rglob("*") if p.is_file()):
            dest = target / path.relative_to(local_dir)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, dest)
        return
    await store.publish(video_id, local_dir)  # S3: one PUT per file, nothing deleted


def chunk_state(state: str, worker: str, error: str = "") -> str:
    """A chunk's (or the audio's) ledger record: queued, running, retrying or done, by whom."""
    record = {"state": state, "worker": worker}
    return json.dumps({**record, "error": error} if error else record)


class JobRunner:
    """Runs the tasks of any job on this worker, with `scratch` as its local disk."""

    def __init__(
        self, engine: Engine, store: Store, sources: Sources, recipe: Recipe, scratch: Path,
        on_ready: Callable[[str], None] | None = None, *, work: FileStore | None = None,
        package: PackageFn | None = None,
    ) -> None:  # fmt: skip
        self.engine, self.store, self.sources, self.recipe = engine, store, sources, recipe
        self.scratch = scratch
        self._on_ready = on_ready
        # Inside an origin: its work directory, where a whole job packages (served as it grows).
        self._work = work
        self._package = package or ffmpeg_packager(
            recipe.binary, recipe.segment_duration, recipe.ladder
        )

    async def run(self, step: Step) -> None:
        """Run one delivered task to its end (or raise: the queue retries it)."""
        task = step.task
        fields = await self.engine.ledger.read(task.job)
        if _over(fields):
            return  # failed meanwhile, deleted, or a duplicate delivery of a finished job
        if task.kind is Kind.PLAN:
            await self._plan(task, fields)
        elif task.kind is Kind.WHOLE:
            await self._whole(step, fields)
        elif task.kind is Kind.PUBLISH:
            await self._finish(task.job, step.worker)
        else:
            await self._encode(step, fields)

    async def sweep(self) -> None:
        """Drop the scratch files (sources above all) of jobs that are over: the worker that
        ran `publish` dropped its own, the others keep theirs until this runs."""
        if not self.scratch.is_dir():
            return
        for folder in [p for p in self.scratch.iterdir() if p.is_dir()]:
            if await self.over(folder.name):
                await asyncio.to_thread(shutil.rmtree, folder, True)

    async def over(self, job: str) -> bool:
        """Whether `job` is ready, failed or deleted: its tasks have nothing left to do."""
        return _over(await self.engine.ledger.read(job))

    async def bury(self, letter: DeadLetter) -> None:
        """A task used up its attempts: its job fails with the reason."""
        reason = f"{letter.task.name} failed after {letter.attempts} attempts: {letter.reason}"
        await self.engine.ledger.update(
            letter.task.job, {JobFields.STATE: "failed", JobFields.ERROR: reason}
        )

    async def report(self, step: Step) -> None:
        """The heartbeat's progress report of a chunk or the audio (a field of its own: the
        step's state is the runner's alone to write, so a late report never undoes "done")."""
        if step.task.kind not in (Kind.PLAN, Kind.PUBLISH):
            key = JobFields.progress(step.task.kind, step.task.index)
            await self.engine.ledger.update(step.task.job, {key: f"{step.progress:.3f}"})

    async def _source(self, job: str) -> Path:
        """The job's source on this worker's disk, downloaded once per job."""
        path = self.scratch / job / "source"
        if not path.exists():
            partial = path.with_name(f"source.{os.getpid()}.{time.monotonic_ns()}")
            await self.sources.download_upload(job, partial)
            os.replace(partial, path)
        return path

    async def _plan(self, task: Task, fields: Mapping[str, str]) -> None:
        if JobFields.COUNT in fields:
            return  # planned by an earlier delivery
        source = await self._source(task.job)
        info = await asyncio.to_thread(probe, source)
        ladder.plan(info.display_width, info.display_height, info.frame_rate, self.recipe.ladder)
        await self._make_key(task.job, fields)
        container = json.loads(fields[JobFields.SPEC]).get("container", Container.TS.value)
        if packs_whole(self.recipe.chunked, container):
            await self.engine.ledger.update(
                task.job, {JobFields.INFO: json.dumps(asdict(info)), JobFields.STATE: "packaging",
                           JobFields.step(Kind.WHOLE): chunk_state("queued", "")},
            )  # fmt: skip
            await self.engine.queue.put([Task(task.job, Kind.WHOLE)])
            await self.engine.ledger.update(task.job, {JobFields.COUNT: "0"})
            return
        planned = chunks.plan(info, self.recipe.segment_duration, self.recipe.chunk_seconds)
        audio = bool(chunks.chunked_audio(info))
        # The audio and the thumbnails first: the playlists wait for the audio's.
        tasks = [Task(task.job, Kind.AUDIO)] if audio else []
        tasks += [Task(task.job, Kind.THUMBNAILS)]
        tasks += [Task(task.job, Kind.CHUNK, c.index) for c in planned]
        steps = {JobFields.step(Kind.CHUNK, c.index): chunk_state("queued", "") for c in planned}
        steps[JobFields.step(Kind.THUMBNAILS)] = chunk_state("queued", "")
        if audio:
            steps[JobFields.step(Kind.AUDIO)] = chunk_state("queued", "")
        await self.engine.ledger.update(
            task.job, {JobFields.INFO: json.dumps(asdict(info)), JobFields.STATE: "packaging",
                       **steps},
        )  # fmt: skip
        await self.engine.queue.put(tasks)
        # Written after the tasks exist: a plan killed in between is planned again (duplicate
        # chunk tasks are harmless, missing ones would never finish the job).
        await self.engine.ledger.update(task.job, {JobFields.COUNT: str(len(planned))})

    async def _make_key(self, job: str, fields: Mapping[str, str]) -> None:
        """An AES-128 video's key, made once: into the store's `_private/` (never servable but
        by the origin's /drm route), where every worker reads it; a re-run plan keeps it."""
        if not _encrypted(fields) or await self._key(job, fields) is not None:
            return
        out = self.scratch / job / f"key.{os.getpid()}"
        (out / KEY_FILE).parent.mkdir(parents=True, exist_ok=True)
        (out / KEY_FILE).write_bytes(secrets.token_bytes(16))
        await add_files(self.store, job, out)
        shutil.rmtree(out, ignore_errors=True)

    async def _key(self, job: str, fields: Mapping[str, str]) -> AesKey | None:
        if not _encrypted(fields):
            return None
        try:
            stat = await self.store.stat(job, KEY_FILE)
            raw = b"".join([c async for c in self.store.read(job, KEY_FILE, 0, stat.size - 1)])
        except NotFound:
            return None
        return AesKey(raw, key_uri(job))

    async def _whole(self, step: Step, fields: Mapping[str, str]) -> None:
        """The whole ladder in one ffmpeg process, then the manifest, then ready."""
        job = step.task.job
        spec = json.loads(fields[JobFields.SPEC])
        info = MediaInfo(**json.loads(fields[JobFields.INFO]))
        key = await self._key(job, fields)  # read before a retry clears the work directory
        if _encrypted(fields) and key is None:
            raise StreamingError(f"job {job}: its AES-128 key is missing from the store")
        await self.engine.ledger.update(job, {
            JobFields.step(Kind.WHOLE): chunk_state("running", step.worker),
            JobFields.progress(Kind.WHOLE): "0",
        })  # fmt: skip
        source = await self._source(job)
        inside = self._work is not None
        out = (
            self._work.work_dir(job) if self._work else self.scratch / job / f"whole.{os.getpid()}"
        )
        await asyncio.to_thread(shutil.rmtree, out, True)  # a retry starts from nothing

        def progress(value: float) -> None:
            step.progress = value

        container = Container(spec.get("container", Container.TS.value))
        await self._package(source, out, info, progress, key, container)
        if await self.over(job):
            if not inside:  # the origin removes its own copy with the video
                shutil.rmtree(out, ignore_errors=True)
            return
        manifest = {
            **spec, "id": job, "duration": info.duration,
            "width": info.display_width, "height": info.display_height,
        }  # fmt: skip
        packager.write_atomic(out / MANIFEST_NAME, json.dumps(manifest, sort_keys=True))
        await self.store.publish(job, out)  # the manifest last (origin.store)
        await self.engine.ledger.update(job, {
            JobFields.result(Kind.WHOLE): json.dumps({"duration": info.duration}),
            JobFields.step(Kind.WHOLE): chunk_state("done", step.worker),
            JobFields.progress(Kind.WHOLE): "1", JobFields.STATE: "ready",
        })  # fmt: skip
        shutil.rmtree(self.scratch / job, ignore_errors=True)
        if self._on_ready is not None:
            self._on_ready(job)

    async def _encode(self, step: Step, fields: Mapping[str, str]) -> None:
        task = step.task
        result_key = JobFields.result(task.kind, task.index)
        if result_key not in fields:
            started = {
                JobFields.step(task.kind, task.index): chunk_state("running", step.worker),
                JobFields.progress(task.kind, task.index): "0",
            }
            await self.engine.ledger.update(task.job, started)
            info = MediaInfo(**json.loads(fields[JobFields.INFO]))
            source = await self._source(task.job)
            out = self.scratch / task.job / f"{task.name.replace(' ', '_')}.{os.getpid()}"
            shutil.rmtree(out, ignore_errors=True)  # a retry starts from nothing
            out.mkdir(parents=True)

            def progress(value: float) -> None:
                step.progress = value

            recipe = self.recipe
            key = await self._key(task.job, fields)
            if _encrypted(fields) and key is None:
                raise StreamingError(f"job {task.job}: its AES-128 key is missing from the store")
            result: chunks.ChunkResult | chunks.AudioResult | None = None
            if task.kind is Kind.AUDIO:
                result = await chunks.encode_audio(
                    recipe.binary, source, info, recipe.segment_duration, out, progress, key
                )
            elif task.kind is Kind.THUMBNAILS:
                await chunks.encode_thumbnails(recipe.binary, source, info, out, progress)
            else:
                planned = chunks.plan(info, recipe.segment_duration, recipe.chunk_seconds)
                rungs = ladder.plan(
                    info.display_width, info.display_height, info.frame_rate, recipe.ladder
                )
                result = await chunks.encode_video_chunk(
                    recipe.binary, source, info, planned[task.index], rungs,
                    recipe.segment_duration, out, progress, key,
                )  # fmt: skip
            shutil.rmtree(out / chunks.RESULTS_DIR.split("/")[0], ignore_errors=True)
            if await self.over(task.job):
                shutil.rmtree(out, ignore_errors=True)
                return  # deleted (or failed) while it encoded: nothing more goes to the store
            await add_files(self.store, task.job, out)  # the whole output, or (killed) nothing
            shutil.rmtree(out, ignore_errors=True)
            await self.engine.ledger.update(
                task.job, {result_key: "{}" if result is None else chunks.to_json(result),
                           JobFields.step(task.kind, task.index): chunk_state("done", step.worker),
                           JobFields.progress(task.kind, task.index): "1"},
            )  # fmt: skip
        await self._advance(task.job, step.worker)

    async def _locked(self, job: str, worker: str) -> None:
        while not await self.engine.ledger.lock(job, worker, LOCK_SECONDS):
            await asyncio.sleep(0.1)

    async def _advance(self, job: str, worker: str) -> None:
        """Publish the playlists of the in-order prefix of done chunks; queue the final
        publish once every chunk and the audio are done."""
        await self._locked(job, worker)
        try:
            fields = await self.engine.ledger.read(job)
            results, audio, complete = self._results(fields)
            if len(results) > int(fields.get(JobFields.PUBLISHED, "0")):
                await self._stitch(job, results, audio, final=False)
                await self.engine.ledger.update(job, {JobFields.PUBLISHED: str(len(results))})
            if complete and JobFields.FINAL not in fields:
                await self.engine.queue.put([Task(job, Kind.PUBLISH)])
                await self.engine.ledger.update(job, {JobFields.FINAL: "queued"})
        finally:
            await self.engine.ledger.unlock(job, worker)

    def _results(
        self, fields: Mapping[str, str]
    ) -> tuple[list[chunks.ChunkResult], chunks.AudioResult | None, bool]:
        """The done chunks' results in order up to the first gap, the audio's, and whether
        the job has every result."""
        count = int(fields.get(JobFields.COUNT, "0"))
        info = MediaInfo(**json.loads(fields[JobFields.INFO]))
        needs_audio = bool(chunks.chunked_audio(info))
        results: list[chunks.ChunkResult] = []
        for index in range(count):
            raw = fields.get(JobFields.result(Kind.CHUNK, index))
            if raw is None:
                break
            results.append(chunks.parse_chunk_result(raw))
        raw_audio = fields.get(JobFields.result(Kind.AUDIO))
        audio = chunks.parse_audio_result(raw_audio) if raw_audio else None
        if needs_audio and audio is None:
            results = []  # a master naming the audio group needs its playlists first
        complete = (
            count > 0 and len(results) == count and (audio is not None or not needs_audio)
            and JobFields.result(Kind.THUMBNAILS) in fields
        )  # fmt: skip
        return results, audio, complete

    async def _stitch(
        self, job: str, results: list[chunks.ChunkResult], audio: chunks.AudioResult | None,
        final: bool,
    ) -> None:  # fmt: skip
        out = self.scratch / job / f"playlists.{os.getpid()}"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        chunks.stitch(results, audio, out, final=final)
        await add_files(self.store, job, out)
        shutil.rmtree(out, ignore_errors=True)

    async def _finish(self, job: str, worker: str) -> None:
        """VOD playlists, then the manifest last, then ready."""
        await self._locked(job, worker)
        try:
            fields = await self.engine.ledger.read(job)
            results, audio, complete = self._results(fields)
            if not complete:
                raise StreamingError(f"job {job}: publish ran before every chunk was done")
            await self._stitch(job, results, audio, final=True)
            info = MediaInfo(**json.loads(fields[JobFields.INFO]))
            spec = json.loads(fields.get(JobFields.SPEC, "{}"))
            manifest = {
                **spec, "id": job, "duration": sum(r.duration for r in results),
                "width": info.display_width, "height": info.display_height,
            }  # fmt: skip
            out = self.scratch / job / f"manifest.{os.getpid()}"
            out.mkdir(parents=True, exist_ok=True)
            (out / MANIFEST_NAME).write_text(json.dumps(manifest, sort_keys=True))
            await add_files(self.store, job, out)
            await self.engine.ledger.update(
                job, {JobFields.STATE: "ready", JobFields.PUBLISHED: str(len(results))}
            )
        finally:
            await self.engine.ledger.unlock(job, worker)
        shutil.rmtree(self.scratch / job, ignore_errors=True)
        if self._on_ready is not None:
            self._on_ready(job)


def _over(fields: Mapping[str, str]) -> bool:
    """Ready, failed, deleted, or its ledger expired (origin.dispatch.RETAIN_SECONDS)."""
    return fields.get(JobFields.STATE) in OVER or JobFields.SPEC not in fields


def _encrypted(fields: Mapping[str, str]) -> bool:
    spec = json.loads(fields.get(JobFields.SPEC, "{}"))
    return bool(spec.get("encryption") == Encryption.AES_128)
