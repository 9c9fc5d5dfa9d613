"""Replica intake, the receiving side of replication: staged files, one commit, deletes.

A peer sends each file into a staging area, then commits; the commit checks the staged set
against the sender's digest and publishes it in one step, so this region lists a video `ready`
only once its copy is complete. Everything is idempotent: a file sent twice overwrites the same
staged name, a second commit of a video already here is a no-op, and a staging area left by a
push cut short is wiped at start. In `storage` mode nothing is staged: the commit only checks
that the storage engine already copied the video into this region's bucket.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import AsyncIterable
from dataclasses import dataclass
from pathlib import Path

from media.packager import KEY_FILE
from origin.inventory import digest
from origin.jobs import JobStore, State
from origin.outbox import Outbox
from origin.store import Store
from origin.store.fs import FileStore
from streaming import paths
from streaming.errors import Conflict, Gone, NotFound
from streaming.hls import Encryption


@dataclass(frozen=True, slots=True)
class Commit:
    """What a sender says a replica holds."""

    filename: str
    size: int
    files: list[str]
    home: str = ""  # the origin that packaged it
    digest: str = ""  # origin.inventory.digest of the sender's copy ("" from older senders)


class Intake:
    """Receives replicas from peers into `staging`, publishing them to `store`."""

    def __init__(
        self, me: str, jobs: JobStore, outbox: Outbox, store: Store, staging: Path, copies: bool
    ) -> None:
        """`copies`: peers send the files (replication mode "origin"); else the storage engine
        does and a commit only checks this region's bucket."""
        self.me, self.jobs, self.outbox, self.store = me, jobs, outbox, store
        self.staging, self.copies = staging, copies

    def reset(self) -> None:
        """Drop what a previous run staged and never committed: its senders send it again."""
        shutil.rmtree(self.staging, ignore_errors=True)
        self.staging.mkdir(parents=True, exist_ok=True)

    def _admit(self, video_id: str) -> None:
        """A replica of `video_id` may come in: not deleted here, not this region's own."""
        if self.outbox.buried(video_id):
            raise Gone(f"video {video_id} was deleted; a replica of it is refused")
        job = self.jobs.get(video_id)
        if job is not None and (job.state is not State.READY or job.home == self.me):
            raise Conflict(f"video {video_id} is this region's own ({job.state.value})")

    async def receive_file(self, video_id: str, relpath: str, chunks: AsyncIterable[bytes]) -> None:
        """Stage one file of an incoming replica."""
        paths.video_id(video_id)
        replica_file(relpath)
        self._admit(video_id)
        dest = self.staging / video_id / relpath
        dest.parent.mkdir(parents=True, exist_ok=True)
        # Staged under a temporary name of its own: a body cut short, too large or not matching
        # its signed digest (the receive channel raises at its end) leaves no file a commit could
        # publish, and two senders of the same file never write into one.
        partial = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.partial")
        try:
            with partial.open("wb") as fh:
                async for chunk in chunks:
                    fh.write(chunk)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        partial.replace(dest)

    async def commit(self, video_id: str, commit: Commit) -> None:
        """Publish a complete replica and list it ready (or replace a copy that differs)."""
        paths.video_id(video_id)
        for relpath in commit.files:
            replica_file(relpath)
        self._admit(video_id)
        if self.copies:
            await self._publish_staged(video_id, commit)
        else:
            await self._check_stored(video_id, commit)
        ours = await digest(self.store, video_id)
        if self.jobs.get(video_id) is None:
            encryption = Encryption.AES_128 if KEY_FILE in commit.files else Encryption.NONE
            # fMP4 videos are the ones with .m4s media segments.
            fmp4 = any(f.endswith(".m4s") for f in commit.files)
            self.jobs.create(
                video_id, commit.filename, commit.size, state=State.READY, encryption=encryption,
                home=commit.home, container="fmp4" if fmp4 else "ts",
            )  # fmt: skip
            self.jobs.update(video_id, progress=1.0)
        self.jobs.set_digest(video_id, ours)

    async def _publish_staged(self, video_id: str, commit: Commit) -> None:
        staged = self.staging / video_id
        missing = [f for f in commit.files if not (staged / f).is_file()]
        if missing:
            raise NotFound(
                f"replica of {video_id} is missing {len(missing)} files, e.g. {missing[0]}"
            )
        job = self.jobs.get(video_id)
        if job is not None and (not commit.digest or job.digest == commit.digest):
            shutil.rmtree(staged, ignore_errors=True)  # already here, the same copy
            return
        wanted = set(commit.files)
        for path in [p for p in staged.rglob("*") if p.is_file()]:
            if path.relative_to(staged).as_posix() not in wanted:
                path.unlink()  # left by an earlier push of this video that was cut short
        if commit.digest and await digest(FileStore(self.staging), video_id) != commit.digest:
            shutil.rmtree(staged, ignore_errors=True)
            raise Conflict(f"the staged copy of {video_id} differs from the sender's digest")
        if job is not None:  # the packaging region corrects a copy that differs
            await self.store.delete(video_id)
        await self.store.publish(video_id, staged)
        shutil.rmtree(staged, ignore_errors=True)  # S3 publishes a copy; the file store moved it

    async def _check_stored(self, video_id: str, commit: Commit) -> None:
        stored = set(await self.store.files(video_id))
        if missing := [f for f in commit.files if f not in stored]:
            raise NotFound(
                f"{video_id} is not in this region's storage yet: {len(missing)} of "
                f"{len(commit.files)} files missing, e.g. {missing[0]}"
            )
        if commit.digest and await digest(self.store, video_id) != commit.digest:
            raise NotFound(f"{video_id} in this region's storage differs from the sender's yet")

    def deleted(self, video_id: str) -> None:
        """A peer deleted `video_id`: tombstone it here too and drop any staged copy."""
        self.outbox.bury(paths.video_id(video_id))
        shutil.rmtree(self.staging / video_id, ignore_errors=True)


def replica_file(relpath: str) -> str:
    """A servable relative path, or the one private file a replica carries (the AES key)."""
    return relpath if relpath == KEY_FILE else paths.relative_file(relpath)
