"""The packaging worker pool: bounded concurrency over the durable job queue.

A job runs queue → (fetch a direct upload) → probe → package into the work directory →
manifest → publish to the store → ready → replicate. A crash at any point leaves the job in
`packaging`; the next start re-queues it and wipes its partial output first, so nothing is
ever half-published.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio

from media import packager
from media.packager import AesKey
from media.probe import MediaInfo, probe
from origin.jobs import Job, JobStore, State
from origin.store import MANIFEST_NAME, DirectUploads, Staging, Store
from origin.store.fs import FileStore
from streaming.config import DEFAULT_LADDER, LadderRung
from streaming.errors import StreamingError
from streaming.hls import Container, Encryption

log = logging.getLogger("origin.worker")

# package(source, out_dir, info, on_progress, encryption, container) -> anything; tests may
# pass a fake.
PackageFn = Callable[
    [Path, Path, MediaInfo, Callable[[float], None], AesKey | None, Container], Awaitable[object]
]
ReadyFn = Callable[[str], Awaitable[None]]  # owes the ready video to the peer regions


def key_uri(video_id: str) -> str:
    """Where players fetch a video's AES-128 key (served by the origin, private, no-store)."""
    return f"/drm/{video_id}/key"


class WorkerPool:
    """Runs queued jobs `concurrency` at a time; re-queues what a crash interrupted."""

    local = True  # a packaging video's files are in this origin's work directory

    def __init__(
        self,
        jobs: JobStore,
        store: Store,
        work: FileStore,
        uploads_dir: Path,
        package: PackageFn,
        concurrency: int = 1,
        on_ready: ReadyFn | None = None,
        direct: DirectUploads | None = None,
        *,
        staging: Staging,
    ) -> None:
        self.jobs, self.store, self.work, self.uploads_dir = jobs, store, work, uploads_dir
        self._staging = staging
        self._package, self._on_ready, self._direct = package, on_ready, direct
        self._concurrency = concurrency
        self._wakeup = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._running: dict[str, asyncio.Task[None]] = {}

    def source(self, job_id: str) -> Path:
        return self.uploads_dir / f"{job_id}.upload"

    async def start(self) -> None:
        for job_id in self.jobs.requeue_interrupted():
            log.warning("re-queueing job %s interrupted by a restart", job_id)
            # Its partial output must not be served while it waits for its turn.
            shutil.rmtree(self.work.work_dir(job_id), ignore_errors=True)
        self._tasks = [asyncio.create_task(self._loop()) for _ in range(self._concurrency)]
        self.notify()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def notify(self) -> None:
        """Wake the pool: a job was queued."""
        self._wakeup.set()

    async def cancel(self, job_id: str) -> None:
        """Stop packaging `job_id` if it is running (its ffmpeg is killed)."""
        task = self._running.get(job_id)
        if task:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def chunks(self, job_id: str) -> list[dict[str, object]]:
        """Per-chunk progress: none, a job packages here in one piece."""
        return []

    async def _loop(self) -> None:
        while True:
            job = self.jobs.claim_next()
            if job is None:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            task = asyncio.create_task(self._process(job))
            self._running[job.id] = task
            try:
                await task
            except asyncio.CancelledError:
                # Swallowed only when the job alone was cancelled (a delete), not the pool.
                current = asyncio.current_task()
                if not task.cancelled() or (current is not None and current.cancelling()):
                    raise
            finally:
                self._running.pop(job.id, None)

    async def _process(self, job: Job) -> None:
        out_dir = self.work.work_dir(job.id)
        started = time.monotonic()
        last = 0.0

        def progress(value: float) -> None:
            nonlocal last
            if value - last >= 0.01 or value >= 1.0:
                last = value
                self.jobs.update(job.id, progress=round(min(value, 0.99), 3))

        try:
            source = await self._fetch_source(job)
            info = await anyio.to_thread.run_sync(probe, source)
            # A re-run starts from a clean directory: nothing half-published survives a crash.
            shutil.rmtree(out_dir, ignore_errors=True)
            encryption = (
                AesKey(secrets.token_bytes(16), key_uri(job.id))
                if job.encryption == Encryption.AES_128
                else None
            )
            container = Container(job.container)
            await self._package(source, out_dir, info, progress, encryption, container)
            manifest = {
                "id": job.id, "filename": job.filename, "size": job.size, "created": job.created,
                "encryption": job.encryption, "duration": info.duration, "home": job.home,
                "container": job.container,
                "width": info.display_width, "height": info.display_height,
            }  # fmt: skip
            packager.write_atomic(out_dir / MANIFEST_NAME, json.dumps(manifest, sort_keys=True))
            await self.store.publish(job.id, out_dir)
        except StreamingError as exc:
            self._fail(job.id, exc.detail, out_dir)
            return
        except Exception as exc:
            log.exception("job %s crashed", job.id)
            self._fail(job.id, f"internal error: {exc}", out_dir)
            return
        self.jobs.update(job.id, state=State.READY, progress=1.0)
        if self._staging is Staging.COPY:
            # Only now: until the job is ready its files are served from this copy.
            shutil.rmtree(out_dir, ignore_errors=True)
        if job.source == "storage":
            self.source(job.id).unlink(missing_ok=True)  # the bucket keeps the original
        log.info("job %s ready in %.1fs", job.id, time.monotonic() - started)
        if self._on_ready:
            try:
                await self._on_ready(job.id)
            except Exception:  # the video is ready here; reconcile still replicates it
                log.exception("job %s: owing it to the peers failed", job.id)

    async def _fetch_source(self, job: Job) -> Path:
        source = self.source(job.id)
        if job.source == "storage" and not source.exists():
            if self._direct is None:
                raise StreamingError(
                    "the upload is in object storage but no S3 backend is configured"
                )
            await self._direct.download_upload(job.id, source)
        return source

    def _fail(self, job_id: str, reason: str, out_dir: Path) -> None:
        log.warning("job %s failed: %s", job_id, reason)
        self.jobs.update(job_id, state=State.FAILED, error=reason)
        shutil.rmtree(out_dir, ignore_errors=True)


def ffmpeg_packager(
    binary: str, segment_duration: float, ladder: tuple[LadderRung, ...] = DEFAULT_LADDER
) -> PackageFn:
    """The real packaging step: one ffmpeg process per job."""

    async def run(
        source: Path, out_dir: Path, info: MediaInfo, progress: Callable[[float], None],
        encryption: AesKey | None, container: Container,
    ) -> object:  # fmt: skip
        return await packager.package(
            binary, source, out_dir, info, segment_duration, progress, encryption, ladder,
            container,
        )  # fmt: skip

    return run
