"""The origin's side of packaging: enqueue each upload, follow its job, copy its state back.

A queued upload is dispatched: its source is put into the bucket (a direct upload is there
already), its job record written to the ledger, and its plan task queued. The job code
(origin.tasks) runs in `streaming packager` workers on a queue engine (`[origin.queue] engine
= "redis"`: the origin is API and delivery only), or in this process on the embedded SQLite
queue, the default. The origin follows each dispatched job in the ledger and copies its state,
progress and error into its own job table, then owes the ready video to its peers.
Dispatching is idempotent: a restart re-dispatches what it had not finished dispatching, and
duplicate plan tasks are harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from origin.jobs import Job, JobStore, State
from origin.queue import Depth, Engine, Kind, Task
from origin.store.fs import FileStore
from origin.task_worker import TaskWorker
from origin.tasks import JobFields
from origin.whole_job import packs_whole
from streaming.errors import StreamingError

log = logging.getLogger("origin.dispatch")
DISPATCHED = "dispatched"  # ledger field written once the plan task is queued
# How long a finished job's ledger is kept: its chunk list in GET /videos/{id}, and the
# `deleted` mark that stops a deleted video's tasks on every worker. Then it expires.
RETAIN_SECONDS = 7 * 86400.0


@runtime_checkable
class Bucket(Protocol):
    """Where sources go for the workers (origin.store.s3.S3Store, or InPlace)."""

    async def put_upload(self, video_id: str, source: Path) -> None: ...

    async def delete_upload(self, video_id: str) -> None: ...


class InPlace:
    """The embedded engine's bucket: the in-process workers read the uploads directory."""

    async def put_upload(self, video_id: str, source: Path) -> None:
        return None

    async def delete_upload(self, video_id: str) -> None:
        return None  # the origin removes its own upload on delete


def chunks_of(fields: dict[str, str]) -> list[dict[str, object]]:
    """Each video chunk's state, progress and worker, for GET /videos/{id}."""
    listed: list[dict[str, object]] = []
    for index in range(int(fields.get(JobFields.COUNT, "0"))):
        record = json.loads(fields.get(JobFields.step(Kind.CHUNK, index), "{}"))
        progress = float(fields.get(JobFields.progress(Kind.CHUNK, index), "0"))
        # A heartbeat's last report may land just after "done": done is whole.
        progress = 1.0 if record.get("state") == "done" else min(progress, 0.99)
        listed.append({"index": index, "progress": round(progress, 3), **record})
    return listed


def progress_of(fields: dict[str, str]) -> float:
    """0..1 of a job from its ledger fields: the whole task's, or the mean of its video
    chunks' progress."""
    if fields.get(JobFields.STATE) == "ready":
        return 1.0
    if JobFields.step(Kind.WHOLE) in fields:
        return round(min(0.99, float(fields.get(JobFields.progress(Kind.WHOLE), "0"))), 3)
    listed = chunks_of(fields)
    if not listed:
        return 0.0
    total = sum(float(str(c["progress"])) for c in listed)
    return round(min(0.99, total / len(listed)), 3)


class Dispatcher:
    """Hands queued jobs to the engine and follows them there."""

    def __init__(
        self, jobs: JobStore, engine: Engine, uploads_dir: Path, bucket: Bucket,
        on_ready: Callable[[str], Awaitable[None]] | None = None, poll: float = 0.5,
        workers: Sequence[TaskWorker] = (), *, chunked: bool = True,
        copies: FileStore | None = None, retain: float = RETAIN_SECONDS,
    ) -> None:  # fmt: skip
        self.jobs, self.engine, self.uploads_dir, self._bucket = jobs, engine, uploads_dir, bucket
        self._on_ready, self._poll, self._chunked = on_ready, poll, chunked
        self._retain = retain
        # In-process workers (the embedded engine): uploads stay here, the live channels and
        # a restart read them.
        self._workers = tuple(workers)
        # Local work copies of whole jobs packaged here, dropped once the store has them.
        self._copies = copies
        self._wakeup = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self.depth: Depth | None = None  # the last one seen, for /metrics

    def source(self, job_id: str) -> Path:
        return self.uploads_dir / f"{job_id}.upload"

    def local(self, job: Job) -> bool:
        """Whether a packaging job's files are in this origin's work directory (a whole job
        packaged here), not in the store (chunks, and every packager worker, publish there)."""
        return bool(self._workers) and packs_whole(self._chunked, job.container)

    def notify(self) -> None:
        """A job was queued, or one became ready: sync now rather than at the next poll."""
        self._wakeup.set()

    async def start(self) -> None:
        self._loop_task = asyncio.create_task(self._loop())
        for worker in self._workers:
            await worker.start()

    async def stop(self) -> None:
        for worker in self._workers:
            await worker.stop()
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
        await self.engine.queue.close()

    async def cancel(self, job_id: str) -> None:
        """The video is being deleted: workers skip the rest of its tasks, and put nothing
        more into the store (a chunk encoding now is dropped when it ends)."""
        if await self.engine.ledger.read(job_id):
            await self.engine.ledger.update(job_id, {JobFields.STATE: "deleted"})
            await self.engine.ledger.retire(job_id, self._retain)
        for worker in self._workers:  # here, stop it now: nothing may write after the delete
            await worker.cancel(job_id)
        with contextlib.suppress(StreamingError):
            await self._bucket.delete_upload(job_id)

    async def chunks(self, job_id: str) -> list[dict[str, object]]:
        return chunks_of(await self.engine.ledger.read(job_id))

    async def _loop(self) -> None:
        while True:
            try:
                await self.sync()
            except StreamingError as exc:  # the engine or the bucket is down: try again later
                log.warning("dispatching failed: %s", exc.detail)
            except Exception:  # never stop following: log it, try again at the next poll
                log.exception("dispatching failed")
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll):
                    await self._wakeup.wait()

    async def sync(self) -> None:
        """Dispatch what is queued here, copy what the workers did back into the job table."""
        for job in self.jobs.unfinished():
            fields = await self.engine.ledger.read(job.id)
            if DISPATCHED in fields:
                await self._follow(job, fields)
                continue
            try:
                await self._dispatch(job)
            except FileNotFoundError:  # its upload is gone (a wiped data directory)
                self.jobs.update(job.id, state=State.FAILED, error="the upload is missing")
        self.depth = await self.engine.queue.depth()

    async def _dispatch(self, job: Job) -> None:
        if job.source == "local":
            await self._bucket.put_upload(job.id, self.source(job.id))
        spec = {
            "filename": job.filename, "size": job.size, "created": job.created,
            "encryption": job.encryption, "home": job.home, "container": job.container,
        }  # fmt: skip
        await self.engine.ledger.update(
            job.id, {JobFields.STATE: "queued", JobFields.SPEC: json.dumps(spec)}
        )
        await self.engine.queue.put([Task(job.id, Kind.PLAN)])
        await self.engine.ledger.update(job.id, {DISPATCHED: "1"})
        for worker in self._workers:
            worker.wake()
        log.info("job %s queued for packaging", job.id)

    async def _follow(self, job: Job, fields: dict[str, str]) -> None:
        state = fields.get(JobFields.STATE, "queued")
        if state in ("failed", "ready"):  # first: a failure here is retried at the next sync
            await self.engine.ledger.retire(job.id, self._retain)
        if state == "failed":
            self.jobs.update(job.id, state=State.FAILED, error=fields.get(JobFields.ERROR, ""))
        elif state == "ready":
            self.jobs.update(job.id, state=State.READY, progress=1.0)
            if self._copies is not None:  # only now: until ready, it was served from the copy
                await asyncio.to_thread(shutil.rmtree, self._copies.work_dir(job.id), True)
            if not self._workers:
                self.source(job.id).unlink(missing_ok=True)  # the bucket keeps the original
            if self._on_ready is not None:
                try:
                    await self._on_ready(job.id)
                except Exception:  # the video is ready here; reconcile still replicates it
                    log.exception("job %s: owing it to the peers failed", job.id)
        elif state == "packaging":
            progress = progress_of(fields)
            if job.state is not State.PACKAGING or progress != job.progress:
                self.jobs.update(job.id, state=State.PACKAGING, progress=progress)
