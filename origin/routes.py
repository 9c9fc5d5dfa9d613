"""The origin's admin API: uploads (multipart or pre-signed), jobs, deletes, replica intake and
the inventory peers reconcile with.

Every route here answers the admin token only, and `origin.access` checks it (and bounds the
body) before a route runs; the `require_admin` calls of the state-changing routes are a second
line should a route ever be mounted without that gate.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Query
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from origin import ingest
from origin.context import OriginContext
from origin.jobs import State
from origin.replicas import Commit
from streaming import paths
from streaming.admin import require_admin
from streaming.bodies import read_json
from streaming.errors import Conflict, NotFound, PayloadTooLarge
from streaming.hls import delivery_format


class ReplicaCommit(BaseModel):
    filename: str
    size: int
    files: list[str]
    home: str = ""  # the origin that packaged it (senders before the outbox sent none)
    digest: str = ""


def _accepted(video_id: str) -> JSONResponse:
    return JSONResponse(
        {"id": video_id, "status_url": f"/videos/{video_id}"},
        status_code=202,
        headers={"Location": f"/videos/{video_id}"},
    )


def admin_router(ctx: OriginContext) -> APIRouter:
    """The job API and replica intake, all behind the admin bearer token."""
    router = APIRouter()
    token = ctx.dist.admin_token
    defaults = (ctx.settings.container, ctx.settings.encryption)

    @router.post("/videos", status_code=202)
    async def upload(
        request: Request, encryption: str | None = None, container: str | None = None
    ) -> JSONResponse:
        """Stream a multipart upload to disk and queue it; packaging runs in the background.

        `?container=ts|fmp4` and `?encryption=none|aes-128` override the origin's defaults; an
        unknown or unsupported one is refused (400) before a byte of the body is read.
        """
        require_admin(request, token)
        chosen, scheme = delivery_format(container, encryption, defaults)
        video_id = paths.new_video_id()
        received = await ingest.receive(
            request, ctx.pool.source(video_id), ctx.settings.max_upload_bytes
        )
        ctx.jobs.create(
            video_id,
            received.filename,
            received.size,
            encryption=scheme,
            home=ctx.origin.id,
            container=chosen,
        )
        ctx.pool.notify()
        return _accepted(video_id)

    @router.post("/videos/uploads", status_code=201)
    async def direct_upload(
        request: Request, filename: str = "upload", encryption: str | None = None,
        container: str | None = None,
    ) -> dict[str, object]:  # fmt: skip
        """Offer a pre-signed PUT URL so a large file goes straight to object storage."""
        require_admin(request, token)
        chosen, scheme = delivery_format(container, encryption, defaults)
        if ctx.uploads is None:
            raise NotFound("direct uploads need the S3 storage backend; POST /videos instead")
        expiry = ctx.dist.storage_of(ctx.origin).presign_expiry
        # Offers older than twice the URL lifetime can no longer be completed.
        ctx.jobs.fail_abandoned_uploads(time.time() - 2 * expiry)
        video_id = paths.new_video_id()
        ctx.jobs.create(
            video_id, filename[:200], 0, state=State.UPLOADING,
            encryption=scheme, source="storage", home=ctx.origin.id, container=chosen,
        )  # fmt: skip
        return {
            "id": video_id,
            "upload_url": ctx.uploads.upload_url(video_id),
            "method": "PUT",
            "expires_in": expiry,
            "complete_url": f"/videos/{video_id}/complete",
            "max_bytes": ctx.settings.max_upload_bytes,
        }

    @router.post("/videos/{video_id}/complete", status_code=202)
    async def complete(video_id: str, request: Request) -> JSONResponse:
        """The client finished its direct upload: check it and start packaging."""
        require_admin(request, token)
        job = await ctx.job(video_id)
        if job.state is not State.UPLOADING or ctx.uploads is None:
            raise Conflict(f"video {video_id} is {job.state.value}, not waiting for an upload")
        size = await ctx.uploads.upload_size(job.id)
        if size is None:
            raise Conflict(f"nothing was uploaded for {video_id} yet")
        if size > ctx.settings.max_upload_bytes:
            await ctx.uploads.delete_upload(job.id)
            ctx.jobs.update(job.id, state=State.FAILED, error="the upload exceeds the size limit")
            raise PayloadTooLarge(
                f"upload of {size} bytes exceeds the limit of {ctx.settings.max_upload_bytes}"
            )
        ctx.jobs.update(job.id, state=State.QUEUED, size=size)
        ctx.pool.notify()
        return _accepted(job.id)

    @router.get("/videos")
    async def list_videos() -> dict[str, object]:
        return {"videos": [job.public() for job in ctx.jobs.list()]}

    @router.get("/videos/{video_id}")
    async def get_video(video_id: str) -> dict[str, object]:
        """The job, where each region stands with it (`regions`: docs/origin.md) and, when
        packager workers package it, each chunk's state, progress and worker (`chunks`)."""
        job = await ctx.job(video_id)
        body = {**job.public(), "regions": ctx.replicator.regions(job)}
        if chunks := await ctx.pool.chunks(job.id):  # packaged in chunks by packager workers
            body["chunks"] = chunks
        return body

    @router.delete("/videos/{video_id}", status_code=204)
    async def delete_video(video_id: str, request: Request) -> Response:
        """Remove a video, its files and its upload here and in every other region."""
        require_admin(request, token)
        job = await ctx.job(video_id)
        # Tombstone and owed deletes first: a crash before the files are gone is finished at
        # start, never a delete that no peer hears of.
        ctx.replicator.forget(job.id)
        await ctx.remove(job.id)
        return Response(status_code=204)

    @router.get("/replicas")
    async def inventory(
        origin: str | None = Query(None, alias="from", max_length=63),
        booted: float | None = Query(None, ge=0),
    ) -> dict[str, object]:
        """Ready videos with their digests and deleted ids, for a peer's reconcile; `from`
        names the asking peer, which is then known to be up, `booted` when it started."""
        if origin is not None:
            ctx.replicator.heard_from(origin, booted)
        listed = ctx.replicator.inventory().public()
        return {"origin": ctx.origin.id, "region": ctx.origin.region, **listed}

    @router.put("/replicas/{video_id}/files/{relpath:path}", status_code=204)
    async def replica_file(video_id: str, relpath: str, request: Request) -> Response:
        require_admin(request, token)
        await ctx.intake.receive_file(video_id, relpath, request.stream())
        return Response(status_code=204)

    @router.post("/replicas/{video_id}/commit", status_code=204)
    async def replica_commit(video_id: str, request: Request) -> Response:
        require_admin(request, token)
        limit = ctx.settings.max_api_body_bytes
        commit = await read_json(request, ReplicaCommit, limit, "replica commit")
        await ctx.intake.commit(video_id, Commit(**commit.model_dump()))
        return Response(status_code=204)

    @router.delete("/replicas/{video_id}", status_code=204)
    async def replica_delete(video_id: str, request: Request) -> Response:
        """A peer deleted the video: tombstone it and drop this region's copy (idempotent)."""
        require_admin(request, token)
        ctx.intake.deleted(video_id)
        if ctx.jobs.get(video_id) is None:
            raise NotFound(f"no video {video_id}")
        await ctx.remove(video_id)
        return Response(status_code=204)

    return router
