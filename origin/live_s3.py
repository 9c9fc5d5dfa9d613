"""Live channel files as objects in the storage bucket, under this region's own live prefix."""

from __future__ import annotations

from pathlib import Path

import anyio

from origin.store.s3 import S3Store
from streaming.config import StorageSettings
from streaming.errors import NotFound
from streaming.hls import content_type

LIVE_PREFIX = "_live"  # not a valid video id, so it never collides with a video's prefix


class S3Live(S3Store):
    """Live files as objects under this region's live prefix of the storage bucket."""

    def __init__(self, settings: StorageSettings, region: str) -> None:
        prefix = f"{settings.prefix}{LIVE_PREFIX}/{region}/"
        super().__init__(settings.model_copy(update={"prefix": prefix}))

    async def put_file(self, channel: str, relpath: str, local: Path) -> None:
        await self._call(
            self.client.upload_file, Filename=str(local), Bucket=self.bucket,
            Key=self._key(channel, relpath), ExtraArgs={"ContentType": content_type(relpath)},
        )  # fmt: skip
        await anyio.to_thread.run_sync(lambda: local.unlink(missing_ok=True))

    async def put_text(self, channel: str, relpath: str, text: str) -> None:
        # One PUT replaces the object whole: readers get the old or the new playlist.
        await self._call(
            self.client.put_object, Bucket=self.bucket, Key=self._key(channel, relpath),
            Body=text.encode(), ContentType=content_type(relpath),
        )  # fmt: skip

    async def get_text(self, channel: str, relpath: str) -> str | None:
        try:
            response = await self._call(
                self.client.get_object, Bucket=self.bucket, Key=self._key(channel, relpath)
            )
        except NotFound:
            return None
        body = response["Body"]
        try:
            data: bytes = await anyio.to_thread.run_sync(body.read)
        finally:
            body.close()
        return data.decode("utf-8")

    async def segment_numbers(self, channel: str, rung: str) -> set[int]:
        base = self._key(channel, f"{rung}/")
        names = (key[len(base) :] for key in await self._keys(base))
        stems = (n.rsplit(".", 1) for n in names if n.endswith((".ts", ".m4s")))  # TS or fMP4
        return {int(stem) for stem, _ in stems if stem.isdigit()}

    async def remove(self, channel: str, relpaths: list[str]) -> None:
        for i in range(0, len(relpaths), 1000):
            objects = [{"Key": self._key(channel, r)} for r in relpaths[i : i + 1000]]
            await self._call(
                self.client.delete_objects, Bucket=self.bucket,
                Delete={"Objects": objects, "Quiet": True},
            )  # fmt: skip
