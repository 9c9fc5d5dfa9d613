"""A packager worker: takes tasks from the queue, runs them with origin.tasks, keeps their
leases alive while they run and acknowledges them when done.

The lease is renewed every third of the visibility timeout; a worker that loses a lease (it
stalled past the timeout and another took the task) cancels that task, since the other worker
now owns it. A task that raises is given back for a retry with the reason; the queue
dead-letters it after `max_attempts`, and the job fails with that reason. A worker that stops
gives back the tasks it holds, and one that starts under an id it had before (the embedded
origin's workers) first gives back what its previous life held, so neither waits out a lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from dataclasses import dataclass, field

from origin.queue import DeadLetter, Delivery, Engine, Kind
from origin.tasks import JobFields, JobRunner, Step, chunk_state
from streaming.errors import StreamingError

log = logging.getLogger("origin.task_worker")
SWEEP_EVERY = 60.0  # seconds between scratch clean-ups while idle
REPORT_EVERY = 1.0  # seconds between progress reports of a running task


def default_worker_id() -> str:
    """Host and process: unique among the workers sharing one queue."""
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass
class WorkerStats:
    """What this worker did since it started, for its /metrics."""

    done: dict[str, int] = field(default_factory=dict)  # by task kind
    failed: dict[str, int] = field(default_factory=dict)
    dead: int = 0
    media_seconds: float = 0.0  # seconds of video packaged (chunks' durations)
    running: int = 0


class TaskWorker:
    """Runs up to `concurrency` tasks at once until stopped."""

    def __init__(
        self, engine: Engine, runner: JobRunner, worker_id: str, concurrency: int = 1,
        poll: float = 0.5,
    ) -> None:  # fmt: skip
        self.engine, self.runner, self.id = engine, runner, worker_id
        self._concurrency, self._poll = concurrency, poll
        self._renew_every = engine.settings.visibility_timeout / 3
        self.stats = WorkerStats()
        self._loops: list[asyncio.Task[None]] = []
        self._running: dict[asyncio.Task[None], str] = {}  # each running task's job
        self._wakeup = asyncio.Event()

    async def start(self) -> None:
        with contextlib.suppress(StreamingError):  # the engine is down: the leases lapse
            await self.engine.queue.release(self.id)
        self._loops = [asyncio.create_task(self._loop()) for _ in range(self._concurrency)]

    async def stop(self) -> None:
        for loop in self._loops:
            loop.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        with contextlib.suppress(StreamingError):
            await self.engine.queue.release(self.id)  # for another worker (or our next start)

    def wake(self) -> None:
        """A task was queued: take it now rather than at the next poll (the embedded engine
        does not block in take)."""
        self._wakeup.set()

    async def cancel(self, job: str) -> None:
        """Stop what runs here of `job` (it is being deleted) and wait until it has stopped."""
        works = [work for work, of in self._running.items() if of == job]
        for work in works:
            work.cancel()
        await asyncio.gather(*works, return_exceptions=True)

    async def _loop(self) -> None:
        swept = time.monotonic()
        while True:
            self._wakeup.clear()
            try:
                taken = await self.engine.queue.take(self.id, wait=self._poll)
            except StreamingError as exc:  # the engine is down: wait, then ask again
                log.warning("taking a task failed: %s", exc.detail)
                await asyncio.sleep(self._poll)
                continue
            if taken is None:
                if time.monotonic() - swept > SWEEP_EVERY:
                    swept = time.monotonic()
                    with contextlib.suppress(StreamingError):
                        await self.runner.sweep()
                if self.engine.settings.engine == "redis":
                    await asyncio.sleep(0.05)  # take blocked for `poll` already
                    continue
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._poll):
                        await self._wakeup.wait()
            elif isinstance(taken, DeadLetter):
                self.stats.dead += 1
                log.warning("dead letter %s of %s: %s", taken.task.name, taken.task.job,
                            taken.reason)  # fmt: skip
                await self.runner.bury(taken)
            else:
                await self.execute(taken)

    async def execute(self, delivery: Delivery) -> None:
        """Run one task with its lease renewed, then ack it, or give it back with the reason."""
        task = delivery.task
        step = Step(task, self.id)
        log.info("%s of %s: attempt %d", task.name, task.job, delivery.attempt)
        self.stats.running += 1
        work = asyncio.create_task(self.runner.run(step))
        self._running[work] = task.job
        renewed = time.monotonic()
        try:
            while not work.done():
                await asyncio.wait({work}, timeout=min(REPORT_EVERY, self._renew_every))
                if work.done():
                    break
                if time.monotonic() - renewed >= self._renew_every:
                    renewed = time.monotonic()
                    if not await self.engine.queue.renew(delivery):
                        log.warning("lost the lease of %s of %s: stopping it", task.name,
                                    task.job)  # fmt: skip
                        await _stopped(work)
                        return
                    if await self.runner.over(task.job):  # deleted (or failed) meanwhile
                        await _stopped(work)
                        break
                with contextlib.suppress(StreamingError):
                    await self.runner.report(step)
            if work.cancelled() and not _cancelling():
                log.info("%s of %s: stopped, its video is being deleted", task.name, task.job)
                await self.engine.queue.ack(delivery)
                return
            work.result()
        except asyncio.CancelledError:  # this worker is stopping: stop the task with it
            await _stopped(work)
            raise
        except Exception as exc:
            reason = exc.detail if isinstance(exc, StreamingError) else f"internal error: {exc}"
            if not isinstance(exc, StreamingError):
                log.exception("%s of %s crashed", task.name, task.job)
            self.stats.failed[task.kind.value] = self.stats.failed.get(task.kind.value, 0) + 1
            await self._note_failure(step, reason)
            await self.engine.queue.fail(delivery, reason)
            return
        finally:
            self.stats.running -= 1
            self._running.pop(work, None)
        await self.engine.queue.ack(delivery)
        self.stats.done[task.kind.value] = self.stats.done.get(task.kind.value, 0) + 1
        if task.kind in (Kind.CHUNK, Kind.WHOLE):
            self.stats.media_seconds += await self._media_seconds(step)

    async def _note_failure(self, step: Step, reason: str) -> None:
        if step.task.kind not in (Kind.PLAN, Kind.PUBLISH):
            key = JobFields.step(step.task.kind, step.task.index)
            await self.engine.ledger.update(
                step.task.job, {key: chunk_state("retrying", self.id, reason[:200])}
            )

    async def _media_seconds(self, step: Step) -> float:
        """Seconds of video the chunk (or whole ladder) just done here holds."""
        task = step.task
        fields = await self.engine.ledger.read(task.job)
        raw = fields.get(JobFields.result(task.kind, task.index))
        record = json.loads(fields.get(JobFields.step(task.kind, task.index), "{}"))
        if not raw or record.get("worker") != self.id:
            return 0.0  # a duplicate delivery of a task another worker ran
        return float(json.loads(raw).get("duration", 0.0))


async def _stopped(work: asyncio.Task[None]) -> None:
    """Cancel a running task and wait until it has stopped (its ffmpeg killed)."""
    work.cancel()
    await asyncio.gather(work, return_exceptions=True)


def _cancelling() -> bool:
    """Whether the current task itself is being cancelled (not only a task it waits for)."""
    current = asyncio.current_task()
    return current is not None and current.cancelling() > 0
