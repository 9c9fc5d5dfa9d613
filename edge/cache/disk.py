"""The disk tier: bodies and JSON metadata under the cache directory, bounded in bytes.

Layout: `objects/<aa>/<sha256(key)>` holds the body and `<...>.json` its metadata, written
last by atomic rename, so a body without metadata is never served. On start the index is
rebuilt from the metadata files (entries whose body size disagrees are dropped), which is
what makes the tier survive a restart. Several worker processes may share one directory: a
key missing from this process's index is looked up on disk before it counts as a miss.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import time
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

from edge.cache import Entry

log = logging.getLogger("edge.cache.disk")

STALE_SPOOL_SECONDS = 600


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

    def _paths(self, key: str) -> tuple[Path, Path]:
        digest = hashlib.sha256(key.encode()).hexdigest()
        body = self.objects / digest[:2] / digest
        return body, body.with_name(digest + ".json")

    def _rebuild(self) -> None:
        """Index every committed object, oldest first; clear spools a crash left behind."""
        for leftover in self.tmp.iterdir():
            # Old spools are a crash's leftovers; young ones may belong to a sibling worker.
            with contextlib.suppress(OSError):
                if time.time() - leftover.stat().st_mtime > STALE_SPOOL_SECONDS:
                    leftover.unlink()
        found: list[Entry] = []
        for meta_path in self.objects.glob("*/*.json"):
            entry = self._load(meta_path)
            if entry is not None:
                found.append(entry)
        for entry in sorted(found, key=lambda e: e.stored_at):
            self._index[entry.key] = entry
            self.used += entry.size
        self._shrink()
        log.info("disk tier %s: %d objects, %d bytes", self.root, len(self._index), self.used)

    def _load(self, meta_path: Path) -> Entry | None:
        body_path = meta_path.with_suffix("")
        try:
            entry = Entry.from_meta(json.loads(meta_path.read_bytes()), str(body_path))
            if body_path.stat().st_size == entry.size:
                return entry
        except (OSError, ValueError, KeyError, TypeError):
            pass
        meta_path.unlink(missing_ok=True)
        body_path.unlink(missing_ok=True)
        return None

    def get(self, key: str) -> Entry | None:
        entry = self._index.get(key)
        if entry is not None:
            self._index.move_to_end(key)
            return entry
        if not self.enabled:
            return None
        _, meta_path = self._paths(key)
        if not meta_path.exists():  # another worker may have committed it
            return None
        entry = self._load(meta_path)
        if entry is not None and entry.key == key:
            self._index[key] = entry
            self.used += entry.size
            self._shrink()
            return entry
        return None

    def spool(self) -> tuple[Path, int]:
        """A fresh temporary file for a body being received: (path, write fd)."""
        fd_path = self.tmp / f"fill-{os.getpid()}-{os.urandom(8).hex()}"
        fd = os.open(fd_path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        return fd_path, fd

    def commit(self, entry: Entry, spool: Path | None) -> bool:
        """Store a complete object from its spool (or from `entry.body`); False if not kept."""
        if not self.enabled or entry.size > self.capacity:
            return False
        body_path, meta_path = self._paths(entry.key)
        body_path.parent.mkdir(exist_ok=True)
        self.delete(entry.key)
        try:
            if spool is not None:
                os.replace(spool, body_path)
            else:
                assert entry.body is not None
                self._write_atomic(body_path, entry.body)
            entry.file = str(body_path)
            self._write_atomic(meta_path, json.dumps(entry.meta()).encode())
        except OSError as exc:
            log.warning("disk tier could not store %s: %s", entry.path, exc)
            entry.file = None
            return False
        self._index[entry.key] = entry
        self.used += entry.size
        self._shrink()
        return True

    def refresh(self, entry: Entry) -> None:
        """Persist new freshness metadata after a revalidation (the body is unchanged)."""
        if self._index.get(entry.key) is entry:
            _, meta_path = self._paths(entry.key)
            try:
                self._write_atomic(meta_path, json.dumps(entry.meta()).encode())
            except OSError as exc:
                log.warning("disk tier could not refresh %s: %s", entry.path, exc)

    def read(self, entry: Entry) -> bytes | None:
        """The whole body of a disk entry, or None if its file vanished (evicted elsewhere)."""
        try:
            with open(entry.file or "", "rb") as fh:
                data = fh.read()
        except OSError:
            self.delete(entry.key)
            return None
        return data if len(data) == entry.size else None

    def delete(self, key: str) -> None:
        entry = self._index.pop(key, None)
        if entry is not None:
            self.used -= entry.size
        body_path, meta_path = self._paths(key)
        meta_path.unlink(missing_ok=True)  # metadata first: a body alone is never served
        body_path.unlink(missing_ok=True)
        if entry is not None:
            entry.file = None

    def clear(self) -> None:
        for key in list(self._index):
            self.delete(key)
        shutil.rmtree(self.objects, ignore_errors=True)
        self.objects.mkdir(parents=True, exist_ok=True)

    def _shrink(self) -> None:
        while self.used > self.capacity and self._index:
            key = next(iter(self._index))
            self.delete(key)
            self.evictions += 1

    def _write_atomic(self, path: Path, data: bytes) -> None:
        tmp = self.tmp / f"{path.name}.{os.getpid()}.{os.urandom(4).hex()}"
        tmp.write_bytes(data)
        os.replace(tmp, path)
