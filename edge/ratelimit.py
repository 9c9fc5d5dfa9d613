"""Per-client-IP token buckets, one set per rate-limited behavior; over the limit is a 429."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

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
