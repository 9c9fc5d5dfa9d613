"""S3-compatible object storage via boto3: shared by every region that names the same bucket.

boto3 is synchronous, so each call runs in a worker thread. Reads are ranged GETs of exactly
the bytes asked for; botocore's errors become NotFound/Unavailable here and nowhere else.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from origin.store import MANIFEST_NAME, StoredObject
from streaming.config import StorageSettings
from streaming.errors import NotFound, Unavailable
from streaming.hls import content_type

CHUNK = 256 * 1024
UPLOADS = "_uploads"  # not a valid video id, so it never collides with a video's prefix
PARALLEL_PUTS = 8

T = TypeVar("T")


class S3Store:
    """Objects under `<prefix><video id>/<relpath>` in one bucket."""

    def __init__(self, settings: StorageSettings) -> None:
        self.bucket, self.prefix = settings.bucket, settings.prefix
        self.expiry = settings.presign_expiry
        credentials: dict[str, str] = {}
        if settings.access_key_id and settings.secret_access_key:
            credentials = {
                "aws_access_key_id": settings.access_key_id.reveal(),
                "aws_secret_access_key": settings.secret_access_key.reveal(),
            }
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=settings.endpoint_url or None,
            region_name=settings.region_name,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=2,
                read_timeout=30,
            ),
            **credentials,
        )

    def _key(self, video_id: str, relpath: str = "") -> str:
        return f"{self.prefix}{video_id}/{relpath}"

    async def _call(self, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """Run one boto3 call in a thread, translating its failures at this boundary."""
        try:
            return await anyio.to_thread.run_sync(lambda: fn(**kwargs))
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in {"404", "NoSuchKey", "NotFound"}:
                raise NotFound(f"{kwargs.get('Key', 'object')} not found") from None
            raise Unavailable(f"object storage refused the request ({code})") from None
        except BotoCoreError as exc:
            raise Unavailable(f"object storage is unreachable: {type(exc).__name__}") from None

    async def ensure_bucket(self) -> None:
        """Create the bucket when it does not exist yet (a fresh SeaweedFS or MinIO)."""
        try:
            await self._call(self.client.head_bucket, Bucket=self.bucket)
        except NotFound:
            try:
                await self._call(self.client.create_bucket, Bucket=self.bucket)
            except Unavailable as exc:
                # Origins and packagers starting together race to create it: theirs is ours.
                if "BucketAlreadyOwnedByYou" not in exc.detail:
                    raise
        except Unavailable:
            # head_bucket answers 403/400 on some servers for a missing bucket
            with contextlib.suppress(Unavailable):
                await self._call(self.client.create_bucket, Bucket=self.bucket)

    async def stat(self, video_id: str, relpath: str) -> StoredObject:
        head = await self._call(
            self.client.head_object, Bucket=self.bucket, Key=self._key(video_id, relpath)
        )
        return StoredObject(
            size=int(head["ContentLength"]),
            mtime=head["LastModified"].timestamp(),
            etag=str(head["ETag"]),
        )

    async def read(self, video_id: str, relpath: str, start: int, end: int) -> AsyncIterator[bytes]:
        response = await self._call(
            self.client.get_object, Bucket=self.bucket, Key=self._key(video_id, relpath),
            Range=f"bytes={start}-{end}",
        )  # fmt: skip
        body = response["Body"]
        try:
            while chunk := await anyio.to_thread.run_sync(body.read, CHUNK):
                yield chunk
        finally:
            body.close()

    async def _keys(self, prefix: str) -> list[str]:
        def list_all() -> list[str]:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            return [obj["Key"] for page in pages for obj in page.get("Contents", [])]

        return await self._call(list_all)

    async def files(self, video_id: str) -> list[str]:
        base = self._key(video_id)
        return sorted(key[len(base) :] for key in await self._keys(base))

    async def publish(self, video_id: str, local_dir: Path) -> None:
        """Upload every file, the manifest last (the caller drops the local copy once ready)."""
        files = sorted(
            p for p in local_dir.rglob("*") if p.is_file() and not p.name.startswith(".")
        )
        manifest = [p for p in files if p.relative_to(local_dir).as_posix() == MANIFEST_NAME]
        limit = asyncio.Semaphore(PARALLEL_PUTS)

        async def put(path: Path) -> None:
            relpath = path.relative_to(local_dir).as_posix()
            async with limit:
                await self._call(
                    self.client.upload_file, Filename=str(path), Bucket=self.bucket,
                    Key=self._key(video_id, relpath),
                    ExtraArgs={"ContentType": content_type(relpath)},
                )  # fmt: skip

        await asyncio.gather(*(put(p) for p in files if p not in manifest))
        for path in manifest:
            await put(path)

    async def delete(self, video_id: str) -> None:
        keys = await self._keys(self._key(video_id))
        for i in range(0, len(keys), 1000):
            batch = {"Objects": [{"Key": k} for k in keys[i : i + 1000]], "Quiet": True}
            await self._call(self.client.delete_objects, Bucket=self.bucket, Delete=batch)

    # Direct uploads: the client PUTs the source straight into the bucket.

    def _upload_key(self, video_id: str) -> str:
        return f"{self.prefix}{UPLOADS}/{video_id}"

    def upload_url(self, video_id: str) -> str:
        return str(
            self.client.generate_presigned_url(
                "put_object", Params={"Bucket": self.bucket, "Key": self._upload_key(video_id)},
                ExpiresIn=self.expiry,
            )
        )  # fmt: skip

    async def upload_size(self, video_id: str) -> int | None:
        try:
            head = await self._call(
                self.client.head_object, Bucket=self.bucket, Key=self._upload_key(video_id)
            )
        except NotFound:
            return None
        return int(head["ContentLength"])

    async def put_upload(self, video_id: str, source: Path) -> None:
        """Put a source the origin received into the bucket, where packager workers read it."""
        await self._call(
            self.client.upload_file, Filename=str(source), Bucket=self.bucket,
            Key=self._upload_key(video_id),
        )  # fmt: skip

    async def download_upload(self, video_id: str, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(f".{dest.name}.part")
        await self._call(
            self.client.download_file,
            Bucket=self.bucket,
            Key=self._upload_key(video_id),
            Filename=str(partial),
        )
        partial.replace(dest)

    async def delete_upload(self, video_id: str) -> None:
        await self._call(
            self.client.delete_object, Bucket=self.bucket, Key=self._upload_key(video_id)
        )
