"""Request collapsing across the workers of one POP: one origin fetch per object, whatever N.

Within a worker, `edge.collapse` joins viewers to one `Fill`. Across workers, the worker that
takes a key's *lease* fetches it; the others follow its spool file as it grows (nginx's
`proxy_cache_lock`, ATS's read-while-writer):

- The lease is a POSIX byte-range lock on one shared file, at an offset derived from the key.
  The kernel drops it when its holder exits, so a SIGKILLed leader never blocks a key.
- The leader announces the response head (and its spool file) in `tmp/pop-<digest>.json`
  before the body arrives, and the end (whole and verified, committed or not) after it.
- A follower opens the spool file and serves its bytes as they land, the last one only once the
  end says the body was verified. It polls the file's size every 1-10 ms while it waits, and
  tries the lease now and then: taking it means the leader is gone — before the head, the
  follower fetches itself; after it, the body broke.

A private or uncacheable answer is never shared: the follower then fetches for itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import hashlib
import json
import os
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from edge.types import Head

POLL_MIN, POLL_MAX = 0.001, 0.01  # seconds between looks at a growing spool file
LEASE_CHECK = 0.05  # seconds between checks that the leader is still alive
KEEP_ENDED = 5.0  # seconds an ended fill's announcement stays for its followers


class Leases:
    """Which worker fetches a key: an exclusive lock on byte `slot(key)` of one file."""

    def __init__(self, path: Path) -> None:
        # One descriptor for the process: closing any descriptor of a file drops every POSIX
        # lock the process holds on it.
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    @staticmethod
    def slot(key: str) -> int:
        return int.from_bytes(hashlib.sha256(key.encode()).digest()[:7], "big")

    def take(self, key: str) -> int | None:
        """The lease's slot when this process now holds it, None when a sibling does."""
        slot = self.slot(key)
        try:
            fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, slot, os.SEEK_SET)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                return None
            raise
        return slot

    def give_back(self, slot: int) -> None:
        fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, slot, os.SEEK_SET)

    def close(self) -> None:
        os.close(self._fd)


class Outcome(Enum):
    FOLLOWED = "followed"  # the fill was answered from the leader's work
    LEAD = "lead"  # the lease was free: this worker fetches
    OWN = "own"  # the leader's answer is not for sharing: fetch for this viewer alone


@dataclass(frozen=True, slots=True)
class Announcement:
    """What a leader published about its fill."""

    id: str  # one fill: a later fill of the same key announces under another id
    head: Head | None
    refreshed: bool  # the origin answered 304: the stored entry is current again
    spool: str | None
    end: dict[str, Any] | None  # {"ok", "committed", "size", "error"} once the body ended
    selecting: dict[str, str]  # the leader's viewer's values of the headers the answer varies on


class Announcements:
    """The leader's side: one small JSON file per key in the disk tier's tmp directory."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self._ids: dict[str, str] = {}  # key → id of the fill this worker leads

    def path(self, key: str) -> Path:
        return self.tmp / f"pop-{hashlib.sha256(key.encode()).hexdigest()}.json"

    def begin(self, key: str) -> None:
        """This worker took the lease: the previous fill's announcement goes."""
        self._ids[key] = os.urandom(8).hex()
        self.path(key).unlink(missing_ok=True)

    def head(self, key: str, head: Head, spool: Path | None, selecting: dict[str, str]) -> None:
        spooled = str(spool) if spool else None
        self._write(key, {"head": _head_doc(head), "spool": spooled, "selecting": selecting})

    def refreshed(self, key: str) -> None:
        self._write(key, {"refreshed": True})

    def end(self, key: str, ok: bool, committed: bool, size: int, error: str = "") -> None:
        """The last word on this fill; the lease is given back after it."""
        current = self.read(key)
        doc: dict[str, Any] = {}
        if current is not None and current.id == self._ids.get(key):
            doc = {"spool": current.spool, "refreshed": current.refreshed}
            doc["selecting"] = current.selecting
            if current.head is not None:
                doc["head"] = _head_doc(current.head)
        doc["end"] = {"ok": ok, "committed": committed, "size": size, "error": error}
        self._write(key, doc)
        fill_id = self._ids.pop(key, "")
        # Followers read the end within a poll or two; then the file goes, unless a later fill
        # of the key announces in it by then.
        asyncio.get_running_loop().call_later(KEEP_ENDED, self._remove, key, fill_id)

    def _remove(self, key: str, fill_id: str) -> None:
        found = self.read(key)
        if found is not None and found.id == fill_id and key not in self._ids:
            self.path(key).unlink(missing_ok=True)

    def read(self, key: str) -> Announcement | None:
        try:
            doc = json.loads(self.path(key).read_bytes())
        except (OSError, ValueError):
            return None
        head = doc.get("head")
        return Announcement(
            str(doc.get("id", "")), Head(**head) if isinstance(head, dict) else None,
            bool(doc.get("refreshed")), doc.get("spool"), doc.get("end"),
            dict(doc.get("selecting") or {}),
        )  # fmt: skip

    def _write(self, key: str, doc: dict[str, Any]) -> None:
        doc["id"] = self._ids.get(key, "")
        target = self.path(key)
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(json.dumps(doc).encode())
        os.replace(tmp, target)


def _head_doc(head: Head) -> dict[str, Any]:
    return {
        "status": head.status, "headers": head.headers, "length": head.length,
        "origin_region": head.origin_region, "shareable": head.shareable, "age": head.age,
    }  # fmt: skip


class Follower:
    """Waits for a sibling's fill and feeds its progress to a local reader."""

    def __init__(self, leases: Leases, announcements: Announcements, key: str) -> None:
        self.leases, self.announcements, self.key = leases, announcements, key
        self.slot: int | None = None  # set when following ended with this worker holding it

    async def announced(self, timeout: float) -> Announcement | Outcome:
        """The leader's announcement once it has a head (or an end), or LEAD when the lease
        came free first; OWN if nothing was announced within `timeout`."""
        deadline = time.monotonic() + timeout
        poll, checked = POLL_MIN, time.monotonic()
        while time.monotonic() < deadline:
            found = self.announcements.read(self.key)
            if found is not None and (found.head or found.refreshed or found.end):
                return found
            if time.monotonic() - checked >= LEASE_CHECK:
                checked = time.monotonic()
                if (slot := self.leases.take(self.key)) is not None:
                    self.slot = slot
                    return Outcome.LEAD
            await asyncio.sleep(poll)
            poll = min(POLL_MAX, poll * 2)
        return Outcome.OWN

    async def grow(
        self, fd: int, received: int, fill_id: str
    ) -> tuple[int, Announcement | None, bool]:
        """Wait until the spool behind `fd` holds more than `received` bytes or fill `fill_id`
        ended: (bytes now in the file, its announcement once it has an end, gone). `gone`: the
        leader vanished without an end, or a later fill replaced its announcement — then only
        the disk tier can say whether this body was committed whole."""
        poll, checked = POLL_MIN, time.monotonic()
        while True:
            size = os.fstat(fd).st_size
            found = self.announcements.read(self.key) if size <= received else None
            if size <= received and (found is None or found.id != fill_id):
                return os.fstat(fd).st_size, None, True
            if found is not None and found.end is not None:
                return os.fstat(fd).st_size, found, False
            if size > received:
                return size, None, False
            if time.monotonic() - checked >= LEASE_CHECK:
                checked = time.monotonic()
                if (slot := self.leases.take(self.key)) is not None:
                    self.slot = slot  # the leader is gone; a last look for its end record
                    found = self.announcements.read(self.key)
                    if found is not None and found.id == fill_id and found.end is not None:
                        return os.fstat(fd).st_size, found, False
                    return os.fstat(fd).st_size, None, True
            await asyncio.sleep(poll)
            poll = min(POLL_MAX, poll * 2)

    def give_back(self) -> None:
        if self.slot is not None:
            self.leases.give_back(self.slot)
            self.slot = None


def open_spool(path: str | None) -> int | None:
    """A read descriptor on the leader's spool, None when it is already gone (committed)."""
    if path is None:
        return None
    with contextlib.suppress(OSError):
        return os.open(path, os.O_RDONLY)
    return None


@dataclass(frozen=True, slots=True)
class PopFills:
    """The lease file and the announcements of one POP's workers."""

    leases: Leases
    announcements: Announcements

    @classmethod
    def open(cls, workers_dir: Path, tmp: Path) -> PopFills:
        return cls(Leases(workers_dir / "fills.lock"), Announcements(tmp))

    def follower(self, key: str) -> Follower:
        return Follower(self.leases, self.announcements, key)
