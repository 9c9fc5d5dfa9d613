"""Per-client-IP token buckets, one set per rate-limited behavior; over the limit is a 429."""

from __future__ import annotations

import fcntl
import hashlib
import math
import mmap
import os
import struct
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from streaming.config import RateLimit
from streaming.errors import TooManyRequests

MAX_CLIENTS = 65_536  # buckets kept per behavior; the least recently seen client is forgotten


@dataclass(slots=True)
class Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token bucket per (behavior, client IP): refills at `rate`/s up to `burst` tokens."""

    def __init__(self, max_clients: int = MAX_CLIENTS) -> None:
        self.max_clients = max_clients
        self._buckets: dict[int, OrderedDict[str, Bucket]] = {}

    def check(self, behavior_index: int, limit: RateLimit, client_ip: str, now: float) -> None:
        """Take one token or raise TooManyRequests with the seconds until the next one."""
        buckets = self._buckets.setdefault(behavior_index, OrderedDict())
        bucket = buckets.get(client_ip)
        if bucket is None:
            bucket = buckets[client_ip] = Bucket(float(limit.burst), now)
            if len(buckets) > self.max_clients:
                buckets.popitem(last=False)
        else:
            buckets.move_to_end(client_ip)
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(float(limit.burst), bucket.tokens + elapsed * limit.rate)
            bucket.updated = now
        if bucket.tokens < 1.0:
            wait = math.ceil((1.0 - bucket.tokens) / limit.rate)
            raise TooManyRequests(f"rate limit of {limit.rate:g}/s exceeded; retry later", wait)
        bucket.tokens -= 1.0

    def clients(self, behavior_index: int) -> int:
        return len(self._buckets.get(behavior_index, ()))


SHARED_SLOTS = 1 << 17  # buckets in the POP-wide table: 3 MiB
_SLOT = struct.Struct("<Qdd")  # key hash, tokens, last update


class SharedRateLimiter:
    """The same token buckets for every worker of a POP, in one memory-mapped file.

    A bucket lives in the slot its (behavior, client) hash picks; a different client found there
    starts over with a full bucket, so the table forgets old clients as the per-process one does.
    Each update holds a POSIX lock on its slot's bytes, so two workers never lose a token.
    """

    def __init__(self, path: Path, slots: int = SHARED_SLOTS) -> None:
        self.slots = slots
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        size = slots * _SLOT.size
        if os.fstat(self._fd).st_size < size:
            os.ftruncate(self._fd, size)
        self._map = mmap.mmap(self._fd, size)

    def check(self, behavior_index: int, limit: RateLimit, client_ip: str, now: float) -> None:
        """Take one token or raise TooManyRequests with the seconds until the next one."""
        digest = hashlib.blake2b(f"{behavior_index}|{client_ip}".encode(), digest_size=8).digest()
        key = int.from_bytes(digest, "little") or 1
        offset = (key % self.slots) * _SLOT.size
        fcntl.lockf(self._fd, fcntl.LOCK_EX, _SLOT.size, offset, os.SEEK_SET)
        try:
            found, tokens, updated = _SLOT.unpack_from(self._map, offset)
            if found != key:
                tokens = float(limit.burst)
            else:
                elapsed = max(0.0, now - updated)
                tokens = min(float(limit.burst), tokens + elapsed * limit.rate)
            allowed = tokens >= 1.0
            _SLOT.pack_into(self._map, offset, key, tokens - 1.0 if allowed else tokens, now)
        finally:
            fcntl.lockf(self._fd, fcntl.LOCK_UN, _SLOT.size, offset, os.SEEK_SET)
        if not allowed:
            wait = math.ceil((1.0 - tokens) / limit.rate)
            raise TooManyRequests(f"rate limit of {limit.rate:g}/s exceeded; retry later", wait)
