"""The origin application: wires config, jobs, packaging queue, store, live channels and routes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import m3u8
from fastapi import FastAPI
from starlette.responses import Response

from media.ladder import live_rungs
from media.live import Channel, ChannelSpec
from media.ll_channel import LLChannel
from media.runner import ffmpeg_binary
from origin.access import HEALTH_PATH, OriginAccess, route_matcher
from origin.context import OriginContext
from origin.delivery import delivery_router
from origin.dispatch import Bucket, Dispatcher, InPlace
from origin.jobs import JobStore
from origin.live_peers import LivePeers
from origin.live_store import open_live_store
from origin.metrics import CONTENT_TYPE, OriginMetrics
from origin.outbox import Outbox
from origin.queue import open_engine
from origin.replicas import Intake
from origin.replicate import Replicator
from origin.routes import admin_router
from origin.store import MANIFEST_NAME, Staging, open_store
from origin.store.fs import FileStore
from origin.task_worker import TaskWorker
from origin.tasks import JobRunner, LocalSources, Recipe
from origin.whole_job import PackageFn
from streaming import paths
from streaming.config import Distribution
from streaming.errors import ConfigError, NotFound
from streaming.hls import MASTER_NAME
from streaming.http import install_error_handler


def live_source(source: str, pool: Dispatcher, work: FileStore) -> str:
    """A channel source: "testsrc", a file, or a video id looped from its upload if this origin
    still has it, else from its packaged top rendition (replicas have only the HLS copy)."""
    if source == "testsrc" or "/" in source or "." in source:
        return source
    upload = pool.source(paths.video_id(source))
    if upload.is_file():
        return str(upload)
    packaged = work.work_dir(source) / MASTER_NAME
    if (work.work_dir(source) / MANIFEST_NAME).is_file():  # complete, not still packaging
        top = m3u8.loads(packaged.read_text(encoding="utf-8")).playlists[0].uri
        return str(packaged.parent / top)
    raise NotFound(f"live source: video {source} is not on this origin's disk (yet)")


def create_app(
    dist: Distribution,
    region: str,
    data_dir: Path | None = None,
    package: PackageFn | None = None,
) -> FastAPI:
    """Build the origin for `region`; `package` replaces ffmpeg in tests."""
    origin = dist.origin_by_region(region)
    settings = dist.origin
    root = data_dir or Path(settings.data_dir) / origin.region
    binary = ffmpeg_binary(settings.ffmpeg) if package is None or dist.live_channels else ""
    jobs = JobStore(root / "jobs.sqlite3")
    outbox = Outbox(jobs.connection)
    storage = open_store(dist.storage_of(origin), root)
    store, work, uploads = storage.store, storage.work, storage.uploads
    client = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=2.0))
    peers = tuple(o for o in dist.origins if o.id != origin.id)
    mode = dist.replication_mode
    replicator = Replicator(
        origin, peers, mode, settings.replication, jobs, outbox, store, dist.admin_token, client
    )
    intake = Intake(origin.id, jobs, outbox, store, root / "staging", copies=mode == "origin")
    engine = open_engine(settings.queue, root)
    if settings.queue.engine != "sqlite":
        # Packaging happens in `streaming packager` workers; this origin only enqueues.
        if not isinstance(uploads, Bucket):
            raise ConfigError(
                f"origin.queue: engine = {settings.queue.engine!r} needs the S3 storage backend "
                "(packager workers read sources from and write outputs to the bucket)"
            )
        pool = Dispatcher(jobs, engine, root / "uploads", uploads, on_ready=replicator.ready)
    else:
        # The embedded engine: the packager workers' job code, in this process.
        recipe = Recipe(
            binary or ffmpeg_binary(settings.ffmpeg), settings.segment_duration,
            settings.queue.chunk_seconds, settings.ladder, chunked=settings.chunked,
        )  # fmt: skip
        sources = LocalSources(root / "uploads", uploads)
        runners = [
            JobRunner(
                engine,
                store,
                sources,
                recipe,
                root / "scratch",
                on_ready=lambda _job: pool.notify(),
                work=work,
                package=package,
            )  # fmt: skip
            for _ in range(settings.workers)
        ]
        pool = Dispatcher(
            jobs, engine, root / "uploads", InPlace(), on_ready=replicator.ready,
            workers=[TaskWorker(engine, r, f"{origin.id}-{i}") for i, r in enumerate(runners)],
            chunked=settings.chunked, copies=work if storage.staging is Staging.COPY else None,
        )  # fmt: skip
    live_root = root / "live"  # ffmpeg's work dirs, and the published files unless on S3
    live_store = open_live_store(dist.storage_of(origin), live_root, origin.region)
    live_peers = LivePeers(peers, dist.admin_token, client)
    channels: dict[str, Channel | LLChannel] = {}
    for c in dist.live_channels:
        spec = ChannelSpec(
            c.name, c.source, c.segment_duration, c.window, live_rungs(c.heights), c.frame_rate,
            c.container,
        )  # fmt: skip
        resolve = lambda source: live_source(source, pool, work)  # noqa: E731
        channels[c.name] = (
            LLChannel(binary, spec, c.part_target, resolve=resolve)
            if c.low_latency
            else Channel(binary, spec, live_root / c.name, live_store, live_peers, resolve=resolve)
        )
    ctx = OriginContext(
        dist,
        settings,
        root,
        jobs,
        store,
        work,
        uploads,
        pool,
        replicator,
        channels,
        live_store,
        origin,
        outbox,
        intake,
    )
    metrics = OriginMetrics(
        replication=replicator.backlog,
        queue=lambda: pool.depth,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if hasattr(store, "ensure_bucket"):
            await store.ensure_bucket()  # also the live store's bucket
        intake.reset()
        for job_id in [j.id for j in jobs.list() if outbox.buried(j.id)]:
            await ctx.remove(job_id)  # deleted just before a crash: finish it
        await pool.start()
        await replicator.start()
        on_air = [asyncio.create_task(channel.run()) for channel in channels.values()]
        yield
        for task in on_air:
            task.cancel()  # kills each channel's ffmpeg
        await asyncio.gather(*on_air, return_exceptions=True)
        await pool.stop()
        await replicator.stop()
        await client.aclose()
        jobs.close()

    app = FastAPI(
        title=f"origin {origin.region}", lifespan=lifespan, docs_url=None, redoc_url=None,
        openapi_url=None,
    )  # fmt: skip
    install_error_handler(app)
    app.state.ctx = ctx
    delivery = delivery_router(ctx)
    # The one gate: edge signature or admin token before any route, any body (origin.access).
    app.add_middleware(
        OriginAccess, secret=origin.access_secret, token=dist.admin_token, settings=settings,
        content=route_matcher(delivery.routes),
    )  # fmt: skip

    @app.get(HEALTH_PATH)
    async def healthz() -> dict[str, object]:
        return {"status": "ok", "role": "origin", "region": origin.region, "id": origin.id}

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        """Replication backlog and lag per peer region, and the packaging queue's depth when on
        an engine (admin token, like the rest of the API)."""
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    app.include_router(admin_router(ctx))
    app.include_router(delivery)
    return app
