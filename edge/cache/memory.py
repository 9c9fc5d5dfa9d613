"""The memory tier: an LRU over whole bodies, bounded in bytes."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

from edge.cache import Entry


class MemoryCache:
    """LRU over `Entry.charge`; evicting drops the body (the disk tier may still hold the file)."""

    def __init__(self, capacity_bytes: int) -> None:
        self.capacity = capacity_bytes
        self.used = 0
        self.evictions = 0
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._charged: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        return iter(list(self._entries.values()))

    def get(self, key: str) -> Entry | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, entry: Entry) -> bool:
        """Keep `entry` (which must carry its body); False when it is larger than the tier."""
        assert entry.body is not None, "the memory tier holds bodies"
        self.delete(entry.key, drop_body=False)
        if entry.charge > self.capacity:
            return False
        self._entries[entry.key] = entry
        self._charged[entry.key] = entry.charge
        self.used += entry.charge
        self._shrink()
        return True

    def recharge(self, entry: Entry) -> None:
        """Account for a compressed variant added to an entry this tier holds."""
        if self._entries.get(entry.key) is entry:
            self.used += entry.charge - self._charged[entry.key]
            self._charged[entry.key] = entry.charge
            self._shrink()

    def delete(self, key: str, drop_body: bool = True) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.used -= self._charged.pop(key)
            if drop_body:
                _release(entry)

    def _shrink(self) -> None:
        while self.used > self.capacity and self._entries:
            key, evicted = self._entries.popitem(last=False)
            self.used -= self._charged.pop(key)
            self.evictions += 1
            _release(evicted)


def _release(entry: Entry) -> None:
    """Free the bytes; viewers already sending them hold their own reference."""
    if entry.file is not None:
        entry.body = None
        entry.variants = {}
