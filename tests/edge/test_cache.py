"""The cache tiers: a memory LRU in bytes, a disk tier that survives restarts, both together."""

from __future__ import annotations

import os
from pathlib import Path

from edge.cache import OVERHEAD, Entry
from edge.cache.disk import DiskCache
from edge.cache.memory import MemoryCache
from edge.cache.tiers import TieredCache


def entry(key: str, size: int, stored_at: float = 0.0) -> Entry:
    return Entry(
        key,
        "/" + key,
        200,
        {"content-type": "video/mp2t"},
        size,
        stored_at,
        60.0,
        body=os.urandom(size),
    )


def test_memory_tier_evicts_least_recently_used_by_bytes() -> None:
    """Capacity counts body bytes plus overhead; a read refreshes recency; oversize is refused."""
    memory = MemoryCache(3 * (1000 + OVERHEAD))
    for key in ("a", "b", "c"):
        assert memory.put(entry(key, 1000))
    memory.get("a")
    memory.put(entry("d", 1000))
    assert memory.get("b") is None and memory.get("a") is not None and memory.evictions == 1
    assert memory.used <= memory.capacity
    assert not memory.put(entry("huge", 10_000)) and memory.get("huge") is None


def test_disk_tier_rebuilds_its_index_after_a_restart(tmp_path: Path) -> None:
    """Committed objects come back with their metadata; the oldest are evicted first."""
    disk = DiskCache(tmp_path, 10_000)
    old, new = entry("old", 100, stored_at=1.0), entry("new", 200, stored_at=2.0)
    assert disk.commit(old, None) and disk.commit(new, None)
    reopened = DiskCache(tmp_path, 10_000)
    back = reopened.get("new")
    assert back is not None and back.size == 200 and back.body is None
    assert reopened.read(back) == new.body and reopened.used == 300
    assert [e.key for e in reopened] == ["old", "new"]


def test_torn_or_orphaned_files_are_dropped_on_start(tmp_path: Path) -> None:
    """A body whose size disagrees with its metadata, or metadata that is not JSON, is removed."""
    disk = DiskCache(tmp_path, 10_000)
    good, torn = entry("good", 100), entry("torn", 100)
    disk.commit(good, None)
    disk.commit(torn, None)
    assert torn.file is not None
    Path(torn.file).write_bytes(b"short")
    garbage = tmp_path / "objects" / "zz" / "garbage.json"
    garbage.parent.mkdir()
    garbage.write_text("{not json")
    reopened = DiskCache(tmp_path, 10_000)
    assert reopened.get("torn") is None and not Path(torn.file).exists()
    assert reopened.get("good") is not None
    assert not garbage.exists() and len(reopened) == 1


def test_disk_tier_stays_within_its_byte_bound(tmp_path: Path) -> None:
    """Committing past capacity deletes the least recently used files."""
    disk = DiskCache(tmp_path, 1000)
    for index in range(5):
        disk.commit(entry(f"k{index}", 300), None)
    assert disk.used <= 1000 and disk.evictions == 2
    assert disk.get("k0") is None and disk.get("k4") is not None
    assert len(list(tmp_path.glob("objects/*/*.json"))) == len(disk)


def test_spooled_bodies_are_committed_by_rename(tmp_path: Path) -> None:
    """A fill's spool becomes the object file without a copy; a zero capacity disables the tier."""
    disk = DiskCache(tmp_path, 1 << 20)
    path, fd = disk.spool()
    os.write(fd, b"x" * 5000)
    os.close(fd)
    big = Entry("big", "/big", 200, {}, 5000, 0.0, 60.0)
    assert disk.commit(big, path) and not path.exists()
    assert big.file is not None and Path(big.file).read_bytes() == b"x" * 5000
    assert not DiskCache(tmp_path / "off", 0).commit(entry("x", 10), None)


def test_tiers_promote_small_disk_hits_to_memory_and_stream_large_ones(tmp_path: Path) -> None:
    """After a restart a small object is read back into memory once; a large one stays on disk."""
    disk = DiskCache(tmp_path, 1 << 20)
    tiers = TieredCache(MemoryCache(1 << 20), disk, memory_object_bytes=1000)
    small, large = entry("small", 500), entry("large", 5000)
    assert tiers.commit(small, None) and tiers.commit(large, None)
    restarted = TieredCache(
        MemoryCache(1 << 20), DiskCache(tmp_path, 1 << 20), memory_object_bytes=1000
    )
    promoted = restarted.get("small")
    assert promoted is not None and promoted.body == small.body and len(restarted.memory) == 1
    streamed = restarted.get("large")
    assert streamed is not None and streamed.body is None and streamed.file is not None


def test_memory_eviction_keeps_the_disk_copy(tmp_path: Path) -> None:
    """An entry pushed out of memory still answers from disk."""
    tiers = TieredCache(
        MemoryCache(600 + OVERHEAD), DiskCache(tmp_path, 1 << 20), memory_object_bytes=1000
    )
    first, second = entry("first", 600), entry("second", 600)
    tiers.commit(first, None)
    tiers.commit(second, None)
    again = tiers.get("first")
    assert again is not None and again.body == first.body  # re-read from disk


def test_bytes_the_memory_tier_refuses_are_not_kept_on_the_entry(tmp_path: Path) -> None:
    """With a memory tier too small for an object, its entry serves from the file and holds no
    body (memory use always equals what the tier accounts for)."""
    tiers = TieredCache(MemoryCache(100), DiskCache(tmp_path, 1 << 20), memory_object_bytes=1000)
    big = entry("big", 800)
    assert tiers.commit(big, None) and big.body is None and big.file is not None
    again = tiers.get("big")
    assert again is big and again.body is None and len(tiers.memory) == 0
