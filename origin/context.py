"""What every origin route needs, built once by `create_app` and passed to the routers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from media.live import Channel
from origin.jobs import Job, JobStore, State
from origin.live_store import LiveFiles
from origin.replicate import Replicator
from origin.store import MANIFEST_NAME, DirectUploads, Store
from origin.store.fs import FileStore
from origin.worker import WorkerPool
from streaming import paths
from streaming.config import Distribution, OriginSettings
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
    pool: WorkerPool
    replicator: Replicator
    channels: dict[str, Channel]
    live_store: LiveFiles  # each origin's own live files: its disk, or its prefix of the bucket

    async def job(self, video_id: str) -> Job:
        """The job for a (validated) id; with shared storage, a video another region packaged."""
        job = self.jobs.get(paths.video_id(video_id))
        if job is not None:
            return job
        if self.store.shared:
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
                    )  # fmt: skip
                    self.jobs.update(video_id, progress=1.0)
                return self.jobs.get(video_id)  # type: ignore[return-value]
        raise NotFound(f"no video {video_id}")

    def files_of(self, job: Job) -> Store:
        """Where a job's files are read from: the work dir while packaging, else the store."""
        return self.work if job.state is State.PACKAGING else self.store
