"""`streaming packager`: one packager worker process, with /healthz and its own /metrics.

It needs the queue engine (`[origin.queue] engine = "redis"`) and the S3 store the origins
share: sources are read from the bucket and outputs written to it, so a worker runs on any
host and keeps nothing but scratch files on its disk.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from media.runner import ffmpeg_binary
from origin.queue import Kind, open_engine
from origin.store import open_store
from origin.task_worker import TaskWorker, WorkerStats
from origin.tasks import JobRunner, Recipe
from streaming.admin import require_admin
from streaming.config import Distribution
from streaming.errors import ConfigError
from streaming.http import install_error_handler


class _Packaging(Collector):
    def __init__(self, stats: WorkerStats, started: float) -> None:
        self._stats, self._started = stats, started

    def collect(self) -> Iterator[Metric]:
        stats = self._stats
        tasks = CounterMetricFamily(
            "packager_tasks", "Tasks this worker finished, by kind and outcome (a failed "
            "attempt is retried or, after the last one, dead-lettered).",
            labels=["kind", "outcome"],
        )  # fmt: skip
        for kind in Kind:
            tasks.add_metric([kind.value, "done"], stats.done.get(kind.value, 0))
            tasks.add_metric([kind.value, "failed"], stats.failed.get(kind.value, 0))
        dead = CounterMetricFamily(
            "packager_dead_letters", "Tasks this worker found out of attempts (their job failed)."
        )
        dead.add_metric([], stats.dead)
        running = GaugeMetricFamily("packager_running_tasks", "Tasks this worker runs now.")
        running.add_metric([], stats.running)
        media = CounterMetricFamily(
            "packager_media_seconds", "Seconds of the presentation this worker encoded as video "
            "chunks (the whole ladder of each); rate() of it: seconds packaged per second.",
        )  # fmt: skip
        media.add_metric([], stats.media_seconds)
        speed = GaugeMetricFamily(
            "packager_media_seconds_per_second",
            "Seconds of video packaged per second of wall time since this worker started.",
        )
        speed.add_metric([], stats.media_seconds / max(1e-9, time.monotonic() - self._started))
        yield from (tasks, dead, running, media, speed)


def create_packager_app(
    dist: Distribution, data_dir: Path, worker_id: str, concurrency: int = 1
) -> FastAPI:
    """A worker taking tasks from the configured engine, packaging into the shared bucket."""
    settings = dist.origin
    if settings.queue.engine == "sqlite":
        raise ConfigError(
            "streaming packager needs a queue engine: set [origin.queue] engine = 'redis' and "
            "url (with the embedded sqlite queue, each origin packages its own uploads)"
        )
    storage = open_store(settings.storage, data_dir)
    if storage.uploads is None:
        raise ConfigError(
            "streaming packager needs [origin.storage] backend = 's3': workers read sources "
            "from and write outputs to the bucket the origins share"
        )
    engine = open_engine(settings.queue, data_dir)
    recipe = Recipe(
        ffmpeg_binary(settings.ffmpeg), settings.segment_duration, settings.queue.chunk_seconds,
        settings.ladder,
    )  # fmt: skip
    runner = JobRunner(engine, storage.store, storage.uploads, recipe, data_dir / worker_id)
    worker = TaskWorker(engine, runner, worker_id, concurrency)
    registry = CollectorRegistry(auto_describe=True)
    registry.register(_Packaging(worker.stats, time.monotonic()))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if hasattr(storage.store, "ensure_bucket"):
            await storage.store.ensure_bucket()
        await worker.start()
        yield
        await worker.stop()
        await engine.queue.close()

    app = FastAPI(
        title=f"packager {worker_id}", lifespan=lifespan, docs_url=None, redoc_url=None,
        openapi_url=None,
    )  # fmt: skip
    install_error_handler(app)

    @app.get("/healthz")
    async def healthz() -> dict[str, object]:
        return {"status": "ok", "role": "packager", "id": worker_id}

    @app.get("/metrics")
    async def metrics(request: Request) -> Response:
        """What this worker packaged (admin token, like the origin's /metrics)."""
        require_admin(request, dist.admin_token)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app
