"""The packaging worker pool: bounded concurrency over the durable job queue."""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio

from media import packager
from media.probe import MediaInfo, probe
from origin.jobs import JobStore, State
from origin.store import Store
from streaming.errors import StreamingError

log = logging.getLogger("origin.worker")

# package(source, out_dir, info, on_progress) -> None; tests pass a fake.
PackageFn = Callable[[Path, Path, MediaInfo, Callable[[float], None]], Awaitable[object]]
ReadyFn = Callable[[str], None]


class WorkerPool:
    """Runs queued jobs `concurrency` at a time; re-queues what a crash interrupted."""

    def __init__(
        self,
        jobs: JobStore,
        store: Store,
        uploads: Path,
        package: PackageFn,
        concurrency: int = 1,
        on_ready: ReadyFn | None = None,
    ) -> None:
        self.jobs, self.store, self.uploads = jobs, store, uploads
        self._package, self._on_ready = package, on_ready
        self._concurrency = concurrency
        self._wakeup = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._running: dict[str, asyncio.Task[None]] = {}

    def source(self, job_id: str) -> Path:
        return self.uploads / f"{job_id}.upload"

    async def start(self) -> None:
        for job_id in self.jobs.requeue_interrupted():
            log.warning("re-queueing job %s interrupted by a restart", job_id)
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

    async def _loop(self) -> None:
        while True:
            job = self.jobs.claim_next()
            if job is None:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            task = asyncio.create_task(self._process(job.id))
            self._running[job.id] = task
            try:
                await task
            except asyncio.CancelledError:
                if not task.cancelled():
                    raise
            finally:
                self._running.pop(job.id, None)

    async def _process(self, job_id: str) -> None:
        source = self.source(job_id)
        out_dir = self.store.work_dir(job_id)
        started = time.monotonic()
        last = 0.0

        def progress(value: float) -> None:
            nonlocal last
            if value - last >= 0.01 or value >= 1.0:
                last = value
                self.jobs.update(job_id, progress=round(min(value, 0.99), 3))

        try:
            info = await anyio.to_thread.run_sync(probe, source)
            # A re-run starts from a clean directory: nothing half-published survives a crash.
            shutil.rmtree(out_dir, ignore_errors=True)
            await self._package(source, out_dir, info, progress)
        except StreamingError as exc:
            log.warning("job %s failed: %s", job_id, exc.detail)
            self.jobs.update(job_id, state=State.FAILED, error=exc.detail)
            shutil.rmtree(out_dir, ignore_errors=True)
            return
        except Exception as exc:
            log.exception("job %s crashed", job_id)
            self.jobs.update(job_id, state=State.FAILED, error=f"internal error: {exc}")
            shutil.rmtree(out_dir, ignore_errors=True)
            return
        self.jobs.update(job_id, state=State.READY, progress=1.0)
        log.info("job %s ready in %.1fs", job_id, time.monotonic() - started)
        if self._on_ready:
            self._on_ready(job_id)


def ffmpeg_packager(binary: str, segment_duration: float) -> PackageFn:
    """The real packaging step: one ffmpeg process per job."""

    async def run(source: Path, out_dir: Path, info: MediaInfo, progress: Callable[[float], None]) -> object:
        return await packager.package(binary, source, out_dir, info, segment_duration, progress)

    return run
