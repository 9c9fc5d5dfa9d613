"""Replication of a ready video from the packaging origin to the other regional origins.

Each peer receives the files into a staging area and publishes them in one rename on commit,
so a region lists a video `ready` only once its copy there is complete.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from pathlib import Path

import httpx

from origin.jobs import JobStore, State
from origin.store import Store
from streaming import paths
from streaming.config import Origin, Secret
from streaming.errors import Conflict, NotFound

log = logging.getLogger("origin.replicate")

ATTEMPTS = 5


class Replicator:
    """Pushes ready videos to peers (sender side) and stages/commits copies (receiver side)."""

    def __init__(
        self, jobs: JobStore, store: Store, staging: Path, peers: tuple[Origin, ...], token: Secret,
        client: httpx.AsyncClient,
    ) -> None:  # fmt: skip
        self.jobs, self.store, self.staging, self.peers = jobs, store, staging, peers
        self._token, self._client = token, client
        self._tasks: set[asyncio.Task[None]] = set()

    def push_later(self, video_id: str) -> None:
        """Start replicating `video_id` to every peer in the background."""
        for peer in self.peers:
            task = asyncio.create_task(self._push_with_retries(peer, video_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _push_with_retries(self, peer: Origin, video_id: str) -> None:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                await self._push(peer, video_id)
                log.info("replicated %s to %s", video_id, peer.id)
                return
            except (httpx.HTTPError, OSError) as exc:
                log.warning("replicating %s to %s failed (%s), attempt %d", video_id, peer.id, exc, attempt)
                await asyncio.sleep(min(30.0, 0.5 * 2**attempt))
        log.error("gave up replicating %s to %s", video_id, peer.id)

    async def _push(self, peer: Origin, video_id: str) -> None:
        job = self.jobs.get(video_id)
        if job is None or job.state is not State.READY:
            return
        auth = {"authorization": f"Bearer {self._token.reveal()}"}
        files = await self.store.files(video_id)
        for relpath in files:
            obj = await self.store.stat(video_id, relpath)
            body = b"".join([c async for c in self.store.read(video_id, relpath, 0, obj.size - 1)])
            url = f"{peer.url}/replicas/{video_id}/files/{relpath}"
            response = await self._client.put(url, content=body, headers=auth)
            response.raise_for_status()
        commit = {"filename": job.filename, "size": job.size, "files": files}
        response = await self._client.post(f"{peer.url}/replicas/{video_id}/commit", json=commit, headers=auth)
        response.raise_for_status()

    async def receive_file(self, video_id: str, relpath: str, chunks: object) -> None:
        """Stage one file of an incoming replica."""
        paths.video_id(video_id)
        paths.relative_file(relpath)
        if self.jobs.get(video_id) is not None:
            raise Conflict(f"video {video_id} already exists in this region")
        dest = self.staging / video_id / relpath
        dest.parent.mkdir(parents=True, exist_ok=True)
        with dest.open("wb") as fh:
            async for chunk in chunks:  # type: ignore[attr-defined]
                fh.write(chunk)

    async def commit(self, video_id: str, filename: str, size: int, files: list[str]) -> None:
        """Publish a staged replica in one rename and list it ready."""
        paths.video_id(video_id)
        staged = self.staging / video_id
        missing = [f for f in files if not (staged / paths.relative_file(f)).is_file()]
        if missing:
            raise NotFound(f"replica of {video_id} is missing {len(missing)} files, e.g. {missing[0]}")
        if self.jobs.get(video_id) is not None:
            shutil.rmtree(staged, ignore_errors=True)
            return
        target = self.store.work_dir(video_id)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staged, target)
        self.jobs.create(video_id, filename, size, state=State.READY)
        self.jobs.update(video_id, progress=1.0)
