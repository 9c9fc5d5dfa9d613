"""Edge memory over a long run of real-time viewers: RSS samples and their slope."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from bench.targets import Running
from bench.workloads import rss_mb
from loadtest import report
from loadtest.player import Pace, Target
from loadtest.run import Plan, run


def slope_mb_per_min(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) samples, in MB per minute."""
    n = len(samples)
    if n < 2:
        return 0.0
    mean_t = sum(t for t, _ in samples) / n
    mean_m = sum(m for _, m in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    cov = sum((t - mean_t) * (m - mean_m) for t, m in samples)
    return round(cov / var * 60, 3) if var else 0.0


def soak(
    running: Running, master: str, viewers: int, seconds: float, every: float = 5.0
) -> dict[str, Any]:
    """`viewers` real-time ABR viewers for `seconds`; the edge's RSS sampled every `every` s.

    The slope is taken over the second half, after the caches have filled and the allocator
    has settled, which is what "flat" means for a long-running process.
    """
    samples: list[tuple[float, float]] = []
    stop = threading.Event()
    started = time.monotonic()

    def sample() -> None:
        while not stop.is_set():
            samples.append((time.monotonic() - started, rss_mb(running.child.pid)))
            stop.wait(every)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    plan = Plan(
        targets=(Target(running.url + master, {}),), viewers=viewers, duration=seconds,
        ramp_up=min(30.0, seconds / 4), pace=Pace(realtime=True), rendition="abr", timeout=15.0,
    )  # fmt: skip
    try:
        summary = report.summarize(plan, run(plan))
    finally:
        stop.set()
        sampler.join()
    second_half = [s for s in samples if s[0] >= seconds / 2]
    cache = httpx.get(f"{running.url}/healthz", timeout=10).json().get("cache")
    return {
        "viewers": viewers,
        "seconds": seconds,
        "rss_start_mb": samples[0][1] if samples else None,
        "rss_max_mb": max((m for _, m in samples), default=None),
        "rss_end_mb": samples[-1][1] if samples else None,
        "slope_mb_per_min_second_half": slope_mb_per_min(second_half),
        "slope_mb_per_min_all": slope_mb_per_min(samples),
        "requests": summary["requests"],
        "errors": summary["errors"],
        "rebuffer_ratio": summary["viewers"]["rebuffer_ratio"],
        "startup_p95_ms": summary["viewers"]["startup_ms"].get("p95"),
        "edge_cache": cache,
        "samples": samples,
    }
