"""Edge memory over a long run of real-time viewers: RSS per worker process and its slope.

The viewers watch several videos whose segments together outgrow each worker's memory tier,
so the LRU keeps evicting and refilling from the disk tier for the whole run: a leak in that
churn, not just the fixed overhead of a process, is what the slope would show.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench import targets
from bench.fixture import Origin, noisy_clip
from bench.targets import Running
from bench.workloads import rss_by_worker
from loadtest import report
from loadtest.player import Pace, Target
from loadtest.run import Plan, run
from procs.supervisor import Supervisor

HEADROOM_MB = 150  # issue 14: RSS per worker at most its memory tier + 150 MB
Sample = tuple[float, dict[int, float]]  # (seconds since start, {worker pid: RSS MB})


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


def _series(points: list[tuple[float, float]], seconds: float) -> dict[str, Any]:
    second_half = [p for p in points if p[0] >= seconds / 2]
    values, late = [m for _, m in points], [m for _, m in second_half]
    return {
        "second_half_min_median_max_mb": (
            [min(late), round(statistics.median(late), 1), max(late)] if late else None
        ),
        "start_mb": values[0] if values else None,
        "max_mb": max(values, default=None),
        "end_mb": values[-1] if values else None,
        "slope_mb_per_min_second_half": slope_mb_per_min(second_half),
        "slope_mb_per_min_all": slope_mb_per_min(points),
    }


def rss_figures(samples: list[Sample], seconds: float, tier_mib: float) -> dict[str, Any]:
    """Per worker (by pid), the sum and the max over the workers: start, max, end and the
    slopes; and whether every worker stayed within its memory tier + HEADROOM_MB."""
    pids = sorted({pid for _, by_pid in samples for pid in by_pid})
    workers = {
        str(pid): _series([(t, by[pid]) for t, by in samples if pid in by], seconds)
        for pid in pids
    }
    total = _series([(t, round(sum(by.values()), 1)) for t, by in samples if by], seconds)
    largest = _series([(t, max(by.values())) for t, by in samples if by], seconds)
    peak = largest["max_mb"]
    bound = tier_mib + HEADROOM_MB
    return {
        "tier_mib": tier_mib,
        "bound_mb": bound,
        "within_bound": peak is not None and peak <= bound,
        "workers_seen": len(pids),  # more than the worker count: a worker was restarted
        "per_worker": workers,
        "sum": total,
        "max": largest,
        "slope_worst_mb_per_min": max(
            (w["slope_mb_per_min_second_half"] for w in workers.values()), default=0.0
        ),
    }


def _cache_metrics(url: str) -> dict[str, float]:
    """The POP's cache gauges and eviction counters from /metrics (its workers summed)."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if not family.name.startswith("edge_cache_"):
            continue
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            labels = ",".join(f"{v}" for _, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}"] = sample.value
    return out


def soak(
    running: Running, masters: list[str], viewers: int, seconds: float, tier_mib: float,
    every: float = 5.0,
) -> dict[str, Any]:  # fmt: skip
    """`viewers` real-time ABR viewers spread over `masters` for `seconds`; the RSS of each
    worker process of the edge sampled every `every` s.

    The slope is taken over the second half, after the caches have filled and the allocator
    has settled, which is what "flat" means for a long-running process.
    """
    samples: list[Sample] = []
    parent: list[float] = []
    stop = threading.Event()
    started = time.monotonic()

    def sample() -> None:
        while not stop.is_set():
            by_pid, parent_mb = rss_by_worker(running.child.pid)
            samples.append((round(time.monotonic() - started, 1), by_pid))
            parent.append(parent_mb)
            stop.wait(every)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    plan = Plan(
        targets=tuple(Target(running.url + m, {}) for m in masters), viewers=viewers,
        duration=seconds, ramp_up=min(30.0, seconds / 4), pace=Pace(realtime=True),
        rendition="abr", timeout=15.0,
    )  # fmt: skip
    try:
        summary = report.summarize(plan, run(plan))
    finally:
        stop.set()
        sampler.join()
    return {
        "viewers": viewers,
        "seconds": seconds,
        "videos": len(masters),
        "every_s": every,
        **rss_figures(samples, seconds, tier_mib),
        "parent_max_mb": max(parent, default=None),
        "requests": summary["requests"],
        "bytes": summary["bytes"],
        "errors": summary["errors"],
        "hit_ratio": summary["hit_ratio"],
        "unique_objects": summary["objects"]["unique"],
        "rebuffer_ratio": summary["viewers"]["rebuffer_ratio"],
        "startup_p95_ms": summary["viewers"]["startup_ms"].get("p95"),
        "edge_cache": _cache_metrics(running.url),
        "samples": [[t, by_pid] for t, by_pid in samples],
    }


def _videos(origin: Origin, work: Path, count: int, seconds: int) -> list[str]:
    """`count` distinct 720p videos of `seconds` for the soak (one noisy clip uploaded `count`
    times: each upload is its own video, its own cache keys), as master playlist paths."""
    clip = noisy_clip(work / f"soak-{seconds}s.mp4", seconds=seconds, width=1280, height=720)
    return [origin.upload(clip) for _ in range(count)]


def on_pop(
    sup: Supervisor, work: Path, origin: Origin, say: Callable[[str], object], *, server: str,
    workers: int, tier_mib: int, viewers: int, seconds: float, videos: int, video_seconds: int,
) -> dict[str, Any]:  # fmt: skip
    """Our edge (`workers` processes on every core, a `tier_mib` memory tier each) under
    `viewers` real-time viewers of `videos` fresh videos for `seconds`."""
    say(f"soak: packaging {videos} videos of {video_seconds} s ...")
    masters = _videos(origin, work, videos, video_seconds)
    cores = ",".join(str(c) for c in range(os.cpu_count() or 1))
    os.sched_setaffinity(0, {int(c) for c in cores.split(",")})
    running = targets.ours(
        sup, work, origin, cores, server, workers=workers,
        edge={"memory_cache_bytes": tier_mib * 2**20},
    )  # fmt: skip
    say(f"soak: {viewers} real-time viewers for {seconds:.0f} s on {running.name}, "
        f"memory tier {tier_mib} MiB per worker ...")  # fmt: skip
    try:
        figures = soak(running, masters, viewers, seconds, float(tier_mib))
    finally:
        sup.stop(running.child)
    return {**figures, "server": server, "workers": workers, "video_seconds": video_seconds,
            "cores": cores}  # fmt: skip
