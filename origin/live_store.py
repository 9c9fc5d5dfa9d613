"""Where an origin publishes its live channels: its own disk, or the S3 bucket of its storage.

Each region packages its channels itself, so with a bucket shared by every region the live
files sit under a prefix of their own per region (`<prefix>_live/<region>/<channel>/...`, see
origin.live_s3): regions never overwrite each other's segments or playlists. Both stores serve
the delivery routes (`stat`/`read`, as the VOD stores) and are the channels' `LiveStore`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from media.packager import write_atomic
from origin.store.fs import FileStore
from streaming.config import StorageSettings

if TYPE_CHECKING:
    from origin.live_s3 import S3Live


class LocalLive(FileStore):
    """Live files under `root/<channel>/`, published by rename from the channel's work dir."""

    async def put_file(self, channel: str, relpath: str, local: Path) -> None:
        dest = self._path(channel, relpath)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(local, dest)

    async def put_text(self, channel: str, relpath: str, text: str) -> None:
        dest = self._path(channel, relpath)
        dest.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(dest, text)

    async def get_text(self, channel: str, relpath: str) -> str | None:
        try:
            return self._path(channel, relpath).read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):
            return None

    async def segment_numbers(self, channel: str, rung: str) -> set[int]:
        directory = self._path(channel, rung)
        if not directory.is_dir():
            return set()
        # TS or fMP4 (CMAF) media segments: `N.ts` / `N.m4s`.
        return {
            int(p.stem)
            for p in directory.iterdir()
            if p.suffix in (".ts", ".m4s") and p.stem.isdigit()
        }

    async def remove(self, channel: str, relpaths: list[str]) -> None:
        for relpath in relpaths:
            self._path(channel, relpath).unlink(missing_ok=True)


LiveFiles: TypeAlias = "LocalLive | S3Live"


def open_live_store(settings: StorageSettings, root: Path, region: str) -> LiveFiles:
    """The live store beside the configured VOD storage: S3 when it is S3, else `root`."""
    if settings.backend == "s3":
        from origin.live_s3 import S3Live  # boto3 is only needed with the S3 backend

        return S3Live(settings, region)
    return LocalLive(root)
