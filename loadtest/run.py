"""A load-test run: viewers started over a ramp-up, bounded by time and requests, in one or
several worker processes, with the servers' counters scraped before and after."""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvloop

from loadtest import metrics
from loadtest.client import Client
from loadtest.player import Budget, Pace, Target, Viewer
from loadtest.stats import Recorder, Snapshot, merge
from streaming.errors import ConfigError

Progress = dict[str, float]
MAX_DURATION = 24 * 3600.0
SHUTDOWN_GRACE = 5.0  # seconds past the deadline + request timeout before workers are killed


@dataclass(frozen=True)
class Plan:
    """Everything a run needs; picklable so worker processes receive it whole."""

    targets: tuple[Target, ...]
    viewers: int = 10
    duration: float = 30.0
    max_requests: int | None = None
    ramp_up: float = 0.0
    pace: Pace = field(default_factory=lambda: Pace(realtime=True))
    rendition: str | int = "abr"
    timeout: float = 10.0
    metrics: tuple[str, ...] = ()  # base URLs whose /metrics are scraped before and after
    ca_file: str = ""  # the only CA trusted for https:// targets (else the system's)

    def __post_init__(self) -> None:
        if not self.targets:
            raise ConfigError("loadtest: no target")
        if self.viewers < 1:
            raise ConfigError("--viewers must be at least 1")
        if not 0 < self.duration <= MAX_DURATION:
            raise ConfigError(f"--duration must be in (0, {MAX_DURATION:.0f}] seconds")
        if self.max_requests is not None and self.max_requests < 1:
            raise ConfigError("--max-requests must be at least 1")
        if not 0 <= self.ramp_up < self.duration:
            raise ConfigError("--ramp-up must be at least 0 and shorter than --duration")
        if self.timeout <= 0:
            raise ConfigError("--timeout must be positive")


@dataclass
class Outcome:
    """The merged recording of a run plus the servers' counters around it."""

    snapshot: Snapshot
    wall: float
    before: dict[str, metrics.Scrape]
    after: dict[str, metrics.Scrape]


def _shares(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


async def run_viewers(
    plan: Plan, offset: int, count: int, max_requests: int | None,
    progress: Callable[[Progress], None] | None = None, interval: float = 0.5,
) -> Snapshot:  # fmt: skip
    """Run viewers offset..offset+count-1 of the plan in this event loop."""
    started = time.monotonic()
    recorder = Recorder(started)
    budget = Budget(started + plan.duration, max_requests)

    async def viewer(index: int, client: Client) -> None:
        await asyncio.sleep(plan.ramp_up * index / plan.viewers)
        target = plan.targets[index % len(plan.targets)]
        await Viewer(client, target, plan.pace, plan.rendition, budget, recorder).run()

    # An LL-HLS viewer holds a blocking reload and a hinted part at once: room for both.
    pool = 2 * count
    async with Client(connections=pool, timeout=plan.timeout, ca_file=plan.ca_file) as client:
        tasks = {asyncio.ensure_future(viewer(offset + i, client)) for i in range(count)}
        hard_stop = started + plan.duration + plan.timeout + SHUTDOWN_GRACE
        pending = tasks
        while pending and time.monotonic() < hard_stop:
            _, pending = await asyncio.wait(pending, timeout=interval)
            if progress is not None:
                progress(_progress(recorder, len(pending), time.monotonic() - started))
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return recorder.snapshot()


def _progress(recorder: Recorder, active: int, elapsed: float) -> Progress:
    return {
        "requests": recorder.requests, "bytes": sum(recorder.bytes.values()),
        "errors": recorder.errors, "hits": recorder.x_cache.get("Hit", 0),
        "active": active, "elapsed": elapsed,
    }  # fmt: skip


def _worker(
    plan: Plan, offset: int, count: int, max_requests: int | None, out: Any, index: int
) -> None:
    """Entry of a worker process: run a share of the viewers, report progress and the result."""

    def progress(p: Progress) -> None:
        out.put(("progress", index, p))

    snapshot = uvloop.run(run_viewers(plan, offset, count, max_requests, progress))
    out.put(("done", index, snapshot))


def _in_processes(plan: Plan, workers: int, on_progress: Callable[[Progress], None]) -> Snapshot:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    counts = _shares(plan.viewers, workers)
    budgets = _shares(plan.max_requests, workers) if plan.max_requests else [None] * workers
    processes = []
    offset = 0
    for i, count in enumerate(counts):
        args = (plan, offset, count, budgets[i], out, i)
        processes.append(ctx.Process(target=_worker, args=args, daemon=True))
        offset += count
    for process in processes:
        process.start()
    latest: dict[int, Progress] = {}
    done: dict[int, Snapshot] = {}
    hard_stop = time.monotonic() + plan.duration + plan.timeout + 2 * SHUTDOWN_GRACE + 10
    try:
        while len(done) < workers and time.monotonic() < hard_stop:
            try:
                kind, index, payload = out.get(timeout=0.5)
            except queue.Empty:
                if all(not p.is_alive() for p in processes) and out.empty():
                    break
                continue
            if kind == "done":
                done[index] = payload
            else:
                latest[index] = payload
                on_progress(
                    {k: sum(p[k] for p in latest.values()) for k in payload}
                    | {"elapsed": payload["elapsed"]}
                )
    finally:
        for process in processes:
            process.join(timeout=SHUTDOWN_GRACE)
            if process.is_alive():
                process.kill()
                process.join()
    if len(done) < workers:
        raise ConfigError(f"loadtest: {workers - len(done)} worker process(es) did not finish")
    return merge([done[i] for i in sorted(done)])


async def _scrape(plan: Plan) -> dict[str, metrics.Scrape]:
    async with Client(connections=4, timeout=5.0, ca_file=plan.ca_file) as client:
        return await metrics.scrape_all(client.text, plan.metrics)


def run(
    plan: Plan, workers: int = 1, on_progress: Callable[[Progress], None] | None = None
) -> Outcome:
    """Run the plan to completion and return what every viewer recorded."""
    if workers < 1:
        raise ConfigError("--workers must be at least 1")
    workers = min(workers, plan.viewers)
    report = on_progress or (lambda _p: None)
    before = uvloop.run(_scrape(plan))
    started = time.monotonic()
    if workers == 1:
        snapshot = uvloop.run(run_viewers(plan, 0, plan.viewers, plan.max_requests, report))
    else:
        snapshot = _in_processes(plan, workers, report)
    wall = time.monotonic() - started
    after = uvloop.run(_scrape(plan))
    return Outcome(snapshot, wall, before, after)
