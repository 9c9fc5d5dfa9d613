"""The memory tier: an LRU bounded in bytes."""

from __future__ import annotations

from collections import OrderedDict

from edge.cache import Entry


class MemoryCache:
    """LRU over `Entry.size`; an object larger than the whole tier is simply not kept."""

    def __init__(self, capacity_bytes: int) -> None:
        self.capacity = capacity_bytes
        self.used = 0
        self.evictions = 0
        self._entries: OrderedDict[str, Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> Entry | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: str, entry: Entry) -> None:
        self.delete(key)
        if entry.size > self.capacity:
            return
        self._entries[key] = entry
        self.used += entry.size
        while self.used > self.capacity:
            _, evicted = self._entries.popitem(last=False)
            self.used -= evicted.size
            self.evictions += 1

    def delete(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.used -= entry.size

    def keys(self) -> list[str]:
        return list(self._entries)
