"""Where packaged output lives; the origin serves and replicates through this interface."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StoredObject:
    """Metadata of one stored file, enough for ETag, Last-Modified and Range."""

    size: int
    mtime: float
    etag: str


class Store(Protocol):
    """Packaged HLS output by (video id, relative path); ids and paths are validated by callers."""

    def work_dir(self, video_id: str) -> Path:
        """A local directory the packager writes into."""
        ...

    async def stat(self, video_id: str, relpath: str) -> StoredObject:
        """Metadata of a file, or NotFound."""
        ...

    def read(self, video_id: str, relpath: str, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes `start..end` inclusive of a file, in chunks."""
        ...

    async def files(self, video_id: str) -> list[str]:
        """Every relative path stored for a video."""
        ...

    async def delete(self, video_id: str) -> None:
        """Remove a video's files (idempotent)."""
        ...
