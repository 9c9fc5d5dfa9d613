"""Token buckets per behavior and client IP: bursts, refill, Retry-After, bounded memory."""

from __future__ import annotations

import pytest

from edge.ratelimit import RateLimiter
from streaming.config import RateLimit
from streaming.errors import TooManyRequests


def test_burst_then_429_with_retry_after_then_refill() -> None:
    """`burst` requests pass at once, the next is 429 with the wait, and tokens come
    back at `rate`.
    """
    limiter, limit = RateLimiter(), RateLimit(rate=0.5, burst=3)
    for _ in range(3):
        limiter.check(0, limit, "10.0.0.1", 100.0)
    with pytest.raises(TooManyRequests) as info:
        limiter.check(0, limit, "10.0.0.1", 100.0)
    assert info.value.retry_after == 2 and info.value.status_code == 429
    limiter.check(0, limit, "10.0.0.1", 102.0)
    with pytest.raises(TooManyRequests):
        limiter.check(0, limit, "10.0.0.1", 102.5)


def test_clients_and_behaviors_have_separate_buckets() -> None:
    """One client's exhaustion does not limit another client or another behavior."""
    limiter, limit = RateLimiter(), RateLimit(rate=1, burst=1)
    limiter.check(0, limit, "10.0.0.1", 0.0)
    limiter.check(0, limit, "10.0.0.2", 0.0)
    limiter.check(1, limit, "10.0.0.1", 0.0)
    with pytest.raises(TooManyRequests):
        limiter.check(0, limit, "10.0.0.1", 0.0)


def test_bucket_table_is_bounded() -> None:
    """Many distinct clients never grow the table past max_clients."""
    limiter, limit = RateLimiter(max_clients=100), RateLimit(rate=1, burst=1)
    for i in range(1000):
        limiter.check(0, limit, f"10.0.{i // 256}.{i % 256}", 0.0)
    assert limiter.clients(0) == 100
