"""The local filesystem store (the embedded default): one directory per video."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import anyio

from origin.store import StoredObject
from streaming.errors import NotFound

CHUNK = 256 * 1024


class FileStore:
    """Packaged output under `root/<video id>/`; callers pass validated ids and paths only."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def work_dir(self, video_id: str) -> Path:
        return self.root / video_id

    def _path(self, video_id: str, relpath: str) -> Path:
        path = self.root / video_id / relpath
        # Defence in depth: ids and paths are validated upstream, but never leave the root.
        if not path.resolve().is_relative_to(self.root.resolve()):
            raise NotFound("no such file")
        return path

    async def stat(self, video_id: str, relpath: str) -> StoredObject:
        try:
            st = self._path(video_id, relpath).stat()
        except (FileNotFoundError, NotADirectoryError):
            raise NotFound(f"{video_id}/{relpath} not found") from None
        if not (st.st_mode & 0o100000):
            raise NotFound(f"{video_id}/{relpath} not found")
        return StoredObject(
            size=st.st_size, mtime=st.st_mtime, etag=f'"{st.st_size:x}-{st.st_mtime_ns:x}"'
        )

    async def read(self, video_id: str, relpath: str, start: int, end: int) -> AsyncIterator[bytes]:
        path = self._path(video_id, relpath)
        remaining = end - start + 1
        async with await anyio.open_file(path, "rb") as fh:
            await fh.seek(start)
            while remaining > 0:
                chunk = await fh.read(min(CHUNK, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                yield chunk

    async def files(self, video_id: str) -> list[str]:
        base = self.root / video_id
        return sorted(
            str(p.relative_to(base))
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        )

    async def publish(self, video_id: str, local_dir: Path) -> None:
        """The work directory is the stored copy when it already sits under the root."""
        target = self.work_dir(video_id)
        if local_dir.resolve() != target.resolve():
            shutil.rmtree(target, ignore_errors=True)
            os.replace(local_dir, target)

    async def delete(self, video_id: str) -> None:
        await anyio.to_thread.run_sync(
            lambda: shutil.rmtree(self.root / video_id, ignore_errors=True)
        )
