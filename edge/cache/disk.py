"""The disk tier: bodies and JSON metadata under the cache directory, bounded in bytes.

Layout: `objects/<aa>/<sha256(key)>.json` is a key's metadata, written last by atomic rename,
so a body without metadata is never served; it names the body, `<sha256(key)>-<version>`. Each
stored version gets a body file of its own, so a reader holding an older version (another
worker's index, a response being sent) never reads bytes that do not match its headers: a
replaced or evicted body simply vanishes, and the reader looks again. On start the index is
rebuilt from the metadata files (entries whose body size disagrees are dropped), which is what
makes the tier survive a restart. Several worker processes share one directory: a key missing
from this process's index is looked up on disk before it counts as a miss, and `on_change`
tells the siblings of each commit and deletion so their indexes and byte counts follow
(`noticed`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from pathlib import Path

from edge.cache import Entry

log = logging.getLogger("edge.cache.disk")

STALE_SPOOL_SECONDS = 600
# A deleted version's body stays this long under its name: a response that names it (a server
# sending it by path, a pread that opens it) may be on its way in this or a sibling worker.
BODY_GRACE = 5.0


class DiskCache:
    """An LRU of files bounded by `capacity` bytes; a capacity of 0 disables the tier."""

    def __init__(self, root: Path, capacity_bytes: int) -> None:
        self.root = root
        self.capacity = capacity_bytes
        self.used = 0
        self.evictions = 0
        self.objects = root / "objects"
        self.tmp = root / "tmp"
        self._index: OrderedDict[str, Entry] = OrderedDict()
        # (event, key) for "stored" and "deleted": the sibling workers' indexes follow.
        self.on_change: Callable[[str, str], None] | None = None
        self.shared = False  # sibling workers replace and evict files under this index
        self._doomed: deque[tuple[float, str]] = deque()  # (unlink after, body) of deleted keys
        self.objects.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self._rebuild()

    def __len__(self) -> int:
        return len(self._index)

    def __iter__(self) -> Iterator[Entry]:
        return iter(list(self._index.values()))

    @property
    def enabled(self) -> bool:
        return self.capacity > 0

    def _meta_path(self, key: str) -> Path:
        digest = hashlib.sha256(key.encode()).hexdigest()
        return self.objects / digest[:2] / f"{digest}.json"

    def _rebuild(self) -> None:
        """Index every committed object, oldest first; clear what a crash left behind."""
        for leftover in self.tmp.iterdir():
            # Old spools are a crash's leftovers; young ones may belong to a sibling worker.
            _unlink_if_older(leftover, STALE_SPOOL_SECONDS)
        found: list[Entry] = []
        named: set[str] = set()
        for meta_path in self.objects.glob("*/*.json"):
            entry = self._load(meta_path)
            if entry is not None:
                found.append(entry)
                named.add(str(entry.file))
        for body in self.objects.glob("*/*-*"):  # versions no metadata names any more
            if str(body) not in named and not body.name.endswith(".json"):
                _unlink_if_older(body, STALE_SPOOL_SECONDS)
        for entry in sorted(found, key=lambda e: e.stored_at):
            self._index[entry.key] = entry
            self.used += entry.size
        self._shrink()
        log.info("disk tier %s: %d objects, %d bytes", self.root, len(self._index), self.used)

    def _load(self, meta_path: Path) -> Entry | None:
        """The entry its metadata describes; a torn pair (body missing or of another size)
        is removed. None also when there is no metadata (never stored, or deleted meanwhile)."""
        body_path: Path | None = None
        try:
            meta = json.loads(meta_path.read_bytes())
            # `file` names the version; metadata from before versions had the body beside it.
            body_path = meta_path.with_name(str(meta.get("file") or meta_path.stem))
            entry = Entry.from_meta(meta, str(body_path))
            if body_path.stat().st_size == entry.size:
                return entry
        except FileNotFoundError:
            if body_path is None:
                return None
        except (OSError, ValueError, KeyError, TypeError):
            pass
        meta_path.unlink(missing_ok=True)
        if body_path is not None:
            body_path.unlink(missing_ok=True)
        return None

    def get(self, key: str) -> Entry | None:
        entry = self._index.get(key)
        if entry is not None:
            if self.shared and not os.path.exists(entry.file or ""):
                return self.reload(key)  # a sibling replaced or evicted this version
            self._index.move_to_end(key)
            return entry
        if not self.enabled:
            return None
        return self.reload(key)  # another worker may have committed it

    def reload(self, key: str) -> Entry | None:
        """What the disk holds for `key` now, read again from its metadata (a sibling worker
        may have replaced, refreshed or removed it)."""
        self._forget(key)
        if not self.enabled:
            return None
        entry = self._load(self._meta_path(key))
        if entry is None or entry.key != key:
            return None
        self._index[key] = entry
        self.used += entry.size
        self._shrink()
        return entry

    def noticed(self, event: str, key: str) -> None:
        """A sibling worker stored or deleted `key`: follow it in this index."""
        if event == "stored":
            self.reload(key)
        elif event == "deleted":
            self._forget(key)

    def _forget(self, key: str) -> None:
        """Drop `key` from this process's index only (its files may be a sibling's now)."""
        entry = self._index.pop(key, None)
        if entry is not None:
            self.used -= entry.size

    def spool(self) -> tuple[Path, int]:
        """A fresh temporary file for a body being received: (path, write fd)."""
        fd_path = self.tmp / f"fill-{os.getpid()}-{os.urandom(8).hex()}"
        fd = os.open(fd_path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        return fd_path, fd

    def commit(self, entry: Entry, spool: Path | None) -> bool:
        """Store a complete object from its spool (or from `entry.body`); False if not kept."""
        if not self.enabled or entry.size > self.capacity:
            return False
        meta_path = self._meta_path(entry.key)
        body_path = meta_path.with_name(f"{meta_path.stem}-{os.urandom(6).hex()}")
        body_path.parent.mkdir(exist_ok=True)
        self.delete(entry.key, announce=False)  # the "stored" notice below says it all
        try:
            if spool is not None:
                os.replace(spool, body_path)
            else:
                assert entry.body is not None
                self._write_atomic(body_path, entry.body)
            entry.file = str(body_path)
            self._write_atomic(meta_path, json.dumps(self._meta(entry)).encode())
        except OSError as exc:
            log.warning("disk tier could not store %s: %s", entry.path, exc)
            body_path.unlink(missing_ok=True)
            entry.file = None
            return False
        self._index[entry.key] = entry
        self.used += entry.size
        self._shrink()
        if self.on_change is not None:
            self.on_change("stored", entry.key)
        return True

    @staticmethod
    def _meta(entry: Entry) -> dict[str, object]:
        return {**entry.meta(), "file": Path(entry.file or "").name}

    def refresh(self, entry: Entry) -> None:
        """Persist new freshness metadata after a revalidation (the body is unchanged), unless
        the key holds another version by now (stored or evicted by a sibling worker)."""
        if entry.file is None:
            return
        meta_path = self._meta_path(entry.key)
        try:
            current = json.loads(meta_path.read_bytes()).get("file")
            if current == Path(entry.file).name:
                self._write_atomic(meta_path, json.dumps(self._meta(entry)).encode())
        except (OSError, ValueError, AttributeError) as exc:
            log.warning("disk tier could not refresh %s: %s", entry.path, exc)

    def peek(self, key: str) -> Entry | None:
        """What the disk holds for `key` now, without touching this process's index."""
        entry = self._load(self._meta_path(key)) if self.enabled else None
        return entry if entry is not None and entry.key == key else None

    def read(self, entry: Entry) -> bytes | None:
        """The whole body of a disk entry, or None if its file vanished (evicted elsewhere)."""
        try:
            with open(entry.file or "", "rb") as fh:
                data = fh.read()
        except OSError:  # replaced or evicted by a sibling worker: not this version any more
            if self._index.get(entry.key) is entry:
                self._forget(entry.key)
            return None
        return data if len(data) == entry.size else None

    def delete(self, key: str, announce: bool = True) -> None:
        """Remove the key's metadata (first: a body alone is never served) and its body, as
        this index and the metadata name it."""
        entry = self._index.pop(key, None)
        if entry is not None:
            self.used -= entry.size
        meta_path = self._meta_path(key)
        bodies = {entry.file} if entry is not None and entry.file else set()
        with contextlib.suppress(OSError, ValueError, AttributeError):
            bodies.add(str(meta_path.with_name(json.loads(meta_path.read_bytes())["file"])))
        meta_path.unlink(missing_ok=True)
        now = time.monotonic()
        self._doomed.extend((now + BODY_GRACE, body) for body in bodies)
        self._sweep(now)
        if entry is not None:
            entry.file = None
        if announce and self.on_change is not None:
            self.on_change("deleted", key)

    def clear(self) -> None:
        for key in list(self._index):
            self.delete(key, announce=False)
        shutil.rmtree(self.objects, ignore_errors=True)
        self.objects.mkdir(parents=True, exist_ok=True)

    def _sweep(self, now: float) -> None:
        while self._doomed and self._doomed[0][0] <= now:
            Path(self._doomed.popleft()[1]).unlink(missing_ok=True)

    def _shrink(self) -> None:
        while self.used > self.capacity and self._index:
            key = next(iter(self._index))
            self.delete(key)
            self.evictions += 1

    def _write_atomic(self, path: Path, data: bytes) -> None:
        tmp = self.tmp / f"{path.name}.{os.getpid()}.{os.urandom(4).hex()}"
        tmp.write_bytes(data)
        os.replace(tmp, path)


def _unlink_if_older(path: Path, seconds: float) -> None:
    with contextlib.suppress(OSError):
        if time.time() - path.stat().st_mtime > seconds:
            path.unlink()
