"""Recording requests and sessions, and merging workers' snapshots."""

from __future__ import annotations

from loadtest.client import Fetch
from loadtest.stats import Recorder, distribution_ms, merge


def fetch(
    status: str = "200", x_cache: str = "Hit", size: int = 100, elapsed: float = 0.01
) -> Fetch:
    return Fetch(
        status,
        started=10.2,
        ttfb=elapsed / 2,
        elapsed=elapsed,
        size=size,
        body=b"",
        x_cache=x_cache,
    )


def test_requests_are_counted_by_kind_status_and_cache_result() -> None:
    """Latency and bytes per kind for successes; errors by status; misses per edge and object."""
    rec = Recorder(started=10.0)
    rec.request("segment", "http://e1", "/hls/v/a.ts", fetch(x_cache="Miss"))
    rec.request("segment", "http://e1", "/hls/v/a.ts", fetch())
    rec.request(
        "media_playlist", "http://e2", "/hls/v/p.m3u8", fetch(status="503", x_cache="Error")
    )
    rec.request("segment", "http://e2", "/hls/v/b.ts", fetch(status="timeout", x_cache=""))
    assert rec.requests == 4 and rec.errors == 2
    assert rec.bytes["segment"] == 200 and "media_playlist" not in rec.latency
    assert rec.x_cache == {"Miss": 1, "Hit": 1, "Error": 1}
    assert rec.fills == {"http://e1 /hls/v/a.ts": 1}
    assert rec.seconds[0] == [4, 200, 2, 0.04]


def test_merge_adds_up_workers() -> None:
    """Merged snapshots equal one recorder that saw everything."""
    a, b = Recorder(0.0), Recorder(0.0)
    a.request("segment", "http://e1", "/x.ts", fetch(x_cache="Miss"))
    b.request("segment", "http://e1", "/x.ts", fetch(x_cache="Miss"))
    b.session(startup=0.2, stalls=1, stall_time=0.5, played=4.0)
    merged = merge([a.snapshot(), b.snapshot()])
    assert merged["status"] == {"200": 2} and merged["fills"] == {"http://e1 /x.ts": 2}
    assert merged["latency"]["segment"] == [0.01, 0.01] and merged["objects"] == ["/x.ts"]
    assert merged["sessions"] == 1 and merged["stalls"] == 1 and merged["startup"] == [0.2]


def test_distribution_uses_nearest_rank_percentiles() -> None:
    """p50/p95/p99/max in milliseconds, nearest rank over the sorted samples."""
    d = distribution_ms([i / 1000 for i in range(1, 101)])
    assert d == {"count": 100, "p50": 50.0, "p95": 95.0, "p99": 99.0, "max": 100.0}
    assert distribution_ms([]) == {"count": 0}
