"""Replication of a ready video from the packaging origin to the other regional origins.

Each peer receives the files into a staging area and publishes them in one rename on commit,
so a region lists a video `ready` only once its copy there is complete. With shared storage
(one S3 bucket for every region) nothing is copied; deletes still reach every peer.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import httpx

from media.packager import KEY_FILE
from origin.jobs import JobStore, State
from origin.store import Store
from streaming import paths
from streaming.config import Origin, Secret
from streaming.errors import Conflict, NotFound
from streaming.hls import Encryption

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
        """Replicate `video_id` to every peer in the background (not with shared storage)."""
        if self.store.shared:
            return
        for peer in self.peers:
            self._spawn(self._with_retries(peer, video_id, self._push, "replicating"))

    def delete_later(self, video_id: str) -> None:
        """Remove `video_id` from every peer in the background."""
        for peer in self.peers:
            self._spawn(self._with_retries(peer, video_id, self._delete, "deleting"))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _with_retries(self, peer: Origin, video_id: str, action: object, what: str) -> None:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                await action(peer, video_id)  # type: ignore[operator]
                log.info("%s %s on %s: done", what, video_id, peer.id)
                return
            except (httpx.HTTPError, OSError) as exc:
                log.warning(
                    "%s %s on %s failed (%s), attempt %d", what, video_id, peer.id, exc, attempt
                )
                await asyncio.sleep(min(30.0, 0.5 * 2**attempt))
        log.error("gave up %s %s on %s", what, video_id, peer.id)

    async def _delete(self, peer: Origin, video_id: str) -> None:
        auth = {"authorization": f"Bearer {self._token.reveal()}"}
        response = await self._client.delete(f"{peer.url}/replicas/{video_id}", headers=auth)
        if response.status_code != 404:
            response.raise_for_status()

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
        response = await self._client.post(
            f"{peer.url}/replicas/{video_id}/commit", json=commit, headers=auth
        )
        response.raise_for_status()

    async def receive_file(self, video_id: str, relpath: str, chunks: object) -> None:
        """Stage one file of an incoming replica."""
        paths.video_id(video_id)
        replica_file(relpath)
        if self.jobs.get(video_id) is not None:
            raise Conflict(f"video {video_id} already exists in this region")
        dest = self.staging / video_id / relpath
        dest.parent.mkdir(parents=True, exist_ok=True)
        # Staged under a temporary name: a body cut short, too large or not matching its signed
        # digest (the receive channel raises at its end) leaves no file a commit could publish.
        partial = dest.with_name(dest.name + ".partial")
        try:
            with partial.open("wb") as fh:
                async for chunk in chunks:  # type: ignore[attr-defined]
                    fh.write(chunk)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        partial.replace(dest)

    async def commit(self, video_id: str, filename: str, size: int, files: list[str]) -> None:
        """Publish a staged replica in one rename and list it ready."""
        paths.video_id(video_id)
        staged = self.staging / video_id
        missing = [f for f in files if not (staged / replica_file(f)).is_file()]
        if missing:
            raise NotFound(
                f"replica of {video_id} is missing {len(missing)} files, e.g. {missing[0]}"
            )
        if self.jobs.get(video_id) is not None:
            shutil.rmtree(staged, ignore_errors=True)
            return
        await self.store.publish(video_id, staged)
        encryption = Encryption.AES_128 if KEY_FILE in files else Encryption.NONE
        self.jobs.create(video_id, filename, size, state=State.READY, encryption=encryption)
        self.jobs.update(video_id, progress=1.0)

    def discard(self, video_id: str) -> None:
        """Drop a staged replica that was never committed."""
        shutil.rmtree(self.staging / paths.video_id(video_id), ignore_errors=True)


def replica_file(relpath: str) -> str:
    """A servable relative path, or the one private file a replica carries (the AES key)."""
    return relpath if relpath == KEY_FILE else paths.relative_file(relpath)
