"""Where packaged output lives; the origin serves and replicates through this interface.

A video's files are written to a local work directory while it packages (so playlists are
served progressively) and then handed to the store with `publish`, which writes the manifest
(`video.json`) last: a store that holds the manifest holds the complete video.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from streaming.config import StorageSettings

if TYPE_CHECKING:
    from origin.store.fs import FileStore

MANIFEST_NAME = "video.json"


@dataclass(frozen=True, slots=True)
class StoredObject:
    """Metadata of one stored file, enough for ETag, Last-Modified and Range."""

    size: int
    mtime: float
    etag: str


class Store(Protocol):
    """Packaged HLS output by (video id, relative path); ids and paths are validated by callers."""

    async def stat(self, video_id: str, relpath: str) -> StoredObject:
        """Metadata of a file, or NotFound."""
        ...

    def read(self, video_id: str, relpath: str, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes `start..end` inclusive of a file, in chunks (a ranged read, never the whole)."""
        ...

    async def files(self, video_id: str) -> list[str]:
        """Every relative path stored for a video."""
        ...

    async def publish(self, video_id: str, local_dir: Path) -> None:
        """Make the packaged `local_dir` the video's stored copy, its manifest last."""
        ...

    async def delete(self, video_id: str) -> None:
        """Remove a video's files (idempotent)."""
        ...


class DirectUploads(Protocol):
    """Uploads that go straight to object storage with a pre-signed URL, skipping the origin."""

    def upload_url(self, video_id: str) -> str:
        """A pre-signed PUT URL for the video's source, valid for a short time."""
        ...

    async def upload_size(self, video_id: str) -> int | None:
        """Size of the uploaded source, None when nothing was uploaded yet."""
        ...

    async def download_upload(self, video_id: str, dest: Path) -> None:
        """Stream the uploaded source to a local file for probing and packaging."""
        ...

    async def delete_upload(self, video_id: str) -> None: ...


class Staging(StrEnum):
    """How a packaging video's work directory relates to the store, fixed by the backend."""

    IN_PLACE = "in-place"  # the file store's own directory: the work copy is the stored copy
    COPY = "copy"  # a local directory copied to the store on publish, removed once ready


@dataclass(frozen=True, slots=True)
class Storage:
    """An opened backend: the store, where videos package first, and how the two relate."""

    store: Store
    work: FileStore
    staging: Staging
    uploads: DirectUploads | None  # direct uploads, when the backend offers them (S3)


def open_store(settings: StorageSettings, root: Path) -> Storage:
    """The configured backend; S3 also offers direct uploads."""
    from origin.store.fs import FileStore  # imports StoredObject from this module

    if settings.backend == "s3":
        from origin.store.s3 import S3Store  # boto3 is only needed with the S3 backend

        s3 = S3Store(settings)
        return Storage(s3, FileStore(root / "work"), Staging.COPY, s3)
    local = FileStore(root / "hls")
    return Storage(local, local, Staging.IN_PLACE, None)
