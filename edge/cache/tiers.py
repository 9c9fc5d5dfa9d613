"""The two tiers as one cache: memory in front of disk, disk hits promoted when small enough."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from edge.cache import Entry
from edge.cache.disk import DiskCache
from edge.cache.memory import MemoryCache


class TieredCache:
    """Lookup, commit, refresh and invalidation across both tiers."""

    def __init__(self, memory: MemoryCache, disk: DiskCache, memory_object_bytes: int) -> None:
        self.memory, self.disk = memory, disk
        self.memory_object_bytes = memory_object_bytes

    def get(self, key: str) -> Entry | None:
        """The entry for `key`; a small disk entry gets its body loaded into memory once."""
        entry = self.memory.get(key)
        if entry is not None:
            return entry
        entry = self.disk.get(key)
        if entry is None:
            return None
        if entry.body is None and self.holds_in_memory(entry.size):
            body = self.disk.read(entry)
            if body is None:
                return None
            entry.body = body
            if not self.memory.put(entry):
                entry.body = None  # the memory tier refused it: never hold bytes it does not count
        return entry

    def reload(self, key: str) -> Entry | None:
        """The entry as the disk holds it now (a sibling worker stored or refreshed it), also
        replacing this worker's memory copy."""
        self.memory.delete(key)
        entry = self.disk.reload(key)
        if entry is not None and self.holds_in_memory(entry.size):
            entry.body = self.disk.read(entry)
            if entry.body is None or not self.memory.put(entry):
                entry.body = None
        return entry

    def noticed(self, event: str, key: str) -> None:
        """A sibling worker stored or deleted `key` on the shared disk. A new version replaces
        this worker's memory copy (served again from disk, then memory); an eviction there
        leaves the copy here, which is still what the origin sent."""
        if event == "stored":
            self.memory.delete(key)
        self.disk.noticed(event, key)

    def holds_in_memory(self, size: int | None) -> bool:
        return size is not None and size <= self.memory_object_bytes

    def commit(self, entry: Entry, spool: Path | None) -> bool:
        """Store a complete object in every tier that takes it; False if no tier did."""
        on_disk = self.disk.commit(entry, spool)
        in_memory = entry.body is not None and self.memory.put(entry)
        if on_disk and not in_memory:
            entry.body = None  # served from the file; bytes the memory tier does not count go
        return on_disk or in_memory

    def refresh(self, entry: Entry) -> None:
        """The entry's freshness changed in place (a 304 from the origin): persist it."""
        self.disk.refresh(entry)

    def delete(self, key: str) -> None:
        self.memory.delete(key)
        self.disk.delete(key)

    def invalidate(self, matches: Callable[[Entry], bool]) -> int:
        """Remove every entry the predicate selects from both tiers; return how many."""
        doomed = {e.key for e in self.memory if matches(e)} | {
            e.key for e in self.disk if matches(e)
        }
        for key in doomed:
            self.delete(key)
        return len(doomed)

    def stats(self) -> dict[str, dict[str, int]]:
        return {
            "memory": {"objects": len(self.memory), "bytes": self.memory.used,
                       "capacity": self.memory.capacity, "evictions": self.memory.evictions},
            "disk": {"objects": len(self.disk), "bytes": self.disk.used,
                     "capacity": self.disk.capacity, "evictions": self.disk.evictions},
        }  # fmt: skip
