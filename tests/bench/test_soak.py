"""The soak's memory figures: slope, RSS per worker process, the bound, and its doc section."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from bench.soak import rss_figures, slope_mb_per_min
from bench.soak_report import section
from bench.workloads import rss_by_worker

# A parent that forks two children which each hold about `MB` of memory, like `--workers 2`.
FORKING = """
import os, sys, time
for mb in (40, 10):
    if os.fork() == 0:
        block = bytearray(mb * 2**20)
        block[:: 4096] = b"x" * len(block[:: 4096])
        time.sleep(60)
        os._exit(0)
print("ready", flush=True)
time.sleep(60)
"""


def test_slope_is_least_squares_in_mb_per_minute() -> None:
    """A steady 1 MB per 10 s rise is 6 MB/min; flat samples are 0; one sample is 0."""
    rising = [(float(t), 100 + t / 10) for t in range(0, 120, 10)]
    assert slope_mb_per_min(rising) == 6.0
    assert slope_mb_per_min([(float(t), 80.0) for t in range(0, 60, 5)]) == 0.0
    assert slope_mb_per_min([(0.0, 80.0)]) == 0.0


def test_rss_is_read_per_forked_worker_and_the_parent_apart() -> None:
    """A POP's parent serves nothing: its children are the workers, each with its own RSS."""
    child = subprocess.Popen([sys.executable, "-c", FORKING], stdout=subprocess.PIPE,
                             start_new_session=True)  # fmt: skip
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == b"ready"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the children touch their pages after forking
            workers, parent = rss_by_worker(child.pid)
            if len(workers) == 2 and max(workers.values()) > 40:
                break
            time.sleep(0.1)
        assert child.pid not in workers and len(workers) == 2
        small, large = sorted(workers.values())
        assert large > 40 and small < large - 20 and 0 < parent < large
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()


def test_a_single_process_is_its_own_worker() -> None:
    """With one worker the edge serves in the group leader itself; there is no parent figure."""
    workers, parent = rss_by_worker(os.getpid())
    assert list(workers) == [os.getpid()] and workers[os.getpid()] > 0 and parent == 0.0


def samples() -> list[tuple[float, dict[int, float]]]:
    """Worker 1 flat at 100 MB, worker 2 rising 1 MB per 10 s; 120 s sampled every 10 s."""
    return [(float(t), {1: 100.0, 2: 50 + t / 10}) for t in range(0, 120, 10)]


def test_figures_per_worker_sum_and_largest_with_the_slope_over_the_second_half() -> None:
    f = rss_figures(samples(), 120, tier_mib=16)
    assert f["per_worker"]["1"]["slope_mb_per_min_second_half"] == 0.0
    assert f["per_worker"]["2"]["slope_mb_per_min_second_half"] == 6.0
    assert f["slope_worst_mb_per_min"] == 6.0
    assert f["sum"]["start_mb"] == 150.0 and f["sum"]["end_mb"] == 161.0
    assert f["max"]["max_mb"] == 100.0 and f["workers_seen"] == 2
    assert f["per_worker"]["2"]["second_half_min_median_max_mb"] == [56.0, 58.5, 61.0]
    assert f["bound_mb"] == 166 and f["within_bound"]


def test_a_worker_above_its_tier_plus_150_mb_fails_the_bound() -> None:
    over = [(t, {**by, 3: 170.0}) for t, by in samples()]
    f = rss_figures(over, 120, tier_mib=16)
    assert not f["within_bound"] and f["max"]["max_mb"] == 170.0 and f["workers_seen"] == 3


ENV = {"date": "2026-12-02", "cpus": 2, "cpu": "x", "command": "python -m bench --soak 600",
       "load_before": "1.00 1.00 1.00", "load_after": "2.00 2.00 2.00"}  # fmt: skip


def soak_results(f: dict[str, Any]) -> dict[str, Any]:
    cache = {"edge_cache_bytes{memory}": 30e6, "edge_cache_objects{memory}": 40.0,
             "edge_cache_evictions_total{memory}": 1234.0, "edge_cache_bytes{disk}": 45e6,
             "edge_cache_objects{disk}": 80.0}  # fmt: skip
    soak = {**f, "viewers": 200, "seconds": 600.0, "videos": 6, "every_s": 5.0,
            "parent_max_mb": 60.0, "requests": 50_000, "bytes": 9e9, "errors": 0,
            "hit_ratio": 0.99, "unique_objects": 80, "rebuffer_ratio": 0.0,
            "startup_p95_ms": 20.0, "edge_cache": cache, "server": "granian", "workers": 2,
            "video_seconds": 20, "cores": "0,1"}  # fmt: skip
    return {"soak": soak, "environment": ENV}


def test_the_section_says_the_command_the_load_each_worker_and_the_verdicts() -> None:
    md = "\n".join(section(soak_results(rss_figures(samples(), 120, tier_mib=16))))
    assert md.startswith("## Edge soak\n") and "`python -m bench --soak 600`" in md
    assert "load average before/after: 1.00 1.00 1.00 / 2.00 2.00 2.00" in md
    assert "memory tier 16 MiB per worker" in md and "45.0 MB of distinct objects" in md
    assert "| worker (pid 2) | 50.0 | 61.0 | 61.0 | 56.0 / 58.5 / 61.0 | **6.0** |" in md
    assert "| sum of the 2 workers | 150.0 |" in md
    assert "(166 MB): met (largest worker 100.0 MB)" in md
    assert "worst worker **6.0 MB/min**" in md and "1,234 memory evictions" in md
    assert "restarted" not in md
    over = [(t, {**by, 3: 170.0}) for t, by in samples()]
    md = "\n".join(section(soak_results(rss_figures(over, 120, tier_mib=16))))
    assert "(166 MB): NOT met (largest worker 170.0 MB)" in md and "restarted" in md
