"""The origin application: wires config, job store, worker pool, store and routes together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from media.runner import ffmpeg_binary
from origin import delivery, ingest
from origin.auth import require_admin
from origin.jobs import JobStore, State
from origin.replicate import Replicator
from origin.store.fs import FileStore
from origin.worker import PackageFn, WorkerPool, ffmpeg_packager
from streaming import paths
from streaming.config import Distribution
from streaming.errors import NotFound
from streaming.hls import kind_of
from streaming.http import install_error_handler


class ReplicaCommit(BaseModel):
    filename: str
    size: int
    files: list[str]


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
    jobs = JobStore(root / "jobs.sqlite3")
    store = FileStore(root / "hls")
    if package is None:
        package = ffmpeg_packager(ffmpeg_binary(settings.ffmpeg), settings.segment_duration)
    client = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=2.0))
    peers = tuple(o for o in dist.origins if o.id != origin.id)
    replicator = Replicator(jobs, store, root / "staging", peers, dist.admin_token, client)
    pool = WorkerPool(
        jobs, store, root / "uploads", package, settings.workers, on_ready=replicator.push_later
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await pool.start()
        yield
        await pool.stop()
        await replicator.stop()
        await client.aclose()
        jobs.close()

    app = FastAPI(title=f"origin {origin.region}", lifespan=lifespan, docs_url=None, redoc_url=None)
    install_error_handler(app)
    app.state.jobs, app.state.pool, app.state.store = jobs, pool, store

    @app.get("/healthz")
    async def healthz() -> dict[str, object]:
        return {"status": "ok", "role": "origin", "region": origin.region, "id": origin.id}

    @app.post("/videos", status_code=202)
    async def upload(request: Request) -> JSONResponse:
        require_admin(request, dist.admin_token)
        video_id = paths.new_video_id()
        received = await ingest.receive(request, pool.source(video_id), settings.max_upload_bytes)
        jobs.create(video_id, received.filename, received.size)
        pool.notify()
        return JSONResponse(
            {"id": video_id, "status_url": f"/videos/{video_id}"},
            status_code=202,
            headers={"Location": f"/videos/{video_id}"},
        )

    @app.get("/videos")
    async def list_videos() -> dict[str, object]:
        return {"videos": [job.public() for job in jobs.list()]}

    @app.get("/videos/{video_id}")
    async def get_video(video_id: str) -> dict[str, object]:
        return _job(video_id).public()

    @app.delete("/videos/{video_id}", status_code=204)
    async def delete_video(video_id: str, request: Request) -> Response:
        require_admin(request, dist.admin_token)
        job = _job(video_id)
        await pool.cancel(job.id)
        jobs.delete(job.id)
        await store.delete(job.id)
        pool.source(job.id).unlink(missing_ok=True)
        return Response(status_code=204)

    @app.api_route("/hls/{video_id}/{relpath:path}", methods=["GET", "HEAD"])
    async def hls(video_id: str, relpath: str, request: Request) -> Response:
        job = _job(video_id)
        relpath = paths.relative_file(relpath)
        policy = delivery.cache_policy(kind_of(relpath), job.state, settings.segment_duration)
        if job.state is State.FAILED:
            raise NotFound(f"video {video_id} failed to package")
        return await delivery.serve(request, store, job.id, relpath, policy)

    @app.put("/replicas/{video_id}/files/{relpath:path}", status_code=204)
    async def replica_file(video_id: str, relpath: str, request: Request) -> Response:
        require_admin(request, dist.admin_token)
        await replicator.receive_file(video_id, relpath, request.stream())
        return Response(status_code=204)

    @app.post("/replicas/{video_id}/commit", status_code=204)
    async def replica_commit(video_id: str, commit: ReplicaCommit, request: Request) -> Response:
        require_admin(request, dist.admin_token)
        await replicator.commit(video_id, commit.filename, commit.size, commit.files)
        return Response(status_code=204)

    def _job(video_id: str):  # type: ignore[no-untyped-def]
        job = jobs.get(paths.video_id(video_id))
        if job is None:
            raise NotFound(f"no video {video_id}")
        return job

    return app
