"""What every origin route needs, built once by `create_app` and passed to the routers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from media.live import Channel
from media.ll_channel import LLChannel
from origin.dispatch import Dispatcher
from origin.jobs import Job, JobStore, State
from origin.live_store import LiveFiles
from origin.outbox import Outbox
from origin.replicas import Intake
from origin.replicate import Replicator
from origin.store import MANIFEST_NAME, DirectUploads, Store
from origin.store.fs import FileStore
from streaming import paths
from streaming.config import Distribution, Origin, OriginSettings
from streaming.errors import NotFound


@dataclass
class OriginContext:
    """The origin's collaborators; `work` holds videos while they package (local disk)."""

    dist: Distribution
    settings: OriginSettings
    root: Path
    jobs: JobStore
    store: Store
    work: FileStore
    uploads: DirectUploads | None
    pool: Dispatcher  # hands jobs to the queue (this process's workers, or packagers)
    replicator: Replicator
    channels: dict[str, Channel | LLChannel]
    live_store: LiveFiles  # each origin's own live files: its disk, or its prefix of the bucket
    origin: Origin  # this region's origin
    outbox: Outbox
    intake: Intake  # replicas other regions send

    async def job(self, video_id: str) -> Job:
        """The job for a (validated) id; with shared or engine-replicated storage, also a video
        another region packaged that this one has not seen yet."""
        job = self.jobs.get(paths.video_id(video_id))
        if job is not None:
            return job
        if self.outbox.buried(video_id):
            raise NotFound(self.replicator.deleted(video_id))
        if self.dist.replication_mode != "origin":
            try:
                stat = await self.store.stat(video_id, MANIFEST_NAME)
                body = b"".join(
                    [c async for c in self.store.read(video_id, MANIFEST_NAME, 0, stat.size - 1)]
                )
                manifest = json.loads(body)
            except (NotFound, ValueError):
                pass
            else:
                # Remember it locally: the bucket's manifest says the video is complete.
                if self.jobs.get(video_id) is None:
                    self.jobs.create(
                        video_id, str(manifest.get("filename", "")), int(manifest.get("size", 0)),
                        state=State.READY, encryption=str(manifest.get("encryption", "none")),
                        home=str(manifest.get("home", "")),
                        container=str(manifest.get("container", "ts")),
                    )  # fmt: skip
                    self.jobs.update(video_id, progress=1.0)
                return self.jobs.get(video_id)  # type: ignore[return-value]
        raise NotFound(f"no video {video_id}")

    async def remove(self, video_id: str) -> None:
        """Remove a video from this region: packaging stopped, job, files and upload gone."""
        job = self.jobs.get(video_id)
        await self.pool.cancel(video_id)
        self.jobs.delete(video_id)
        await self.store.delete(video_id)
        if self.work is not self.store:
            await self.work.delete(video_id)
        self.pool.source(video_id).unlink(missing_ok=True)
        if self.uploads is not None and job is not None and job.source == "storage":
            await self.uploads.delete_upload(video_id)

    def files_of(self, job: Job) -> Store:
        """Where a job's files are read from: the work dir while a whole job packages here,
        else the store (where chunks and packager workers publish as they go)."""
        return self.work if job.state is State.PACKAGING and self.pool.local(job) else self.store
